"""Fixture chain: a fresh database per run, migrated with Alembic and loaded once with the real
reference data; each test runs in a transaction that is rolled back."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic import command
from sqlalchemy import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, client_for
from tracker.app import create_app
from tracker.catalog.imports import CATALOG_FILES
from tracker.cli import alembic_config
from tracker.db import Sessionmaker, create_engine, create_sessionmaker
from tracker.maturity import pairs
from tracker.regions.imports import GV100AD_FILE, import_gv100ad
from tracker.settings import Settings, to_async_url


@pytest.fixture(scope="session")
def data_dir() -> Path:
    directory = Settings.from_env().data_dir
    if not (directory / GV100AD_FILE).exists():
        pytest.fail(f"reference data missing: {directory} (set TRACKER_DATA_DIR)")
    return directory


@asynccontextmanager
async def fresh_database(tmp_dir: Path) -> AsyncIterator[str]:
    """A new empty database: a SQLite file, or `tracker_test_<hex>` on the PostgreSQL server
    that TRACKER_DATABASE_URL names, dropped afterwards."""
    server = os.environ.get("TRACKER_DATABASE_URL")
    if not server:
        yield f"sqlite+aiosqlite:///{tmp_dir / f'tracker_{uuid.uuid4().hex}.db'}"
        return
    url = make_url(to_async_url(server))
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def upgrade(connection: Connection, revision: str = "head") -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def load_reference_data(sessionmaker: Sessionmaker, data_dir: Path) -> None:
    for name, run in CATALOG_FILES:
        async with sessionmaker.begin() as session:
            await run(session, data_dir / name)
    async with sessionmaker.begin() as session:
        await import_gv100ad(session, data_dir / GV100AD_FILE)


@pytest.fixture(scope="session")
async def database_url(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> AsyncIterator[str]:
    """The run's database, migrated to head and holding the real reference data (committed)."""
    async with fresh_database(tmp_path_factory.mktemp("db")) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
        await load_reference_data(create_sessionmaker(engine), data_dir)
        await engine.dispose()
        yield url


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own, migrated to head, without reference data."""
    async with fresh_database(tmp_path) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
        await engine.dispose()
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> Sessionmaker:
    return async_sessionmaker(
        bind=connection,
        class_=AsyncSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir)


@pytest.fixture
async def client(settings: Settings, sessionmaker: Sessionmaker) -> AsyncIterator[Client]:
    async with client_for(create_app(settings, sessionmaker=sessionmaker)) as client:
        yield client


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    """A folder for synthetic or sliced input files."""
    return tmp_path


@pytest.fixture
async def pairs_agree_at_the_end(connection: AsyncConnection) -> AsyncIterator[None]:
    """After the test: the stored pair levels equal the rule computed from the assessments
    (`tracker verify pairs`), whatever the test built. Autouse in maturity/ and reports/."""
    yield
    async with AsyncSession(bind=connection, join_transaction_mode="create_savepoint") as check:
        assert [str(difference) for difference in await pairs.differences(check)] == []
        assert await pairs.count_differences(check, closed=False) == []
