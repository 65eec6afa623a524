"""The one rule that turns assessments into the level of a pair, and the relation that keeps it.

A pair is an inhabited Gemeinde × applicable OZG-Leistung × dimension. Its level is read in
four steps, each written here once:

- **current**: per Gemeinde × service (a LeiKa row, or the whole OZG-Leistung) × dimension,
  the newest validated assessment (by `assessed_at`, then id); as of a moment, the newest one
  assessed and validated by then (`queries.published`).
- **counted**: a LeiKa service counts where it applies by default (`applicability.Catalogue`:
  its LeiKa-Typ), all of the Leistung's services count where the Gemeinde overrides it as
  applicable, none where it overrides it as not applicable.
- **scale**: levels of another model version are read on the dimension's default model through
  `level_mapping`; a level without a mapping counts as not assessed. A dimension without a
  default model keeps its levels as given.
- **pair**: the highest level of the pair's counted current services gives the level (ties: the
  newest); the lowest, how many services, the newest assessment and whether any is a Land-wide
  portal come with it.

`pair_level` holds the result for now. Every write that can move it (a validation, an import,
an override, a model, mapping or municipal-type change) calls `refresh` or `rebuild` in its
own transaction, so every reader sees the new figure after the commit. `computed` is the same
rule as a query, for a past moment (`?at=`) and for `differences` (`tracker verify pairs`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import LeikaLeistung
from tracker.db import as_utc, fill_temporary, roomy_sorts, run, temporary_table, tuples
from tracker.maturity import counts
from tracker.maturity.applicability import Reference, reference
from tracker.maturity.models import (
    ApplicabilityOverride,
    Assessment,
    LevelMapping,
    PairLevel,
    Status,
)
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM
from tracker.regions.models import Gemeinde
from tracker.regions.queries import inhabited

RULES = {
    "current": (
        "per Gemeinde × LeiKa service (or whole OZG-Leistung) × dimension the newest validated "
        "assessment; as of `at`, the newest one assessed and validated by then"
    ),
    "applicable": (
        "a LeiKa service applies by its LeiKa-Typ (executed by Länder or Kommunen; unknown: "
        "applicable; 1 is federal), or as the Gemeinde's override says (applicable: all its "
        "services count; not applicable: out of every denominator)"
    ),
    "scale": (
        "levels of other model versions are read on the dimension's default model through the "
        "level mapping; a level without a mapping counts as not assessed"
    ),
    "pair": (
        "one inhabited Gemeinde × applicable OZG-Leistung × dimension; its level is the highest "
        "current level of its counted LeiKa services (or of the whole Leistung)"
    ),
    "online": f"a pair at level ≥ {ONLINE_FROM} (the federal dashboard's rule)",
    "ozg_konform": f"a pair at level ≥ {OZG_KONFORM_FROM} (IT-Planungsrat 2020)",
}
# The same rules in German, for the German pages and files (same keys; a test holds them equal).
RULES_DE = {
    "current": (
        "je Gemeinde × LeiKa-Leistung (oder ganze OZG-Leistung) × Dimension die neueste "
        "freigegebene Bewertung; zu einem Stichtag die neueste bis dahin bewertete und freigegebene"
    ),
    "applicable": (
        "eine LeiKa-Leistung ist anwendbar nach ihrem LeiKa-Typ (Vollzug durch Länder oder "
        "Kommunen; unbekannt: anwendbar; Typ 1 ist Bundessache) oder wie die Ausnahme der "
        "Gemeinde es sagt (anwendbar: alle ihre Leistungen zählen; nicht anwendbar: aus jedem "
        "Nenner heraus)"
    ),
    "scale": (
        "Stufen anderer Modellversionen werden über die Stufenzuordnung auf dem Standardmodell "
        "der Dimension gelesen; eine Stufe ohne Zuordnung gilt als nicht bewertet"
    ),
    "pair": (
        "eine bewohnte Gemeinde × anwendbare OZG-Leistung × Dimension; ihre Stufe ist die "
        "höchste aktuelle Stufe ihrer gezählten LeiKa-Leistungen (oder der ganzen Leistung)"
    ),
    "online": f"ein Paar ab Stufe {ONLINE_FROM} (Regel des OZG-Dashboards des Bundes)",
    "ozg_konform": f"ein Paar ab Stufe {OZG_KONFORM_FROM} (IT-Planungsrat 2020)",
}
PAIR_TABLE: Table = PairLevel.__table__  # type: ignore[attr-defined]
PERIOD_TABLE = counts.PERIOD_TABLE
LEVEL_COLUMNS = [PAIR_TABLE.c[name] for name in ("ars", "ozg_id", "dimension", "level")]
COLUMNS = [column.name for column in PAIR_TABLE.columns]
KEY = ("ars", "ozg_id", "dimension")
# What a change's closed months are counted from: the spans of the pairs it can move, and their
# changes from month to month.
SPAN_COLUMNS = [
    Column(name, type_)
    for name, type_ in (
        ("ars", PAIR_TABLE.c.ars.type), ("ozg_id", PAIR_TABLE.c.ozg_id.type),
        ("dimension", PAIR_TABLE.c.dimension.type), ("level", PAIR_TABLE.c.level.type),
        ("visible_from", PAIR_TABLE.c.assessed_at.type),
        ("superseded_from", PAIR_TABLE.c.assessed_at.type),
    )
]  # fmt: skip
CHANGE_COLUMNS = [
    PERIOD_TABLE.c.period_end, *LEVEL_COLUMNS, Column("before", PAIR_TABLE.c.level.type)
]  # fmt: skip
# Gemeinden per refreshing statement: bounds the bound parameters of one statement.
ARS_CHUNK = 1000


def published(at: datetime | None) -> list[Any]:
    """Validated, and as of `at`: assessed and validated by then."""
    conditions = [col(Assessment.status) == Status.VALIDATED.value]
    if at is not None:
        conditions += [col(Assessment.status_changed_at) <= at, col(Assessment.assessed_at) <= at]
    return conditions


def services(
    ref: Reference,
    *,
    area: str | None = None,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
    own: Collection[str] | None = None,
) -> Any:
    """Every counted validated assessment with its level on the default scale and the span in
    which it is its service's current one: from `visible_from` until `superseded_from`, the
    first moment one with a later `assessed_at` (then id) of the same service is visible (None:
    never). Narrowed to an ARS prefix, some Gemeinden, some OZG-Leistungen (with `own`: those
    Leistungen, and every Leistung of the Gemeinden `own`)."""
    known, scale = ref.known, ref.scale
    leistung = func.coalesce(col(Assessment.ozg_id), col(LeikaLeistung.ozg_id))
    target: Any = (
        case(scale.targets, value=col(Assessment.dimension)) if scale.targets else literal(None)
    )
    level = case(
        (target.is_(None), col(Assessment.level)),
        (col(Assessment.model_id) == target, col(Assessment.level)),
        else_=col(LevelMapping.to_level),
    )
    override = [
        col(ApplicabilityOverride.ars) == col(Assessment.ars),
        col(ApplicabilityOverride.ozg_id) == leistung,
    ]
    forced = exists().where(*override, col(ApplicabilityOverride.applicable))
    dropped = exists().where(*override, not_(col(ApplicabilityOverride.applicable)))
    by_default = or_(
        col(Assessment.leika_id).in_(known.default_leika_ids),
        col(Assessment.ozg_id).in_(sorted(known.applicable_leika)),
    )
    conditions = [*published(None), or_(by_default, forced), not_(dropped)]
    if area:
        conditions.append(col(Assessment.ars).startswith(area))
    if ars is not None:
        conditions.append(col(Assessment.ars).in_(sorted(ars)))
    if ozg_ids is not None:
        chosen = leistung.in_(sorted(ozg_ids))
        conditions.append(chosen if own is None else or_(chosen, col(Assessment.ars).in_(own)))
    visible = visible_from()
    superseded_from = (
        func.min(visible)
        .over(
            partition_by=[
                col(Assessment.ars),
                col(Assessment.leika_id),
                col(Assessment.ozg_id),
                col(Assessment.dimension),
            ],
            order_by=[col(Assessment.assessed_at).desc(), col(Assessment.id).desc()],
            rows=(None, -1),
        )
        .label("superseded_from")
    )
    return (
        select(
            col(Assessment.id).label("assessment_id"),
            col(Assessment.ars).label("ars"),
            leistung.label("ozg_id"),
            col(Assessment.dimension).label("dimension"),
            col(Assessment.leika_id).label("leika_id"),
            level.label("level"),
            col(Assessment.source).label("source"),
            col(Assessment.provisional).label("provisional"),
            col(Assessment.assessed_at).label("assessed_at"),
            col(Assessment.land_wide_portal).label("land_wide_portal"),
            visible.label("visible_from"),
            superseded_from,
        )
        .outerjoin(LeikaLeistung, col(LeikaLeistung.id) == col(Assessment.leika_id))
        .outerjoin(
            LevelMapping,
            and_(
                col(LevelMapping.from_model_id) == col(Assessment.model_id),
                col(LevelMapping.from_level) == col(Assessment.level),
                col(LevelMapping.to_model_id) == target,
            ),
        )
        .where(*conditions)
        .subquery("services")
    )


def current_at(spans: Any, at: Any) -> list[ColumnElement[bool]]:
    """A service's current assessment at `at` (None: now, whatever its dates)."""
    if at is None:
        return [spans.c.superseded_from.is_(None)]
    return [
        spans.c.visible_from <= at,
        or_(spans.c.superseded_from.is_(None), spans.c.superseded_from > at),
    ]


