"""Webhooks: created by admins within their scope (secret shown once), events from the outbox
written with the change, signed deliveries in order per subscription, a retry after a 500,
dead after the last try, redelivery, nothing for a rolled-back change or another scope; on
PostgreSQL a worker killed mid-delivery delivers after a restart (at least once)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer
from tests.probes.test_probes import cited_assessment
from tracker import tasks
from tracker.db import Sessionmaker, create_engine, create_sessionmaker, run
from tracker.jobs import actions as jobs_actions
from tracker.jobs.models import Job
from tracker.settings import Settings
from tracker.webhooks import actions
from tracker.webhooks.models import WebhookDelivery, WebhookEvent

KOELN = "053150000000"
LEIPZIG = "147130000000"
HOOK = "http://127.0.0.1:9/hook"  # answered by the mock transport; no socket is opened


def verify(secret: str, headers: httpx.Headers, body: bytes) -> bool:
    """A receiver's check, written from the Standard Webhooks spec, not from our signer."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", part) for part in headers["webhook-signature"].split()
    )


class Receiver:
    def __init__(self) -> None:
        self.answers: list[int] = []  # then 200
        self.got: list[tuple[httpx.Headers, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.got.append((request.headers, request.content))
        return httpx.Response(self.answers.pop(0) if self.answers else 200)

    @property
    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.got]


async def test_signed_ordered_retried_dead_and_redelivered(
    client: Client, session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    admin = bearer(await add_token(session, await add_user(session, "a@bund.de", [("admin", "")])))
    nrw = bearer(await add_token(session, await add_user(session, "a@nrw.de", [("admin", "05")])))
    await session.commit()
    body = {"url": HOOK, "event_types": ["assessment.validated"], "ars_prefix": "05"}
    refused = await client.post("/api/v1/webhooks", json=body, headers=admin)
    assert refused.status_code == 422, refused.text  # loopback, not allowed by the settings
    assert "not a public address" in refused.json()["detail"]
    leipzig = await client.post("/api/v1/webhooks", json={**body, "ars_prefix": "14"}, headers=nrw)
    assert leipzig.status_code == 403
    bad = await client.post("/api/v1/webhooks", json={**body, "url": "ftp://x.de/a"}, headers=nrw)
    assert bad.status_code == 400

    settings = replace(
        settings, outbound_allowed_networks=("127.0.0.1/32",), webhook_max_attempts=2
    )
    from tests.builders import client_for
    from tracker.app import create_app

    async with client_for(create_app(settings, sessionmaker=sessionmaker)) as allowing:
        created = await allowing.post("/api/v1/webhooks", json=body, headers=nrw)
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook.pop("secret")
        assert secret.startswith("whsec_")
        shown = (await allowing.get(f"/api/v1/webhooks/{hook['id']}", headers=nrw)).json()
        assert shown == hook  # never the secret again
        assert (
            await allowing.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer("x"))
        ).status_code == 401

    first = await actions.emit(session, "assessment.validated", KOELN, {"n": 1})
    await actions.emit(session, "assessment.validated", LEIPZIG, {"n": 2})  # another scope
    await actions.emit(session, "assessment.rejected", KOELN, {"n": 3})  # not subscribed
    second = await actions.emit(session, "assessment.validated", "05315", {"n": 4})
    await session.commit()

    receiver = Receiver()
    receiver.answers = [500]
    now = jobs_actions.utc_now()
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as outbound:

        async def deliver(at: Any) -> None:
            await jobs_actions.run_due(
                sessionmaker, tasks.TASKS, settings=settings, http_client=outbound, now=at
            )

        await deliver(now)
        assert receiver.ids == [first.message_id]  # the 500: the later event waits
        await deliver(now + timedelta(seconds=30))
        assert len(receiver.got) == 1  # backoff not over
        await deliver(now + timedelta(seconds=61))
        assert receiver.ids == [first.message_id, first.message_id, second.message_id]
        for headers, content in receiver.got:
            assert verify(secret, headers, content)
            assert headers["content-type"] == "application/json"
        assert json.loads(receiver.got[-1][1]) == {
            "type": "assessment.validated", "timestamp": second.created_at.isoformat(),
            "data": {"n": 4},
        }  # fmt: skip
        assert not verify(actions.new_secret(), *receiver.got[0])

        receiver.got.clear()
        receiver.answers = [500, 503]
        third = await actions.emit(session, "assessment.validated", KOELN, {"n": 5})
        await session.commit()
        await deliver(now + timedelta(minutes=2))
        await deliver(now + timedelta(hours=2))
        assert receiver.ids == [third.message_id, third.message_id]
        log = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=nrw)
        assert log.status_code == 200
        newest = log.json()[0]
        assert {k: newest[k] for k in ("message_id", "status", "attempts", "last_status_code")} == {
            "message_id": third.message_id, "status": "dead", "attempts": 2,
            "last_status_code": 503,
        }  # fmt: skip
        assert [d["status"] for d in log.json()] == ["dead", "delivered", "delivered"]
        again = await client.post(
            f"/api/v1/webhooks/{hook['id']}/deliveries/{newest['id']}/redeliver", headers=nrw
        )
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending"
        await deliver(now + timedelta(hours=3))
        assert receiver.ids[-1] == third.message_id
        other = await client.post(
            f"/api/v1/webhooks/{hook['id']}/deliveries/{newest['id'] + 999}/redeliver",
            headers=nrw,
        )
        assert other.status_code == 404
    removed = await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=nrw)
    assert removed.status_code == 204
    assert [h["active"] for h in (await client.get("/api/v1/webhooks", headers=nrw)).json()] == [
        False
    ]


