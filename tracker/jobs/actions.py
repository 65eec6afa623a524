"""Queue and run jobs. A job runs in its own transaction: its effects and its success commit
together, and a failure rolls them back and is recorded in a transaction of its own, with the
next attempt after an exponential backoff, or the job dead after its last attempt.

A job is claimed with a lease (`locked_until`): a worker killed mid-job leaves it running, and
once the lease has passed another worker claims it again, so every job runs at least once and
job functions are written to be idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal
from tracker.db import Sessionmaker, insert_new, run, tuples
from tracker.errors import Conflict, NotFound
from tracker.jobs.models import Job, JobStatus
from tracker.settings import Settings

MAX_ERROR_CHARS = 2000
PROCRASTINATE_TASK = "tracker.run_job"
JOB_TABLE = cast(Table, Job.__table__)  # type: ignore[attr-defined]


@dataclass
class JobContext:
    """What a job function gets: its own transaction's session and the parts it may need. A
    function that must wait (a webhook's next try) sets `again_at`: the job is queued again
    for then, without counting as a failure."""

    session: AsyncSession
    job_id: int
    kind: str
    args: dict[str, Any]
    attempt: int
    settings: Settings
    http_client: httpx.AsyncClient | None
    now: datetime
    # for a job that commits as it goes (a probe run's batches) in transactions of its own
    sessionmaker: Sessionmaker | None = None
    again_at: datetime | None = None
    note: list[str] = field(default_factory=list)


Task = Callable[[JobContext], Awaitable[None]]
Tasks = Mapping[str, Task]


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff_seconds(attempt: int, base_seconds: float, cap_seconds: float = 6 * 3600) -> float:
    """Wait after the `attempt`-th failure: base, 2×base, 4×base, … up to the cap."""
    return float(min(base_seconds * 2 ** max(attempt - 1, 0), cap_seconds))


async def enqueue(
    session: AsyncSession,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Queue a job in the caller's transaction (it is lost with a rollback, and exists once
    committed). With `key`, work already queued or running under that key is not queued again:
    None is returned."""
    now = utc_now()
    row = {
        "kind": kind, "pending_key": key, "args": args or {}, "status": JobStatus.QUEUED,
        "attempts": 0, "max_attempts": max_attempts, "run_at": run_at or now, "created_at": now,
    }  # fmt: skip
    connection = await session.connection()
    if key is None:
        job = Job.model_validate(row)
        session.add(job)
        await session.flush()
        job_id = job.id
    else:
        inserted = await insert_new(connection, JOB_TABLE, [row], "pending_key")
        if not inserted:
            return None
        job_id = (
            await run(session, select(col(Job.id)).where(col(Job.pending_key) == key))
        ).scalar_one()
    assert job_id is not None  # noqa: S101  (flushed)
    await wake(session, job_id, run_at or now)
    return job_id


async def wake(session: AsyncSession, job_id: int, at: datetime) -> None:
    """On PostgreSQL, hand the job to procrastinate in the same transaction: its workers are
    woken by NOTIFY when this commits, or at `at`. SQLite's in-process worker polls instead."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    await connection.execute(
        text(
            "SELECT procrastinate.procrastinate_defer_jobs_v1(ARRAY[ROW("
            "'default', :task, 0, NULL, NULL, CAST(:args AS jsonb), :at"
            ")::procrastinate.procrastinate_job_to_defer_v1])"
        ),
        {"task": PROCRASTINATE_TASK, "args": json.dumps({"job_id": job_id}), "at": at},
    )


def _claimable(now: datetime) -> Any:
    return or_(
        and_(col(Job.status) == JobStatus.QUEUED, col(Job.run_at) <= now),
        and_(col(Job.status) == JobStatus.RUNNING, col(Job.locked_until) < now),
    )


async def claim(
    session: AsyncSession,
    job_id: int | None,
    *,
    now: datetime,
    lease_seconds: float,
    worker: str,
) -> Job | None:
    """Take the job `job_id` (or the next due one) if it is due, or running with a lapsed lease."""
    chosen = (
        select(col(Job.id)).where(_claimable(now)).order_by(col(Job.run_at), col(Job.id)).limit(1)
    )
    if job_id is not None:
        chosen = chosen.where(col(Job.id) == job_id)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(col(Job.id) == chosen.scalar_subquery())
        .values(
            status=JobStatus.RUNNING,
            attempts=col(Job.attempts) + 1,
            locked_until=now + timedelta(seconds=lease_seconds),
            started_at=now,
            worker=worker[:100],
        )
        .returning(col(Job.id))
    )
    claimed = (await run(session, statement)).scalar_one_or_none()
    if claimed is None:
        return None
    return await session.get(Job, claimed, populate_existing=True)


async def run_job(
    sessionmaker: Sessionmaker,
    tasks: Tasks,
    job_id: int | None = None,
    *,
    settings: Settings,
    http_client: httpx.AsyncClient | None = None,
    worker: str = "inline",
    now: datetime | None = None,
) -> Job | None:
    """Claim and run one job (the given one, or the next due); None when there was none."""
    moment = now or utc_now()
    async with sessionmaker.begin() as session:
        job = await claim(
            session, job_id, now=moment, lease_seconds=settings.job_lease_seconds, worker=worker
        )
    if job is None or job.id is None:
        return None
    if job.attempts > job.max_attempts:  # its last attempt's worker died
        async with sessionmaker.begin() as session:
            await _end(session, job.id, JobStatus.DEAD, moment, "lease lapsed after last attempt")
        return job
    task = tasks.get(job.kind)
    keeper = asyncio.create_task(_keep_lease(sessionmaker, job.id, settings.job_lease_seconds))
    try:
        if task is None:
            raise LookupError(f"no job function for {job.kind!r}")
        async with sessionmaker.begin() as session:
            context = JobContext(
                session=session, job_id=job.id, kind=job.kind, args=dict(job.args),
                attempt=job.attempts, settings=settings, http_client=http_client, now=moment,
                sessionmaker=sessionmaker,
            )  # fmt: skip
            await task(context)
            if context.again_at is not None:
                await _requeue(session, job.id, context.again_at, attempts=0)
            else:
                await _end(session, job.id, JobStatus.SUCCEEDED, moment, None)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        async with sessionmaker.begin() as session:
            if job.attempts >= job.max_attempts:
                await _end(session, job.id, JobStatus.DEAD, moment, error)
            else:
                wait = backoff_seconds(job.attempts, settings.job_backoff_seconds)
                at = moment + timedelta(seconds=wait)
                await _requeue(session, job.id, at, attempts=job.attempts, error=error)
    finally:
        keeper.cancel()
    async with sessionmaker() as session:
        return await session.get(Job, job.id)


async def remember(sessionmaker: Sessionmaker, job_id: int, args: dict[str, Any]) -> None:
    """Store a job's arguments at once, in a transaction of their own: what a later attempt of
    the job reads to resume (a probe run's start)."""
    async with sessionmaker.begin() as session:
        await run(session, update(Job).where(col(Job.id) == job_id).values(args=args))


async def retry(session: AsyncSession, job_id: int, *, actor: Principal | str) -> Job:
    """Queue a dead job again, now, with its attempts from nought (its last error kept until
    the next attempt says otherwise). A job of another state is a 409: a queued or running job
    runs anyway, a succeeded one is queued anew by whatever queued it."""
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    if job.status != JobStatus.DEAD:
        raise Conflict(f"Job {job_id} is {job.status}; only a dead job is retried.")
    now = utc_now()
    job.status, job.attempts, job.run_at = JobStatus.QUEUED, 0, now
    job.locked_until = job.finished_at = None
    session.add(job)
    await session.flush()
    await wake(session, job_id, now)
    await access_actions.record_audit(
        session, actor=actor, entity="job", entity_id=job_id, action="retry",
        changes={"status": [JobStatus.DEAD.value, JobStatus.QUEUED.value]},
    )  # fmt: skip
    return job


async def _keep_lease(sessionmaker: Sessionmaker, job_id: int, lease_seconds: float) -> None:
    """While a job runs, renew its lease every third of it: only a dead worker's job lapses
    (a probe run of many hosts outlasts one lease)."""
    while True:
        await asyncio.sleep(lease_seconds / 3)
        with contextlib.suppress(Exception):  # the next renewal tries again
            async with sessionmaker.begin() as session:
                await run(
                    session,
                    update(Job)
                    .where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING)
                    .values(locked_until=utc_now() + timedelta(seconds=lease_seconds)),
                )


async def _requeue(
    session: AsyncSession, job_id: int, at: datetime, *, attempts: int, error: str | None = None
) -> None:
    values: dict[str, Any] = {
        "status": JobStatus.QUEUED, "run_at": at, "locked_until": None, "attempts": attempts,
    }  # fmt: skip
    if error is not None:
        values["last_error"] = error
    await run(session, update(Job).where(col(Job.id) == job_id).values(**values))
    await wake(session, job_id, at)


async def _end(
    session: AsyncSession, job_id: int, status: JobStatus, at: datetime, error: str | None
) -> None:
    values: dict[str, Any] = {
        "status": status, "finished_at": at, "locked_until": None, "pending_key": None,
    }  # fmt: skip
    if error is not None:
        values["last_error"] = error
    await run(session, update(Job).where(col(Job.id) == job_id).values(**values))


async def run_due(
    sessionmaker: Sessionmaker,
    tasks: Tasks,
    *,
    settings: Settings,
    http_client: httpx.AsyncClient | None = None,
    now: datetime | None = None,
    limit: int = 1000,
    worker: str = "inline",
) -> list[Job]:
    """Run due jobs one after the other until none is due (jobs they queue included)."""
    done = []
    for _ in range(limit):
        job = await run_job(
            sessionmaker, tasks, settings=settings, http_client=http_client, now=now, worker=worker
        )
        if job is None:
            break
        done.append(job)
    return done


async def claimable_ids(session: AsyncSession, now: datetime, *, limit: int = 500) -> list[int]:
    statement = select(col(Job.id)).where(_claimable(now)).order_by(col(Job.run_at)).limit(limit)
    return [int(i) for i in (await run(session, statement)).scalars()]


async def _periodic_due(
    session: AsyncSession, periodic: Mapping[str, float]
) -> dict[str, datetime | None]:
    """Per periodic kind, when it is next to be queued: None for a kind never queued (it is
    queued at once, for one interval ahead), else its newest job's creation plus the interval."""
    statement = (
        select(col(Job.kind), func.max(Job.created_at))
        .where(col(Job.kind).in_(list(periodic)))
        .group_by(col(Job.kind))
    )
    newest: dict[str, datetime] = {kind: at for kind, at in await tuples(session, statement)}
    due: dict[str, datetime | None] = {}
    for kind, every_seconds in periodic.items():
        created = newest.get(kind)
        if created is None:
            due[kind] = None
        else:
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            due[kind] = created + timedelta(seconds=every_seconds)
    return due


async def enqueue_periodic(
    session: AsyncSession, periodic: Mapping[str, float], now: datetime
) -> list[int]:
    """Queue each periodic kind whose last job was created longer ago than its interval. A kind
    never queued before is queued for one interval from now: a new installation (or a test
    server) does not start by calling out (`tracker probe run` does it at once)."""
    queued = []
    for kind, due in (await _periodic_due(session, periodic)).items():
        if due is not None and due > now:
            continue
        run_at = now + timedelta(seconds=periodic[kind]) if due is None else now
        job_id = await enqueue(session, kind, key=kind, run_at=run_at)
        if job_id is not None:
            queued.append(job_id)
    return queued


async def next_due_at(
    session: AsyncSession, periodic: Mapping[str, float], now: datetime
) -> datetime | None:
    """When a poll next has something to do, read without writing: the earliest queued job's
    `run_at`, running job's lapsing lease or periodic kind to queue (`now` or earlier when
    something is due already; None when nothing ever will be without a new job)."""
    moments: list[datetime] = [
        now if due is None else due for due in (await _periodic_due(session, periodic)).values()
    ]
    ((queued, leased),) = await tuples(
        session,
        select(
            select(func.min(Job.run_at))
            .where(col(Job.status) == JobStatus.QUEUED)
            .scalar_subquery(),
            select(func.min(Job.locked_until))
            .where(col(Job.status) == JobStatus.RUNNING)
            .scalar_subquery(),
        ),
    )
    for moment in (queued, leased):
        if moment is not None:
            moments.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(moments, default=None)
