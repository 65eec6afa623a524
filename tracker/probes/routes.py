"""GET /api/v1/probes: the probed URLs, their newest result and state."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.params import QueryParameter

from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import Text
from tracker.probes import queries
from tracker.probes.schemas import ProbeRead, ProbeResultRead, ProbeState


@get("/probes", responses=problem_responses(400))
async def list_probes(
    session: DbSession,
    url: Annotated[Text | None, QueryParameter(max_length=2000)] = None,
    status: Annotated[ProbeState | None, QueryParameter()] = None,
    area: Annotated[
        str | None, QueryParameter(pattern=r"^[0-9]{1,12}$", description="ARS prefix.")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> list[ProbeRead]:
    """By URL; `area` keeps URLs cited by assessments in that ARS prefix."""
    found = await queries.list_probes(session, url=url, status=status, area=area, limit=limit)
    return [
        ProbeRead(
            url=item.url.url,
            host=item.url.host,
            state=ProbeState(queries.state_of(item.url)),
            failures_in_row=item.url.failures_in_row,
            broken_since=item.url.broken_since,
            last_ok_at=item.url.last_ok_at,
            assessments=item.assessments,
            last=ProbeResultRead.model_validate(item.last) if item.last else None,
        )
        for item in found
    ]


router = Router("/api/v1", route_handlers=[list_probes], tags=["Erreichbarkeit"])
