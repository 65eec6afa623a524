"""Every test here ends by checking the stored pair levels against the rule computed from the
assessments (`tracker verify pairs`): see `tests.conftest.pairs_agree_at_the_end`."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def pairs_checked(pairs_agree_at_the_end: None) -> None:
    """Asks for the check, which runs at the end of the test."""
