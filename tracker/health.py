"""GET /health: the process answers and the database is reachable."""

from __future__ import annotations

import asyncio
from typing import Literal

from litestar import get
from litestar.datastructures import State
from litestar.exceptions import ServiceUnavailableException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.db import Sessionmaker, run
from tracker.errors import problem_responses


class HealthRead(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class DatabaseProbe:
    """`SELECT 1` on the primary, shared by the checks that arrive while one is under way: a
    burst of checks costs the database one round trip at a time, not one each, and every
    answer still comes from a probe that ended after its request arrived."""

    def __init__(self) -> None:
        self.running: asyncio.Task[None] | None = None

    async def check(self, sessionmaker: Sessionmaker) -> None:
        if self.running is None:
            self.running = asyncio.create_task(select_one(sessionmaker))
            self.running.add_done_callback(self.finished)
        # a check given up (client gone) leaves the probe running for the others
        await asyncio.shield(self.running)

    def finished(self, task: asyncio.Task[None]) -> None:
        self.running = None
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every check was given up


async def select_one(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        await run(session, text("SELECT 1"))


@get("/health", responses=problem_responses(503), tags=["Betrieb"])
async def health(state: State) -> HealthRead:
    probe: DatabaseProbe = state.database_probe
    try:
        await probe.check(state.sessionmaker)
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailableException("The database does not answer.") from exc
    return HealthRead(status="ok", database="ok")
