"""GET /health: the process answers and the database is reachable."""

from __future__ import annotations

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


@get("/health", responses=problem_responses(503), tags=["Betrieb"])
async def health(state: State) -> HealthRead:
    sessionmaker: Sessionmaker = state.sessionmaker
    try:
        async with sessionmaker() as session:
            await run(session, text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailableException("The database does not answer.") from exc
    return HealthRead(status="ok", database="ok")
