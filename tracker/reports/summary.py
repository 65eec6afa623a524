"""Roll-ups over many Gemeinden in SQL: Bund, Land, Kreis, Themenfeld, Gemeindetyp, and their
course over time. The database ranks and counts; Python only adds the denominators.

One pair is a Gemeinde × applicable OZG-Leistung × dimension. Its level is the highest current
level of its counted LeiKa services (or of the whole Leistung), on the dimension's default
model's scale. Denominators are the applicable pairs of the inhabited Gemeinden of the group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, literal_column, null, or_, select, union_all
from sqlalchemy.sql import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import OzgLeistung, Themenfeld
from tracker.db import run, tuples
from tracker.errors import InvalidInput
from tracker.maturity import counts, pairs
from tracker.maturity.applicability import Catalogue, Reference, Scales, reference
from tracker.maturity.models import ApplicabilityOverride
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM, ScaleFlag, flags_counted
from tracker.regions.models import GEMEINDE_TYPEN, KREIS_TYPEN, Gemeinde, Kreis, Land
from tracker.regions.queries import inhabited


class GroupBy(StrEnum):
    BUND = "bund"
    LAND = "land"
    KREIS = "kreis"
    THEMENFELD = "themenfeld"
    GEMEINDETYP = "gemeindetyp"
    GEMEINDE = "gemeinde"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


RULES = {
    **pairs.RULES,
    "denominator": "the applicable pairs of the group's inhabited Gemeinden",
    "at_least": "pairs at this level or above; shares are of applicable pairs",
    "mean_median": "of the assessed pairs' levels; unassessed pairs are not counted as 0",
    "flaechendeckend": (
        f"Leistungen online (level ≥ {ONLINE_FROM}) in every Gemeinde of the group where they apply"
    ),
    "mindestens_eine_kommune": "Leistungen online in at least one Gemeinde of the group",
    "change": "difference to the previous period's figures (shares in points of 1)",
    "flags": (
        "pairs reaching each flag its dimension's own scale defines from a level on (`flags`: "
        "online and OZG-konform on the OZG-Reifegradmodell, digital bearbeitet, Once-Only and "
        "vollautomatisch on the back-office scale); shares are of applicable pairs"
    ),
}


def group_column(group_by: GroupBy) -> Any:
    return {
        GroupBy.BUND: literal_column("'DE'"),
        GroupBy.LAND: col(Gemeinde.land_code),
        GroupBy.KREIS: col(Gemeinde.kreis_code),
        GroupBy.GEMEINDETYP: col(Gemeinde.typ_code),
        GroupBy.THEMENFELD: col(OzgLeistung.themenfeld_id),
        GroupBy.GEMEINDE: col(Gemeinde.ars),
    }[group_by]


def counting_statement(
    group_by: GroupBy, pairs: Any, top: int, *, area: str | None, dimension: str | None
) -> Select[Any]:
    """Per group × dimension × Leistung: assessed pairs, sum of levels, and pairs at each level
    or above (1…top), in one pass over the pairs. Per Gemeinde not by Leistung: one Gemeinde's
    Leistung is one pair, which the group's own figures already count."""
    level = pairs.c.level
    by_leistung = group_by is not GroupBy.GEMEINDE
    grouping = [pairs.c.dimension, *([pairs.c.ozg_id] if by_leistung else [])]
    if group_by is not GroupBy.BUND:
        grouping.insert(0, group_column(group_by))
    statement = (
        select(
            group_column(group_by).label("grp"),
            pairs.c.dimension,
            *([pairs.c.ozg_id] if by_leistung else []),
            func.count().label("assessed"),
            func.sum(level).label("level_sum"),
            *(
                func.sum(case((level >= n, 1), else_=0)).label(f"at_least_{n}")
                for n in range(1, top + 1)
            ),
        )
        .join(Gemeinde, col(Gemeinde.ars) == pairs.c.ars)
        .where(*inhabited(area))
        .group_by(*grouping)
    )
    if dimension is not None:
        statement = statement.where(pairs.c.dimension == dimension)
    if group_by is GroupBy.THEMENFELD:
        statement = statement.join(OzgLeistung, col(OzgLeistung.ozg_id) == pairs.c.ozg_id)
    return statement


