"""The scoring rule of the Reifegradmodell: every criterion is rated on the level scale and the
lowest rated criterion decides (one at 2, the rest at 4: level 2). A criterion „falls
erforderlich“ marked not required, or left unrated, neither lowers the level nor leaves it open;
a required one not yet rated makes the level provisional."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tracker.errors import InvalidInput
from tracker.maturity.models import NOT_REQUIRED, ModelCriterion

Rating = int | str

# The federal dashboard's "online", and "OZG-konform" (IT-Planungsrat 2020): one constant each.
ONLINE_FROM = 2
OZG_KONFORM_FROM = 3


# A flag a scale defines from a level on (`level_flag`, data): (key, name, from level).
ScaleFlag = tuple[str, str, int]


def flags_reached(flags: Iterable[ScaleFlag], level: int) -> list[str]:
    """The keys of the flags a level reaches on its scale (B4: digital bearbeitet, Once-Only)."""
    return [key for key, _, from_level in flags if level >= from_level]


def flags_counted(flags: Iterable[ScaleFlag], at_least: Mapping[int, int]) -> dict[str, int]:
    """Per flag the pairs that reach it, from the pairs at each level or above."""
    return {key: at_least.get(from_level, 0) for key, _, from_level in flags}


def flag_levels(flags: Mapping[str, Iterable[ScaleFlag]]) -> list[int]:
    """Every level some flag starts at: the `at_least` counts a roll-up needs for them."""
    return sorted({from_level for listed in flags.values() for _, _, from_level in listed})


def applies(leika_typ: Iterable[str], municipal_types: frozenset[str]) -> bool:
    """A LeiKa service applies to Gemeinden when one of its types is executed by Länder or
    Kommunen; an unknown (empty) type applies, so that nothing silently leaves a denominator."""
    types = list(leika_typ)
    return not types or any(code in municipal_types for code in types)


@dataclass(frozen=True)
class Scoring:
    level: int | None
    provisional: bool
    missing: list[str]


def score(
    criteria: Sequence[ModelCriterion], levels: Sequence[int], ratings: Mapping[str, Rating]
) -> Scoring:
    known = {criterion.key: criterion for criterion in criteria}
    unknown = sorted(set(ratings) - set(known))
    if unknown:
        raise InvalidInput(
            f"Unknown criteria for this model: {', '.join(unknown)}.",
            german=f"Diese Kriterien hat das Modell nicht: {', '.join(unknown)}.",
        )
    rated: list[int] = []
    for key, rating in ratings.items():
        if rating == NOT_REQUIRED:
            if not known[key].optional:
                raise InvalidInput(
                    f"Criterion {key} is always required; '{NOT_REQUIRED}' is not allowed.",
                    german=f"Das Kriterium {key} ist immer erforderlich.",
                )
        elif isinstance(rating, int) and not isinstance(rating, bool) and rating in levels:
            rated.append(rating)
        else:
            scale = f"{min(levels)}-{max(levels)}"
            raise InvalidInput(
                f"Criterion {key}: {rating!r} is not a level of this model ({scale}).",
                german=f"Kriterium {key}: {rating!r} ist keine Stufe dieses Modells ({scale}).",
            )
    if not rated:
        raise InvalidInput(
            "Rate at least one criterion.", german="Bewerten Sie mindestens ein Kriterium."
        )
    ordered = sorted(criteria, key=lambda criterion: criterion.position)
    # a „falls erforderlich“ criterion left unrated is one that does not apply (DOMAIN.md 2.1:
    # "not rated and does not pull the level down"); only a required one leaves the level open
    missing = [
        criterion.key
        for criterion in ordered
        if criterion.key not in ratings and not criterion.optional
    ]
    return Scoring(level=min(rated), provisional=bool(missing), missing=missing)


def scoring_table(
    criteria: Sequence[ModelCriterion], levels: Mapping[int, str]
) -> dict[str, object]:
    """What `score` reads, as data for the form's live preview (`static/erfassen.js` applies
    this rule to it: the lowest rated level; a required criterion unrated leaves it
    provisional; „nicht erforderlich“ and unrated optional ones do not count). Criteria with a
    stand-in name are in it (a required one still leaves the level open) but not named."""
    ordered = sorted(criteria, key=lambda criterion: criterion.position)
    return {
        "not_required": NOT_REQUIRED,
        "levels": [{"level": level, "name": name} for level, name in sorted(levels.items())],
        "criteria": [
            {"key": criterion.key, "optional": criterion.optional,
             "name": criterion.key if criterion.placeholder else criterion.name}
            for criterion in ordered
        ],
    }  # fmt: skip


@dataclass
class Coverage:
    """One Leistung in one area (Bund, Land, Kreis): its inhabited Gemeinden by level."""

    gemeinden: int = 0
    assessed: int = 0
    online: int = 0
    ozg_konform: int = 0

    def add(self, level: int | None) -> None:
        self.gemeinden += 1
        if level is None:
            return
        self.assessed += 1
        self.online += level >= ONLINE_FROM
        self.ozg_konform += level >= OZG_KONFORM_FROM

    def as_dict(self) -> dict[str, object]:
        return {
            "gemeinden": self.gemeinden,
            "assessed": self.assessed,
            "online": self.online,
            "ozg_konform": self.ozg_konform,
            "share_online": round(self.online / self.gemeinden, 4) if self.gemeinden else None,
            "flaechendeckend": self.gemeinden > 0 and self.online == self.gemeinden,
            "mindestens_eine_kommune": self.online > 0,
        }
