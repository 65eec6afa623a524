"""Counts of the pair levels, now and at the end of every closed month: what roll-ups over many
Gemeinden read instead of millions of pairs.

- `gemeinde_level_count`: per Gemeinde × dimension × level, the pairs at that level;
  `land_level_count`: their sums per Land;
- `leistung_kreis_count`: per OZG-Leistung × Kreis (first five ARS digits) × dimension, the
  assessed, online and OZG-konform pairs.

Rows with `period_end = LIVE` are now; the others are as of a month's last moment. `pairs`
keeps both in the transaction of every change: it first closes the months that ended since the
last change (nothing moved in between, so they are copies of now), then recounts what the
change moved, now and in every closed month from the moment it became visible on (a
back-dated import reaches into the past). Closed months are recounted from each pair's changes
from month to month (`pairs.changes`, summed up to each month: `gemeinde_changed`,
`leistung_changed`), so a pair costs the months in which its level changes, not every month a
change reaches. Before the first closed month nothing was counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import lock_until_commit, run, temporary_table, tuples
from tracker.fields import ARS_LENGTH
from tracker.maturity.models import (
    CountPeriod,
    GemeindeLevelCount,
    LandLevelCount,
    LeistungKreisCount,
    LeistungLandCount,
    PairRevision,
)
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM

LIVE = date(9999, 12, 31)
GEMEINDE_TABLE: Table = GemeindeLevelCount.__table__  # type: ignore[attr-defined]
LAND_LEVEL_TABLE: Table = LandLevelCount.__table__  # type: ignore[attr-defined]
LEISTUNG_TABLE: Table = LeistungKreisCount.__table__  # type: ignore[attr-defined]
LAND_TABLE: Table = LeistungLandCount.__table__  # type: ignore[attr-defined]
PERIOD_TABLE: Table = CountPeriod.__table__  # type: ignore[attr-defined]
KREIS_DIGITS = 5
LAND_DIGITS = 2
# Every table of counts, each a row per period (and what it counts).
COUNT_TABLES = (GEMEINDE_TABLE, LAND_LEVEL_TABLE, LEISTUNG_TABLE, LAND_TABLE)


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
        for table in COUNT_TABLES:
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


def _period_of(source: Any, periods: Sequence[date]) -> tuple[Any, list[Any], list[Any]]:
    """The period a source row counts in, what to group by for it and which rows count: its
    `period_end` (pairs by period) of these periods, or the one period asked for (the pairs
    now)."""
    if "period_end" in source.c:
        return source.c.period_end, [source.c.period_end], [source.c.period_end.in_(periods)]
    (period,) = periods
    return literal(period), [], []


def gemeinde_counts(
    source: Any, periods: Sequence[date], *, ars: Sequence[str] | None = None
) -> Select[Any]:
    """The rows of `gemeinde_level_count` that `source` (pairs with ars, ozg_id, dimension,
    level and, for closed periods, period_end) gives for the Gemeinden `ars` (None: all)."""
    period, by_period, counted = _period_of(source, periods)
    grouped = [source.c.ars, source.c.dimension, source.c.level]
    return (
        select(period.label("period_end"), *grouped, func.count().label("pairs"))
        .where(*counted, *_narrowed(source, ars=ars, kreise=None, ozg_ids=None))
        .group_by(*by_period, *grouped)
    )


def reaching(level: Any, at_least: int | None) -> Any:
    """1 for a pair at this level or above (None: at any level, i.e. assessed), else 0: what
    the columns of `leistung_kreis_count` count, from pairs and from their changes alike."""
    reached = level.is_not(None) if at_least is None else level >= at_least
    return case((reached, 1), else_=0)


def leistung_counts(
    source: Any,
    periods: Sequence[date],
    *,
    area: Any = kreis_of,
    kreise: Sequence[str] | None = None,
    ozg_ids: Any = None,
    gemeinden: Sequence[str] | None = None,
) -> Select[Any]:
    """The rows of `leistung_kreis_count` (`area` = `land_of`: of `leistung_land_count`) that
    `source` (as for `gemeinde_counts`) gives for the Leistungen `ozg_ids` in the Kreise
    `kreise` (None: all); `gemeinden`, when given, are every Gemeinde of those Kreise (an
    indexed narrowing)."""
    period, by_period, counted = _period_of(source, periods)
    code = area(source.c.ars)
    return (
        select(
            period.label("period_end"), source.c.ozg_id, code, source.c.dimension,
            func.count().label("assessed"),
            func.sum(reaching(source.c.level, ONLINE_FROM)).label("online"),
            func.sum(reaching(source.c.level, OZG_KONFORM_FROM)).label("ozg_konform"),
        )
        .where(*counted, *_narrowed(source, ars=gemeinden, kreise=kreise, ozg_ids=ozg_ids))
        .group_by(*by_period, source.c.ozg_id, code, source.c.dimension)
    )  # fmt: skip


async def _replace(
    session: AsyncSession, table: Table, periods: Sequence[date], narrowed: dict[str, Any],
    rows: Select[Any],
) -> None:  # fmt: skip
    """Delete these periods' rows of `table` where each column of `narrowed` is in its values
    (None: any), and insert `rows` instead, in the order of the primary key: its index then
    takes them page by page, not at random across a table of millions."""
    connection = await session.connection()
    gone = delete(table).where(table.c.period_end.in_(list(periods)))
    for name, values in narrowed.items():
        if values is not None:
            gone = gone.where(table.c[name].in_(sorted(values)))
    await connection.execute(gone)
    names = [column.name for column in table.columns]
    key = [rows.selected_columns[names.index(column.name)] for column in table.primary_key]
    await connection.execute(insert(table).from_select(names, rows.order_by(*key)))


def _up_to(moved: Select[Any], periods: Sequence[date]) -> tuple[Any, Any]:
    """Changes summed per month (`moved`, with `period_end`) and the months asked for, joined
    so that each month sums every change up to it: (the sums, the month)."""
    sums = moved.subquery("moved")
    asked = PERIOD_TABLE.alias("asked")
    joined = (
        select(asked.c.period_end.label("asked_end"), sums)
        .join(asked, sums.c.period_end <= asked.c.period_end)
        .where(asked.c.period_end.in_(list(periods)))
        .subquery("up_to")
    )
    return joined, joined.c.asked_end


def gemeinde_changed(
    changes: Any, periods: Sequence[date], *, ars: Sequence[str] | None = None
) -> Select[Any]:
    """The rows of `gemeinde_level_count` for these periods from the month-to-month changes of
    every pair of the Gemeinden `ars` (None: all), `pairs.changes`: a pair enters its level
    and leaves the one before."""
    c = changes.c
    entering = select(c.period_end, c.ars, c.dimension, c.level, literal(1).label("moved"))
    leaving = select(c.period_end, c.ars, c.dimension, c.before, literal(-1).label("moved"))
    moves = union_all(
        entering.where(c.level.is_not(None)), leaving.where(c.before.is_not(None))
    ).subquery("moves")
    m = moves.c
    narrowed = [] if ars is None else [m.ars.in_(list(ars))]
    grouped = [m.period_end, m.ars, m.dimension, m.level]
    summed = select(*grouped, func.sum(m.moved).label("moved")).where(*narrowed).group_by(*grouped)
    up_to, period = _up_to(summed, periods)
    kept = [up_to.c.ars, up_to.c.dimension, up_to.c.level]
    total = func.sum(up_to.c.moved)
    return (
        select(period.label("period_end"), *kept, total.label("pairs"))
        .group_by(period, *kept)
        .having(total > 0)
    )


def leistung_changed(
    changes: Any,
    periods: Sequence[date],
    *,
    area: Any = kreis_of,
    kreise: Sequence[str] | None = None,
    ozg_ids: Any = None,
) -> Select[Any]:
    """The rows of `leistung_kreis_count` (`area` = `land_of`: of `leistung_land_count`) for
    these periods from the month-to-month changes of every pair of the Leistungen `ozg_ids` in
    the Kreise `kreise` (None: all)."""
    c = changes.c

    def moved(at_least: int | None) -> Any:
        return func.sum(reaching(c.level, at_least) - reaching(c.before, at_least))

    code = area(c.ars)
    name = "land" if area is land_of else "kreis"
    grouped = [c.period_end, c.ozg_id, code.label(name), c.dimension]
    summed = (
        select(
            *grouped, moved(None).label("assessed"), moved(ONLINE_FROM).label("online"),
            moved(OZG_KONFORM_FROM).label("ozg_konform"),
        )
        .where(*_narrowed(changes, ars=None, kreise=kreise, ozg_ids=ozg_ids))
        .group_by(c.period_end, c.ozg_id, code, c.dimension)
    )  # fmt: skip
    up_to, period = _up_to(summed, periods)
    kept = [up_to.c.ozg_id, up_to.c[name], up_to.c.dimension]
    assessed = func.sum(up_to.c.assessed)
    return (
        select(
            period.label("period_end"), *kept, assessed.label("assessed"),
            func.sum(up_to.c.online).label("online"),
            func.sum(up_to.c.ozg_konform).label("ozg_konform"),
        )
        .group_by(period, *kept)
        .having(assessed > 0)
    )  # fmt: skip


async def recount_gemeinden(
    session: AsyncSession,
    periods: Sequence[date],
    source: Any,
    *,
    ars: Sequence[str] | None,
    changed: bool = False,
) -> None:
    """Count these periods of the Gemeinden `ars` (None: all) anew from `source`: every pair
    of those Gemeinden, or (`changed`) their changes from month to month."""
    if changed:
        rows = gemeinde_changed(source, periods, ars=ars)
    else:
        rows = gemeinde_counts(source, periods, ars=ars)
    await _replace(session, GEMEINDE_TABLE, periods, {"ars": ars}, rows)


async def recount_leistungen(
    session: AsyncSession,
    periods: Sequence[date],
    source: Any,
    *,
    kreise: Sequence[str] | None,
    ozg_ids: Any,
    gemeinden: Sequence[str] | None = None,
    changed: bool = False,
) -> None:
    """Count these periods of the Leistungen `ozg_ids` in the Kreise `kreise` (None: all) anew
    from `source`: every pair of those Leistungen there, or (`changed`) their changes from
    month to month."""
    if changed:
        rows = leistung_changed(source, periods, kreise=kreise, ozg_ids=ozg_ids)
    else:
        rows = leistung_counts(source, periods, kreise=kreise, ozg_ids=ozg_ids, gemeinden=gemeinden)
    await _replace(session, LEISTUNG_TABLE, periods, {"kreis": kreise, "ozg_id": ozg_ids}, rows)


async def recount_laender(
    session: AsyncSession, periods: Sequence[date], *, kreise: Sequence[str] | None, ozg_ids: Any
) -> None:
    """Sum these periods of the Leistungen `ozg_ids` in the Länder of `kreise` (None: all)
    anew from their Kreise' counts."""
    laender = None if kreise is None else sorted({code[:LAND_DIGITS] for code in kreise})
    kreis = LEISTUNG_TABLE.c
    land = land_of(kreis.kreis)
    narrowed: list[ColumnElement[bool]] = [kreis.period_end.in_(list(periods))]
    if laender is not None:
        narrowed.append(_in_laender(kreis.kreis, laender, KREIS_DIGITS))
    if ozg_ids is not None:
        narrowed.append(kreis.ozg_id.in_(sorted(ozg_ids)))
    summed = (
        select(
            kreis.period_end, kreis.ozg_id, land, kreis.dimension,
            func.sum(kreis.assessed), func.sum(kreis.online), func.sum(kreis.ozg_konform),
        )
        .where(*narrowed)
        .group_by(kreis.period_end, kreis.ozg_id, land, kreis.dimension)
    )  # fmt: skip
    await _replace(session, LAND_TABLE, periods, {"land": laender, "ozg_id": ozg_ids}, summed)