@dataclass
class Tally:
    """The figures of one group × dimension."""

    gemeinden: int = 0
    applicable: int = 0
    assessed: int = 0
    level_sum: int = 0
    at_least: dict[int, int] = field(default_factory=dict)
    leistungen: int = 0
    flaechendeckend: int = 0
    mindestens_eine: int = 0

    def copy(self) -> Tally:
        return replace(self, at_least=dict(self.at_least))

    def median(self, top: int) -> float | None:
        if not self.assessed:
            return None
        exact = [
            (level, self.at_least.get(level, 0) - self.at_least.get(level + 1, 0))
            for level in range(top + 1)
        ]
        return median_of(exact, self.assessed)

    def as_dict(self, top: int, flags: Iterable[ScaleFlag] = ()) -> dict[str, Any]:
        def share(count: int) -> float | None:
            return round(count / self.applicable, 4) if self.applicable else None

        at_least = {str(level): self.at_least.get(level, 0) for level in range(top + 1)}
        online = self.at_least.get(ONLINE_FROM, 0)
        konform = self.at_least.get(OZG_KONFORM_FROM, 0)
        reached = flags_counted(flags, self.at_least)
        return {
            "gemeinden": self.gemeinden,
            "leistungen": self.leistungen,
            "applicable": self.applicable,
            "assessed": self.assessed,
            "at_least": at_least,
            "share_at_least": {level: share(count) for level, count in at_least.items()},
            "online": online,
            "share_online": share(online),
            "ozg_konform": konform,
            "share_ozg_konform": share(konform),
            "mean_level": round(self.level_sum / self.assessed, 3) if self.assessed else None,
            "median_level": self.median(top),
            "leistungen_flaechendeckend": self.flaechendeckend,
            "leistungen_mindestens_eine_kommune": self.mindestens_eine,
            "flags": reached,
            "share_flags": {key: share(count) for key, count in reached.items()},
        }


def median_of(exact: Iterable[tuple[int, int]], total: int) -> float:
    """Median of a histogram of integer levels (mean of the two middle values when even)."""
    wanted = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for level, count in exact:
        while len(found) < 2 and wanted[len(found)] < seen + count:
            found.append(level)
        seen += count
    return sum(found) / 2


@dataclass(frozen=True)
class Frame:
    """What stays the same across the points of one roll-up: catalogue, scales, denominators."""

    group_by: GroupBy
    area: str | None
    dimensions: list[str]
    reference: Reference
    gemeinden: dict[Any, int]
    population: dict[Any, int]  # inhabitants of the group's inhabited Gemeinden
    # applicable pairs per (group, OZG-ID), where they differ from the default
    adjust: dict[tuple[Any, str], int]
    # per dimension the flags its default scale defines (`level_flag`)
    flags: dict[str, list[ScaleFlag]] = field(default_factory=dict)
    # `base` of each (group, OZG-ID) asked, kept: a time series asks it per point and dimension
    bases: dict[tuple[Any, str], int] = field(default_factory=dict, compare=False)

    @property
    def known(self) -> Catalogue:
        return self.reference.known

    @property
    def scale(self) -> Scales:
        return self.reference.scale

    def default(self, group: Any, ozg_id: str) -> int:
        """Applicable pairs of one Leistung in one group by default."""
        if not self.known.applies(ozg_id):
            return 0
        if self.group_by is GroupBy.THEMENFELD:
            same = self.known.themenfeld.get(ozg_id) == group
            return sum(self.gemeinden.values()) if same else 0
        return self.gemeinden.get(group, 0)

    def base(self, group: Any, ozg_id: str) -> int:
        """Applicable pairs of one Leistung in one group."""
        key = (group, ozg_id)
        found = self.bases.get(key)
        if found is None:
            found = self.bases[key] = self.default(group, ozg_id) + self.adjust.get(key, 0)
        return found

    def denominator(self, group: Any) -> tuple[int, int, int]:
        """(Gemeinden, applicable Leistungen, applicable pairs) of a group: the default for
        every Leistung at once, then the overrides."""
        everywhere = sum(self.gemeinden.values())
        if self.group_by is GroupBy.THEMENFELD:
            gemeinden = everywhere
            leistungen = sum(
                1
                for ozg_id in self.known.applicable_leika
                if self.known.themenfeld.get(ozg_id) == group
            )
        else:
            gemeinden = self.gemeinden.get(group, 0)
            leistungen = len(self.known.applicable_leika)
        applicable = leistungen * gemeinden
        leistungen = leistungen if gemeinden else 0
        for (where, ozg_id), delta in self.adjust.items():
            if where != group:
                continue
            before = self.default(group, ozg_id)
            applicable += delta
            leistungen += (before + delta > 0) - (before > 0)
        return gemeinden, leistungen, applicable

    def groups(self) -> list[Any]:
        if self.group_by is GroupBy.THEMENFELD:
            return sorted(set(self.known.themenfeld.values()))
        return sorted(self.gemeinden, key=str)