def computed(
    ref: Reference,
    *,
    at: datetime | None = None,
    area: str | None = None,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
) -> Select[Any]:
    """The pair levels as of `at` (now: None), with the columns of `pair_level`; narrowed to an
    ARS prefix, some Gemeinden or some OZG-Leistungen."""
    ranked = services(ref, area=area, ars=ars, ozg_ids=ozg_ids)
    pair = [ranked.c.ars, ranked.c.ozg_id, ranked.c.dimension]
    levelled = (
        select(
            ranked,
            func.row_number()
            .over(
                partition_by=pair,
                order_by=[
                    ranked.c.level.desc(),
                    ranked.c.assessed_at.desc(),
                    ranked.c.assessment_id.desc(),
                ],
            )
            .label("pick"),
            func.min(ranked.c.level).over(partition_by=pair).label("lowest"),
            func.count().over(partition_by=pair).label("services"),
            func.max(ranked.c.assessed_at).over(partition_by=pair).label("newest_at"),
            func.max(case((ranked.c.land_wide_portal, 1), else_=0))
            .over(partition_by=pair)
            .label("portals"),
        )
        .join(Gemeinde, col(Gemeinde.ars) == ranked.c.ars)
        .where(*current_at(ranked, at), ranked.c.level.is_not(None), *inhabited())
        .subquery("levelled")
    )
    values = {
        "ars": levelled.c.ars,
        "ozg_id": levelled.c.ozg_id,
        "dimension": levelled.c.dimension,
        "level": levelled.c.level,
        "lowest": levelled.c.lowest,
        "services": levelled.c.services,
        "leika_id": levelled.c.leika_id,
        "assessment_id": levelled.c.assessment_id,
        "source": levelled.c.source,
        "provisional": levelled.c.provisional,
        "assessed_at": levelled.c.assessed_at,
        "newest_at": levelled.c.newest_at,
        "land_wide_portal": levelled.c.portals == 1,
    }
    return select(*(values[name].label(name) for name in COLUMNS)).where(levelled.c.pick == 1)


