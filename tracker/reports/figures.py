"""A Gemeinde's figures per OZG-Leistung and dimension, read from its pairs, and a Leistung's
coverage of an area; the counting rules they print (`RULES`, built on `pairs.RULES`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date
from typing import Any

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


# What `figures` reads of a pair, in this order (`pairs.as_of(names=…)` selects them).
PAIR_FIELDS = ("ozg_id", "dimension", "level", "lowest", "services", "provisional",
               "land_wide_portal", "newest_at", "assessment_id", "assessed_at")  # fmt: skip


def figures(
    pair: Sequence[Any] | None, today: date, stale_after_days: int, flags: Sequence[ScaleFlag] = ()
) -> dict[str, object] | None:
    """One dimension of one OZG-Leistung in one Gemeinde, from its pair's `PAIR_FIELDS` (None:
    not assessed); `today`: the UTC day ages count to. `flags`: what the dimension's own scale
    defines from a level on (`level_flag`)."""
    if pair is None:
        return None
    _, _, level, lowest, services, provisional, portal, newest_at, assessment_id, assessed_at = pair
    age_days = (today - as_utc(newest_at).astimezone(UTC).date()).days
    return {
        "highest": level,
        "lowest": lowest,
        "assessed": services,
        "online": level >= ONLINE_FROM,
        "ozg_konform": level >= OZG_KONFORM_FROM,
        "provisional": bool(provisional),
        "land_wide_portal": bool(portal),
        "age_days": age_days,
        "stale": age_days > stale_after_days,
        "assessment_id": assessment_id,
        "assessed_at": as_utc(assessed_at),
        "flags": flags_reached(flags, level) if flags else [],
    }


def summarise(
    per_leistung: Iterable[dict[str, Any] | None],
    applicable: int,
    flags: Iterable[ScaleFlag] = (),
) -> dict[str, object]:
    """A dimension's figures over a Gemeinde's applicable Leistungen, in one pass."""
    assessed = online = konform = stale = 0
    by_level: dict[str, int] = {}
    reached: dict[str, int] = {key: 0 for key, _, _ in flags}
    for figures in per_leistung:
        if figures is None:
            continue
        assessed += 1
        online += figures["online"]
        konform += figures["ozg_konform"]
        stale += figures["stale"]
        key = str(figures["highest"])
        by_level[key] = by_level.get(key, 0) + 1
        for flag in figures["flags"]:
            reached[flag] += 1
    return {
        "applicable": applicable,
        "assessed": assessed,
        "online": online,
        "ozg_konform": konform,
        # no share without data (`comparison.RULES["no_data"]`): nothing assessed is not 0 %
        "share_online": round(online / applicable, 4) if applicable and assessed else None,
        "share_ozg_konform": round(konform / applicable, 4) if applicable and assessed else None,
        "by_highest_level": dict(sorted(by_level.items())),
        "stale": stale,
        "flags": reached,
    }