def group_sizes(group_by: GroupBy, area: str | None) -> Select[Any]:
    """Per group its inhabited Gemeinden (`gemeinden`) and their inhabitants (`people`): what
    the denominators count (by Themenfeld every Gemeinde, in one row)."""
    themenfeld = group_by is GroupBy.THEMENFELD
    grouping: Any = literal_column("'*'") if themenfeld else group_column(group_by)
    statement = select(
        grouping.label("grp"), func.count().label("gemeinden"),
        func.coalesce(func.sum(col(Gemeinde.bevoelkerung)), 0).label("people"),
    ).where(*inhabited(area))  # fmt: skip
    if not themenfeld and group_by is not GroupBy.BUND:
        statement = statement.group_by(grouping)
    return statement


async def frame(
    session: AsyncSession,
    *,
    group_by: GroupBy,
    dimension: str | None,
    area: str | None,
) -> Frame:
    cached = await reference(session)
    known, scale = cached.known, cached.scale
    dimensions = [dimension] if dimension is not None else sorted(scale.targets)
    found = await tuples(session, group_sizes(group_by, area))
    gemeinden = {group: count for group, count, _ in found if count}
    population = {group: int(inhabitants) for group, count, inhabitants in found if count}
    adjust: dict[tuple[Any, str], int] = defaultdict(int)
    statement = (
        select(
            col(ApplicabilityOverride.ozg_id),
            col(ApplicabilityOverride.applicable),
            group_column(GroupBy.BUND if group_by is GroupBy.THEMENFELD else group_by),
        )
        .join(Gemeinde, col(Gemeinde.ars) == col(ApplicabilityOverride.ars))
        .where(*inhabited(area))
    )
    for ozg_id, applicable, group in await tuples(session, statement):
        if applicable == known.applies(ozg_id):
            continue
        if group_by is GroupBy.THEMENFELD:
            group = known.themenfeld.get(ozg_id)
        adjust[(group, ozg_id)] += 1 if applicable else -1
    return Frame(
        group_by, area, dimensions, cached, gemeinden, population, dict(adjust), scale.flags
    )


# Groups the counts answer: they hold Gemeinden and Kreise, not Themenfelder or Gemeindetypen
# of Leistungen, so those groups (and areas inside a Kreis, but for single Gemeinden) count the
# pairs themselves.
COUNTED_GROUPS = (GroupBy.BUND, GroupBy.LAND, GroupBy.KREIS, GroupBy.GEMEINDE)