def by_period(
    ref: Reference,
    periods: Collection[date] | None,
    *,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
    own: Collection[str] | None = None,
) -> Select[Any]:
    """The pair levels at the end of each of these closed months (None: all), in one pass:
    `period_end`, `ars`, `ozg_id`, `dimension`, `level`. Narrowed as `services`. The rule read
    at every month's end, a pair × month each: the definition that `changes` (which the counts
    are kept and verified from) is held to by the tests."""
    spans = services(ref, ars=ars, ozg_ids=ozg_ids, own=own)
    period = PERIOD_TABLE
    joined = (
        select(
            period.c.period_end, spans.c.ars, spans.c.ozg_id, spans.c.dimension,
            func.max(spans.c.level).label("level"),
        )
        .select_from(spans)
        .join(period, and_(*current_at(spans, period.c.ends_at)))
        .join(Gemeinde, col(Gemeinde.ars) == spans.c.ars)
        .where(spans.c.level.is_not(None), *inhabited())
        .group_by(period.c.period_end, spans.c.ars, spans.c.ozg_id, spans.c.dimension)
    )  # fmt: skip
    if periods is not None:
        joined = joined.where(period.c.period_end.in_(sorted(periods)))
    return joined


async def refresh(
    session: AsyncSession,
    *,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
    since: datetime | None = None,
) -> None:
    """Recompute the stored pairs of these Gemeinden × OZG-Leistungen (None: all of them) and
    their counts, now and in every closed month from `since` on: the first moment the change is
    visible (None: every moment, as for an override, which the rule reads at every moment)."""
    if (ars is not None and not ars) or (ozg_ids is not None and not ozg_ids):
        return
    await session.flush()
    await roomy_sorts(session)
    ref = await reference(session)
    await counts.close_periods(session, now=datetime.now(UTC), since=since)
    connection = await session.connection()
    ordered = None if ars is None else sorted(ars)
    chunks: list[list[str] | None] = (
        [None]
        if ordered is None
        else [ordered[start : start + ARS_CHUNK] for start in range(0, len(ordered), ARS_CHUNK)]
    )
    groups = [(None, None)] if ordered is None else await by_kreis(session, ordered)
    for chunk in chunks:
        stale = delete(PAIR_TABLE)
        if chunk is not None:
            stale = stale.where(PAIR_TABLE.c.ars.in_(chunk))
        if ozg_ids is not None:
            stale = stale.where(PAIR_TABLE.c.ozg_id.in_(sorted(ozg_ids)))
        await connection.execute(stale)
        fresh = computed(ref, ars=chunk, ozg_ids=ozg_ids)
        await connection.execute(insert(PAIR_TABLE).from_select(COLUMNS, fresh))
        await counts.recount_gemeinden(session, [counts.LIVE], PAIR_TABLE, ars=chunk)
    for gemeinden, kreis_codes in groups:
        await counts.recount_leistungen(
            session, [counts.LIVE], PAIR_TABLE, kreise=kreis_codes, ozg_ids=ozg_ids,
            gemeinden=gemeinden,
        )  # fmt: skip
    kreise = None if ordered is None else sorted({code[: counts.KREIS_DIGITS] for code in ordered})
    laender = None if kreise is None else sorted({code[: counts.LAND_DIGITS] for code in kreise})
    await counts.recount_laender(session, [counts.LIVE], kreise=kreise, ozg_ids=ozg_ids)
    await counts.recount_land_levels(session, [counts.LIVE], laender=laender)
    reached = [
        period
        for period in await counts.closed_periods(session)
        if since is None or counts.end_moment(period) >= since
    ]
    if not reached:
        return
    touched = None if ordered is None else set(ordered)
    async with change_tables(connection) as (spans, moved):
        for gemeinden, kreis_codes in groups:
            # Of a chunk, the Gemeinden whose own counts this change moves: for them every
            # Leistung is read, for the others of their Kreise only the changed Leistungen.
            own = None if gemeinden is None or touched is None else [
                code for code in gemeinden if code in touched
            ]  # fmt: skip
            narrowed = services(
                ref, ars=gemeinden, ozg_ids=None if own is None else ozg_ids, own=own
            )
            await fill_changes(connection, spans, moved, narrowed)
            await counts.recount_gemeinden(session, reached, moved, ars=own, changed=True)
            await counts.recount_leistungen(
                session, reached, moved, kreise=kreis_codes, ozg_ids=ozg_ids, changed=True
            )
    await counts.recount_laender(session, reached, kreise=kreise, ozg_ids=ozg_ids)
    await counts.recount_land_levels(session, reached, laender=laender)


