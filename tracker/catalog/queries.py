"""Reads of the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Row, String, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import run
from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.search import like_pattern, search_key

Page = tuple[list[Row[Any]], str | None]


@dataclass(frozen=True)
class LebenslageFilter:
    themenfeld: int | None = None
    include_unused: bool = False


@dataclass(frozen=True)
class LeistungFilter:
    themenfeld: int | None = None
    lebenslage: int | None = None
    q: str | None = None


@dataclass(frozen=True)
class LeikaFilter:
    ozg_id: str | None = None
    typ: str | None = None
    in_leika: bool | None = None
    q: str | None = None


def _leistungen_per(group_column: Any, outer_column: Any) -> Any:
    return (
        select(func.count())
        .select_from(OzgLeistung)
        .where(group_column == outer_column)
        .correlate_except(OzgLeistung)
        .scalar_subquery()
    )


async def list_themenfelder(
    session: AsyncSession, *, limit: int | None, cursor: str | None
) -> Page:
    statement = select(
        col(Themenfeld.id),
        col(Themenfeld.name),
        _leistungen_per(col(OzgLeistung.themenfeld_id), col(Themenfeld.id)).label(
            "leistungen_count"
        ),
    )
    return await fetch_page(session, statement, [col(Themenfeld.id)], limit=limit, cursor=cursor)


async def list_lebenslagen(
    session: AsyncSession, where: LebenslageFilter, *, limit: int | None, cursor: str | None
) -> Page:
    used = _leistungen_per(col(OzgLeistung.lebenslage_id), col(Lebenslage.id))
    statement = select(
        col(Lebenslage.id),
        col(Lebenslage.name),
        col(Lebenslage.themenfeld_id),
        col(Themenfeld.name).label("themenfeld"),
        used.label("leistungen_count"),
    ).join(Themenfeld, col(Themenfeld.id) == col(Lebenslage.themenfeld_id))
    if where.themenfeld is not None:
        statement = statement.where(col(Lebenslage.themenfeld_id) == where.themenfeld)
    if not where.include_unused:
        statement = statement.where(used > 0)
    return await fetch_page(session, statement, [col(Lebenslage.id)], limit=limit, cursor=cursor)


def _leistung_columns() -> Any:
    leika_count = (
        select(func.count())
        .select_from(LeikaLeistung)
        .where(col(LeikaLeistung.ozg_id) == col(OzgLeistung.ozg_id))
        .correlate_except(LeikaLeistung)
        .scalar_subquery()
    )
    return (
        select(
            col(OzgLeistung.ozg_id),
            col(OzgLeistung.name),
            col(OzgLeistung.lebenslage_id),
            col(Lebenslage.name).label("lebenslage"),
            col(OzgLeistung.themenfeld_id),
            col(Themenfeld.name).label("themenfeld"),
            col(OzgLeistung.kdn_id),
            leika_count.label("leika_count"),
        )
        .join(Lebenslage, col(Lebenslage.id) == col(OzgLeistung.lebenslage_id))
        .join(Themenfeld, col(Themenfeld.id) == col(OzgLeistung.themenfeld_id))
    )


async def list_leistungen(
    session: AsyncSession, where: LeistungFilter, *, limit: int | None, cursor: str | None
) -> Page:
    statement = _leistung_columns()
    if where.themenfeld is not None:
        statement = statement.where(col(OzgLeistung.themenfeld_id) == where.themenfeld)
    if where.lebenslage is not None:
        statement = statement.where(col(OzgLeistung.lebenslage_id) == where.lebenslage)
    order: list[Any] = [col(OzgLeistung.ozg_id)]
    if (q := where.q) is not None:
        # OZG name first (prefix before infix), then Leistungen found by a LeiKa name or key.
        pattern = like_pattern(q)
        leika_hit = exists().where(
            col(LeikaLeistung.ozg_id) == col(OzgLeistung.ozg_id),
            or_(
                col(LeikaLeistung.search_name).like(pattern, escape="\\"),
                col(LeikaLeistung.leika_key) == q.strip(),
            ),
        )
        name_hit = col(OzgLeistung.search_name).like(pattern, escape="\\")
        statement = statement.where(or_(name_hit, leika_hit, col(OzgLeistung.ozg_id) == q.strip()))
        rank = case(
            (col(OzgLeistung.search_name).startswith(search_key(q), autoescape=True), 0),
            (name_hit, 1),
            else_=2,
        )
        order = [cast(rank, Integer), *order]
    return await fetch_page(session, statement, order, limit=limit, cursor=cursor)


async def get_leistung(session: AsyncSession, ozg_id: str) -> Row[Any]:
    row = (await run(session, _leistung_columns().where(col(OzgLeistung.ozg_id) == ozg_id))).first()
    if row is None:
        raise NotFound(
            f"OZG-Leistung {ozg_id} does not exist.",
            german=f"Die OZG-Leistung {ozg_id} gibt es nicht.",
        )
    return row


async def list_leika(
    session: AsyncSession, where: LeikaFilter, *, limit: int | None, cursor: str | None
) -> Page:
    leistung = aliased(OzgLeistung)
    statement: Any = select(LeikaLeistung, col(leistung.name).label("ozg_leistung")).outerjoin(
        leistung, col(leistung.ozg_id) == col(LeikaLeistung.ozg_id)
    )
    if where.ozg_id is not None:
        statement = statement.where(col(LeikaLeistung.ozg_id) == where.ozg_id)
    if (typ := where.typ) is not None:
        # JSON list stored as text on both backends; codes are matched whole, quotes included.
        statement = statement.where(cast(col(LeikaLeistung.leika_typ), String).contains(f'"{typ}"'))
    if where.in_leika is not None:
        key = col(LeikaLeistung.leika_key)
        statement = statement.where(key.is_not(None) if where.in_leika else key.is_(None))
    if (q := where.q) is not None:
        statement = statement.where(
            or_(
                col(LeikaLeistung.search_name).like(like_pattern(q), escape="\\"),
                col(LeikaLeistung.leika_key) == q.strip(),
            )
        )
    return await fetch_page(session, statement, [col(LeikaLeistung.id)], limit=limit, cursor=cursor)


async def list_leika_of(session: AsyncSession, ozg_id: str) -> list[LeikaLeistung]:
    statement = (
        select(LeikaLeistung)
        .where(col(LeikaLeistung.ozg_id) == ozg_id)
        .order_by(col(LeikaLeistung.id))
    )
    return list((await run(session, statement)).scalars().all())


async def get_leika(session: AsyncSession, leika_key: str) -> LeikaLeistung:
    statement = select(LeikaLeistung).where(col(LeikaLeistung.leika_key) == leika_key)
    row: LeikaLeistung | None = (await run(session, statement)).scalars().first()
    if row is None:
        raise NotFound(
            f"LeiKa-Leistung {leika_key} is not in the catalogue.",
            german=f"Die LeiKa-Leistung {leika_key} steht nicht im Katalog.",
        )
    return row


async def leika_keys_by_leistung(session: AsyncSession) -> dict[str, list[str]]:
    statement = (
        select(col(LeikaLeistung.ozg_id), col(LeikaLeistung.leika_key))
        .where(col(LeikaLeistung.ozg_id).is_not(None), col(LeikaLeistung.leika_key).is_not(None))
        .order_by(col(LeikaLeistung.leika_key))
    )
    keys: dict[str, list[str]] = {}
    for row in (await run(session, statement)).all():
        keys.setdefault(row.ozg_id, []).append(row.leika_key)
    return keys


async def count_catalog(session: AsyncSession) -> dict[str, int]:
    """Counts for the start page; Lebenslagen only where an OZG-Leistung uses them."""
    used_lagen = select(func.count(func.distinct(col(OzgLeistung.lebenslage_id)))).scalar_subquery()
    statement = select(
        select(func.count()).select_from(Themenfeld).scalar_subquery().label("themenfelder"),
        used_lagen.label("lebenslagen"),
        select(func.count()).select_from(OzgLeistung).scalar_subquery().label("leistungen"),
        select(func.count()).select_from(LeikaLeistung).scalar_subquery().label("leika_rows"),
        select(func.count(col(LeikaLeistung.leika_key))).scalar_subquery().label("leika_keys"),
    )
    return dict((await run(session, statement)).one()._mapping)


async def leika_ids(session: AsyncSession) -> dict[str, int]:
    """LeiKa key → row id, for importers that reference LeiKa services by key."""
    statement = select(col(LeikaLeistung.leika_key), col(LeikaLeistung.id)).where(
        col(LeikaLeistung.leika_key).is_not(None)
    )
    return {row.leika_key: row.id for row in await run(session, statement)}


async def leika_structure(session: AsyncSession) -> list[Row[Any]]:
    """(id, ozg_id, leika_typ) of every LeiKa row mapped to an OZG-Leistung."""
    statement = (
        select(col(LeikaLeistung.id), col(LeikaLeistung.ozg_id), col(LeikaLeistung.leika_typ))
        .where(col(LeikaLeistung.ozg_id).is_not(None))
        .order_by(col(LeikaLeistung.id))
    )
    return list((await run(session, statement)).all())
