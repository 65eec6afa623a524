"""GET /api/v1/jobs: the background jobs, for admins without a scope limit (jobs span scopes)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.params import QueryParameter

from tracker.access.guards import global_admin, principal_of
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import RowId
from tracker.jobs import actions, queries
from tracker.jobs.models import JobStatus
from tracker.jobs.schemas import JobRead

AnyRequest = Request[Any, Any, Any]


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


@post(
    "/jobs/{job_id:int}/retry", guards=[global_admin], status_code=202,
    responses=problem_responses(401, 403, 404, 409),
)  # fmt: skip
async def retry_job(request: AnyRequest, job_id: RowId, session: DbSession) -> JobRead:
    """Queue a dead job again, now, with its attempts from nought (409 unless it is dead)."""
    job = await actions.retry(session, job_id, actor=principal_of(request))
    return JobRead.model_validate(job)


router = Router("/api/v1", route_handlers=[list_jobs, retry_job], tags=["Jobs"])