@asynccontextmanager
async def change_tables(connection: AsyncConnection) -> AsyncIterator[tuple[Table, Table]]:
    """The scratch tables that closed months are counted from: `pair_spans` and
    `pair_changes`, dropped after use."""
    spans = temporary_table("pair_spans", SPAN_COLUMNS, index=KEY)
    moved = temporary_table("pair_changes", CHANGE_COLUMNS)
    for scratch in (spans, moved):
        await connection.run_sync(scratch.create)
    try:
        yield spans, moved
    finally:
        for scratch in (spans, moved):
            await connection.run_sync(scratch.drop)


async def fill_changes(connection: AsyncConnection, spans: Table, moved: Table, of: Any) -> None:
    """Hold the spans `of` (a `services` query) and their pairs' changes, instead of the last."""
    for scratch in (spans, moved):
        await connection.execute(delete(scratch))
    await fill_temporary(connection, spans, counted_spans(of))
    await fill_temporary(connection, moved, changes(spans))


def counted_spans(spans: Any) -> Select[Any]:
    """The spans of the pairs that count (of inhabited Gemeinden), as `pair_spans` holds them."""
    return (
        select(*(spans.c[column.name] for column in SPAN_COLUMNS))
        .join(Gemeinde, col(Gemeinde.ars) == spans.c.ars)
        .where(*inhabited())
    )


