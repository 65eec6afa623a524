"""Every job function by kind, and the periodic ones with their interval: an edge module (it
imports the features whose work runs in the background), read by the server and the worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from tracker.db import run
from tracker.jobs.actions import JobContext, Task
from tracker.jobs.models import Job, JobStatus

KEEP_SUCCEEDED_DAYS = 30


async def prune_jobs(context: JobContext) -> None:
    """Succeeded jobs older than 30 days go; dead ones stay until someone has looked."""
    before = context.now - timedelta(days=KEEP_SUCCEEDED_DAYS)
    await run(
        context.session,
        delete(Job).where(col(Job.status) == JobStatus.SUCCEEDED, col(Job.finished_at) < before),
    )


TASKS: dict[str, Task] = {
    "jobs.prune": prune_jobs,
}

DAY_SECONDS = 24 * 3600.0
PERIODIC: dict[str, float] = {
    "jobs.prune": DAY_SECONDS,
}
