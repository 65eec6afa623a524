"""Field-level differences, as the audit log records them: {field: [old, new]}."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, secret: frozenset[str] = frozenset()
) -> dict[str, list[Any]]:
    """Every field of `new` whose value differs from `old`; secret fields are masked."""
    changes: dict[str, list[Any]] = {}
    for name, value in new.items():
        before = old.get(name)
        if before != value:
            changes[name] = (
                ["(secret)", "(changed)"] if name in secret else [plain(before), plain(value)]
            )
    return changes