def changes(spans: Table) -> Select[Any]:
    """From the spans of some pairs (`pair_spans`, every service's of each pair): each pair's
    level at the end of every closed month in which one of its spans begins, where it
    differs from the level at the end of the pair's month before that (`before`; None: not
    assessed). A month's counts are the sums of these changes up to it: the pairs cost the
    months in which they change, not every month."""
    period = PERIOD_TABLE
    pair = [spans.c.ars, spans.c.ozg_id, spans.c.dimension]

    def month_of(moment: Any) -> Any:  # the closed month a moment counts in first
        return select(func.min(period.c.period_end)).where(period.c.ends_at >= moment)

    # a span ends where the next of its service begins: the beginnings are every change
    events = select(
        *pair, month_of(spans.c.visible_from).scalar_subquery().label("period_end")
    ).subquery("events")
    current = spans.alias("current")
    states = (
        select(
            events.c.period_end, events.c.ars, events.c.ozg_id, events.c.dimension,
            func.max(current.c.level).label("level"),
        )
        .select_from(events)
        .join(period, period.c.period_end == events.c.period_end)
        .outerjoin(current, and_(
            current.c.ars == events.c.ars, current.c.ozg_id == events.c.ozg_id,
            current.c.dimension == events.c.dimension, current.c.level.is_not(None),
            *current_at(current, period.c.ends_at),
        ))
        .group_by(events.c.period_end, events.c.ars, events.c.ozg_id, events.c.dimension)
        .subquery("states")
    )  # fmt: skip
    before = func.lag(states.c.level).over(
        partition_by=[states.c.ars, states.c.ozg_id, states.c.dimension],
        order_by=states.c.period_end,
    )
    lagged = select(states, before.label("before")).subquery("lagged")
    return select(*(lagged.c[column.name] for column in CHANGE_COLUMNS)).where(
        lagged.c.level.is_distinct_from(lagged.c.before)
    )


async def by_kreis(
    session: AsyncSession, gemeinden: Sequence[str]
) -> list[tuple[list[str] | None, list[str] | None]]:
    """Every inhabited Gemeinde of the Kreise these lie in, in chunks of whole Kreise, with
    their Kreise: what a Kreis's counts are read from (a Gemeinde's own counts need only it)."""
    kreise = sorted({ars[: counts.KREIS_DIGITS] for ars in gemeinden})
    found: dict[str, list[str]] = {}
    for start in range(0, len(kreise), ARS_CHUNK):
        statement = select(col(Gemeinde.ars)).where(
            *inhabited(), counts.kreis_of(col(Gemeinde.ars)).in_(kreise[start : start + ARS_CHUNK])
        )
        for ars in (await run(session, statement)).scalars():
            found.setdefault(ars[: counts.KREIS_DIGITS], []).append(ars)
    for ars in gemeinden:  # an uninhabited one keeps its own (empty) counts
        found.setdefault(ars[: counts.KREIS_DIGITS], [])
        if ars not in found[ars[: counts.KREIS_DIGITS]]:
            found[ars[: counts.KREIS_DIGITS]].append(ars)
    groups: list[tuple[list[str] | None, list[str] | None]] = []
    chunk: list[str] = []
    codes: list[str] = []
    for code in sorted(found):
        if chunk and len(chunk) + len(found[code]) > ARS_CHUNK:
            groups.append((chunk, codes))
            chunk, codes = [], []
        chunk += sorted(found[code])
        codes.append(code)
    if chunk:
        groups.append((chunk, codes))
    return groups


async def rebuild(session: AsyncSession) -> None:
    """Every pair and every count anew, the closed months from the first visible assessment on:
    after a change of the catalogue, the regions, a model or mapping, or the municipal
    LeiKa-Typ codes."""
    await counts.forget(session)
    first = (
        await run(session, select(func.min(visible_from())).where(*published(None)))
    ).scalar_one()
    await refresh(session, since=None if first is None else as_utc(first))


