"""Reads of the catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Row, String, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import LeikaLeistung, Lebenslage, OzgLeistung, Themenfeld
from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.search import like_pattern, search_key

Page = tuple[list[Row[Any]], str | None]


def _leistungen_per(group_column: Any, outer_column: Any) -> Any:
    return (
        select(func.count())
        .select_from(OzgLeistung)
        .where(group_column == outer_column)
        .correlate_except(OzgLeistung)
        .scalar_subquery()
    )


async def list_themenfelder(session: AsyncSession, *, limit: int | None, cursor: str | None) -> Page:
    statement = select(
        Themenfeld.id,
        Themenfeld.name,
        _leistungen_per(OzgLeistung.themenfeld_id, Themenfeld.id).label("leistungen_count"),
    )
    return await fetch_page(session, statement, [col(Themenfeld.id)], limit=limit, cursor=cursor)


async def list_lebenslagen(
    session: AsyncSession,
    *,
    themenfeld: int | None,
    include_unused: bool,
    limit: int | None,
    cursor: str | None,
) -> Page:
    used = _leistungen_per(OzgLeistung.lebenslage_id, Lebenslage.id)
    statement = select(
        Lebenslage.id,
        Lebenslage.name,
        Lebenslage.themenfeld_id,
        Themenfeld.name.label("themenfeld"),  # type: ignore[attr-defined]
        used.label("leistungen_count"),
    ).join(Themenfeld, col(Themenfeld.id) == Lebenslage.themenfeld_id)
    if themenfeld is not None:
        statement = statement.where(Lebenslage.themenfeld_id == themenfeld)
    if not include_unused:
        statement = statement.where(used > 0)
    return await fetch_page(session, statement, [col(Lebenslage.id)], limit=limit, cursor=cursor)


def _leistung_columns() -> Any:
    leika_count = (
        select(func.count())
        .select_from(LeikaLeistung)
        .where(LeikaLeistung.ozg_id == OzgLeistung.ozg_id)
        .correlate_except(LeikaLeistung)
        .scalar_subquery()
    )
    return (
        select(
            OzgLeistung.ozg_id,
            OzgLeistung.name,
            OzgLeistung.lebenslage_id,
            Lebenslage.name.label("lebenslage"),  # type: ignore[attr-defined]
            OzgLeistung.themenfeld_id,
            Themenfeld.name.label("themenfeld"),  # type: ignore[attr-defined]
            OzgLeistung.kdn_id,
            leika_count.label("leika_count"),
        )
        .join(Lebenslage, col(Lebenslage.id) == OzgLeistung.lebenslage_id)
        .join(Themenfeld, col(Themenfeld.id) == OzgLeistung.themenfeld_id)
    )


async def list_leistungen(
    session: AsyncSession,
    *,
    themenfeld: int | None,
    lebenslage: int | None,
    q: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page:
    statement = _leistung_columns()
    if themenfeld is not None:
        statement = statement.where(OzgLeistung.themenfeld_id == themenfeld)
    if lebenslage is not None:
        statement = statement.where(OzgLeistung.lebenslage_id == lebenslage)
    order: list[Any] = [col(OzgLeistung.ozg_id)]
    if q is not None:
        # OZG name first (prefix before infix), then Leistungen found by a LeiKa name or key.
        pattern = like_pattern(q)
        leika_hit = exists().where(
            LeikaLeistung.ozg_id == OzgLeistung.ozg_id,
            or_(
                col(LeikaLeistung.search_name).like(pattern, escape="\\"),
                LeikaLeistung.leika_key == q.strip(),
            ),
        )
        name_hit = col(OzgLeistung.search_name).like(pattern, escape="\\")
        statement = statement.where(or_(name_hit, leika_hit, OzgLeistung.ozg_id == q.strip()))
        rank = case(
            (col(OzgLeistung.search_name).startswith(search_key(q), autoescape=True), 0),
            (name_hit, 1),
            else_=2,
        )
        order = [cast(rank, Integer), *order]
    return await fetch_page(session, statement, order, limit=limit, cursor=cursor)


async def get_leistung(session: AsyncSession, ozg_id: str) -> Row[Any]:
    row = (await session.exec(_leistung_columns().where(OzgLeistung.ozg_id == ozg_id))).first()
    if row is None:
        raise NotFound(f"OZG-Leistung {ozg_id} does not exist.")
    return row


async def list_leika(
    session: AsyncSession,
    *,
    ozg_id: str | None,
    typ: str | None,
    in_leika: bool | None,
    q: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page:
    leistung = aliased(OzgLeistung)
    statement = select(LeikaLeistung, leistung.name.label("ozg_leistung")).outerjoin(  # type: ignore[attr-defined]
        leistung, col(leistung.ozg_id) == LeikaLeistung.ozg_id
    )
    if ozg_id is not None:
        statement = statement.where(LeikaLeistung.ozg_id == ozg_id)
    if typ is not None:
        # JSON list stored as text on both backends; codes are matched whole, quotes included.
        statement = statement.where(cast(LeikaLeistung.leika_typ, String).contains(f'"{typ}"'))
    if in_leika is not None:
        key = col(LeikaLeistung.leika_key)
        statement = statement.where(key.is_not(None) if in_leika else key.is_(None))
    if q is not None:
        statement = statement.where(
            or_(col(LeikaLeistung.search_name).like(like_pattern(q), escape="\\"), LeikaLeistung.leika_key == q.strip())
        )
    return await fetch_page(session, statement, [col(LeikaLeistung.id)], limit=limit, cursor=cursor)


async def list_leika_of(session: AsyncSession, ozg_id: str) -> list[LeikaLeistung]:
    statement = select(LeikaLeistung).where(LeikaLeistung.ozg_id == ozg_id).order_by(col(LeikaLeistung.id))
    return list((await session.exec(statement)).scalars().all())


async def get_leika(session: AsyncSession, leika_key: str) -> LeikaLeistung:
    statement = select(LeikaLeistung).where(LeikaLeistung.leika_key == leika_key)
    row = (await session.exec(statement)).scalars().first()
    if row is None:
        raise NotFound(f"LeiKa-Leistung {leika_key} is not in the catalogue.")
    return row


async def leika_keys_by_leistung(session: AsyncSession) -> dict[str, list[str]]:
    statement = (
        select(LeikaLeistung.ozg_id, LeikaLeistung.leika_key)
        .where(col(LeikaLeistung.ozg_id).is_not(None), col(LeikaLeistung.leika_key).is_not(None))
        .order_by(col(LeikaLeistung.leika_key))
    )
    keys: dict[str, list[str]] = {}
    for ozg_id, leika_key in (await session.exec(statement)).all():
        keys.setdefault(ozg_id, []).append(leika_key)
    return keys


async def count_catalog(session: AsyncSession) -> dict[str, int]:
    """Counts for the start page; Lebenslagen only where an OZG-Leistung uses them."""
    used_lagen = select(func.count(func.distinct(OzgLeistung.lebenslage_id))).scalar_subquery()
    statement = select(
        select(func.count()).select_from(Themenfeld).scalar_subquery().label("themenfelder"),
        used_lagen.label("lebenslagen"),
        select(func.count()).select_from(OzgLeistung).scalar_subquery().label("leistungen"),
        select(func.count()).select_from(LeikaLeistung).scalar_subquery().label("leika_rows"),
        select(func.count(LeikaLeistung.leika_key)).scalar_subquery().label("leika_keys"),
    )
    return dict((await session.exec(statement)).one()._mapping)
