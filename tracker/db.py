"""Engine, session and the table base every model derives from; dialect differences live here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import Executable, MetaData, Result, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

Sessionmaker: TypeAlias = async_sessionmaker[AsyncSession]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TableModel(SQLModel):
    """Base of every table: the naming convention must be set before the tables exist."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


WRITE_OPTION = "tracker_write"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # aiosqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself.
        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A writing transaction takes the write lock at once: two writers that both read
            # first would otherwise deadlock on the lock upgrade ("database is locked").
            write = connection.get_execution_options().get(WRITE_OPTION, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def provide_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed after the handler, rolled back on any error."""
    sessionmaker: Sessionmaker = state.sessionmaker
    async with sessionmaker() as session, session.begin():
        if request.method not in SAFE_METHODS:
            await session.connection(execution_options={WRITE_OPTION: True})
        yield session


DbSession: TypeAlias = NamedDependency[AsyncSession]


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def run(session: AsyncSession, statement: Executable) -> Result[Any]:
    """Execute a SQLAlchemy statement in the session's transaction.

    SQLModel's `exec` overloads do not cover SQLAlchemy 2.1's generic `Select`; this one typed
    entry point keeps the type-checker's exception in one place.
    """
    return await session.exec(statement)  # type: ignore[call-overload,no-any-return]


async def tuples(session: AsyncSession, statement: Executable) -> list[tuple[Any, ...]]:
    """The rows of a statement as plain tuples, for unpacking."""
    return [tuple(row) for row in await run(session, statement)]


async def lock_until_commit(session: AsyncSession, name: str) -> None:
    """Make transactions that take the lock `name` run one after the other, each from here to
    its end (PostgreSQL: a transaction-level advisory lock; SQLite serialises writers anyway)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
        )


async def insert_new(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]], key: str
) -> set[Any]:
    """Insert the rows whose unique column `key` is not stored yet, and return the keys inserted:
    a row that another transaction stored meanwhile is skipped, not an IntegrityError
    (INSERT … ON CONFLICT DO NOTHING RETURNING, in both dialects)."""
    if not rows:
        return set()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    )
    return set((await connection.execute(statement, rows)).scalars())
