"""Requests that only read write nothing: a polling dashboard costs no writer's lock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_pages import PASSWORD
from tests.access.test_scope_matrix import sign_in
from tests.builders import Client, add_token, add_user, bearer

ESSEN = "051130000000"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
READS = [
    "/api/v1/me",
    "/api/v1/tokens",
    f"/api/v1/gemeinden/{ESSEN}",
    f"/api/v1/gemeinden/{ESSEN}/reifegrad",
    "/api/v1/leistungen/10000/reifegrad",
    "/api/v1/assessments",
    "/api/v1/maturity-models",
    f"/gemeinden/{ESSEN}/reifegrad",
]


@contextmanager
def writes_on(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every INSERT, UPDATE and DELETE sent to the database while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITE.match(statement):
            seen.append(statement.split("\n")[0])

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def test_read_requests_with_a_token_or_a_session_write_nothing(
    client: Client, session: AsyncSession, engine: AsyncEngine
) -> None:
    user = await add_user(session, "dashboard@essen.de", [("editor", ESSEN)], password=PASSWORD)
    secret = await add_token(session, user)
    await session.commit()
    with writes_on(engine) as first:
        assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 200
    assert [statement.split(" SET ")[0] for statement in first] == ["UPDATE api_token"]
    await sign_in(client, "dashboard@essen.de")  # the login itself writes the session

    with writes_on(engine) as burst:
        for _ in range(5):
            for url in READS:
                with_token = await client.get(url, headers=bearer(secret))
                assert with_token.status_code == 200, (url, with_token.text)
                with_cookie = await client.get(url)
                assert with_cookie.status_code == 200, (url, with_cookie.text)
    assert burst == []
