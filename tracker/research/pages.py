"""German pages of research (English switch): the public findings with search, and a finding
with its chain evidence → finding → recommendation. Anyone sees published findings by their
redacted text and the counts of their evidence; a researcher in scope also sees the supporting
observations (erased ones as tombstones)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.params import QueryParameter
from litestar.response import Template

from tracker.access.guards import principal_of
from tracker.access.models import Role
from tracker.db import DbSession
from tracker.errors import NotFound
from tracker.fields import AREA_PATTERN, OZG_ID_PATTERN, RowId
from tracker.i18n import render
from tracker.research import queries
from tracker.research.models import Finding, Observation, SubjectKind
from tracker.research.schemas import SEVERITY_NAMES

PAGE_SIZE = 100


@get("/erkenntnisse")
async def findings_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
    leistung: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    gemeinde: Annotated[str | None, QueryParameter(pattern=AREA_PATTERN)] = None,
    severity: Annotated[int | None, QueryParameter(ge=1, le=4)] = None,
) -> Template:
    """The published findings from every Gemeinde, searchable, most recent first."""
    where = queries.FindingFilter(
        text=q or None, leistung=leistung, gemeinde=gemeinde, severity=severity
    )
    rows, more = await queries.list_findings(
        session, where, scopes=None, limit=PAGE_SIZE, cursor=None
    )
    found = await queries.public_findings(session, [row.Finding for row in rows])
    return render(
        request, "research/erkenntnisse.html", findings=found, q=q or "", leistung=leistung or "",
        gemeinde=gemeinde or "", severity=severity, severity_names=SEVERITY_NAMES,
        more=more is not None,
    )  # fmt: skip


@get("/erkenntnisse/{finding_id:int}")
async def finding_page(
    request: Request[Any, Any, Any], finding_id: RowId, session: DbSession
) -> Template:
    """A published finding: its evidence (counts; for researchers in scope the observations),
    the finding, and the recommendations that answer it."""
    finding = await session.get(Finding, finding_id)
    found = [] if finding is None else await queries.public_findings(session, [finding])
    if not found or finding is None:
        raise NotFound(
            f"No finding {finding_id} is published.",
            german=f"Keine Erkenntnis {finding_id} ist veröffentlicht.",
        )
    principal = principal_of(request)
    about = (await queries.subjects(session, "finding", [finding_id]))[finding_id]
    observations: list[Observation] = []
    if about[SubjectKind.GEMEINDE] and all(
        principal.may(Role.RESEARCHER, ars) for ars in about[SubjectKind.GEMEINDE]
    ):
        ids = (await queries.supporting(session, [finding_id]))[finding_id]
        observations = [await queries.get_observation(session, i) for i in ids]
    return render(
        request, "research/erkenntnis.html", finding=found[0], observations=observations,
        severity_names=SEVERITY_NAMES,
    )  # fmt: skip


router = Router("/", route_handlers=[findings_page, finding_page], include_in_schema=False)
