"""A served app (its own engines, as under `tracker serve`) reads a cached answer's stamp once
per change: a repeated request runs no statement (an anonymous one does not even enter the
application: `caching.FrontCache`), and a commit made elsewhere shows."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, select, text
from sqlalchemy.sql import visitors

from tests.builders import add_gemeinde, client_for
from tracker import models  # noqa: F401  (every table, for the stamps' subqueries)
from tracker.app import Tracker, create_app
from tracker.db import create_engine, create_sessionmaker
from tracker.maturity import applicability, counts
from tracker.reports import queries
from tracker.settings import Settings
from tracker.watch import CHANNEL

ESSEN = "051130000000"
ROLLUP = f"/api/v1/gemeinden/{ESSEN}/reifegrad"
VERSIONS = Path(__file__).parent.parent / "migrations/versions"
MIGRATION = VERSIONS / "2026-12-02_notify_on_stamped_tables.py"
# the migrations that make tables notify: each names its own in STAMPED
NOTIFYING = (MIGRATION, VERSIONS / "2026-12-04_level_flags_notify_stamp_readers.py")


def read_tables(statement: Any) -> set[str]:
    return {element.name for element in visitors.iterate(statement) if isinstance(element, Table)}


def stamped(path: Path) -> set[str]:
    spec = importlib.util.spec_from_file_location("notify_migration", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return set(migration.STAMPED)


def test_the_notifying_tables_are_those_the_stamps_read() -> None:
    data = select(*counts.revision(), *applicability.stamp_columns())
    notifying = set().union(*(stamped(path) for path in NOTIFYING))
    assert notifying == read_tables(queries.GEMEINDE_STAMP) | read_tables(data)
    assert f"'{CHANNEL}'" in MIGRATION.read_text()


async def rename(url: str, name: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE gemeinde SET display_name = :name WHERE ars = :ars"),
                {"name": name, "ars": ESSEN},
            )
    finally:
        await engine.dispose()


async def test_a_cached_answer_runs_no_statement_until_a_commit_elsewhere(
    empty_database_url: str, data_dir: Path
) -> None:
    engine = create_engine(empty_database_url)
    async with create_sessionmaker(engine).begin() as session:
        await add_gemeinde(session)
    await engine.dispose()
    # on SQLite with its in-process worker polling fast: an idle worker's poll runs nothing
    settings = Settings(database_url=empty_database_url, data_dir=data_dir, job_poll_seconds=0.01)
    app = create_app(settings)
    async with app.lifespan(), client_for(app) as client:
        statements: list[str] = []
        served = app.state.sessionmaker.kw["bind"].sync_engine
        event.listen(served, "before_cursor_execute", lambda *args: statements.append(args[2]))
        for _ in range(100):  # until the PostgreSQL watch listens
            if app.state.watch.version() is not None:
                break
            await asyncio.sleep(0.05)
        worker = app.state.worker
        assert (worker is not None) == empty_database_url.startswith("sqlite")
        if worker is not None:  # it queued the periodic jobs, then found nothing due
            await asyncio.wait_for(worker.idle.wait(), 10)
            statements.clear()
            await asyncio.sleep(0.1)
            assert statements == []
        first = await client.get(ROLLUP)
        assert (first.status_code, first.json()["name"]) == (200, "Essen")
        statements.clear()
        again = await client.get(ROLLUP, headers={"If-None-Match": first.headers["ETag"]})
        assert (again.status_code, statements) == (304, [])
        kept = await client.get(ROLLUP)  # from the front cache: the same answer, whole
        assert (kept.content, kept.headers) == (first.content, first.headers)
        assert statements == []
        assert isinstance(app, Tracker)
        assert len(app.front.kept.entries) == 2  # the 200 and the 304
        # credentials pass through to the application, which refuses a bad token
        refused = await client.get(ROLLUP, headers={"Authorization": "Bearer nonsense"})
        assert refused.status_code == 401
        head = await client.head(ROLLUP)
        assert (head.status_code, head.content, head.headers["etag"]) == (
            200,
            b"",
            first.headers["etag"],
        )

        await rename(empty_database_url, "Essen (Ruhr)")
        for _ in range(100):  # a notification takes its time; the pragma none
            renamed = await client.get(ROLLUP)
            if renamed.json()["name"] != "Essen":
                break
            await asyncio.sleep(0.02)
        assert renamed.json()["name"] == "Essen (Ruhr)"
        assert renamed.headers["ETag"] != first.headers["ETag"]
