"""The comparison report: a set of Gemeinden (`sets`) at one moment and against an earlier one,
computed once here; the JSON, HTML, PDF, XLSX and CSV are formats of this one result.

Every figure is read from the pairs (`maturity.pairs`: the one rule of what is current and
counted) or, for the earlier moment at a month's end, from the counts that hold the same
figures; the denominators are each Gemeinde's applicable OZG-Leistungen (the default by LeiKa-Typ
and its own overrides, as they are today).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.caching import Lru
from tracker.db import as_utc, run, tuples
from tracker.errors import InvalidInput
from tracker.maturity import counts, pairs
from tracker.maturity.applicability import Reference, reference
from tracker.maturity.models import (
    SOURCE_NAMES,
    ApplicabilityOverride,
    Dimension,
    MaturityModel,
)
from tracker.maturity.rules import (
    ONLINE_FROM,
    OZG_KONFORM_FROM,
    ScaleFlag,
    flag_levels,
    flags_counted,
)
from tracker.regions.models import GEMEINDE_TYPEN, Gemeinde
from tracker.regions.queries import inhabited
from tracker.reports import figures, queries, related, sets
from tracker.reports.summary import flag_definitions, median_of
from tracker.settings import Settings

ONLINE, BACKOFFICE = Dimension.ONLINE.value, Dimension.BACKOFFICE.value
HEATMAP_MAX = 200  # Gemeinden: a larger set's heat map is no longer read by anyone
PEER_MIN = 3  # assessed peers a Leistung needs before its peer median counts
HISTOGRAM_BINS = 10
LISTED_MAX = 500  # members up to which a past moment is computed for their ARS alone

RULES = {
    **figures.RULES,
    "share": "online (or OZG-konform) pairs of the Gemeinde's applicable OZG-Leistungen",
    "no_data": (
        "a Gemeinde without any assessed online pair at a date has no data then: it shows no "
        "share (not 0 %), is not ranked and is out of the median, quartiles and histogram"
    ),
    "mean_backoffice": "mean level of the assessed back-office pairs; unassessed ones are not 0",
    "rank": (
        "by share online, highest first; equal shares share a rank (1, 2, 2, 4); a Gemeinde "
        "without data or without applicable Leistungen is not ranked"
    ),
    "change": (
        "share (points of 1) or level now minus at the comparison date; applicability as "
        "today; no change where either date has no data"
    ),
    "since_default": "one year before the report date, at the end of the month before",
    "quartiles": "median and quartiles of the members' values, linear between ranks (inclusive)",
    "histogram": (
        f"members by share online in {HISTOGRAM_BINS} bins of 10 points; 100 % in the last"
    ),
    "behind_peers": (
        "Leistungen where the median level of the peer group's assessed pairs (at least "
        f"{PEER_MIN}) is higher than the Gemeinde's own level (unassessed: below every level)"
    ),
    "heatmap": (
        f"share online per Themenfeld and Gemeinde, of its applicable Leistungen there; for sets "
        f"of at most {HEATMAP_MAX} Gemeinden"
    ),
    "freshness": "stale pairs of all assessed pairs of the set (both dimensions)",
    "flags": (
        "pairs reaching each flag its dimension's own scale defines from a level on (`flags`: "
        "digital bearbeitet, Once-Only, vollautomatisch on the back-office scale); shares of "
        "the Gemeinde's applicable OZG-Leistungen, none without an assessed pair of the dimension"
    ),
    **related.RULES,
}
RULES_DE = {
    **figures.RULES_DE,
    "share": "Paare online (oder OZG-konform) von den anwendbaren OZG-Leistungen der Gemeinde",
    "no_data": (
        "eine Gemeinde ohne ein bewertetes Online-Paar hat zu diesem Datum keine Daten: sie "
        "zeigt keinen Anteil (nicht 0 %), erhält keinen Rang und zählt nicht in Median, "
        "Quartilen und Verteilung"
    ),
    "mean_backoffice": (
        "mittlere Stufe der bewerteten Back-Office-Paare; nicht bewertete zählen nicht als 0"
    ),
    "rank": (
        "nach Anteil online, höchster zuerst; gleiche Anteile teilen den Rang (1, 2, 2, 4); "
        "Gemeinden ohne Daten oder ohne anwendbare Leistungen erhalten keinen Rang"
    ),
    "change": (
        "Anteil (in Prozentpunkten) oder Stufe jetzt minus am Vergleichsdatum; Anwendbarkeit "
        "wie heute; keine Veränderung, wo eines der Daten keine Daten hat"
    ),
    "since_default": "ein Jahr vor dem Stichtag, am Ende des Vormonats",
    "quartiles": "Median und Quartile der Werte der Gemeinden, linear zwischen Rängen (inklusiv)",
    "histogram": (
        f"Gemeinden nach Anteil online in {HISTOGRAM_BINS} Klassen zu 10 Punkten; 100 % in der "
        "letzten"
    ),
    "behind_peers": (
        "Leistungen, bei denen der Median der bewerteten Paare der Vergleichsgruppe (mindestens "
        f"{PEER_MIN}) über der eigenen Stufe liegt (nicht bewertet: unter jeder Stufe)"
    ),
    "heatmap": (
        "Anteil online je Themenfeld und Gemeinde, von ihren dort anwendbaren Leistungen; für "
        f"Vergleichsgruppen bis {HEATMAP_MAX} Gemeinden"
    ),
    "freshness": "veraltete Paare von allen bewerteten Paaren der Gruppe (beide Dimensionen)",
    "flags": (
        "Paare, die eine Marke der eigenen Skala ihrer Dimension erreichen (`flags`: digital "
        "bearbeitet, Once-Only, vollautomatisch auf der Back-Office-Skala); Anteile an den "
        "anwendbaren OZG-Leistungen der Gemeinde, keiner ohne ein bewertetes Paar der Dimension"
    ),
    **related.RULES_DE,
}


# Each rule's label on pages and in the PDF (the API keeps the keys): German, English.
RULE_LABELS = {
    "applicable": ("Anwendbarkeit", "Applicability"),
    "behind_peers": ("Rückstand zur Vergleichsgruppe", "Behind the peer group"),
    "change": ("Veränderung", "Change"),
    "current": ("Geltende Bewertung", "Current assessment"),
    "findings": ("Erkenntnisse", "Findings"),
    "flaechendeckend": ("Flächendeckend", "Everywhere"),
    "flags": ("Merkmale der Skala", "Flags of the scale"),
    "freshness": ("Aktualität", "Freshness"),
    "heatmap": ("Heatmap", "Heat map"),
    "histogram": ("Verteilung", "Distribution"),
    "massnahmen": ("Maßnahmen", "Maßnahmen (actions)"),
    "mean_backoffice": ("Back-Office (Mittel)", "Back office (mean)"),
    "mindestens_eine_kommune": ("In mindestens einer Kommune", "In at least one Kommune"),
    "no_data": ("Keine Daten", "No data"),
    "online": ("Online", "Online"),
    "ozg_konform": ("OZG-konform", "OZG-compliant"),
    "pair": ("Paar", "Pair"),
    "quartiles": ("Median und Quartile", "Median and quartiles"),
    "rank": ("Rang", "Rank"),
    "scale": ("Skala", "Scale"),
    "share": ("Anteil", "Share"),
    "shares": ("Anteile", "Shares"),
    "since_default": ("Vergleichsdatum", "Comparison date"),
    "stale": ("Veraltet", "Stale"),
    "at_least": ("Mindestens", "At least"),
    "denominator": ("Nenner", "Denominator"),
    "mean_median": ("Mittel und Median", "Mean and median"),
}


def labelled_rules(lang: str, rules: dict[str, str]) -> dict[str, str]:
    """A report's rules under their labels, as a page or the PDF lists them."""
    english = lang == "en"
    return {
        RULE_LABELS[key][english] if key in RULE_LABELS else key: text
        for key, text in rules_in(lang, rules).items()
    }