def counts_answer(setting: Frame) -> bool:
    return setting.group_by in COUNTED_GROUPS and (
        setting.group_by is GroupBy.GEMEINDE or len(setting.area or "") <= counts.KREIS_DIGITS
    )


async def tally(
    session: AsyncSession, setting: Frame, at: datetime | None
) -> dict[tuple[Any, str], Tally]:
    """Every group × dimension's figures as of `at` (None: now)."""
    (found,) = await tallies_at(session, setting, [at])
    return found


async def tallies_at(
    session: AsyncSession, setting: Frame, moments: Sequence[datetime | None]
) -> list[dict[tuple[Any, str], Tally]]:
    """The figures as of each moment (None: now): from the counts where they answer
    (`counts.period_in`), all periods in one pass, else from the pairs."""
    periods: list[date | None] = [None] * len(moments)
    if counts_answer(setting):
        held = await counts.closed_periods(session)
        periods = [counts.period_in(held, at) for at in moments]
    counted = await tally_counts(session, setting, {p for p in periods if p is not None})
    found = []
    for at, period in zip(moments, periods, strict=True):
        if period is None:
            tallies, online = await tally_pairs(session, setting, at)
        else:  # a copy: two moments may read one period, and `completed` adds to the tallies
            tallies, online = counted[period]
            tallies = {key: figures.copy() for key, figures in tallies.items()}
        found.append(completed(setting, tallies, online))
    return found


def completed(
    setting: Frame, tallies: dict[tuple[Any, str], Tally], online: Online
) -> dict[tuple[Any, str], Tally]:
    """Every group × dimension's figures with their denominators and coverage."""
    for group in setting.groups():
        gemeinden, leistungen, applicable = setting.denominator(group)
        for dimension in setting.dimensions:
            figures = tallies.setdefault((group, dimension), Tally())
            figures.at_least[0] = figures.assessed
            figures.gemeinden, figures.leistungen, figures.applicable = (
                gemeinden, leistungen, applicable,
            )  # fmt: skip
            if setting.group_by is GroupBy.GEMEINDE:  # a Leistung online there is everywhere
                figures.flaechendeckend = figures.mindestens_eine = figures.at_least.get(
                    ONLINE_FROM, 0
                )
            figures.mindestens_eine += online.somewhere.get((group, dimension), 0)
            for ozg_id, count in online.pairs.get((group, dimension), {}).items():
                figures.flaechendeckend += count > 0 and count == setting.base(group, ozg_id)
    return tallies


@dataclass
class Online:
    """Per group × dimension: the Leistungen online in at least one Gemeinde (`somewhere`),
    and the online pairs per Leistung (`pairs`) of each that may be online in every applicable
    Gemeinde: from the pairs every Leistung online somewhere; from the counts only those online
    in as many Gemeinden as the group has, or with an override in it (the others cannot be)."""

    somewhere: dict[tuple[Any, str], int] = field(default_factory=lambda: defaultdict(int))
    pairs: dict[tuple[Any, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))


async def tally_pairs(
    session: AsyncSession, setting: Frame, at: datetime | None
) -> tuple[dict[tuple[Any, str], Tally], Online]:
    top = max(setting.scale.top[dimension] for dimension in setting.dimensions)
    counting = counting_statement(
        setting.group_by, pairs.source(setting.reference, at, setting.area), top,
        area=setting.area,
        dimension=setting.dimensions[0] if len(setting.dimensions) == 1 else None,
    )  # fmt: skip
    tallies: dict[tuple[Any, str], Tally] = {}
    online = Online()
    for row in await run(session, counting):
        figures = tallies.setdefault((row.grp, row.dimension), Tally())
        figures.assessed += row.assessed
        figures.level_sum += row.level_sum
        for level in range(1, top + 1):
            count = getattr(row, f"at_least_{level}")
            figures.at_least[level] = figures.at_least.get(level, 0) + count
        if setting.group_by is GroupBy.GEMEINDE:
            continue
        count = getattr(row, f"at_least_{ONLINE_FROM}") if top >= ONLINE_FROM else 0
        online.pairs[(row.grp, row.dimension)][row.ozg_id] = count
        online.somewhere[(row.grp, row.dimension)] += count > 0
    return tallies, online