async def test_the_outbox_holds_nothing_for_a_rolled_back_change(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    async def counts() -> tuple[int, int, int]:
        found = []
        for table in (WebhookEvent, WebhookDelivery, Job):
            statement = select(func.count()).select_from(table)
            found.append(int((await run(session, statement)).scalar_one()))
        return found[0], found[1], found[2]

    admin = await add_user(session, "chef@bund.de", [("superadmin", "")])
    from tracker.access import queries as access_queries

    assert admin.id is not None
    principal = await access_queries.principal_for_user(session, admin.id)
    assert principal is not None
    await actions.create_subscription(
        session, url="https://hooks.example.de/x", event_types=["assessment.validated"],
        ars_prefix="", actor=principal, allowed_networks=(),
    )  # fmt: skip
    await session.commit()
    before = await counts()
    async with sessionmaker() as other, other.begin():
        await actions.emit(other, "assessment.validated", KOELN, {"n": 1})
        await other.rollback()
    assert await counts() == before
    # a real change (an assessment validated) writes its event, delivery and job with it
    await cited_assessment(session, ["https://dienst.example.de/x"])
    await session.commit()
    assert await counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    with pytest.raises(ValueError, match="unknown webhook event type"):
        await actions.emit(session, "assessment.deleted", KOELN, {})


class SocketReceiver:
    """A real HTTP receiver on 127.0.0.1: holds its first request until released (the
    worker is killed meanwhile), then answers 204 to everything."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.first = asyncio.Event()
        self.release = asyncio.Event()
        self.wanted: set[str] = set()
        self.all_seen = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers: dict[str, str] = {}
            await reader.readline()
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.ids.append(headers["webhook-id"])
            if self.wanted and set(self.ids) >= self.wanted:
                self.all_seen.set()
            if len(self.ids) == 1:
                self.first.set()
                await self.release.wait()
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.mark.skipif(
    not os.environ.get("TRACKER_DATABASE_URL"), reason="a separate worker process: PostgreSQL"
)
async def test_a_worker_killed_mid_delivery_delivers_after_a_restart(
    empty_database_url: str, tmp_path: Path
) -> None:
    receiver = SocketReceiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_engine(empty_database_url)
    sessionmaker = create_sessionmaker(engine)
    from tracker.access.guards import Grant, Principal

    boss = Principal(grants=(Grant("superadmin", ""),))
    async with sessionmaker.begin() as session:
        await actions.create_subscription(
            session, url=f"http://127.0.0.1:{port}/hook", event_types=["import.finished"],
            ars_prefix="", actor=boss, allowed_networks=("127.0.0.1/32",),
        )  # fmt: skip
        sent = [
            (await actions.emit(session, "import.finished", None, {"n": n})).message_id
            for n in range(3)
        ]
    env = {
        **os.environ, "TRACKER_DATABASE_URL": empty_database_url,
        "TRACKER_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32", "TRACKER_JOB_LEASE_SECONDS": "1",
    }  # fmt: skip
    log = (tmp_path / "worker.log").open("w")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tracker.cli", "worker", env=env, stdout=log, stderr=log
        )

    first = await start()
    second = None
    try:
        # generous: two cold starts of `tracker worker` on a loaded 2-core machine
        await asyncio.wait_for(receiver.first.wait(), 90)
        first.kill()  # kill -9, mid-delivery
        await first.wait()
        receiver.release.set()
        second = await start()
        receiver.wanted = set(sent)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.all_seen.wait(), 90)
        log.flush()
        assert set(receiver.ids) == set(sent), (tmp_path / "worker.log").read_text()
        assert receiver.ids[0] == receiver.ids[1] == sent[0]  # sent again: de-duplicate by id
        assert list(dict.fromkeys(receiver.ids)) == sent  # in order
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
        log.close()
        server.close()
        await engine.dispose()