def rules_in(lang: str, rules: dict[str, str]) -> dict[str, str]:
    """A report's rules as its reader reads them: German where the page is German."""
    if lang != "de":
        return rules
    return {key: RULES_DE.get(key, text) for key, text in rules.items()}


def default_since(at: datetime | None) -> datetime:
    """One year before, at the last moment of the month before (so it reads a closed month)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    year_before = moment.replace(year=moment.year - 1, day=min(moment.day, 28))
    if (moment.month, moment.day) != (year_before.month, year_before.day):
        year_before = moment - timedelta(days=365)  # 29 February
    end = counts.end_moment(counts.month_end(year_before))
    if end <= year_before:
        return end
    first = year_before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first - timedelta(microseconds=1)


@dataclass
class Tally:
    """One Gemeinde × dimension at one moment."""

    assessed: int = 0
    level_sum: int = 0
    online: int = 0
    ozg_konform: int = 0
    provisional: int = 0
    stale: int = 0
    at_least: dict[int, int] = field(default_factory=dict)  # pairs at a flag's level or above

    # the order of the columns `_tallies` selects, which `add` reads
    COUNTED = ("assessed", "level_sum", "online", "ozg_konform", "provisional", "stale")

    def add(self, values: Sequence[Any]) -> None:
        """Add one row of counts, in the order of `COUNTED` (a missing sum is 0)."""
        for name, value in zip(self.COUNTED, values, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))

    def mean(self) -> float | None:
        return round(self.level_sum / self.assessed, 3) if self.assessed else None


@dataclass
class Member:
    ars: str
    ags: str
    name: str
    typ: int
    population: int
    land: str
    kreis: str | None
    applicable: int = 0
    now: dict[str, Tally] = field(default_factory=dict)
    then: dict[str, Tally] = field(default_factory=dict)

    def share(self, count: int) -> float | None:
        return round(count / self.applicable, 4) if self.applicable else None

    def figures(
        self, moment: dict[str, Tally], flags: dict[str, list[ScaleFlag]] | None = None
    ) -> dict[str, Any]:
        """The figures at one moment; no share without an assessed online pair (`RULES`), no
        flag's share without an assessed pair of its dimension."""
        online = moment.get(ONLINE, Tally())
        backoffice = moment.get(BACKOFFICE, Tally())
        data = online.assessed > 0
        reached = {
            dimension: flags_counted(listed, moment.get(dimension, Tally()).at_least)
            for dimension, listed in (flags or {}).items()
        }
        shares = {
            dimension: {
                key: self.share(count) if moment.get(dimension, Tally()).assessed else None
                for key, count in found.items()
            }
            for dimension, found in reached.items()
        }
        return {
            "flags": reached,
            "share_flags": shares,
            "assessed_online": online.assessed,
            "online": online.online,
            "ozg_konform": online.ozg_konform,
            "share_online": self.share(online.online) if data else None,
            "share_ozg_konform": self.share(online.ozg_konform) if data else None,
            "mean_online": online.mean(),
            "assessed_backoffice": backoffice.assessed,
            "mean_backoffice": backoffice.mean(),
        }