def visible_from() -> Any:
    """The first moment an assessment counts: assessed and validated."""
    changed = func.coalesce(col(Assessment.status_changed_at), col(Assessment.assessed_at))
    return case((changed > col(Assessment.assessed_at), changed), else_=col(Assessment.assessed_at))


class Touched:
    """The Gemeinden and OZG-Leistungen that new assessment rows (column dicts, as importers
    insert them) can move; only validated rows count. Kept as two sets, so that millions of
    rows cost no more than the Gemeinden and Leistungen they name."""

    def __init__(self, ref: Reference) -> None:
        self.ozg_of = ref.known.ozg_of
        self.gemeinden: set[str] = set()
        self.leistungen: set[str] = set()
        self.since: datetime | None = None  # the first moment one of them is visible

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            if row["status"] != Status.VALIDATED.value:
                continue
            ozg_id = row["ozg_id"] or self.ozg_of.get(row["leika_id"])
            if ozg_id is None:
                continue
            self.gemeinden.add(row["ars"])
            self.leistungen.add(ozg_id)
            assessed = as_utc(row["assessed_at"])
            visible = max(assessed, as_utc(row["status_changed_at"] or assessed))
            self.since = visible if self.since is None else min(self.since, visible)

    async def refresh(self, session: AsyncSession) -> None:
        if self.gemeinden:
            await refresh(session, ars=self.gemeinden, ozg_ids=self.leistungen, since=self.since)


async def touched(session: AsyncSession) -> Touched:
    return Touched(await reference(session))