def bund_free(setting: Frame, grouping: Any) -> list[Any]:
    """PostgreSQL refuses a constant in GROUP BY: Bund is one group without one."""
    return [] if setting.group_by is GroupBy.BUND else [grouping]


Counted = dict[date, tuple[dict[tuple[Any, str], Tally], Online]]


async def tally_counts(session: AsyncSession, setting: Frame, periods: Collection[date]) -> Counted:
    """The same figures from the counts of these periods, in two statements: pairs per Land
    or Gemeinde and level, online pairs per Leistung and Land or Kreis."""
    found: Counted = {}
    if not periods:
        return found
    wanted = setting.dimensions[0] if len(setting.dimensions) == 1 else None
    # per Land where Länder answer (by Bund or Land, in Germany or one Land), else per Gemeinde
    by_land = (
        setting.group_by in (GroupBy.BUND, GroupBy.LAND)
        and len(setting.area or "") <= counts.LAND_DIGITS
    )
    if by_land:
        levels = counts.LAND_LEVEL_TABLE.c
        grouping: Any = (
            levels.land if setting.group_by is GroupBy.LAND else group_column(GroupBy.BUND)
        )
        narrowed = [levels.land.startswith(setting.area)] if setting.area else []
    else:
        levels = counts.GEMEINDE_TABLE.c
        grouping = group_column(setting.group_by)
        narrowed = [col(Gemeinde.ars) == levels.ars, *inhabited(setting.area)]
    by_level = (
        select(
            levels.period_end, grouping.label("grp"), levels.dimension, levels.level,
            func.sum(levels.pairs),
        )
        .where(levels.period_end.in_(sorted(periods)), *narrowed)
        .group_by(
            levels.period_end, *bund_free(setting, grouping), levels.dimension, levels.level
        )
    )  # fmt: skip
    if wanted is not None:
        by_level = by_level.where(levels.dimension == wanted)
    for period in periods:
        found[period] = ({}, Online())
    for period, group, dimension, level, pairs_at in await tuples(session, by_level):
        figures = found[period][0].setdefault((group, dimension), Tally())
        figures.assessed += pairs_at
        figures.level_sum += level * pairs_at
        for at_least in range(1, level + 1):
            figures.at_least[at_least] = figures.at_least.get(at_least, 0) + pairs_at
    if setting.group_by is GroupBy.GEMEINDE:
        return found
    # per Land where Länder answer (as above), else per Kreis
    table = counts.LAND_TABLE.c if by_land else counts.LEISTUNG_TABLE.c
    code = table.land if by_land else table.kreis
    area_of: Any = {
        GroupBy.BUND: literal_column("'DE'"),
        GroupBy.LAND: code if by_land else counts.land_of(code),
        GroupBy.KREIS: code,
    }[setting.group_by]
    # none online: neither figure counts it
    if area_of is code:  # one row per group already
        by_area = select(
            table.period_end, code.label("grp"), table.dimension, table.ozg_id, table.online
        ).where(table.period_end.in_(sorted(periods)), table.online > 0)
    else:
        by_area = (
            select(
                table.period_end, area_of.label("grp"), table.dimension, table.ozg_id,
                func.sum(table.online).label("online"),
            )
            .where(table.period_end.in_(sorted(periods)))
            .group_by(
                table.period_end, *bund_free(setting, area_of), table.dimension, table.ozg_id
            )
            .having(func.sum(table.online) > 0)
        )  # fmt: skip
    if setting.area:
        by_area = by_area.where(code.startswith(setting.area))
    if wanted is not None:
        by_area = by_area.where(table.dimension == wanted)
    for period, group, dimension, ozg_id, count in await tuples(
        session, reach_statement(setting, by_area)
    ):
        if ozg_id is None:
            found[period][1].somewhere[(group, dimension)] = count
        else:
            found[period][1].pairs[(group, dimension)][ozg_id] = count
    return found


