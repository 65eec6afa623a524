"""The scoring rule on its own: lowest criterion, not-required criteria, provisional levels."""

from __future__ import annotations

import pytest

from tracker.errors import InvalidInput
from tracker.maturity.models import ModelCriterion
from tracker.maturity.rules import score

LEVELS = [0, 1, 2, 3, 4]
CRITERIA = [
    ModelCriterion(model_id=1, key="beschreibung", position=1, name="B", optional=False),
    ModelCriterion(model_id=1, key="antrag", position=2, name="A", optional=False),
    ModelCriterion(model_id=1, key="bezahlen", position=3, name="P", optional=True),
]


def test_lowest_criterion_decides() -> None:
    assert score(CRITERIA, LEVELS, {"beschreibung": 4, "antrag": 2, "bezahlen": 4}).level == 2


def test_not_required_neither_lowers_nor_leaves_open() -> None:
    result = score(CRITERIA, LEVELS, {"beschreibung": 4, "antrag": 3, "bezahlen": "n/a"})
    assert (result.level, result.provisional, result.missing) == (3, False, [])


def test_an_unrated_criterion_falls_erforderlich_counts_as_not_required() -> None:
    result = score(CRITERIA, LEVELS, {"beschreibung": 4, "antrag": 3})
    assert (result.level, result.provisional, result.missing) == (3, False, [])


def test_unrated_required_criterion_makes_it_provisional() -> None:
    result = score(CRITERIA, LEVELS, {"beschreibung": 4, "bezahlen": "n/a"})
    assert (result.level, result.provisional, result.missing) == (4, True, ["antrag"])


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ({"beschreibung": 5}, "Criterion beschreibung: 5 is not a level of this model (0-4)."),
        (
            {"beschreibung": True},
            "Criterion beschreibung: True is not a level of this model (0-4).",
        ),
        ({"antrag": "n/a"}, "Criterion antrag is always required; 'n/a' is not allowed."),
        ({"unbekannt": 1}, "Unknown criteria for this model: unbekannt."),
        ({"bezahlen": "n/a"}, "Rate at least one criterion."),
    ],
)
def test_ratings_outside_the_model_are_refused(ratings: dict[str, int | str], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        score(CRITERIA, LEVELS, ratings)
    assert refused.value.detail == message
