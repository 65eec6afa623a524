"""Helpers shared by tests: plain functions, no fixtures."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, cast

import httpx
from litestar import Litestar
from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.models import Role, User
from tracker.access.schemas import GrantCreate, TokenCreate, UserCreate
from tracker.db import run
from tracker.maturity import pairs
from tracker.maturity.models import Assessment, PairLevel

# httpx over ASGI in the test's own event loop: Litestar's AsyncTestClient runs the app in a
# portal thread with a loop of its own, where asyncpg refuses the test's connection.
Client = httpx.AsyncClient


def client_for(app: Litestar) -> Client:
    """A client for the app; an app built with an injected sessionmaker needs no lifespan."""
    # Litestar's ASGI types are its own; at run time it is a plain ASGI app.
    transport = httpx.ASGITransport(app=cast(Any, app))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


async def collect(client: Client, url: str, **filters: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**filters, "limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def add_user(
    session: AsyncSession,
    email: str,
    grants: list[tuple[str, str]] = (),  # type: ignore[assignment]
    *,
    password: str | None = None,
) -> User:
    """A user with (role, ARS prefix) grants, created as the CLI would."""
    data = UserCreate(
        email=email,
        display_name=email.split("@")[0],
        password=password,
        grants=[GrantCreate(role=Role(role), scope_ars=scope) for role, scope in grants],
    )
    return await access_actions.create_user(session, data, actor="test")


async def add_token(
    session: AsyncSession, user: User, *, days: int = 30, scope: str | None = None
) -> str:
    assert user.id is not None
    data = TokenCreate(name="test", expires_in_days=days, scope_ars=scope)
    _, secret = await access_actions.create_token(session, user.id, data, actor="test")
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def rewrite(
    source: Path,
    target: Path,
    change: dict[int, dict[str, str]],
    extra: list[dict[str, str]] | None = None,
) -> Path:
    """Copy a CSV, changing fields of rows by 0-based index, optionally appending rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    for index, fields in change.items():
        rows[index].update(fields)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows + (extra or []))
    return target


async def remove_assessments(session: AsyncSession, condition: Any) -> None:
    """Undo a test's committed assessments (the product never deletes one): the pairs they gave
    go first, then the pairs are recomputed from what is left."""
    chosen = select(col(Assessment.ars), col(Assessment.id)).where(condition)
    found = (await run(session, chosen)).all()
    ids = [row.id for row in found]
    await run(session, delete(PairLevel).where(col(PairLevel.assessment_id).in_(ids)))
    await run(session, delete(Assessment).where(col(Assessment.id).in_(ids)))
    await pairs.refresh(session, ars={row.ars for row in found})
