"""Background jobs: queued once per key, retried with backoff, dead after the last try, claimed
again after a lapsed lease, visible to admins. `tracker worker` on PostgreSQL (procrastinate)
is run, killed and restarted in tests/webhooks."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer
from tracker.cli import main
from tracker.db import Sessionmaker, create_engine, create_sessionmaker, run
from tracker.jobs import actions
from tracker.jobs.actions import JobContext
from tracker.jobs.models import Job
from tracker.jobs.workers import EmbeddedWorker
from tracker.settings import Settings

ran: list[dict[str, object]] = []


async def note(context: JobContext) -> None:
    ran.append(context.args)


async def fail(context: JobContext) -> None:
    raise RuntimeError(f"receiver away (attempt {context.attempt})")


TASKS = {"test.note": note, "test.fail": fail}


async def test_a_job_runs_once_per_key_and_admins_see_it(
    client: Client, session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    ran.clear()
    first = await actions.enqueue(session, "test.note", {"n": 1}, key="note:1")
    again = await actions.enqueue(session, "test.note", {"n": 1}, key="note:1")
    assert first is not None
    assert again is None
    admin = bearer(await add_token(session, await add_user(session, "a@bund.de", [("admin", "")])))
    nrw = bearer(await add_token(session, await add_user(session, "a@nrw.de", [("admin", "05")])))
    await session.commit()
    done = await actions.run_due(sessionmaker, TASKS, settings=settings)
    assert [job.id for job in done] == [first]
    assert ran == [{"n": 1}]
    # ended, the key is free again
    assert await actions.enqueue(session, "test.note", {"n": 2}, key="note:1") is not None
    await session.commit()

    listed = await client.get("/api/v1/jobs", params={"status": "succeeded"}, headers=admin)
    assert listed.status_code == 200, listed.text
    (job,) = listed.json()
    assert {k: job[k] for k in ("id", "kind", "args", "status", "attempts", "last_error")} == {
        "id": first, "kind": "test.note", "args": {"n": 1}, "status": "succeeded",
        "attempts": 1, "last_error": None,
    }  # fmt: skip
    refused = await client.get("/api/v1/jobs", headers=nrw)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "Background jobs need the admin role without a scope limit.",
    )
    assert (await client.get("/api/v1/jobs")).status_code == 401
    assert (await client.get("/api/v1/jobs?status=lost", headers=admin)).status_code == 400


async def test_a_failing_job_is_retried_with_backoff_then_dead(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    job_id = await actions.enqueue(session, "test.fail", max_attempts=2)
    await session.commit()
    start = actions.utc_now()
    (first,) = await actions.run_due(sessionmaker, TASKS, settings=settings, now=start)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.last_error == "RuntimeError: receiver away (attempt 1)"
    waited = first.run_at.replace(tzinfo=start.tzinfo) - start
    assert waited == timedelta(seconds=settings.job_backoff_seconds)
    assert await actions.run_due(sessionmaker, TASKS, settings=settings, now=start) == []
    later = start + timedelta(hours=1)
    (last,) = await actions.run_due(sessionmaker, TASKS, settings=settings, now=later)
    assert (last.id, last.status, last.attempts) == (job_id, "dead", 2)
    assert last.last_error == "RuntimeError: receiver away (attempt 2)"
    assert actions.backoff_seconds(3, 30) == 120
    assert actions.backoff_seconds(30, 30) == 6 * 3600


async def test_a_lapsed_lease_is_claimed_again_and_a_rollback_queues_nothing(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    ran.clear()
    job_id = await actions.enqueue(session, "test.note", {"n": 3})
    await session.commit()
    now = actions.utc_now()
    async with sessionmaker.begin() as worker:  # a worker claims it and dies
        assert await actions.claim(worker, None, now=now, lease_seconds=60, worker="w1")
    assert await actions.run_due(sessionmaker, TASKS, settings=settings, now=now) == []
    (job,) = await actions.run_due(
        sessionmaker, TASKS, settings=settings, now=now + timedelta(seconds=61)
    )
    assert (job.id, job.status, job.attempts, ran) == (job_id, "succeeded", 2, [{"n": 3}])

    async with sessionmaker() as other, other.begin():
        await actions.enqueue(other, "test.note", {"n": 4})
        await other.rollback()
    statement = select(Job).where(col(Job.kind) == "test.note", col(Job.status) == "queued")
    assert list((await run(session, statement)).scalars()) == []


def test_tracker_jobs_lists_them(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    answer = CliRunner().invoke(main, ["jobs", "--status", "dead"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.split() == [
        "id",
        "kind",
        "status",
        "tries",
        "run",
        "at",
        "/",
        "last",
        "error",
    ]


async def test_the_servers_worker_runs_queued_and_periodic_jobs(
    empty_database_url: str, settings: Settings
) -> None:
    """The in-process worker that `tracker serve` starts on SQLite (and could run anywhere): it
    runs what is queued, and queues a periodic kind for one interval after it first sees it."""
    engine = create_engine(empty_database_url)
    sessionmaker = create_sessionmaker(engine)
    ran.clear()
    async with sessionmaker.begin() as session:
        await actions.enqueue(session, "test.note", {"n": 7})
    fast = replace(settings, database_url=empty_database_url, job_poll_seconds=0.05)
    worker = EmbeddedWorker(
        sessionmaker, {**TASKS, "test.tick": note}, {"test.tick": 3600.0}, settings=fast,
        http_client=None,
    )  # fmt: skip
    await worker.start()
    try:
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    async with sessionmaker() as session:
        (tick,) = (await run(session, select(Job).where(col(Job.kind) == "test.tick"))).scalars()
    await engine.dispose()
    assert ran == [{"n": 7}]
    waits = tick.run_at.replace(tzinfo=UTC) - tick.created_at.replace(tzinfo=UTC)
    assert tick.status == "queued"
    assert timedelta(minutes=59) < waits <= timedelta(hours=1)


async def test_an_admin_retries_a_dead_job_which_runs_again(
    client: Client, session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    job_id = await actions.enqueue(session, "test.fail", max_attempts=1)
    admin = bearer(await add_token(session, await add_user(session, "r@bund.de", [("admin", "")])))
    nrw = bearer(await add_token(session, await add_user(session, "r@nrw.de", [("admin", "05")])))
    await session.commit()
    (dead,) = await actions.run_due(sessionmaker, TASKS, settings=settings)
    assert (dead.id, dead.status) == (job_id, "dead")

    assert (await client.post(f"/api/v1/jobs/{job_id}/retry", headers=nrw)).status_code == 403
    retried = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert {k: body[k] for k in ("id", "status", "attempts", "finished_at", "last_error")} == {
        "id": job_id, "status": "queued", "attempts": 0, "finished_at": None,
        "last_error": "RuntimeError: receiver away (attempt 1)",
    }  # fmt: skip
    again = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    missing = await client.post("/api/v1/jobs/2147483647/retry", headers=admin)
    assert missing.status_code == 404
    (ran_again,) = await actions.run_due(sessionmaker, TASKS, settings=settings)
    assert (ran_again.id, ran_again.status, ran_again.attempts) == (job_id, "dead", 1)
    audit = await client.get(
        "/api/v1/audit", params={"entity": "job", "id": str(job_id)}, headers=admin
    )
    assert [entry["action"] for entry in audit.json()] == ["retry"]


async def test_tracker_jobs_retry_queues_a_dead_job(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(empty_database_url)
    async with create_sessionmaker(engine).begin() as session:
        job_id = await actions.enqueue(session, "test.fail")
        assert job_id is not None
        await run(session, update(Job).where(col(Job.id) == job_id).values(status="dead"))
    monkeypatch.setenv("TRACKER_DATABASE_URL", empty_database_url)
    runner = CliRunner()
    done = await asyncio.to_thread(runner.invoke, main, ["jobs", "retry", str(job_id)])
    assert (done.exit_code, done.output) == (0, f"job {job_id} (test.fail) queued again\n")
    again = await asyncio.to_thread(runner.invoke, main, ["jobs", "retry", str(job_id)])
    assert again.exit_code == 1
    assert f"Job {job_id} is queued; only a dead job is retried." in again.output
    async with create_sessionmaker(engine)() as session:
        assert (await session.get(Job, job_id)).status == "queued"  # type: ignore[union-attr]
    await engine.dispose()
