"""GET /api/v1/jobs: the background jobs, for admins without a scope limit (jobs span scopes)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.params import QueryParameter

from tracker.access.guards import global_admin
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.jobs import queries
from tracker.jobs.models import JobStatus
from tracker.jobs.schemas import JobRead


@get("/jobs", guards=[global_admin], responses=problem_responses(400, 401, 403))
async def list_jobs(
    session: DbSession,
    status: Annotated[JobStatus | None, QueryParameter()] = None,
    kind: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[a-z0-9_.]+$")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> list[JobRead]:
    """Newest first: status, attempts, the last error."""
    jobs = await queries.list_jobs(session, status=status, kind=kind, limit=limit)
    return [JobRead.model_validate(job) for job in jobs]


router = Router("/api/v1", route_handlers=[list_jobs], tags=["Jobs"])
