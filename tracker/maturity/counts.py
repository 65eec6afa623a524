"""Counts of the pair levels, now and at the end of every closed month: what roll-ups over many
Gemeinden read instead of millions of pairs.

- `gemeinde_level_count`: per Gemeinde × dimension × level, the pairs at that level;
- `leistung_kreis_count`: per OZG-Leistung × Kreis (first five ARS digits) × dimension, the
  assessed, online and OZG-konform pairs.

Rows with `period_end = LIVE` are now; the others are as of a month's last moment. `pairs`
keeps both in the transaction of every change: it first closes the months that ended since the
last change (nothing moved in between, so they are copies of now), then recounts what the
change moved, now and in every closed month from the moment it became visible on (a
back-dated import reaches into the past). Before the first closed month nothing was counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import lock_until_commit, run, tuples
from tracker.maturity.models import (
    CountPeriod,
    GemeindeLevelCount,
    LeistungKreisCount,
    LeistungLandCount,
    PairRevision,
)
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM

LIVE = date(9999, 12, 31)
GEMEINDE_TABLE: Table = GemeindeLevelCount.__table__  # type: ignore[attr-defined]
LEISTUNG_TABLE: Table = LeistungKreisCount.__table__  # type: ignore[attr-defined]
LAND_TABLE: Table = LeistungLandCount.__table__  # type: ignore[attr-defined]
PERIOD_TABLE: Table = CountPeriod.__table__  # type: ignore[attr-defined]
KREIS_DIGITS = 5
LAND_DIGITS = 2


def month_end(moment: datetime) -> date:
    """The last day of the moment's month (UTC)."""
    moment = moment.astimezone(UTC)
    first_next = date(moment.year + moment.month // 12, moment.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def end_moment(period_end: date) -> datetime:
    """The last moment of a closed month: what its counts are as of."""
    following = datetime(period_end.year, period_end.month, period_end.day, tzinfo=UTC)
    return following + timedelta(days=1) - timedelta(microseconds=1)


def months(first: date, last: date) -> list[date]:
    """Every month's last day from `first`'s month through `last`'s."""
    found, current = [], first
    while current <= last:
        found.append(current)
        current = month_end(end_moment(current) + timedelta(microseconds=1))
    return found


def kreis_of(ars: Any) -> Any:
    # inline numbers: PostgreSQL must see the GROUP BY expression as the selected one
    return func.substr(ars, literal_column("1"), literal_column(str(KREIS_DIGITS)))


def land_of(code: Any) -> Any:
    """The Land of an ARS or Kreis code."""
    return func.substr(code, literal_column("1"), literal_column(str(LAND_DIGITS)))


def revision() -> list[Any]:
    """The pair revision and when it was raised, as scalar subqueries for stamps (the time
    tells apart two revisions of one number of which one was rolled back)."""
    return [
        select(col(column)).where(col(PairRevision.id) == 1).scalar_subquery()
        for column in (PairRevision.revision, PairRevision.changed_at)
    ]


async def closed_periods(session: AsyncSession) -> list[date]:
    statement = select(PERIOD_TABLE.c.period_end).order_by(PERIOD_TABLE.c.period_end)
    return list((await run(session, statement)).scalars())


async def close_periods(session: AsyncSession, *, now: datetime, since: datetime | None) -> None:
    """Before a change at `now`: the pair revision goes up; every month that ended since the
    last change becomes a closed period holding a copy of the live counts (with no closed
    period yet, the month before this one); when the change reaches back before the first
    closed month (`since`), the months from there on become closed periods too, empty, since
    before the first one nothing was counted."""
    await lock_until_commit(session, "tracker.maturity.counts")
    await run(
        session,
        update(PairRevision)
        .where(col(PairRevision.id) == 1)
        .values(revision=col(PairRevision.revision) + 1, changed_at=now),
    )
    held = await closed_periods(session)
    last_ended = month_end(now.replace(day=1) - timedelta(days=1))
    if not held:
        copied = [last_ended]
    elif held[-1] < last_ended:
        copied = months(month_end(end_moment(held[-1]) + timedelta(microseconds=1)), last_ended)
    else:
        copied = []
    connection = await session.connection()
    for period in copied:
        for table in (GEMEINDE_TABLE, LEISTUNG_TABLE, LAND_TABLE):
            names = [column.name for column in table.columns]
            rows = select(
                *(literal(period).label(n) if n == "period_end" else table.c[n] for n in names)
            ).where(table.c.period_end == LIVE)
            await connection.execute(insert(table).from_select(names, rows))
    first = (held or copied)[0]
    earlier = [] if since is None else months(month_end(since), first - timedelta(days=1))
    taken = datetime.now(UTC)
    new = sorted(set(copied) | set(earlier))
    if new:
        await connection.execute(
            insert(PERIOD_TABLE),
            [{"period_end": p, "ends_at": end_moment(p), "taken_at": taken} for p in new],
        )


def _narrowed(
    source: Any, *, ars: Sequence[str] | None, kreise: Sequence[str] | None, ozg_ids: Any
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if ars is not None:
        conditions.append(source.c.ars.in_(list(ars)))
    if kreise is not None:
        conditions.append(kreis_of(source.c.ars).in_(list(kreise)))
    if ozg_ids is not None:
        conditions.append(source.c.ozg_id.in_(sorted(ozg_ids)))
    return conditions


def _period_of(source: Any, periods: Sequence[date]) -> Any:
    """The period a source row counts in: its `period_end` (pairs by period), or the one period
    asked for (the pairs now)."""
    if "period_end" in source.c:
        return source.c.period_end
    (period,) = periods
    return literal(period)


async def recount_gemeinden(
    session: AsyncSession, periods: Sequence[date], source: Any, *, ars: Sequence[str] | None
) -> None:
    """Count these periods of the Gemeinden `ars` (None: all) anew from `source` (pairs with
    ars, ozg_id, dimension, level and, for closed periods, period_end, holding every pair of
    those Gemeinden)."""
    connection = await session.connection()
    gone = delete(GEMEINDE_TABLE).where(GEMEINDE_TABLE.c.period_end.in_(list(periods)))
    if ars is not None:
        gone = gone.where(GEMEINDE_TABLE.c.ars.in_(list(ars)))
    await connection.execute(gone)
    period = _period_of(source, periods)
    grouped = [source.c.ars, source.c.dimension, source.c.level]
    by_level = (
        select(
            period.label("period_end"), *grouped, func.count().label("pairs"),
        )
        .where(*_narrowed(source, ars=ars, kreise=None, ozg_ids=None))
        .group_by(*([period] if "period_end" in source.c else []), *grouped)
    )  # fmt: skip
    await connection.execute(
        insert(GEMEINDE_TABLE).from_select(
            ["period_end", "ars", "dimension", "level", "pairs"], by_level
        )
    )


async def recount_leistungen(
    session: AsyncSession,
    periods: Sequence[date],
    source: Any,
    *,
    kreise: Sequence[str] | None,
    ozg_ids: Any,
    gemeinden: Sequence[str] | None = None,
) -> None:
    """Count these periods of the Leistungen `ozg_ids` in the Kreise `kreise` (None: all) anew
    from `source` (as for `recount_gemeinden`, holding every pair of those Leistungen there;
    `gemeinden`, when given, are every Gemeinde of those Kreise: an indexed narrowing)."""
    connection = await session.connection()
    gone = delete(LEISTUNG_TABLE).where(LEISTUNG_TABLE.c.period_end.in_(list(periods)))
    if kreise is not None:
        gone = gone.where(LEISTUNG_TABLE.c.kreis.in_(list(kreise)))
    if ozg_ids is not None:
        gone = gone.where(LEISTUNG_TABLE.c.ozg_id.in_(sorted(ozg_ids)))
    await connection.execute(gone)
    period = _period_of(source, periods)
    kreis = kreis_of(source.c.ars)
    by_kreis = (
        select(
            period.label("period_end"), source.c.ozg_id, kreis.label("kreis"),
            source.c.dimension, func.count().label("assessed"),
            func.sum(case((source.c.level >= ONLINE_FROM, 1), else_=0)).label("online"),
            func.sum(case((source.c.level >= OZG_KONFORM_FROM, 1), else_=0)).label("ozg_konform"),
        )
        .where(*_narrowed(source, ars=gemeinden, kreise=kreise, ozg_ids=ozg_ids))
        .group_by(
            *([period] if "period_end" in source.c else []),
            source.c.ozg_id, kreis, source.c.dimension,
        )
    )  # fmt: skip
    await connection.execute(
        insert(LEISTUNG_TABLE).from_select(
            ["period_end", "ozg_id", "kreis", "dimension", "assessed", "online", "ozg_konform"],
            by_kreis,
        )
    )


async def recount_laender(
    session: AsyncSession, periods: Sequence[date], *, kreise: Sequence[str] | None, ozg_ids: Any
) -> None:
    """Sum these periods of the Leistungen `ozg_ids` in the Länder of `kreise` (None: all)
    anew from their Kreise' counts."""
    connection = await session.connection()
    laender = None if kreise is None else sorted({code[:LAND_DIGITS] for code in kreise})
    table, kreis = LAND_TABLE, LEISTUNG_TABLE.c
    gone = delete(table).where(table.c.period_end.in_(list(periods)))
    narrowed = [kreis.period_end.in_(list(periods))]
    if laender is not None:
        gone = gone.where(table.c.land.in_(laender))
        narrowed.append(land_of(kreis.kreis).in_(laender))
    if ozg_ids is not None:
        gone = gone.where(table.c.ozg_id.in_(sorted(ozg_ids)))
        narrowed.append(kreis.ozg_id.in_(sorted(ozg_ids)))
    await connection.execute(gone)
    land = land_of(kreis.kreis)
    summed = (
        select(
            kreis.period_end, kreis.ozg_id, land.label("land"), kreis.dimension,
            func.sum(kreis.assessed), func.sum(kreis.online), func.sum(kreis.ozg_konform),
        )
        .where(*narrowed)
        .group_by(kreis.period_end, kreis.ozg_id, land, kreis.dimension)
    )  # fmt: skip
    await connection.execute(
        insert(table).from_select(
            ["period_end", "ozg_id", "land", "dimension", "assessed", "online", "ozg_konform"],
            summed,
        )
    )


async def forget(session: AsyncSession) -> None:
    """Every count and closed period gone: before a rebuild from the assessments."""
    connection = await session.connection()
    for table in (GEMEINDE_TABLE, LEISTUNG_TABLE, LAND_TABLE, PERIOD_TABLE):
        await connection.execute(delete(table))


async def period_for(session: AsyncSession, at: datetime | None) -> date | None:
    """Which counts answer `at`: LIVE for now, a closed month for its last moment; a month after
    the last closed one (nothing changed since it ended) is now, one before the first was not
    counted (a period with no rows). None when `at` is no month's last moment."""
    if at is None:
        return LIVE
    period = month_end(at)
    if at != end_moment(period):
        return None
    held = await closed_periods(session)
    if period in held:
        return period
    if not held or period > held[-1]:
        return LIVE if at <= datetime.now(UTC) else None
    return date.min if period < held[0] else None


async def expected(
    session: AsyncSession, source: Any, periods: Sequence[date]
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The counts `source` (pairs, with `period_end` for closed periods) gives in these
    periods, keyed as `stored`."""
    found: dict[tuple[Any, ...], tuple[int, ...]] = {}
    period = _period_of(source, periods)
    by_period = [period] if "period_end" in source.c else []
    grouped = [source.c.ars, source.c.dimension, source.c.level]
    by_level = select(period, *grouped, func.count()).group_by(*by_period, *grouped)
    for when, ars, dimension, level, pairs in await tuples(session, by_level):
        found[(when, "gemeinde", ars, dimension, level)] = (pairs,)
    kreis = kreis_of(source.c.ars)
    by_kreis = select(
        period, source.c.ozg_id, kreis, source.c.dimension, func.count(),
        func.sum(case((source.c.level >= ONLINE_FROM, 1), else_=0)),
        func.sum(case((source.c.level >= OZG_KONFORM_FROM, 1), else_=0)),
    ).group_by(*by_period, source.c.ozg_id, kreis, source.c.dimension)  # fmt: skip
    for when, ozg_id, code, dimension, *figures in await tuples(session, by_kreis):
        found[(when, "leistung", ozg_id, code, dimension)] = tuple(int(n) for n in figures)
        land = (when, "land", ozg_id, code[:LAND_DIGITS], dimension)
        summed = found.get(land, (0, 0, 0))
        found[land] = tuple(a + int(b) for a, b in zip(summed, figures, strict=True))
    return found


async def stored(
    session: AsyncSession, periods: Sequence[date]
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The stored counts of these periods, keyed (period, "gemeinde", ars, dimension, level),
    (period, "leistung", ozg_id, kreis, dimension) and (period, "land", ozg_id, land,
    dimension)."""
    found: dict[tuple[Any, ...], tuple[int, ...]] = {}
    table = GEMEINDE_TABLE
    gemeinden = select(
        table.c.period_end, table.c.ars, table.c.dimension, table.c.level, table.c.pairs,
    ).where(table.c.period_end.in_(list(periods)))  # fmt: skip
    for when, ars, dimension, level, pairs in await tuples(session, gemeinden):
        found[(when, "gemeinde", ars, dimension, level)] = (pairs,)
    table = LEISTUNG_TABLE
    leistungen = select(
        table.c.period_end, table.c.ozg_id, table.c.kreis, table.c.dimension,
        table.c.assessed, table.c.online, table.c.ozg_konform,
    ).where(table.c.period_end.in_(list(periods)))  # fmt: skip
    for when, ozg_id, code, dimension, *figures in await tuples(session, leistungen):
        found[(when, "leistung", ozg_id, code, dimension)] = tuple(figures)
    table = LAND_TABLE
    laender = select(
        table.c.period_end, table.c.ozg_id, table.c.land, table.c.dimension,
        table.c.assessed, table.c.online, table.c.ozg_konform,
    ).where(table.c.period_end.in_(list(periods)))  # fmt: skip
    for when, ozg_id, code, dimension, *figures in await tuples(session, laender):
        found[(when, "land", ozg_id, code, dimension)] = tuple(figures)
    return found
