"""A Gemeinde's figures per OZG-Leistung and dimension, read from its pairs, and a Leistung's
coverage of an area; the counting rules they print (`RULES`, built on `pairs.RULES`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from tracker.db import as_utc
from tracker.maturity import pairs
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM, ScaleFlag, flags_reached

RULES = {
    **pairs.RULES,
    "shares": "of applicable OZG-Leistungen; not-applicable ones are out of every denominator",
    "stale": (
        "the newest contributing assessment is older than the configured age (in calendar "
        "days, UTC)"
    ),
    "flaechendeckend": (
        f"every inhabited Gemeinde of the area online (level ≥ {ONLINE_FROM}), as the federal "
        "dashboard counts"
    ),
    "mindestens_eine_kommune": "at least one inhabited Gemeinde of the area is online",
}
RULES_DE = {
    **pairs.RULES_DE,
    "shares": "Anteile an den anwendbaren OZG-Leistungen; nicht anwendbare zählen in keinem Nenner",
    "stale": (
        "die neueste beitragende Bewertung ist älter als das eingestellte Alter (in "
        "Kalendertagen, UTC)"
    ),
    "flaechendeckend": (
        f"jede bewohnte Gemeinde des Gebiets online (Stufe ≥ {ONLINE_FROM}), wie das "
        "Dashboard des Bundes zählt"
    ),
    "mindestens_eine_kommune": "mindestens eine bewohnte Gemeinde des Gebiets ist online",
}


def figures(
    pair: Any, now: datetime, stale_after_days: int, flags: Iterable[ScaleFlag] = ()
) -> dict[str, object] | None:
    """One dimension of one OZG-Leistung in one Gemeinde, from its pair (None: not assessed).
    `flags`: what the dimension's own scale defines from a level on (`level_flag`)."""
    if pair is None:
        return None
    age_days = (now.date() - as_utc(pair.newest_at).astimezone(UTC).date()).days
    return {
        "highest": pair.level,
        "lowest": pair.lowest,
        "assessed": pair.services,
        "online": pair.level >= ONLINE_FROM,
        "ozg_konform": pair.level >= OZG_KONFORM_FROM,
        "provisional": bool(pair.provisional),
        "land_wide_portal": bool(pair.land_wide_portal),
        "age_days": age_days,
        "stale": age_days > stale_after_days,
        "assessment_id": pair.assessment_id,
        "assessed_at": as_utc(pair.assessed_at),
        "flags": flags_reached(flags, pair.level),
    }


def summarise(
    per_leistung: list[dict[str, object] | None],
    applicable: int,
    flags: Iterable[ScaleFlag] = (),
) -> dict[str, object]:
    assessed = [figures for figures in per_leistung if figures is not None]
    online = sum(1 for figures in assessed if figures["online"])
    konform = sum(1 for figures in assessed if figures["ozg_konform"])
    by_level: dict[str, int] = {}
    for figures in assessed:
        key = str(figures["highest"])
        by_level[key] = by_level.get(key, 0) + 1
    return {
        "applicable": applicable,
        "assessed": len(assessed),
        "online": online,
        "ozg_konform": konform,
        # no share without data (`comparison.RULES["no_data"]`): nothing assessed is not 0 %
        "share_online": round(online / applicable, 4) if applicable and assessed else None,
        "share_ozg_konform": round(konform / applicable, 4) if applicable and assessed else None,
        "by_highest_level": dict(sorted(by_level.items())),
        "stale": sum(1 for figures in assessed if figures["stale"]),
        "flags": {
            key: sum(1 for figures in assessed if key in cast(list[str], figures["flags"]))
            for key, _, _ in flags
        },
    }
