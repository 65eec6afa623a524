"""What research and the demand catalogues say about a set of Gemeinden: its open published
findings and the Maßnahmen its members take part in. Sections of the comparison report and the
city dashboard that appear when their data does (None where there is none). Counted as of now,
also for a report of an earlier date (`RULES`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.demands import queries as demands_queries
from tracker.regions.models import Gemeinde
from tracker.research import queries as research_queries

SHOWN = 5  # most severe findings, most taken-up Maßnahmen

RULES = {
    "findings": (
        "published findings with status open or confirmed about a Gemeinde of the set (its "
        "public, redacted text); a finding about several members counts once per member and "
        "once in the total; as of today, also for an earlier report date"
    ),
    "massnahmen": (
        "Maßnahmen of the demand catalogues that a member took up, owns or is linked to; once "
        "per Maßnahme and member; status of the Maßnahme as of today"
    ),
}
RULES_DE = {
    "findings": (
        "veröffentlichte Erkenntnisse mit Status offen oder bestätigt über eine Gemeinde der "
        "Auswahl (ihr öffentlicher, geschwärzter Text); eine Erkenntnis über mehrere Gemeinden "
        "zählt je Gemeinde einmal und in der Summe einmal; Stand heute, auch bei einem früheren "
        "Stichtag"
    ),
    "massnahmen": (
        "Maßnahmen der Forderungskataloge, die eine Gemeinde der Auswahl übernommen hat, "
        "verantwortet oder mit der sie verknüpft ist; je Maßnahme und Gemeinde einmal; Status "
        "der Maßnahme von heute"
    ),
}


def _members(conditions: list[Any]) -> Any:
    return select(col(Gemeinde.ars)).where(*conditions)


async def findings(
    session: AsyncSession, conditions: list[Any]
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """The set's open published findings (None when there are none), and per member its count."""
    found = await research_queries.open_findings_about(session, _members(conditions))
    per_member: Counter[str] = Counter(item.ars for item in found)
    if not found:
        return None, {}
    first: dict[int, dict[str, Any]] = {}
    for item in found:  # most severe first
        entry = first.setdefault(item.finding_id, {
            "id": item.finding_id, "severity": item.severity, "statement": item.statement,
            "gemeinden": [],
        })  # fmt: skip
        entry["gemeinden"].append(item.ars)
    by_severity = Counter(entry["severity"] for entry in first.values())
    return {
        "findings": len(first),
        "gemeinden": len(per_member),
        "by_severity": {str(level): by_severity[level] for level in range(4, 0, -1)},
        "most_severe": list(first.values())[:SHOWN],
    }, dict(per_member)


async def massnahmen(
    session: AsyncSession, conditions: list[Any]
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """The Maßnahmen the set's members take part in (None when none), and per member its count."""
    found = await demands_queries.taking_part(session, _members(conditions))
    if not found:
        return None, {}
    per_member: Counter[str] = Counter(item.ars for item in found)
    by_action: dict[int, dict[str, Any]] = {}
    for item in found:
        entry = by_action.setdefault(item.action_id, {
            "id": item.action_id, "title": item.title, "demand": item.demand,
            "status": item.status, "gemeinden": 0,
        })  # fmt: skip
        entry["gemeinden"] += 1
    statuses = await demands_queries.status_map(session)
    by_status: dict[str, int] = defaultdict(int)
    for entry in by_action.values():
        by_status[entry["status"]] += 1
    ordered = sorted(by_status, key=lambda key: statuses[key].position)  # a key of the vocabulary
    return {
        "massnahmen": len(by_action),
        "gemeinden": len(per_member),
        "by_status": [
            {"status": key, "label": statuses[key].label, "massnahmen": by_status[key]}
            for key in ordered
        ],
        "most_taken": sorted(by_action.values(), key=lambda e: (-e["gemeinden"], e["id"]))[:SHOWN],
    }, dict(per_member)  # fmt: skip
