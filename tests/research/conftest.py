"""Research is judged against a fixed day (recorded dates, retention)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tracker.settings import Settings

TODAY = date(2026, 6, 15)


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return replace(Settings(database_url=database_url, data_dir=data_dir), fixed_today=TODAY)
