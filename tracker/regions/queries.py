"""Reads of the region register. Lists show currently valid units unless asked otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Row, case, cast, func, or_, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run, tuples
from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Regierungsbezirk
from tracker.search import like_pattern, search_key

Page = tuple[list[Row[Any]], str | None]


@dataclass(frozen=True)
class KreisFilter:
    land: str | None = None
    include_invalid: bool = False


@dataclass(frozen=True)
class GemeindeFilter:
    land: str | None = None
    kreis: str | None = None
    verband: str | None = None
    typ: int | None = None
    min_einwohner: int | None = None
    q: str | None = None
    include_invalid: bool = False


def _population_by(column: Any) -> Any:
    return (
        select(
            column.label("code"),
            func.count().label("gemeinden_count"),
            func.coalesce(func.sum(col(Gemeinde.bevoelkerung)), 0).label("bevoelkerung"),
        )
        .where(col(Gemeinde.invalid_since).is_(None))
        .group_by(column)
        .subquery()
    )


async def list_laender(session: AsyncSession, *, limit: int | None, cursor: str | None) -> Page:
    totals = _population_by(col(Gemeinde.land_code))
    statement = select(
        Land,
        func.coalesce(totals.c.gemeinden_count, 0).label("gemeinden_count"),
        func.coalesce(totals.c.bevoelkerung, 0).label("bevoelkerung"),
    ).outerjoin(totals, totals.c.code == col(Land.code))
    return await fetch_page(session, statement, [col(Land.code)], limit=limit, cursor=cursor)


async def list_kreise(
    session: AsyncSession, where: KreisFilter, *, limit: int | None, cursor: str | None
) -> Page:
    totals = _population_by(col(Gemeinde.kreis_code))
    statement = (
        select(
            Kreis,
            col(Land.name).label("land"),
            func.coalesce(totals.c.gemeinden_count, 0).label("gemeinden_count"),
            func.coalesce(totals.c.bevoelkerung, 0).label("bevoelkerung"),
        )
        .join(Land, col(Land.code) == col(Kreis.land_code))
        .outerjoin(totals, totals.c.code == col(Kreis.code))
    )
    if where.land is not None:
        statement = statement.where(col(Kreis.land_code) == where.land)
    if not where.include_invalid:
        statement = statement.where(col(Kreis.invalid_since).is_(None))
    return await fetch_page(session, statement, [col(Kreis.code)], limit=limit, cursor=cursor)


def _gemeinde_columns() -> Any:
    return (
        select(
            Gemeinde,
            col(Land.name).label("land_name"),
            col(Kreis.name).label("kreis_name"),
            col(Gemeindeverband.name).label("verband_name"),
            col(Gemeindeverband.typ_code).label("verband_typ_code"),
        )
        .join(Land, col(Land.code) == col(Gemeinde.land_code))
        .outerjoin(Kreis, col(Kreis.code) == col(Gemeinde.kreis_code))
        .join(Gemeindeverband, col(Gemeindeverband.ars) == col(Gemeinde.verband_ars))
    )


async def list_gemeinden(
    session: AsyncSession, where: GemeindeFilter, *, limit: int | None, cursor: str | None
) -> Page:
    statement = _gemeinde_columns()
    for column, value in (
        (col(Gemeinde.land_code), where.land),
        (col(Gemeinde.kreis_code), where.kreis),
        (col(Gemeinde.verband_ars), where.verband),
        (col(Gemeinde.typ_code), where.typ),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if where.min_einwohner is not None:
        statement = statement.where(col(Gemeinde.bevoelkerung) >= where.min_einwohner)
    if not where.include_invalid:
        statement = statement.where(col(Gemeinde.invalid_since).is_(None))
    order: list[Any] = [col(Gemeinde.ars)]
    if (q := where.q) is not None:
        key = search_key(q)
        name = col(Gemeinde.search_name)
        statement = statement.where(
            or_(
                name.like(like_pattern(q), escape="\\"),
                col(Gemeinde.ars) == q.strip(),
                col(Gemeinde.ags) == q.strip(),
            )
        )
        # Exact names first, then names starting with the text, then the rest; larger places first.
        rank = case((name == key, 0), (name.startswith(key, autoescape=True), 1), else_=2)
        order = [cast(rank, Integer), -col(Gemeinde.bevoelkerung), *order]
    return await fetch_page(session, statement, order, limit=limit, cursor=cursor)


async def get_gemeinde(session: AsyncSession, ars_or_ags: str) -> Row[Any]:
    """One Gemeinde by 12-digit ARS or 8-digit AGS, with its Land, Kreis, Verband and RB."""
    key_column = col(Gemeinde.ars) if len(ars_or_ags) == 12 else col(Gemeinde.ags)
    statement = (
        _gemeinde_columns()
        .add_columns(Land, Kreis, Gemeindeverband, Regierungsbezirk)
        .outerjoin(Regierungsbezirk, col(Regierungsbezirk.code) == col(Gemeinde.regbez_code))
        .where(key_column == ars_or_ags)
    )
    row = (await run(session, statement)).first()
    if row is None:
        kind = "ARS" if len(ars_or_ags) == 12 else "AGS"
        raise NotFound(
            f"No Gemeinde has the {kind} {ars_or_ags}.",
            german=f"Keine Gemeinde hat den {kind} {ars_or_ags}.",
        )
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
        select(func.coalesce(func.sum(col(Gemeinde.bevoelkerung)), 0))
        .where(col(Gemeinde.invalid_since).is_(None))
        .scalar_subquery()
        .label("bevoelkerung"),
        select(func.max(col(Land.gebietsstand))).scalar_subquery().label("gebietsstand"),
    )
    return dict((await run(session, statement)).one()._mapping)


def inhabited(area: str | None = None) -> list[ColumnElement[bool]]:
    """Valid Gemeinden with inhabitants (whose ARS starts with `area`): the denominator of
    coverage figures (uninhabited gemeindefreie Gebiete offer no services)."""
    conditions = [col(Gemeinde.invalid_since).is_(None), col(Gemeinde.bevoelkerung) > 0]
    if area:
        conditions.append(col(Gemeinde.ars).startswith(area))
    return conditions


async def inhabited_gemeinden(session: AsyncSession) -> list[Row[Any]]:
    """(ars, land_code, kreis_code) of every inhabited Gemeinde (see `inhabited`)."""
    statement = (
        select(col(Gemeinde.ars), col(Gemeinde.land_code), col(Gemeinde.kreis_code))
        .where(*inhabited())
        .order_by(col(Gemeinde.ars))
    )
    return list((await run(session, statement)).all())


async def scope_names(session: AsyncSession, scopes: list[str]) -> dict[str, str]:
    """A role's ARS prefix by the name of what it covers: '' everything, 2 digits a Land,
    5 a Kreis, 9 a Gemeindeverband, 12 a Gemeinde; other prefixes keep their digits."""
    tables: dict[int, tuple[Any, Any]] = {
        2: (col(Land.code), col(Land.name)),
        5: (col(Kreis.code), col(Kreis.name)),
        9: (col(Gemeindeverband.ars), col(Gemeindeverband.name)),
        12: (col(Gemeinde.ars), col(Gemeinde.display_name)),
    }
    names: dict[str, str] = {}
    for length, (key, name) in tables.items():
        wanted = [scope for scope in scopes if len(scope) == length]
        if wanted:
            names.update(dict(await tuples(session, select(key, name).where(key.in_(wanted)))))
    return names
