"""Who runs the jobs. PostgreSQL: `tracker worker` processes, on any number of machines, each a
procrastinate worker (LISTEN/NOTIFY wake-ups, scheduling, concurrency); procrastinate's own job
carries only our job's id, and a sweep each minute hands over what is due or lost (a lapsed
lease after a killed worker) and queues the periodic jobs. SQLite: one in-process worker started
with the server, polling the same table and calling the same job functions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import make_url, text

from tracker.db import Sessionmaker, run
from tracker.jobs import actions
from tracker.jobs.actions import Tasks
from tracker.settings import Settings
from tracker.watch import Watch, watch_for

PROCRASTINATE_SCHEMA = "procrastinate"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class EmbeddedWorker:
    """The SQLite server's worker: an asyncio task polling every `job_poll_seconds`.

    A poll writes nothing unless something is due: it first reads, in a transaction that is
    rolled back, when the next job is due (`actions.next_due_at`), and only then claims and
    commits. With a `watch` that knows of every commit (SQLite's `PRAGMA data_version`), a
    poll before that moment and with no commit since the last read runs no statement at all,
    so an idle server neither invalidates nor misses the data-stamp-keyed caches."""

    def __init__(
        self,
        sessionmaker: Sessionmaker,
        tasks: Tasks,
        periodic: Mapping[str, float],
        *,
        settings: Settings,
        http_client: httpx.AsyncClient | None,
        watch: Watch | None = None,
    ) -> None:
        self.sessionmaker, self.tasks, self.periodic = sessionmaker, tasks, periodic
        self.settings, self.http_client = settings, http_client
        self.watch = watch or Watch()
        self.name = worker_name()
        self._task: asyncio.Task[None] | None = None
        self._seen: Hashable | None = None  # the watch's version at the last read
        self._next_at: datetime | None = None  # what that read found next due
        self.idle = asyncio.Event()  # set while polls skip: nothing due, nothing committed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def poll(self) -> bool:
        """One poll; True when it ran anything."""
        version = self.watch.version()  # before the read: a commit meanwhile makes a new one
        now = actions.utc_now()
        if (
            version is not None
            and version == self._seen
            and (self._next_at is None or now < self._next_at)
        ):
            self.idle.set()
            return False
        self.idle.clear()
        async with self.sessionmaker() as session:  # read only, rolled back on close
            next_at = await actions.next_due_at(session, self.periodic, now)
        if next_at is None or next_at > now:
            self._seen, self._next_at = version, next_at
            return False
        self._seen = self._next_at = None  # what runs now commits: read again next time
        async with self.sessionmaker.begin() as session:
            await actions.enqueue_periodic(session, self.periodic, now)
        done = await actions.run_due(
            self.sessionmaker, self.tasks, settings=self.settings,
            http_client=self.http_client, worker=self.name,
        )  # fmt: skip
        return bool(done)

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # the database may be away: read again at the next poll
                self._seen = self._next_at = None
            await asyncio.sleep(self.settings.job_poll_seconds)


def libpq_url(database_url: str) -> str:
    """The app's SQLAlchemy URL as psycopg takes it (no `+asyncpg`)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def procrastinate_app(
    sessionmaker: Sessionmaker,
    tasks: Tasks,
    periodic: Mapping[str, float],
    *,
    settings: Settings,
    http_client: httpx.AsyncClient | None,
) -> Any:
    """The procrastinate app of `tracker worker`: one task running our job by id, and the
    minute's sweep."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.database_url),
        kwargs={"options": f"-c search_path={PROCRASTINATE_SCHEMA}"},
        min_size=1,
        max_size=settings.worker_concurrency + 2,
    )
    app = procrastinate.App(connector=connector)
    name = worker_name()

    @app.task(name=actions.PROCRASTINATE_TASK)
    async def run_tracker_job(job_id: int) -> None:
        await actions.run_job(
            sessionmaker, tasks, job_id, settings=settings, http_client=http_client, worker=name
        )

    @app.periodic(cron="* * * * *")
    @app.task(name="tracker.sweep", queueing_lock="tracker.sweep")
    async def sweep(timestamp: int) -> None:
        await hand_over(sessionmaker, periodic)

    return app


async def hand_over(sessionmaker: Sessionmaker, periodic: Mapping[str, float]) -> None:
    """Queue the periodic jobs that are due, and hand procrastinate every job that is due or
    whose lease lapsed (a worker killed mid-job): at a worker's start and each minute."""
    now = actions.utc_now()
    async with sessionmaker.begin() as session:
        await actions.enqueue_periodic(session, periodic, now)
        for job_id in await actions.claimable_ids(session, now):
            await actions.wake(session, job_id, now)
        # procrastinate's jobs of killed workers stay `doing` once their worker is pruned; ours
        # were just handed over again, so those carriers go
        await run(
            session,
            text(
                "DELETE FROM procrastinate.procrastinate_jobs WHERE status = 'doing' "
                "AND worker_id IS NULL AND task_name = :task"
            ).bindparams(task=actions.PROCRASTINATE_TASK),
        )


async def run_worker(
    sessionmaker: Sessionmaker,
    tasks: Tasks,
    periodic: Mapping[str, float],
    *,
    settings: Settings,
    http_client: httpx.AsyncClient | None,
    once: bool = False,
) -> None:
    """Run jobs until stopped (or, with `once`, until none is due)."""
    if settings.database_url.startswith("sqlite") or once:
        if once:
            async with sessionmaker.begin() as session:
                await actions.enqueue_periodic(session, periodic, actions.utc_now())
            await actions.run_due(
                sessionmaker, tasks, settings=settings, http_client=http_client,
                worker=worker_name(),
            )  # fmt: skip
            return
        watch = watch_for(sessionmaker.kw["bind"])
        await watch.start()
        worker = EmbeddedWorker(
            sessionmaker, tasks, periodic, settings=settings, http_client=http_client, watch=watch
        )
        await worker.start()
        try:
            await asyncio.Event().wait()
        finally:
            await worker.stop()
            await watch.stop()
    app = procrastinate_app(
        sessionmaker, tasks, periodic, settings=settings, http_client=http_client
    )
    await hand_over(sessionmaker, periodic)
    async with app.open_async():
        await app.run_worker_async(
            concurrency=settings.worker_concurrency, install_signal_handlers=True,
            delete_jobs="successful", fetch_job_polling_interval=settings.job_poll_seconds,
        )  # fmt: skip
