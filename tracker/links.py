"""Targets of the generic (kind, key) links between features. A link table lower in the layers
(research's recommendation links) names things that a higher feature owns (a demand, a
Maßnahme): the owner declares each kind beside its tables (`link_target`), as a table declares
itself to the metadata on import, and the lower feature checks a key with `check_link_target`,
without importing the owner. A kind nobody declared is refused, as is a key with no row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import TableModel, run
from tracker.errors import InvalidInput

MAX_ROW_ID = 2_147_483_647


@dataclass(frozen=True)
class LinkTarget:
    kind: str
    table: str  # the owner's table
    column: str  # the column that the key names, unique in the table
    label: str  # how a message names it: "Demand", "Maßnahme"
    integer: bool = False  # the key is a row id


_TARGETS: dict[str, LinkTarget] = {}


def link_target(kind: str, *, table: str, column: str, label: str, integer: bool = False) -> None:
    _TARGETS[kind] = LinkTarget(kind, table, column, label, integer)


def link_kinds() -> list[str]:
    return sorted(_TARGETS)


async def check_link_target(session: AsyncSession, kind: str, key: str) -> None:
    """The linked thing exists, else 422 naming it."""
    target = _TARGETS.get(kind)
    if target is None:
        known = ", ".join(link_kinds()) or "none"
        raise InvalidInput(
            f"Links of kind {kind} are not known (known: {known}).", extra={"field": "links"}
        )
    value: str | int = key
    if target.integer:
        if not key.isascii() or not key.isdigit() or int(key) > MAX_ROW_ID:
            raise InvalidInput(f"{target.label} {key} does not exist.", extra={"field": "links"})
        value = int(key)
    table = TableModel.metadata.tables[target.table]
    statement = select(table.c[target.column]).where(table.c[target.column] == value).limit(1)
    if (await run(session, statement)).first() is None:
        raise InvalidInput(f"{target.label} {key} does not exist.", extra={"field": "links"})
