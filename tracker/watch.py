"""Knowing, without a query, that no write has been committed since a stamp was read: so that a
cached answer's stamp (`reports.queries.gemeinde_stamp`) is read once per change, not once per
request, and stays correct in every worker process.

SQLite: `PRAGMA data_version` on a connection of our own that never writes changes whenever any
other connection, of any process, has committed. PostgreSQL: a trigger on every table that a
stamp reads sends NOTIFY (migration `2026-12-02_notify_on_stamped_tables`), which a connection of
each worker LISTENs for; while that connection is down nothing is known and every stamp is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tracker.caching import Lru

T = TypeVar("T")
CHANNEL = "tracker_stamps"
RETRY_SECONDS = 1.0
STAMPS_KEPT = 4096


class Watch:
    """The base, which knows nothing and reads every stamp: for a database given by the tests,
    and a read replica, whose replay lags behind the primary's notifications."""

    def __init__(self) -> None:
        self.stamps: Lru[Any] = Lru(STAMPS_KEPT)

    def version(self) -> Hashable | None:
        """Changes with every commit that may change a stamp; None: unknown."""
        return None

    async def stamp(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`, or what it gave under the current version. The version is taken before
        the read: a write committed meanwhile makes a new version, so an entry never outlives
        the data it was read from."""
        version = self.version()
        if version is None:
            return await read()
        found: T | None = self.stamps.get((version, key))
        if found is None:
            found = await read()
            self.stamps.put((version, key), found)
        return found

    def wrote(self) -> None:
        """A write of this process has been committed (its client may read it next)."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class SqliteWatch(Watch):
    """The pragma runs in the event loop, not in aiosqlite's thread: it reads a counter from the
    WAL index in a few microseconds, less than the hand-off to another thread."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.connection: sqlite3.Connection | None = None

    def version(self) -> Hashable | None:
        try:
            if self.connection is None:  # opened here, so that it is retried while it fails
                uri = Path(self.path).resolve().as_uri() + "?mode=rw"  # never creates the file
                self.connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=1)
            return self.connection.execute("PRAGMA data_version").fetchone()[0]  # type: ignore[no-any-return]
        except sqlite3.Error:
            return None

    async def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class PostgresWatch(Watch):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self.changes = 0
        self.listening = False
        self.task: asyncio.Task[None] | None = None

    def version(self) -> Hashable | None:
        return self.changes if self.listening else None

    def changed(self, *_: Any) -> None:
        self.changes += 1

    def wrote(self) -> None:
        # at once: the notification of this process's own write arrives a little later
        self.changed()

    async def start(self) -> None:
        self.task = asyncio.create_task(self.listen())

    async def listen(self) -> None:
        while True:
            try:
                await self.listen_until_lost()
            except (OSError, SQLAlchemyError):
                pass
            finally:
                self.listening = False
            await asyncio.sleep(RETRY_SECONDS)

    async def listen_until_lost(self) -> None:
        async with self.engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            lost = asyncio.Event()
            driver.add_termination_listener(lambda _: lost.set())
            await driver.add_listener(CHANNEL, self.changed)
            self.changed()  # anything may have changed while nobody listened
            self.listening = True
            await lost.wait()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.engine.dispose()


def watch_for(engine: AsyncEngine) -> Watch:
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresWatch(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return SqliteWatch(url.database)
    return Watch()
