"""Reads of the region register. Lists show currently valid units unless asked otherwise."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Row, case, cast, func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Regierungsbezirk
from tracker.search import like_pattern, search_key

Page = tuple[list[Row[Any]], str | None]


def _population_by(column: Any) -> Any:
    return (
        select(
            column.label("code"),
            func.count().label("gemeinden_count"),
            func.coalesce(func.sum(Gemeinde.bevoelkerung), 0).label("bevoelkerung"),
        )
        .where(col(Gemeinde.invalid_since).is_(None))
        .group_by(column)
        .subquery()
    )


async def list_laender(session: AsyncSession, *, limit: int | None, cursor: str | None) -> Page:
    totals = _population_by(Gemeinde.land_code)
    statement = select(
        Land,
        func.coalesce(totals.c.gemeinden_count, 0).label("gemeinden_count"),
        func.coalesce(totals.c.bevoelkerung, 0).label("bevoelkerung"),
    ).outerjoin(totals, totals.c.code == Land.code)
    return await fetch_page(session, statement, [col(Land.code)], limit=limit, cursor=cursor)


async def list_kreise(
    session: AsyncSession,
    *,
    land: str | None,
    include_invalid: bool,
    limit: int | None,
    cursor: str | None,
) -> Page:
    totals = _population_by(Gemeinde.kreis_code)
    statement = (
        select(
            Kreis,
            Land.name.label("land"),  # type: ignore[attr-defined]
            func.coalesce(totals.c.gemeinden_count, 0).label("gemeinden_count"),
            func.coalesce(totals.c.bevoelkerung, 0).label("bevoelkerung"),
        )
        .join(Land, col(Land.code) == Kreis.land_code)
        .outerjoin(totals, totals.c.code == Kreis.code)
    )
    if land is not None:
        statement = statement.where(Kreis.land_code == land)
    if not include_invalid:
        statement = statement.where(col(Kreis.invalid_since).is_(None))
    return await fetch_page(session, statement, [col(Kreis.code)], limit=limit, cursor=cursor)


def _gemeinde_columns() -> Any:
    return (
        select(
            Gemeinde,
            Land.name.label("land_name"),  # type: ignore[attr-defined]
            Kreis.name.label("kreis_name"),  # type: ignore[attr-defined]
            Gemeindeverband.name.label("verband_name"),  # type: ignore[attr-defined]
            Gemeindeverband.typ_code.label("verband_typ_code"),  # type: ignore[attr-defined]
        )
        .join(Land, col(Land.code) == Gemeinde.land_code)
        .outerjoin(Kreis, col(Kreis.code) == Gemeinde.kreis_code)
        .join(Gemeindeverband, col(Gemeindeverband.ars) == Gemeinde.verband_ars)
    )


async def list_gemeinden(
    session: AsyncSession,
    *,
    land: str | None,
    kreis: str | None,
    verband: str | None,
    typ: int | None,
    min_einwohner: int | None,
    q: str | None,
    include_invalid: bool,
    limit: int | None,
    cursor: str | None,
) -> Page:
    statement = _gemeinde_columns()
    for column, value in (
        (Gemeinde.land_code, land),
        (Gemeinde.kreis_code, kreis),
        (Gemeinde.verband_ars, verband),
        (Gemeinde.typ_code, typ),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if min_einwohner is not None:
        statement = statement.where(col(Gemeinde.bevoelkerung) >= min_einwohner)
    if not include_invalid:
        statement = statement.where(col(Gemeinde.invalid_since).is_(None))
    order: list[Any] = [col(Gemeinde.ars)]
    if q is not None:
        key = search_key(q)
        name = col(Gemeinde.search_name)
        statement = statement.where(
            or_(name.like(like_pattern(q), escape="\\"), Gemeinde.ars == q.strip(), Gemeinde.ags == q.strip())
        )
        # Exact names first, then names starting with the text, then the rest; larger places first.
        rank = case((name == key, 0), (name.startswith(key, autoescape=True), 1), else_=2)
        order = [cast(rank, Integer), -col(Gemeinde.bevoelkerung), *order]
    return await fetch_page(session, statement, order, limit=limit, cursor=cursor)


async def get_gemeinde(session: AsyncSession, ars_or_ags: str) -> Row[Any]:
    """One Gemeinde by 12-digit ARS or 8-digit AGS, with its Land, Kreis, Verband and RB."""
    key_column = Gemeinde.ars if len(ars_or_ags) == 12 else Gemeinde.ags
    statement = (
        _gemeinde_columns()
        .add_columns(Land, Kreis, Gemeindeverband, Regierungsbezirk)
        .outerjoin(Regierungsbezirk, col(Regierungsbezirk.code) == Gemeinde.regbez_code)
        .where(key_column == ars_or_ags)
    )
    row = (await session.exec(statement)).first()
    if row is None:
        kind = "ARS" if len(ars_or_ags) == 12 else "AGS"
        raise NotFound(f"No Gemeinde has the {kind} {ars_or_ags}.")
    return row


async def count_regions(session: AsyncSession) -> dict[str, Any]:
    """Counts of currently valid units for the start page."""

    def valid(model: Any) -> Any:
        return (
            select(func.count())
            .select_from(model)
            .where(col(model.invalid_since).is_(None))
            .scalar_subquery()
        )

    statement = select(
        valid(Land).label("laender"),
        valid(Kreis).label("kreise"),
        valid(Gemeindeverband).label("gemeindeverbaende"),
        valid(Gemeinde).label("gemeinden"),
        select(func.coalesce(func.sum(Gemeinde.bevoelkerung), 0))
        .where(col(Gemeinde.invalid_since).is_(None))
        .scalar_subquery()
        .label("bevoelkerung"),
        select(func.max(Land.gebietsstand)).scalar_subquery().label("gebietsstand"),
    )
    return dict((await session.exec(statement)).one()._mapping)