def reach_statement(setting: Frame, per_leistung: Select[Any]) -> Any:
    """From the online pairs per period, group, dimension and Leistung (`per_leistung`, those
    online somewhere): per period, group and dimension the Leistungen online somewhere (no
    `ozg_id`), and the rows of the Leistungen that may be online in every applicable Gemeinde
    of the group (`Online`), which `completed` holds to each one's applicable pairs: those
    few, not a row per Leistung, group and month."""
    rows = per_leistung.subquery("per_leistung")  # read twice, not held: no CTE
    sizes = group_sizes(setting.group_by, setting.area).subquery("sizes")
    somewhere = select(
        rows.c.period_end, rows.c.grp, rows.c.dimension, null().label("ozg_id"),
        func.count().label("online"),
    ).group_by(rows.c.period_end, rows.c.grp, rows.c.dimension)  # fmt: skip
    overridden = sorted({ozg_id for _, ozg_id in setting.adjust})
    maybe_everywhere = (
        select(rows.c.period_end, rows.c.grp, rows.c.dimension, rows.c.ozg_id, rows.c.online)
        .select_from(rows.outerjoin(sizes, sizes.c.grp == rows.c.grp))
        .where(or_(rows.c.online == sizes.c.gemeinden, rows.c.ozg_id.in_(overridden)))
    )
    return union_all(somewhere, maybe_everywhere)


async def group_types(session: AsyncSession, group_by: GroupBy) -> dict[Any, str]:
    """The type of each Kreis or Gemeinde (GV100AD Textkennzeichen), by its code."""
    if group_by is GroupBy.KREIS:
        rows = await tuples(session, select(col(Kreis.code), col(Kreis.typ_code)))
        return {code: KREIS_TYPEN.get(typ, str(typ)) for code, typ in rows}
    if group_by is GroupBy.GEMEINDE:
        rows = await tuples(session, select(col(Gemeinde.ars), col(Gemeinde.typ_code)))
        return {ars: GEMEINDE_TYPEN.get(typ, str(typ)) for ars, typ in rows}
    return {}


async def group_names(session: AsyncSession, group_by: GroupBy) -> dict[Any, str]:
    if group_by is GroupBy.BUND:
        return {"DE": "Deutschland"}
    if group_by is GroupBy.GEMEINDETYP:
        return dict(GEMEINDE_TYPEN)
    statement = {
        GroupBy.LAND: select(col(Land.code), col(Land.name)),
        GroupBy.KREIS: select(col(Kreis.code), col(Kreis.name)),
        GroupBy.THEMENFELD: select(col(Themenfeld.id), col(Themenfeld.name)),
        GroupBy.GEMEINDE: select(col(Gemeinde.ars), col(Gemeinde.display_name)),
    }[group_by]
    return dict(await tuples(session, statement))


def described(
    setting: Frame,
    tallies: dict[tuple[Any, str], Tally],
    names: dict[Any, str],
    types: dict[Any, str] | None = None,
) -> list[dict[str, Any]]:
    everywhere = setting.group_by is GroupBy.THEMENFELD
    return [
        {
            "code": str(group),
            "name": names.get(group, str(group)),
            "typ": (types or {}).get(group),
            "population": setting.population.get("*" if everywhere else group, 0),
            "dimension": dimension,
            **tallies[(group, dimension)].as_dict(
                setting.scale.top[dimension], setting.flags.get(dimension, ())
            ),
        }
        for group in setting.groups()
        for dimension in setting.dimensions
    ]