async def refresh_assessed(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Refresh the pairs that these new assessment rows can move."""
    found = await touched(session)
    found.add(rows)
    await found.refresh(session)


async def refresh_inserted(session: AsyncSession, ids: Select[Any]) -> None:
    """Refresh the pairs that newly inserted assessments (a query of their ids) can move: what
    `Touched` reads from rows in Python, read set-based for a bulk import's many rows."""
    leistung = func.coalesce(col(Assessment.ozg_id), col(LeikaLeistung.ozg_id))

    def moved(*columns: Any) -> Select[Any]:
        return (
            select(*columns)
            .outerjoin(LeikaLeistung, col(LeikaLeistung.id) == col(Assessment.leika_id))
            .where(col(Assessment.id).in_(ids), *published(None), leistung.is_not(None))
        )

    # per Gemeinde (when its first one became visible), and the Leistungen: a few thousand rows
    # where the pairs are millions, which a nationwide file held in memory (a gigabyte)
    by_gemeinde = moved(col(Assessment.ars), func.min(visible_from())).group_by(col(Assessment.ars))
    gemeinden = {ars: as_utc(visible) for ars, visible in await tuples(session, by_gemeinde)}
    if gemeinden:
        leistungen = set((await run(session, moved(leistung).distinct())).scalars())
        since = min(gemeinden.values())
        await refresh(session, ars=set(gemeinden), ozg_ids=leistungen, since=since)


async def refresh_assessment(session: AsyncSession, assessment: Assessment) -> None:
    """Refresh the one pair an assessment belongs to (after its validation)."""
    await refresh_assessed(session, [assessment.model_dump()])


def _chosen(source: Any, names: Sequence[str] | None) -> Select[Any]:
    """The columns `names` of a relation with the pairs' columns (None: all of them)."""
    return select(source) if names is None else select(*(source.c[name] for name in names))


async def stored(
    session: AsyncSession,
    *,
    ars: str | None = None,
    ozg_id: str | None = None,
    dimension: str | None = None,
    names: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """The stored current pairs, narrowed; `names`: only these columns, in this order."""
    statement = _chosen(PAIR_TABLE, names)
    if ars is not None:
        statement = statement.where(PAIR_TABLE.c.ars == ars)
    if ozg_id is not None:
        statement = statement.where(PAIR_TABLE.c.ozg_id == ozg_id)
    if dimension is not None:
        statement = statement.where(PAIR_TABLE.c.dimension == dimension)
    return list((await run(session, statement)).all())


async def current_of_pair(
    session: AsyncSession, ars: str, ozg_id: str, dimension: str
) -> list[int]:
    """The counted current assessments of one pair now (each service's, by the rule above):
    what its level is read from, highest level first (then newest)."""
    spans = services(await reference(session), ars=[ars], ozg_ids=[ozg_id])
    statement = (
        select(spans.c.assessment_id)
        .where(*current_at(spans, None), spans.c.dimension == dimension)
        .order_by(
            spans.c.level.is_(None), spans.c.level.desc(), spans.c.assessed_at.desc(),
            spans.c.assessment_id.desc(),
        )
    )  # fmt: skip
    return [int(number) for number in (await run(session, statement)).scalars()]


async def as_of(
    session: AsyncSession,
    at: datetime | None,
    *,
    ars: str | None = None,
    ozg_id: str | None = None,
    dimension: str | None = None,
    names: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """The pairs now (stored) or as of a past moment (computed from the assessments); `names`:
    only these columns, in this order (rows to unpack, for a roll-up of every pair)."""
    if at is None:
        return await stored(session, ars=ars, ozg_id=ozg_id, dimension=dimension, names=names)
    statement = computed(
        await reference(session), at=at,
        ars=None if ars is None else [ars], ozg_ids=None if ozg_id is None else [ozg_id],
    ).subquery()  # fmt: skip
    narrowed = _chosen(statement, names)
    if dimension is not None:
        narrowed = narrowed.where(statement.c.dimension == dimension)
    return list((await run(session, narrowed)).all())


def source(ref: Reference, at: datetime | None, area: str | None) -> Any:
    """What a roll-up counts from: the stored pairs now, the computed ones as of `at`."""
    if at is None:
        return PAIR_TABLE
    return computed(ref, at=at, area=area).subquery("pairs")


async def missing(session: AsyncSession) -> bool:
    """True when no pair or no count is stored although validated assessments exist (a
    database migrated from before them)."""
    any_validated = select(col(Assessment.id)).where(*published(None)).limit(1)
    if (await run(session, any_validated)).first() is None:
        return False
    for table in (PAIR_TABLE, counts.GEMEINDE_TABLE):
        if (await run(session, select(literal(1)).select_from(table).limit(1))).first() is None:
            return True
    return False


@dataclass(frozen=True)
class Difference:
    key: tuple[str, str, str]
    stored: tuple[Any, ...] | None
    computed: tuple[Any, ...] | None

    def __str__(self) -> str:
        return f"{' × '.join(self.key)}: stored {self.stored}, computed {self.computed}"


async def count_differences(session: AsyncSession, *, closed: bool = True) -> list[str]:
    """The stored counts, now and (`closed`) of every closed month, against those the rule
    gives (now: the stored pairs, which `differences` checks; the closed months: from every
    pair's changes, computed from scratch)."""
    found = await counts.differences(session, PAIR_TABLE, [counts.LIVE])
    held = await counts.closed_periods(session) if closed else []
    if not held:
        return found
    connection = await session.connection()
    async with change_tables(connection) as (spans, moved):
        await fill_changes(connection, spans, moved, services(await reference(session)))
        return found + await counts.differences(session, moved, held, changed=True)


async def differences(session: AsyncSession) -> list[Difference]:
    """Rebuild the pairs from the assessments into a scratch table and compare it with
    `pair_level`, row by row."""
    ref = await reference(session)
    scratch = temporary_table("pair_level_check", PAIR_TABLE.columns)
    connection = await session.connection()
    await connection.run_sync(scratch.create)
    try:
        await connection.execute(insert(scratch).from_select(COLUMNS, computed(ref)))
        kept = select(*(PAIR_TABLE.c[name] for name in COLUMNS))
        fresh = select(*(scratch.c[name] for name in COLUMNS))
        only_kept = (await connection.execute(kept.except_(fresh))).all()
        only_fresh = (await connection.execute(fresh.except_(kept))).all()
    finally:
        await connection.run_sync(scratch.drop)
    found: dict[tuple[str, str, str], Difference] = {}
    for row in only_kept:
        key = (row.ars, row.ozg_id, row.dimension)
        found[key] = Difference(key, tuple(row), None)
    for row in only_fresh:
        key = (row.ars, row.ozg_id, row.dimension)
        found[key] = Difference(key, found[key].stored if key in found else None, tuple(row))
    return [found[key] for key in sorted(found)]