def land_levels(gemeinde_rows: Select[Any]) -> Select[Any]:
    """The rows of `land_level_count` from rows of `gemeinde_level_count` (a query of them)."""
    rows = gemeinde_rows.subquery("gemeinde_rows")
    land = land_of(rows.c.ars)
    return (
        select(rows.c.period_end, land.label("land"), rows.c.dimension, rows.c.level,
               func.sum(rows.c.pairs).label("pairs"))
        .group_by(rows.c.period_end, land, rows.c.dimension, rows.c.level)
    )  # fmt: skip


def _in_laender(code: Any, laender: Sequence[str], digits: int) -> ColumnElement[bool]:
    """`code` (of `digits` digits) lies in one of these Länder: a range of codes per Land, which
    a primary key's index reads (a substr would read every row of the periods); codes are
    digits, alike in every collation."""
    width = digits - LAND_DIGITS
    return or_(*(code.between(land + "0" * width, land + "9" * width) for land in laender))


async def recount_land_levels(
    session: AsyncSession, periods: Sequence[date], *, laender: Sequence[str] | None
) -> None:
    """Sum these periods of the Länder `laender` (None: all) anew from their Gemeinden's
    counts."""
    gemeinde = GEMEINDE_TABLE.c
    rows = select(GEMEINDE_TABLE).where(gemeinde.period_end.in_(list(periods)))
    if laender is not None:
        rows = rows.where(_in_laender(gemeinde.ars, laender, ARS_LENGTH))
    await _replace(session, LAND_LEVEL_TABLE, periods, {"land": laender}, land_levels(rows))


