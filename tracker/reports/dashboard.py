"""A city's dashboard: both dimensions by Themenfeld, its course over the last months, the age of
its data, its rank in its peer group and the Leistungen furthest behind that group. Built from
the Gemeinde's roll-up, the counts by month and the comparison report of its peer group: no
figure here is counted a second way."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.demands import queries as demands_queries
from tracker.maturity.models import Dimension
from tracker.maturity.rules import ONLINE_FROM
from tracker.regions import queries as regions_queries
from tracker.regions.models import GEMEINDE_TYPEN, Gemeinde
from tracker.reports import comparison, figures, queries, related, sets, summary
from tracker.settings import Settings

MONTHS = 24  # two years: the course since WSP NRW (2024-11) on a 2026 dashboard
BEHIND_SHOWN = 10


def by_themenfeld(
    leistungen: list[dict[str, Any]], flags: dict[str, list[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """Per Themenfeld: applicable Leistungen, and per dimension assessed, online, OZG-konform,
    the mean level and the Leistungen reaching each flag of the dimension's own scale (`flags`
    as a roll-up lists them: on the back-office scale online and OZG-konform mean nothing). No
    share where nothing is assessed (no data is no 0 %)."""
    groups: dict[str, dict[str, Any]] = {}
    sums: dict[tuple[str, str], int] = defaultdict(int)
    keys = {d.value: [flag["key"] for flag in (flags or {}).get(d.value, [])] for d in Dimension}
    for item in leistungen:
        group = groups.setdefault(item["themenfeld"], {
            "themenfeld": item["themenfeld"], "applicable": 0,
            **{d.value: {"assessed": 0, "online": 0, "ozg_konform": 0, "mean_level": None,
                         "flags": dict.fromkeys(keys[d.value], 0)}
               for d in Dimension},
        })  # fmt: skip
        group["applicable"] += 1
        for dimension in Dimension:
            found = item[dimension.value]
            if not found:
                continue
            tally = group[dimension.value]
            tally["assessed"] += 1
            tally["online"] += found["online"]
            tally["ozg_konform"] += found["ozg_konform"]
            for key in found["flags"]:
                if key in tally["flags"]:
                    tally["flags"][key] += 1
            sums[(item["themenfeld"], dimension.value)] += found["highest"]
    for name, group in groups.items():
        for dimension in Dimension:
            tally = group[dimension.value]
            assessed = tally["assessed"]
            tally["share_online"] = (
                round(tally["online"] / group["applicable"], 4) if assessed else None
            )
            tally["share_flags"] = {
                key: round(count / group["applicable"], 4) if assessed else None
                for key, count in tally["flags"].items()
            }
            if assessed:
                tally["mean_level"] = round(sums[(name, dimension.value)] / assessed, 2)
    return sorted(groups.values(), key=lambda group: group["themenfeld"])


def _age(leistungen: list[dict[str, Any]]) -> dict[str, Any]:
    ages = [item[d.value]["age_days"] for item in leistungen for d in Dimension if item[d.value]]
    stale = sum(
        1 for item in leistungen for d in Dimension if item[d.value] and item[d.value]["stale"]
    )
    return {
        "newest_days": min(ages, default=None),
        "oldest_days": max(ages, default=None),
        "assessed": len(ages),
        "stale": stale,
        "share_stale": round(stale / len(ages), 4) if ages else None,
    }


async def history(session: AsyncSession, ars: str) -> list[dict[str, Any]]:
    """The last months' figures of the Gemeinde, from the counts at each month's end."""
    found = await summary.timeseries(
        session, group_by=summary.GroupBy.GEMEINDE, dimension=None, period=summary.Period.MONTH,
        count=MONTHS, until=None, area=ars,
    )  # fmt: skip
    points: dict[str, dict[str, Any]] = {}
    for series in found["series"]:
        for point in series["points"]:
            entry = points.setdefault(point["period"], {"period": point["period"]})
            if series["dimension"] == Dimension.ONLINE.value:
                entry["share_online"] = point["share_online"]
                entry["share_ozg_konform"] = point["share_ozg_konform"]
            else:
                entry["mean_backoffice"] = point["mean_level"]
    return [points[name] for name in sorted(points)]


async def dashboard(session: AsyncSession, ars: str, settings: Settings) -> dict[str, Any]:
    row = await regions_queries.get_gemeinde(session, ars)
    gemeinde = row.Gemeinde
    rolled = await queries.gemeinde_rollup(
        session, gemeinde.ars, at=None, stale_after_days=settings.stale_after_days
    )
    _, peers = await comparison.report(
        session, f"peers:{gemeinde.ars}", at=None, since=None, settings=settings
    )
    own = next(item for item in peers["members"] if item["ars"] == gemeinde.ars)
    band = sets.band_of(gemeinde.bevoelkerung, sets.bands(settings))
    findings, _ = await related.findings(session, [col(Gemeinde.ars) == gemeinde.ars])
    return {
        "ars": gemeinde.ars, "ags": gemeinde.ags, "name": gemeinde.display_name,
        "typ": GEMEINDE_TYPEN.get(gemeinde.typ_code, str(gemeinde.typ_code)),
        "population": gemeinde.bevoelkerung, "band": None if band is None else band.name("de"),
        "computed_at": datetime.now(UTC),
        "summary": rolled["summary"],
        "themenfelder": by_themenfeld(rolled["leistungen"], rolled["flags"]),
        "age": _age(rolled["leistungen"]),
        "history": await history(session, gemeinde.ars),
        "peers": {
            "definition": peers["set"]["definition"],
            "description": peers["set"]["description"],
            "gemeinden": peers["set"]["gemeinden"], "rank": own["rank"],
            "rank_change": own["rank_change"], "change_share_online": own["change"]["share_online"],
            "since": peers["since"],
            "median_share_online": peers["spread"]["share_online"]["median"],
        },
        "behind_peers": (peers["behind_peers"] or [])[:BEHIND_SHOWN],
        "massnahmen": await demands_queries.actions_of_gemeinde(session, gemeinde.ars),
        "findings": findings,
        "rules": {
            **figures.RULES, "findings": related.RULES["findings"],
            **{key: comparison.RULES[key] for key in ("no_data", "rank", "behind_peers")},
        },
        "online_from": ONLINE_FROM,
    }  # fmt: skip
