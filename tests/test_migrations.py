"""Migrations: one head, no drift from the models, a full round trip, reviewed file names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from tests.conftest import downgrade, fresh_database, upgrade
from tracker.cli import alembic_config
from tracker.db import create_engine, outside_models
from tracker.models import TableModel
from tracker.settings import PROJECT_ROOT

VERSIONS = PROJECT_ROOT / "migrations" / "versions"


def drift(connection: Connection) -> list[object]:
    opts = {"compare_type": True, "include_name": outside_models}
    context = MigrationContext.configure(connection, opts=opts)
    return list(compare_metadata(context, TableModel.metadata))


def tables(connection: Connection) -> set[str]:
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return {name for name in names if outside_models(name, "table", None)}


def test_exactly_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_round_trip_and_no_drift(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(upgrade)
                assert await connection.run_sync(drift) == []
                assert await connection.run_sync(tables) == set(TableModel.metadata.tables)
                await connection.run_sync(downgrade, "base")
                assert await connection.run_sync(tables) == set()
                await connection.run_sync(upgrade)
                assert await connection.run_sync(drift) == []
        finally:
            await engine.dispose()


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.name)
def test_migration_file_is_named_for_what_it_does(path: Path) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_[a-z0-9_]+\.py", path.name)
    assert not re.search(r"auto|update|changes", path.stem)