def _minus(now: float | None, then: float | None) -> float | None:
    if now is None or then is None:
        return None
    return round(now - then, 4)


def ranks(values: dict[str, float | None]) -> dict[str, int | None]:
    """Competition ranks, highest first: equal values share the rank (1, 2, 2, 4)."""
    ordered = sorted((value for value in values.values() if value is not None), reverse=True)
    first: dict[float, int] = {}
    for index, value in enumerate(ordered, start=1):
        first.setdefault(value, index)
    return {key: None if value is None else first[value] for key, value in values.items()}


def spread(values: list[float | None]) -> dict[str, Any]:
    """Count, min, quartiles, median, max of the values present."""
    present = sorted(value for value in values if value is not None)
    if not present:
        return {"count": 0, "min": None, "q1": None, "median": None, "q3": None, "max": None}
    if len(present) == 1:
        q1 = middle = q3 = present[0]
    else:
        q1, middle, q3 = statistics.quantiles(present, n=4, method="inclusive")
    return {
        "count": len(present), "min": present[0], "q1": round(q1, 4),
        "median": round(middle, 4), "q3": round(q3, 4), "max": present[-1],
    }  # fmt: skip


def histogram(values: list[float | None]) -> list[dict[str, Any]]:
    bins = [0] * HISTOGRAM_BINS
    for value in values:
        if value is not None:
            bins[min(int(value * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width = 1 / HISTOGRAM_BINS
    return [
        {
            "lower": round(index * width, 2),
            "upper": round((index + 1) * width, 2),
            "gemeinden": count,
        }
        for index, count in enumerate(bins)
    ]


async def _overrides(session: AsyncSession, chosen: sets.GemeindeSet) -> dict[str, dict[str, bool]]:
    statement = (
        select(
            col(ApplicabilityOverride.ars), col(ApplicabilityOverride.ozg_id),
            col(ApplicabilityOverride.applicable),
        )
        .join(Gemeinde, col(Gemeinde.ars) == col(ApplicabilityOverride.ars))
        .where(*chosen.conditions)
    )  # fmt: skip
    found: dict[str, dict[str, bool]] = defaultdict(dict)
    for ars, ozg_id, applicable in await tuples(session, statement):
        found[ars][ozg_id] = applicable
    return found


def _applicable(ref: Reference, own: dict[str, bool]) -> set[str]:
    """The OZG-Leistungen that apply in a Gemeinde with these overrides."""
    known = ref.known
    every = {ozg_id for ozg_id, _, _ in ref.leistungen}
    return {ozg_id for ozg_id in every if own.get(ozg_id, known.applies(ozg_id))}


def _area(members: list[Member]) -> str | None:
    """The longest ARS prefix all members share: what narrows a computation from assessments."""
    if not members:
        return None
    first, last = members[0].ars, members[-1].ars  # sorted by ARS
    length = 0
    while length < len(first) and first[length] == last[length]:
        length += 1
    return first[:length] or None


@dataclass
class Credit:
    """The pairs one source of assessments gave, and the span of their assessment dates."""

    pairs: int = 0
    earliest: datetime | None = None
    latest: datetime | None = None

    def add(self, pairs: int, earliest: datetime, latest: datetime) -> None:
        self.pairs += pairs
        self.earliest = earliest if self.earliest is None else min(self.earliest, earliest)
        self.latest = latest if self.latest is None else max(self.latest, latest)


async def _tallies(
    session: AsyncSession,
    source: Any,
    chosen: sets.GemeindeSet,
    stale_before: datetime | None,
    credits: dict[str, Credit] | None = None,
    levels: Sequence[int] = (),
) -> dict[tuple[str, str], Tally]:
    """Per Gemeinde × dimension of the set: pairs by the thresholds, from `source` (pairs); with
    `credits`, in the same pass, the pairs per source of their assessments (filled in); the
    pairs at each of `levels` or above (where flags start, `rules.flag_levels`)."""
    level = source.c.level
    counted = {
        "assessed": func.count(), "level_sum": func.sum(level),
        "online": func.sum(case((level >= ONLINE_FROM, 1), else_=0)),
        "ozg_konform": func.sum(case((level >= OZG_KONFORM_FROM, 1), else_=0)),
        "provisional": func.sum(case((source.c.provisional, 1), else_=0)),
        "stale": func.sum(case((source.c.newest_at < stale_before, 1), else_=0))
        if stale_before is not None else literal(0),
    }  # fmt: skip
    columns: list[Any] = [counted[name] for name in Tally.COUNTED]
    columns += [func.sum(case((level >= n, 1), else_=0)) for n in levels]
    group = [source.c.ars, source.c.dimension]
    if credits is not None:
        group.append(source.c.source)
        columns += [func.min(source.c.assessed_at), func.max(source.c.assessed_at)]
    statement = (
        select(*group, *columns)
        .join(Gemeinde, col(Gemeinde.ars) == source.c.ars)
        .where(*chosen.conditions)
        .group_by(*group)
    )
    found: dict[tuple[str, str], Tally] = {}
    for row in await tuples(session, statement):
        values = row[len(group) : len(group) + len(Tally.COUNTED)]
        tally = found.setdefault((row[0], row[1]), Tally())
        tally.add(values)
        start = len(group) + len(Tally.COUNTED)
        for n, count in zip(levels, row[start : start + len(levels)], strict=True):
            tally.at_least[n] = tally.at_least.get(n, 0) + int(count or 0)
        if credits is not None:
            credits.setdefault(row[2], Credit()).add(
                int(values[0] or 0), as_utc(row[-2]), as_utc(row[-1])
            )
    return found


def _credited(credits: dict[str, Credit]) -> list[dict[str, Any]]:
    """Where the levels counted came from: per source, most pairs first."""
    return [
        {"source": key, "name": SOURCE_NAMES.get(key, key), "pairs": credit.pairs,
         "earliest": credit.earliest, "latest": credit.latest}
        for key, credit in sorted(credits.items(), key=lambda item: (-item[1].pairs, item[0]))
    ]  # fmt: skip


async def _counted_then(
    session: AsyncSession, period: date, chosen: sets.GemeindeSet
) -> dict[tuple[str, str], Tally]:
    """The same per Gemeinde × dimension from a closed month's counts (pairs per level)."""
    table = counts.GEMEINDE_TABLE.c
    statement = (
        select(table.ars, table.dimension, table.level, table.pairs)
        .join(Gemeinde, col(Gemeinde.ars) == table.ars)
        .where(table.period_end == period, *chosen.conditions)
    )
    found: dict[tuple[str, str], Tally] = {}
    for ars, dimension, level, count in await tuples(session, statement):
        tally = found.setdefault((ars, dimension), Tally())
        tally.assessed += count
        tally.level_sum += level * count
        tally.online += count if level >= ONLINE_FROM else 0
        tally.ozg_konform += count if level >= OZG_KONFORM_FROM else 0
    return found


def _source(ref: Reference, at: datetime | None, area: str | None, members: list[Member]) -> Any:
    """The pairs now (stored), or as of `at` computed for the members (by their ARS where they
    are few, else by the prefix they share)."""
    if at is None or len(members) > LISTED_MAX:
        return pairs.source(ref, at, area)
    return pairs.computed(ref, at=at, ars=[member.ars for member in members]).subquery("pairs")


async def _then(
    session: AsyncSession,
    ref: Reference,
    since: datetime,
    chosen: sets.GemeindeSet,
    area: str | None,
    members: list[Member],
) -> tuple[dict[tuple[str, str], Tally], str]:
    """The figures at the comparison date: a closed month's counts where they answer."""
    period = counts.period_in(await counts.closed_periods(session), since)
    if period == date.min:
        return {}, "counts"  # before anything was counted
    if period is not None and period != counts.LIVE:
        return await _counted_then(session, period, chosen), "counts"
    moment = None if period == counts.LIVE else since
    return await _tallies(session, _source(ref, moment, area, members), chosen, None), "pairs"


async def _per_leistung(
    session: AsyncSession, source: Any, chosen: sets.GemeindeSet, *, by: list[Any]
) -> list[tuple[Any, ...]]:
    """(…by, dimension, level, pairs) over the set."""
    statement = (
        select(*by, source.c.dimension, source.c.level, func.count())
        .join(Gemeinde, col(Gemeinde.ars) == source.c.ars)
        .where(*chosen.conditions)
        .group_by(*by, source.c.dimension, source.c.level)
    )
    return await tuples(session, statement)


async def _models(session: AsyncSession) -> list[dict[str, Any]]:
    statement = (
        select(MaturityModel)
        .where(col(MaturityModel.is_default))
        .order_by(col(MaturityModel.dimension))
    )
    return [
        {"dimension": model.dimension, "key": model.key, "name": model.name,
         "version": model.version, "verified": model.verified}
        for model in (await run(session, statement)).scalars()
    ]  # fmt: skip


# Reports by the stamp of what they read: a second download of the same report costs nothing,
# and a change anywhere makes a new key (correct in every worker process).
REPORTS: Lru[dict[str, Any]] = Lru(32)
STEPS = 7  # what `progress` is called for


async def report_key(
    session: AsyncSession,
    definition: str,
    *,
    at: datetime | None,
    since: datetime | None,
    settings: Settings,
) -> tuple[tuple[Any, ...], sets.GemeindeSet]:
    """What a report is kept by, read before it is computed, with the resolved set."""
    chosen = await sets.resolve(session, definition, settings)
    key = (
        await queries.data_stamp(session), chosen.definition, chosen.listed, at, since,
        datetime.now(UTC).date(), settings.stale_after_days, settings.population_bands,
    )  # fmt: skip
    return key, chosen


async def report(
    session: AsyncSession,
    definition: str,
    *,
    at: datetime | None,
    since: datetime | None,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The report of a set definition, kept by (definition, dates, data stamp, day, settings);
    with the key it was kept under (an ETag's source)."""
    key, chosen = await report_key(session, definition, at=at, since=since, settings=settings)
    return key, await kept_report(
        session, key, chosen, at=at, since=since, settings=settings, progress=progress
    )


async def kept_report(
    session: AsyncSession,
    key: tuple[Any, ...],
    chosen: sets.GemeindeSet,
    *,
    at: datetime | None,
    since: datetime | None,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The report kept under `key` (from `report_key`), computed when it is not."""
    found = REPORTS.get(key)
    if found is None:
        found = await comparison(
            session, chosen, at=at, since=since, settings=settings, progress=progress
        )
        REPORTS.put(key, found)
    return found


async def comparison(
    session: AsyncSession,
    chosen: sets.GemeindeSet,
    *,
    at: datetime | None,
    since: datetime | None,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole report: members with their figures, rank and change, the set's spread and
    histogram, Leistungen flächendeckend, heat map, where the focus Gemeinde is behind its
    peers, and what it was computed by (rules, models, sources, freshness)."""
    step = progress or (lambda _: None)
    step("Gemeinden")
    ref = await reference(session)
    now = datetime.now(UTC)
    moment = at if at is not None and at < now else None
    since = since if since is not None else default_since(at)
    if since >= (at or now):
        raise InvalidInput(
            "since: the comparison date must lie before the report date.",
            german="Das Vergleichsdatum muss vor dem Stichtag liegen.",
        )
    known_bands = sets.bands(settings)
    members = [
        Member(row.ars, row.ags, row.display_name, row.typ_code, row.bevoelkerung,
               row.land_code, row.kreis_code)
        for row in await chosen.members(session)
    ]  # fmt: skip
    own = await _overrides(session, chosen)
    default_applicable = _applicable(ref, {})
    applicable_in: dict[str, set[str]] = {}
    for member in members:
        applicable_in[member.ars] = (
            _applicable(ref, own[member.ars]) if member.ars in own else default_applicable
        )
        member.applicable = len(applicable_in[member.ars])
    area = _area(members)
    source = _source(ref, moment, area, members)
    stale_before = (at or now) - timedelta(days=settings.stale_after_days)
    by_ars = {member.ars: member for member in members}
    flags = ref.scale.flags
    levels = flag_levels(flags)
    step("Paare")
    credits: dict[str, Credit] = {}
    now_tallies = await _tallies(session, source, chosen, stale_before, credits, levels)
    for (ars, dimension), tally in now_tallies.items():
        by_ars[ars].now[dimension] = tally
    step("Vergleichsdatum")
    then, then_from = await _then(session, ref, since, chosen, area, members)
    for (ars, dimension), tally in then.items():
        by_ars[ars].then[dimension] = tally
    rows = _rows(members, known_bands, flags)
    rank_now = ranks({row["ars"]: row["share_online"] for row in rows})
    rank_change = ranks({row["ars"]: row["change"]["share_online"] for row in rows})
    for row in rows:
        row["rank"] = rank_now[row["ars"]]
        row["rank_change"] = rank_change[row["ars"]]
    step("Leistungen")
    coverage = await _coverage(session, source, chosen, members, applicable_in)
    step("Heatmap")
    heatmap = await _heatmap(session, source, chosen, ref, members, applicable_in)
    step("Vergleichsgruppe")
    behind = await _behind(session, source, chosen, ref, applicable_in)
    step("Erkenntnisse und Maßnahmen")
    findings, findings_of = await related.findings(session, list(chosen.conditions))
    actions, actions_of = await related.massnahmen(session, list(chosen.conditions))
    for row in rows:
        row["findings_open"] = findings_of.get(row["ars"], 0)
        row["massnahmen"] = actions_of.get(row["ars"], 0)
    assessed = sum(row["assessed_online"] + row["assessed_backoffice"] for row in rows)
    stale = sum(row["stale"] for row in rows)
    return {
        "set": {"definition": chosen.definition, "description": chosen.description,
                "gemeinden": len(members), "focus": chosen.focus,
                "with_data": sum(1 for row in rows if row["share_online"] is not None)},
        "at": moment, "since": since, "since_from": then_from, "computed_at": now,
        "rules": RULES, "models": await _models(session), "flags": flag_definitions(flags),
        "sources": {"population": await sets.population_sources(session),
                    "assessments": _credited(credits),
                    "bands": [{"key": b.key, "label": b.label("de"), "lowest": b.lowest,
                               "highest": b.highest} for b in known_bands]},
        "freshness": {"assessed": assessed, "stale": stale,
                      "share_stale": round(stale / assessed, 4) if assessed else None,
                      "stale_after_days": settings.stale_after_days,
                      "provisional": sum(row["provisional"] for row in rows)},
        "members": rows,
        "spread": {key: spread([row[key] for row in rows]) for key in (
            "share_online", "share_ozg_konform", "mean_backoffice")}
        | {"change_share_online": spread([row["change"]["share_online"] for row in rows])},
        "histogram": histogram([row["share_online"] for row in rows]),
        "leistungen": coverage,
        "heatmap": heatmap,
        "behind_peers": behind,
        "findings": findings,
        "massnahmen": actions,
    }  # fmt: skip


def _rows(
    members: list[Member], known_bands: list[sets.Band], flags: dict[str, list[ScaleFlag]]
) -> list[dict[str, Any]]:
    rows = []
    for member in members:
        # the flags are figures of the report date (`then` keeps only CHANGED)
        now, then = member.figures(member.now, flags), member.figures(member.then)
        band = sets.band_of(member.population, known_bands)
        tallies = member.now.values()
        rows.append({
            "ars": member.ars, "ags": member.ags, "name": member.name,
            "typ": member.typ, "typ_name": GEMEINDE_TYPEN.get(member.typ, str(member.typ)),
            "population": member.population, "band": None if band is None else band.key,
            "band_name": None if band is None else band.name("de"),
            "land": member.land, "kreis": member.kreis, "applicable": member.applicable,
            **now,
            "stale": sum(tally.stale for tally in tallies),
            "provisional": sum(tally.provisional for tally in tallies),
            "then": {key: then[key] for key in CHANGED},
            "change": {key: _minus(now[key], then[key]) for key in CHANGED},
        })  # fmt: skip
    return rows


CHANGED = ("share_online", "share_ozg_konform", "mean_backoffice")
# the flags that have columns of their own (online, share_online, …): the others get added ones
OWN_COLUMNS = {(ONLINE, "online"), (ONLINE, "ozg_konform")}


def added_flags(result: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """(dimension, key, name, from level) of every flag a table adds columns for: the
    back-office scale's (digital bearbeitet …), read from the report's `flags`."""
    return [
        (dimension, flag["key"], flag["name"], flag["from_level"])
        for dimension, listed in sorted(result["flags"].items())
        for flag in listed
        if (dimension, flag["key"]) not in OWN_COLUMNS
    ]


def flag_label(dimension: str, name: str, from_level: int) -> str:
    """„Back-Office: digital bearbeitet (ab B3)“: a flag as a column names it."""
    if dimension == BACKOFFICE:
        return f"Back-Office: {name} (ab B{from_level})"
    return f"{name} (ab {from_level})"


async def _coverage(
    session: AsyncSession,
    source: Any,
    chosen: sets.GemeindeSet,
    members: list[Member],
    applicable_in: dict[str, set[str]],
) -> dict[str, Any]:
    """Leistungen online in every member where they apply (flächendeckend), and in at least one."""
    where: dict[str, int] = defaultdict(int)
    # most members share the default set (one object): count each set once, times its members
    sharing: dict[int, tuple[set[str], int]] = {}
    for member in members:
        found = applicable_in[member.ars]
        sharing[id(found)] = (found, sharing.get(id(found), (found, 0))[1] + 1)
    for found, times in sharing.values():
        for ozg_id in found:
            where[ozg_id] += times
    online = await _online_counted(session, source, members)
    if online is None:
        online = defaultdict(int)
        for ozg_id, dimension, level, count in await _per_leistung(
            session, source, chosen, by=[source.c.ozg_id]
        ):
            if dimension == ONLINE and level >= ONLINE_FROM:
                online[ozg_id] += count
    return {
        "applicable": len(where),
        "flaechendeckend": sum(1 for ozg_id, count in online.items() if count == where[ozg_id]),
        "mindestens_eine_kommune": sum(1 for count in online.values() if count > 0),
    }


async def _online_counted(
    session: AsyncSession, source: Any, members: list[Member]
) -> dict[str, int] | None:
    """Per OZG-Leistung the members where it is online now, from the counts per Land or per
    Kreis, where the set is made of whole Länder or whole Kreise (every inhabited Gemeinde of
    each): Germany, a Land, a Regierungsbezirk, a Kreis, the kreisfreie Städte. None where it
    is not, or for a past moment: then the pairs are counted."""
    if source is not pairs.PAIR_TABLE or not members:
        return None
    for digits, table in ((counts.LAND_DIGITS, counts.LAND_TABLE),
                          (counts.KREIS_DIGITS, counts.LEISTUNG_TABLE)):  # fmt: skip
        held: dict[str, int] = defaultdict(int)
        for member in members:
            held[member.ars[:digits]] += 1
        area = func.substr(col(Gemeinde.ars), 1, digits)
        statement = (
            select(area, func.count()).where(*inhabited(), area.in_(sorted(held))).group_by(area)
        )
        if dict(await tuples(session, statement)) != held:
            continue
        unit = table.c.land if table is counts.LAND_TABLE else table.c.kreis
        counted = (
            select(table.c.ozg_id, func.sum(table.c.online))
            .where(table.c.period_end == counts.LIVE, table.c.dimension == ONLINE,
                   unit.in_(sorted(held)))
            .group_by(table.c.ozg_id)
        )  # fmt: skip
        return defaultdict(
            int, {ozg_id: int(n or 0) for ozg_id, n in await tuples(session, counted)}
        )
    return None


async def _heatmap(
    session: AsyncSession,
    source: Any,
    chosen: sets.GemeindeSet,
    ref: Reference,
    members: list[Member],
    applicable_in: dict[str, set[str]],
) -> dict[str, Any] | None:
    """Share online per Themenfeld × Gemeinde (None for sets too large to read as one); a
    Gemeinde without an assessed online pair has no data, so no share (null, not 0 %: `RULES`)."""
    if len(members) > HEATMAP_MAX:
        return None
    themenfeld_of = {ozg_id: themenfeld for ozg_id, _, themenfeld in ref.leistungen}
    online: dict[tuple[str, str], int] = defaultdict(int)
    for ars, ozg_id, dimension, level, count in await _per_leistung(
        session, source, chosen, by=[source.c.ars, source.c.ozg_id]
    ):
        if dimension == ONLINE and level >= ONLINE_FROM:
            online[(ars, themenfeld_of[ozg_id])] += count
    themenfelder = sorted(set(themenfeld_of.values()))
    cells = []
    for member in members:
        applicable: dict[str, int] = defaultdict(int)
        for ozg_id in applicable_in[member.ars]:
            applicable[themenfeld_of[ozg_id]] += 1
        cells.append({
            "ars": member.ars,
            "shares": [
                round(online[(member.ars, name)] / applicable[name], 4)
                if applicable[name] and member.now.get(ONLINE, Tally()).assessed
                else None
                for name in themenfelder
            ],
        })  # fmt: skip
    return {"themenfelder": themenfelder, "rows": cells}


async def _behind(
    session: AsyncSession,
    source: Any,
    chosen: sets.GemeindeSet,
    ref: Reference,
    applicable_in: dict[str, set[str]],
) -> list[dict[str, Any]] | None:
    """For a peer group: the Leistungen where the peers' median level is above the focus's."""
    focus = chosen.focus
    if focus is None or focus not in applicable_in:
        return None
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for ozg_id, dimension, level, count in await _per_leistung(
        session, source, chosen, by=[source.c.ozg_id]
    ):
        histograms[(ozg_id, dimension)][level] = count
    own_statement = select(source.c.ozg_id, source.c.dimension, source.c.level).where(
        source.c.ars == focus
    )
    own = {(ozg_id, dimension): level for ozg_id, dimension, level in
           await tuples(session, own_statement)}  # fmt: skip
    names = {ozg_id: (name, themenfeld) for ozg_id, name, themenfeld in ref.leistungen}
    found: list[dict[str, Any]] = []
    for (ozg_id, dimension), by_level in sorted(histograms.items()):
        if ozg_id not in applicable_in[focus]:
            continue
        peers = sum(by_level.values())
        if peers < PEER_MIN:
            continue
        peer_median = median_of(sorted(by_level.items()), peers)
        level = own.get((ozg_id, dimension))
        if level is not None and level >= peer_median:
            continue
        found.append({
            "ozg_id": ozg_id, "name": names[ozg_id][0], "themenfeld": names[ozg_id][1],
            "dimension": dimension, "level": level, "peer_median": peer_median,
            "peers_assessed": peers,
            "gap": round(peer_median - (level or 0), 2),
        })  # fmt: skip
    found.sort(key=lambda item: (-item["gap"], item["dimension"], item["ozg_id"]))
    return found
