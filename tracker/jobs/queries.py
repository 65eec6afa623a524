"""Reads of the job table."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run
from tracker.jobs.models import Job


async def list_jobs(
    session: AsyncSession, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Newest first."""
    statement = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if status is not None:
        statement = statement.where(col(Job.status) == status)
    if kind is not None:
        statement = statement.where(col(Job.kind) == kind)
    return list((await run(session, statement)).scalars())
