"""Alembic environment: URL from Settings.from_env(), or a connection passed in by tests."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from tracker.db import create_engine, outside_models
from tracker.models import TableModel
from tracker.settings import Settings

target_metadata = TableModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=outside_models,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_on_url(Settings.from_env().database_url))
