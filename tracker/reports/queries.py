"""A Gemeinde's Reifegrad and a Leistung's coverage, read from the pair levels (`maturity.pairs`:
the one rule of what is current and counted), and the stamp that keys a Gemeinde's cached
answer."""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog import queries as catalog_queries
from tracker.db import tuples
from tracker.errors import NotFound
from tracker.maturity import applicability, counts, pairs
from tracker.maturity.models import Dimension
from tracker.maturity.rules import Coverage
from tracker.regions.models import Gemeinde
from tracker.reports import figures as rollup


def _gemeinde_stamp_statement() -> Any:
    ars: Any = bindparam("ars")
    return select(
        col(Gemeinde.display_name), *counts.revision(), *applicability.stamp_columns()
    ).where(col(Gemeinde.ars) == ars)


# Built once: this runs on every request of a Gemeinde's roll-up.
GEMEINDE_STAMP = _gemeinde_stamp_statement()


async def gemeinde_stamp(session: AsyncSession, ars: str) -> tuple[Any, ...]:
    """Changes whenever the Gemeinde's roll-up may have: its name, the pair revision (raised by
    every change of a pair, an override included, in commit order), and the reference
    (`applicability.stamp`); one round trip. 404 for no Gemeinde."""
    connection = await session.connection()
    found = (await connection.execute(GEMEINDE_STAMP, {"ars": ars})).first()
    if found is None:
        raise NotFound(f"No Gemeinde has the ARS {ars}.")
    return (applicability.database_of(session), *found)


async def data_stamp(session: AsyncSession) -> tuple[Any, ...]:
    """Changes with every write that can move a figure: the pair revision (every change of a
    pair raises it, in commit order), and the reference stamp; one round trip."""
    row = (await tuples(session, select(*counts.revision(), *applicability.stamp_columns())))[0]
    return (applicability.database_of(session), *row)


DIMENSIONS = tuple(dimension.value for dimension in Dimension)
LEISTUNG_AND_DIMENSION = itemgetter(0, 1)  # of a row of `figures.PAIR_FIELDS`


async def gemeinde_rollup(
    session: AsyncSession, ars: str, *, at: datetime | None, stale_after_days: int
) -> dict[str, Any]:
    """Every applicable OZG-Leistung of the Gemeinde with its pair on both dimensions."""
    cached = await applicability.reference(session)
    known = cached.known
    own = await applicability.overrides_in(session, ars)
    flags = cached.scale.flags
    rows = await pairs.as_of(session, at, ars=ars, names=rollup.PAIR_FIELDS)
    found = {LEISTUNG_AND_DIMENSION(row): row for row in rows}
    today = (at or datetime.now(UTC)).astimezone(UTC).date()
    per_dimension = [(dimension, flags.get(dimension, [])) for dimension in DIMENSIONS]
    items: list[dict[str, Any]] = []
    not_applicable: list[dict[str, str]] = []
    for ozg_id, name, themenfeld in cached.leistungen:
        override = own.get(ozg_id)
        if not known.applies_in(ozg_id, override):
            if override is not None:
                not_applicable.append({"ozg_id": ozg_id, "name": name})
            continue
        item: dict[str, Any] = {
            "ozg_id": ozg_id, "name": name, "themenfeld": themenfeld,
            "applicable_leika": len(known.counted_leika(ozg_id, override)),
            "overridden": override is not None,
        }  # fmt: skip
        for dimension, listed in per_dimension:
            item[dimension] = rollup.figures(
                found.get((ozg_id, dimension)), today, stale_after_days, listed
            )
        items.append(item)
    summary = {
        dimension: rollup.summarise((item[dimension] for item in items), len(items), listed)
        for dimension, listed in per_dimension
    }
    return {
        "rules": rollup.RULES, "summary": summary, "leistungen": items,
        "not_applicable": not_applicable,
        "flags": {dimension: [{"key": key, "name": name, "from_level": level}
                              for key, name, level in listed]
                  for dimension, listed in flags.items()},
    }  # fmt: skip


async def leistung_coverage(
    session: AsyncSession, ozg_id: str, *, dimension: str, at: datetime | None
) -> dict[str, Any]:
    """One OZG-Leistung across all inhabited Gemeinden: per Bund, Land and Kreis."""
    leistung = await catalog_queries.get_leistung(session, ozg_id)
    applicable = await applicability.gemeinden_where(session, ozg_id)
    level_of = {
        row.ars: row.level
        for row in await pairs.as_of(session, at, ozg_id=ozg_id, dimension=dimension)
    }
    areas: dict[tuple[str, str], Coverage] = {}
    for gemeinde in applicable:
        level = level_of.get(gemeinde.ars)
        for area in (("bund", "DE"), ("land", gemeinde.land_code), ("kreis", gemeinde.kreis_code)):
            if area[1] is not None:
                areas.setdefault(area, Coverage()).add(level)
    areas.setdefault(("bund", "DE"), Coverage())
    return {
        "ozg_id": ozg_id,
        "name": leistung.name,
        "dimension": dimension,
        "applicable": bool(applicable),
        "coverage": {key: figures for key, figures in areas.items()},
    }