async def forget(session: AsyncSession) -> None:
    """Every count and closed period gone: before a rebuild from the assessments."""
    connection = await session.connection()
    for table in (*COUNT_TABLES, PERIOD_TABLE):
        await connection.execute(delete(table))


def period_in(held: Sequence[date], at: datetime | None) -> date | None:
    """Which counts answer `at`, of the closed periods `held`: LIVE for now, a closed month for
    its last moment; a month after the last closed one (nothing changed since it ended) is now,
    one before the first was not counted (a period with no rows). None when `at` is no month's
    last moment."""
    if at is None:
        return LIVE
    period = month_end(at)
    if at != end_moment(period):
        return None
    if period in held:
        return period
    if not held or period > held[-1]:
        return LIVE if at <= datetime.now(UTC) else None
    return date.min if period < held[0] else None


def expected(source: Any, periods: Sequence[date], *, changed: bool) -> list[Select[Any]]:
    """The rows of the count tables (`COUNT_TABLES`, in order) that `source` gives for these
    periods: pairs (with `period_end` for closed periods), or (`changed`) their changes from
    month to month."""
    if changed:
        by_gemeinde = gemeinde_changed(source, periods)
        return [
            by_gemeinde, land_levels(by_gemeinde), leistung_changed(source, periods),
            leistung_changed(source, periods, area=land_of),
        ]  # fmt: skip
    by_gemeinde = gemeinde_counts(source, periods)
    return [
        by_gemeinde, land_levels(by_gemeinde), leistung_counts(source, periods),
        leistung_counts(source, periods, area=land_of),
    ]  # fmt: skip


async def differences(
    session: AsyncSession, source: Any, periods: Sequence[date], *, changed: bool = False
) -> list[str]:
    """Every stored count of these periods that differs from what `source` gives (`expected`),
    compared in the database."""
    found: list[str] = []
    connection = await session.connection()
    for table, rows in zip(COUNT_TABLES, expected(source, periods, changed=changed), strict=True):
        # the counts it gives, once, in a scratch table that both comparisons read
        scratch = temporary_table(f"{table.name}_check", table.columns)
        await connection.run_sync(scratch.create)
        try:
            await connection.execute(
                insert(scratch).from_select([c.name for c in table.columns], rows)
            )
            held = select(table).where(table.c.period_end.in_(list(periods)))
            given = select(scratch)
            for side, statement in (
                ("stored", held.except_(given)),
                ("computed", given.except_(held)),
            ):
                for row in await tuples(session, statement):
                    found.append(f"{table.name}: only {side} {tuple(row)}")
        finally:
            await connection.run_sync(scratch.drop)
    return sorted(found)
