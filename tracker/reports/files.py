"""Comparison report files of large sets, made in the background: a request for a PDF, HTML or
XLSX file of more than `report_job_above_gemeinden` Gemeinden queues a job (once per digest of
what it reports) and is answered 202 with the file's URL, which answers 202 until the job has
stored the file, then the file. reports writes no data of another feature: only its own
files, and the job that makes them (the job layer sits below every feature)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import Sessionmaker, run
from tracker.jobs import actions as jobs_actions
from tracker.jobs.actions import JobContext
from tracker.jobs.models import Job, JobStatus
from tracker.reports import comparison, exports
from tracker.reports.models import ReportFile
from tracker.settings import Settings

JOB = "reports.file"
BACKGROUND = (exports.Format.PDF, exports.Format.HTML, exports.Format.XLSX)
KEEP_DAYS = 7


def digest_of(key: tuple[Any, ...], chosen: exports.Format, lang: str) -> str:
    return hashlib.sha256(repr((key, chosen.value, lang)).encode()).hexdigest()


def in_background(count: int, chosen: exports.Format, settings: Settings) -> bool:
    return chosen in BACKGROUND and count > settings.report_job_above_gemeinden


@dataclass(frozen=True)
class FileState:
    """A report file as its URL answers: ready (with its row), or the state of its job."""

    row: ReportFile
    status: str  # queued, running, ready, failed
    job: Job | None


async def queue(sessionmaker: Sessionmaker, digest: str, args: dict[str, Any]) -> FileState:
    """The file's row and its job, in a transaction of their own on the primary (the request
    that asks only reads): queued once per digest."""
    async with sessionmaker.begin() as session:
        found = await state_of(session, digest)
        if found is not None:
            return found
        job_id = await jobs_actions.enqueue(
            session, JOB, {**args, "digest": digest}, key=f"{JOB}:{digest}", max_attempts=3
        )
        row = ReportFile(
            digest=digest, format=args["format"], lang=args["lang"], definition=args["set"],
            job_id=job_id, created_at=jobs_actions.utc_now(),
        )  # fmt: skip
        session.add(row)
        return FileState(row, "queued", None)


async def state_of(session: AsyncSession, digest: str) -> FileState | None:
    row = await session.get(ReportFile, digest)
    if row is None:
        return None
    if row.content is not None:
        return FileState(row, "ready", None)
    job = await session.get(Job, row.job_id) if row.job_id is not None else None
    if job is None or job.status == JobStatus.DEAD:
        return FileState(row, "failed", job)
    return FileState(row, str(job.status), job)


async def make(context: JobContext) -> None:
    """The job: compute the report (on the data of now) and store its file."""
    args, session = context.args, context.session
    row = await session.get(ReportFile, str(args["digest"]))
    if row is None or row.content is not None:
        return  # cleaned up meanwhile, or made by an earlier attempt
    moments = [datetime.fromisoformat(args[k]) if args.get(k) else None for k in ("at", "since")]
    _, result = await comparison.report(
        session, str(args["set"]), at=moments[0], since=moments[1], settings=context.settings
    )
    chosen = exports.Format(args["format"])
    # in a thread: laying out a nationwide PDF takes minutes of CPU, which on the event loop
    # kept a server with the embedded worker from answering anyone (/health took 168 s)
    row.content = await asyncio.to_thread(exports.render, result, chosen, str(args["lang"]))
    row.filename, row.made_at = exports.filename(result, chosen), context.now
    session.add(row)


async def prune(session: AsyncSession, now: datetime) -> None:
    before = now - timedelta(days=KEEP_DAYS)
    await run(session, delete(ReportFile).where(col(ReportFile.created_at) < before))