async def summary(
    session: AsyncSession,
    *,
    group_by: GroupBy,
    dimension: str | None,
    at: datetime | None,
    area: str | None,
) -> dict[str, Any]:
    setting = await frame(session, group_by=group_by, dimension=dimension, area=area)
    tallies = await tally(session, setting, at)
    names = await group_names(session, group_by)
    types = await group_types(session, group_by)
    return {
        "rules": RULES, "groups": described(setting, tallies, names, types),
        "flags": flag_definitions(setting.flags),
    }  # fmt: skip


def flag_definitions(flags: dict[str, list[ScaleFlag]]) -> dict[str, list[dict[str, Any]]]:
    """Per dimension the flags of its scale, as the answers state them."""
    return {
        dimension: [{"key": key, "name": name, "from_level": level} for key, name, level in listed]
        for dimension, listed in flags.items()
    }


def period_start(moment: datetime, period: Period) -> datetime:
    month = {Period.MONTH: moment.month, Period.QUARTER: (moment.month - 1) // 3 * 3 + 1,
             Period.YEAR: 1}[period]  # fmt: skip
    return datetime(moment.year, month, 1, tzinfo=UTC)


def shift(start: datetime, period: Period, steps: int) -> datetime:
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period] * steps
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def label(start: datetime, period: Period) -> str:
    if period is Period.YEAR:
        return f"{start.year}"
    if period is Period.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def periods(period: Period, count: int, until: datetime) -> list[tuple[str, datetime]]:
    """(label, as-of moment) of `count` periods ending with the one holding `until`, plus the
    one before them (the base of the first change). A period is read at its last moment; the
    running one at `until`."""
    last = period_start(until, period)
    points = []
    for back in range(count, -1, -1):
        start = shift(last, period, -back)
        end = min(shift(start, period, 1) - timedelta(microseconds=1), until)
        points.append((label(start, period), end))
    return points


MAX_SERIES_POINTS = 50_000  # groups × periods of one time series

CHANGED = ("applicable", "assessed", "online", "ozg_konform", "share_online",
           "share_ozg_konform", "mean_level", "median_level")  # fmt: skip


def change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, float | None]:
    return {
        key: None if now[key] is None or before[key] is None else round(now[key] - before[key], 4)
        for key in CHANGED
    }


async def timeseries(
    session: AsyncSession,
    *,
    group_by: GroupBy,
    dimension: str | None,
    period: Period,
    count: int,
    until: datetime | None,
    area: str | None,
) -> dict[str, Any]:
    setting = await frame(session, group_by=group_by, dimension=dimension, area=area)
    if len(setting.groups()) * (count + 1) > MAX_SERIES_POINTS:
        raise InvalidInput(
            f"{len(setting.groups())} groups × {count + 1} points is more than "
            f"{MAX_SERIES_POINTS:,} points: narrow the area (area=05), or take the comparison "
            "report (/api/v1/reports/comparison), which gives every Gemeinde at two dates."
        )
    names = await group_names(session, group_by)
    series: dict[tuple[str, str], dict[str, Any]] = {}
    previous: dict[tuple[str, str], dict[str, Any]] = {}
    points = periods(period, count, until or datetime.now(UTC))
    # the running period, read now: the live figures
    asked = [None if until is None and index == len(points) - 1 else moment
             for index, (_, moment) in enumerate(points)]  # fmt: skip
    figures = await tallies_at(session, setting, asked)
    for index, ((name, moment), tallies) in enumerate(zip(points, figures, strict=True)):
        for item in described(setting, tallies, names):
            key = (item["code"], item["dimension"])
            point = {"period": name, "at": moment, **{k: item[k] for k in CHANGED},
                     "flags": item["flags"], "share_flags": item["share_flags"]}  # fmt: skip
            if index:
                point["change"] = change(point, previous[key])
                series.setdefault(key, {
                    "code": item["code"], "name": item["name"], "dimension": item["dimension"],
                    "points": [],
                })["points"].append(point)  # fmt: skip
            previous[key] = point
    return {
        "rules": RULES,
        "series": list(series.values()),
        "flags": flag_definitions(setting.flags),
    }
