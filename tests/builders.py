"""Helpers shared by tests: plain functions, no fixtures."""

from __future__ import annotations

import csv
from datetime import date
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
from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import run
from tracker.maturity import pairs
from tracker.maturity.models import Assessment, PairLevel
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land

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


async def add_gemeinde(session: AsyncSession, **overrides: Any) -> Gemeinde:
    """A synthetic Gemeinde (Essen's codes by default) with its Land, Kreis and Verband, for a
    database without the reference data."""
    fields: dict[str, Any] = {
        "ars": "051130000000", "ags": "05113000", "name": "Essen, Stadt", "display_name": "Essen",
        "search_name": "essen", "typ_code": 61, "flaeche_ha": 21_034, "bevoelkerung": 584_580,
        "bevoelkerung_maennlich": 287_000, "plz_eindeutig": False,
        "gebietsstand": date(2025, 11, 30),
    } | overrides  # fmt: skip
    ars, stand = fields["ars"], fields["gebietsstand"]
    fields |= {"land_code": ars[:2], "kreis_code": ars[:5], "verband_ars": ars[:9]}
    for row in (
        Land(code=ars[:2], name=f"Land {ars[:2]}", gebietsstand=stand),
        Kreis(code=ars[:5], land_code=ars[:2], name=f"Kreis {ars[:5]}", typ_code=41,
              gebietsstand=stand),
        Gemeindeverband(ars=ars[:9], kreis_code=ars[:5], land_code=ars[:2],
                        name=f"Verband {ars[:9]}", typ_code=50, gebietsstand=stand),
    ):  # fmt: skip
        await session.merge(row)
        await session.flush()  # no relationships tell the unit of work the order
    gemeinde = Gemeinde.model_validate(fields)
    session.add(gemeinde)
    await session.flush()
    return gemeinde


async def add_leistung(
    session: AsyncSession, ozg_id: str = "10000", leika_key: str = "99041006000000"
) -> LeikaLeistung:
    """A synthetic OZG-Leistung with one LeiKa service of type 5 (a Kommune executes it)."""
    for row in (
        Themenfeld(id=6, name="Familie & Kind"),
        Lebenslage(id=26, name="Geburt", themenfeld_id=6),
    ):
        await session.merge(row)
        await session.flush()
    session.add(
        OzgLeistung(
            ozg_id=ozg_id, name=f"Leistung {ozg_id}", search_name=f"leistung {ozg_id}",
            lebenslage_id=26, themenfeld_id=6,
        )
    )  # fmt: skip
    await session.flush()
    leika = LeikaLeistung.model_validate(
        {
            "kdn_id": int(ozg_id), "leika_key": leika_key, "name": f"LeiKa {leika_key}",
            "search_name": f"leika {leika_key}", "leika_typ": ["5"], "ozg_id": ozg_id,
            "sdg1_relevant": False, "sdg2_relevant": False,
        }
    )  # fmt: skip
    session.add(leika)
    await session.flush()
    return leika


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
