"""Engine, session and the table base every model derives from; dialect differences live here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg  # type: ignore[import-untyped]
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Executable,
    Index,
    MetaData,
    Result,
    Select,
    Table,
    event,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.settings import Settings

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


def create_engine(
    url: str, *, pool_size: int | None = None, max_overflow: int | None = None, **kwargs: Any
) -> AsyncEngine:
    """An engine; `pool_size` and `max_overflow` size its pool on PostgreSQL (SQLite has one
    writer anyway and keeps SQLAlchemy's defaults)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    elif url.startswith("postgresql"):
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
        if max_overflow is not None:
            kwargs["max_overflow"] = max_overflow
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


# The statement timeout of a read request's transaction, in its session's `info`.
READ_TIMEOUT_INFO = "read_statement_timeout_ms"


class ReadingSession(Session):
    """A read request's session. Its transaction begins only at its first statement, so that an
    answer from a cache costs no connection; then PostgreSQL cancels any of its statements that
    runs longer than `info[READ_TIMEOUT_INFO]` milliseconds (0: no limit), which `errors`
    answers with 503. SQLite has no statement timeout: nothing is set there."""


@event.listens_for(ReadingSession, "after_begin")
def _limit_statement_time(session: Session, _transaction: Any, connection: Any) -> None:
    milliseconds = int(session.info.get(READ_TIMEOUT_INFO, 0))
    if milliseconds > 0 and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")


async def provide_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed after the handler, rolled back on any error.

    A request with a safe method only reads: it runs on the read replica's sessionmaker (the
    primary's without one) in a `ReadingSession`. Any other request takes the write lock at its
    start (SQLite)."""
    if request.method in SAFE_METHODS:
        reader: Sessionmaker = state.read_sessionmaker
        settings: Settings = state.settings
        info = {READ_TIMEOUT_INFO: settings.read_statement_timeout_ms}
        async with reader(sync_session_class=ReadingSession, info=info) as session:
            yield session
            if session.in_transaction():
                await session.commit()
        return
    writer: Sessionmaker = state.sessionmaker
    async with writer() as session, session.begin():
        await session.connection(execution_options={WRITE_OPTION: True})
        yield session
    state.watch.wrote()


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
    """The rows of a statement as plain tuples, for unpacking (fetched at once: iterating a
    result fetches row by row through the async adapter, 0.45 s for the 17,800 rows of the
    nationwide summary's Länder)."""
    return [tuple(row) for row in (await run(session, statement)).all()]


async def lock_until_commit(session: AsyncSession, name: str) -> None:
    """Make transactions that take the lock `name` run one after the other, each from here to
    its end (PostgreSQL: a transaction-level advisory lock; SQLite serialises writers anyway)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
        )


# Sort and hash memory for the statements that keep derived relations (pair levels, counts, a
# bulk import's insert): one such transaction runs at a time (`lock_until_commit`), and at 4 MB,
# PostgreSQL's default, a file's sorts spill to disk (its window functions: 6.5 → 4.7 s for the
# pairs of 1,000 Gemeinden on the nationwide synthetic set).
MAINTENANCE_WORK_MEM = "256MB"


async def roomy_sorts(session: AsyncSession) -> None:
    """Give this transaction's sorts `MAINTENANCE_WORK_MEM` (PostgreSQL; SQLite has no such
    limit)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql(f"SET LOCAL work_mem = '{MAINTENANCE_WORK_MEM}'")


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


def temporary_table(
    name: str, columns: Iterable[Column[Any]], *, index: Sequence[str] = ()
) -> Table:
    """A temporary table with copies of these columns, and an index on `index` if given (the
    caller creates and drops it)."""
    table = Table(
        name,
        MetaData(),
        *(Column(column.name, column.type) for column in columns),
        prefixes=["TEMPORARY"],
    )
    if index:
        Index(f"ix_{name}", *(table.c[column] for column in index))
    return table


async def fill_temporary(connection: AsyncConnection, table: Table, rows: Select[Any]) -> None:
    """Insert a query's rows into a temporary table, and on PostgreSQL analyse it: autovacuum
    never sees temporary tables, and a planner without their statistics takes hundreds of
    thousands of rows for a few hundred (a sort where a hash aggregate is fast)."""
    await connection.execute(insert(table).from_select([c.name for c in table.columns], rows))
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql(f"ANALYZE {table.name}")


async def insert_many(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Insert many new rows (all with the same keys): PostgreSQL's COPY, else an executemany.
    A column the rows lack takes its scalar default; a unique or foreign-key violation is an
    IntegrityError either way."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        await connection.execute(insert(table), rows)
        return
    defaults = {
        column.name: getattr(column.default, "arg")  # noqa: B009  (a scalar default has one)
        for column in table.columns
        if column.name not in rows[0] and column.default is not None and column.default.is_scalar
    }
    as_json = {column.name for column in table.columns if isinstance(column.type, JSON)}
    # Each record: the row's plain cells, its JSON cells encoded, then the defaults (the same for
    # every row), picked by names chosen once, since the cells are many.
    given = [column.name for column in table.columns if column.name in rows[0]]
    plain = [name for name in given if name not in as_json]
    encoded = [name for name in given if name in as_json]
    fixed = {name: json.dumps(v) if name in as_json else v for name, v in defaults.items()}
    records = [
        (*map(row.__getitem__, plain), *[json.dumps(row[n]) for n in encoded], *fixed.values())
        for row in rows
    ]
    columns = [*plain, *encoded, *fixed]
    driver: Any = (await connection.get_raw_connection()).driver_connection
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


def outside_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name: False for the search indexes that only migrations manage
    (PostgreSQL GIN indexes named `search_*`, SQLite FTS5 tables `*_fts` and their shadow
    tables), which no model declares, so that autogenerate and the drift test leave them be."""
    if name is None or type_ not in ("table", "index"):
        return True
    return not (name.startswith("search_") or "_fts" in name)


class json_list_has(FunctionElement[bool]):
    """`json_list_has(column, value)`: the JSON list in `column` holds the text `value` (a tag
    among tags), in SQL on either backend, so that a filter on it pages by keyset as any other."""

    type = Boolean()
    inherit_cache = True
    name = "json_list_has"


@compiles(json_list_has, "sqlite")
def _json_list_has_sqlite(element: json_list_has, compiler: Any, **kw: Any) -> str:
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    # the parts are compiled clauses: a column name and a bound parameter, never user text
    return f"EXISTS (SELECT 1 FROM json_each({column}) AS elements WHERE elements.value = {value})"  # noqa: S608


@compiles(json_list_has, "postgresql")
def _json_list_has_postgresql(element: json_list_has, compiler: Any, **kw: Any) -> str:
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS elements(value) "  # noqa: S608
        f"WHERE elements.value = CAST({value} AS TEXT))"
    )
