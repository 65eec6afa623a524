"""Two uvicorn workers over one PostgreSQL database: a change made through either shows at once
in both, although each keeps its own cache of a Gemeinde's roll-up."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import add_gemeinde, add_leistung, add_token, add_user, bearer
from tests.maturity.test_routes import FULL
from tracker.db import create_engine, create_sessionmaker

ESSEN = "051130000000"
ROLLUP = f"/api/v1/gemeinden/{ESSEN}/reifegrad"
WORKERS = 2

pytestmark = pytest.mark.skipif(
    not os.environ.get("TRACKER_DATABASE_URL"),
    reason="PostgreSQL only (TRACKER_DATABASE_URL): the workers share a database server",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(parent: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def connection_owners(port: int, pids: set[int]) -> dict[int, int]:
    """How many established connections to `port` each of the processes holds (Linux /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(f"socket:[{fields[9]}]")
    owners: dict[int, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    owners[pid] = owners.get(pid, 0) + 1
            except OSError:
                continue
    return owners


@contextmanager
def serving(database_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    tracker = Path(sys.executable).with_name("tracker")
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url}
    env.pop("TRACKER_SECRET_KEY", None)  # `tracker serve` draws one for both workers
    command = [str(tracker), "serve", "--port", str(port), "--workers", str(WORKERS)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
        assert b"Traceback" not in errors, errors.decode()


async def seed(database_url: str) -> dict[str, dict[str, str]]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await add_gemeinde(session)
            await add_leistung(session)
            editor = await add_user(session, "editor@essen.de", [("editor", ESSEN)])
            reviewer = await add_user(session, "review@nrw.de", [("reviewer", "05")])
            return {
                "editor": bearer(await add_token(session, editor)),
                "reviewer": bearer(await add_token(session, reviewer)),
            }
    finally:
        await engine.dispose()


def online_level(body: dict[str, Any]) -> int | None:
    (leistung,) = body["leistungen"]
    assert leistung["ozg_id"] == "10000"
    return None if leistung["online"] is None else int(leistung["online"]["highest"])


async def pinned_clients(
    stack: AsyncExitStack, base: str, port: int, processes: set[int]
) -> AsyncIterator[httpx.AsyncClient]:
    """Kept-alive clients, one connection each, opened until every worker holds some (the
    server's `processes` are its workers and multiprocessing's resource tracker)."""
    for opened in range(1, 101):
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=10))
        answer = await client.get(ROLLUP)
        assert answer.status_code == 200, answer.text
        assert online_level(answer.json()) is None
        yield client
        if opened >= 2 * WORKERS and len(connection_owners(port, processes)) == WORKERS:
            return
    pytest.fail(f"the kernel never gave a connection to each worker: {processes}")


async def until_healthy(base: str) -> None:
    """Up to a minute: each worker imports the whole app before it answers (slow under load)."""
    async with httpx.AsyncClient(base_url=base, timeout=1) as client:
        for _ in range(1200):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    pytest.fail("tracker serve did not start")


async def test_two_workers_show_a_validated_level_at_once(empty_database_url: str) -> None:
    tokens = await seed(empty_database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(empty_database_url, port) as process:
        await until_healthy(base)
        processes: set[int] = set()
        for _ in range(100):
            processes = children(process.pid)
            if len(processes) >= WORKERS:
                break
            await asyncio.sleep(0.05)
        async with AsyncExitStack() as stack:
            clients = [c async for c in pinned_clients(stack, base, port, processes)]
            for client in clients:  # a second time: from each worker's cache
                assert online_level((await client.get(ROLLUP)).json()) is None

            writer = await stack.enter_async_context(httpx.AsyncClient(base_url=base))
            body = {"ars": ESSEN, "leika_key": "99041006000000", "dimension": "online"}
            made = await writer.post(
                "/api/v1/assessments",
                json=body | {"ratings": FULL, "submit": True},
                headers=tokens["editor"],
            )
            assert made.status_code == 201, made.text
            assessment = made.json()
            assert assessment["status"] == "submitted"
            validated = await writer.post(
                f"/api/v1/assessments/{assessment['id']}/validate",
                json={},
                headers={**tokens["reviewer"], "If-Match": f'"v{assessment["version"]}"'},
            )
            assert validated.status_code == 200, validated.text

            assert len(connection_owners(port, processes)) == WORKERS
            for client in clients:  # every worker, on the connection that cached the old answer
                assert online_level((await client.get(ROLLUP)).json()) == 3
        for _ in range(20):  # and on fresh connections
            async with httpx.AsyncClient(base_url=base, timeout=10) as fresh:
                assert online_level((await fresh.get(ROLLUP)).json()) == 3
