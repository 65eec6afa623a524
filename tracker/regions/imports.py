"""Import of a GV100AD release into the region tables, all levels in one transaction.

A later release updates changed units, adds new ones and marks missing ones as no longer valid
(`invalid_since` = the new Gebietsstand); nothing is deleted. An older release than the stored
one is refused, since it would revive dissolved Gemeinden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.db import TableModel, run
from tracker.fields import ascii_digits
from tracker.importing import (
    ImportRejected,
    ImportResult,
    ProgressFn,
    RowError,
    settle_errors,
    sync_rows,
)
from tracker.regions import gv100ad
from tracker.regions.models import (
    GEMEINDE_TYPEN,
    KREIS_TYPEN,
    VERBAND_TYPEN,
    Gemeinde,
    Gemeindeverband,
    Kreis,
    Land,
    Regierungsbezirk,
    Region,
)
from tracker.search import display_name, search_key

GV100AD_FILE = "GV100AD_30112025.txt"


def _land(record: gv100ad.Record) -> dict[str, Any]:
    return {"code": record.land, "name": record.name, "sitz": record.sitz or None}


def _regbez(record: gv100ad.Record) -> dict[str, Any]:
    return {
        "code": record.land + record.rb,
        "land_code": record.land,
        "name": record.name,
        "sitz": record.sitz or None,
    }


def _region(record: gv100ad.Record) -> dict[str, Any]:
    code = record.land + record.rb + record.kreis[:1]
    return {
        "code": code,
        "land_code": record.land,
        "name": record.name,
        "sitz": record.sitz or None,
    }


def _kreis(record: gv100ad.Record) -> dict[str, Any]:
    return {
        "code": record.land + record.rb + record.kreis,
        "land_code": record.land,
        "regbez_code": None if record.rb == "0" else record.land + record.rb,
        "name": record.name,
        "sitz": record.sitz or None,
        "typ_code": int(record.textkennzeichen) if ascii_digits(record.textkennzeichen) else 0,
    }


def _verband(record: gv100ad.Record) -> dict[str, Any]:
    kreis = record.land + record.rb + record.kreis
    return {
        "ars": kreis + record.verband,
        "kreis_code": kreis,
        "land_code": record.land,
        "name": record.name,
        "sitz": record.sitz or None,
        "typ_code": int(record.textkennzeichen) if ascii_digits(record.textkennzeichen) else 0,
    }


def _gemeinde(record: gv100ad.Record) -> dict[str, Any]:
    figures = cast(gv100ad.GemeindeRecord, record).figures
    kreis = record.land + record.rb + record.kreis
    return {
        "ars": kreis + record.verband + record.gemeinde,
        "ags": kreis + record.gemeinde,
        "name": record.name,
        "display_name": display_name(record.name),
        "search_name": search_key(display_name(record.name)),
        "typ_code": int(record.textkennzeichen),
        "land_code": record.land,
        "regbez_code": None if record.rb == "0" else record.land + record.rb,
        "kreis_code": kreis,
        "verband_ars": kreis + record.verband,
        "flaeche_ha": figures.flaeche_ha,
        "bevoelkerung": figures.bevoelkerung,
        "bevoelkerung_maennlich": figures.bevoelkerung_maennlich,
        "plz": figures.plz or None,
        "plz_eindeutig": figures.plz_eindeutig,
        "finanzamtsbezirk": figures.finanzamtsbezirk or None,
        "oberlandesgericht": figures.oberlandesgericht or None,
        "landgericht": figures.landgericht or None,
        "amtsgericht": figures.amtsgericht or None,
        "arbeitsagentur": figures.arbeitsagentur or None,
        "btwk_von": figures.btwk_von or None,
        "btwk_bis": figures.btwk_bis or None,
    }


@dataclass(frozen=True)
class Level:
    """One level of the register: its records, table and key, and what it must refer to."""

    name: str
    satzart: str
    table: type[TableModel]
    key: str
    build: Callable[[gv100ad.Record], dict[str, Any]]
    typen: dict[int, str] | None = None
    parents: tuple[tuple[str, str], ...] = ()  # (column, level whose keys it must name)


# Parents come first.
LEVELS = (
    Level("Länder", "10", Land, "code", _land),
    Level("Regierungsbezirke", "20", Regierungsbezirk, "code", _regbez, None, (("land_code", "Länder"),)),  # noqa: E501
    Level("Regionen", "30", Region, "code", _region, None, (("land_code", "Länder"),)),
    Level(
        "Kreise", "40", Kreis, "code", _kreis, KREIS_TYPEN,
        (("land_code", "Länder"), ("regbez_code", "Regierungsbezirke")),
    ),
    Level(
        "Gemeindeverbände", "50", Gemeindeverband, "ars", _verband, VERBAND_TYPEN,
        (("kreis_code", "Kreise"),),
    ),
    Level(
        "Gemeinden", "60", Gemeinde, "ars", _gemeinde, GEMEINDE_TYPEN,
        (("kreis_code", "Kreise"), ("verband_ars", "Gemeindeverbände")),
    ),
)  # fmt: skip


async def import_gv100ad(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    allow_retire: bool = False,
    max_retire_share: float = 0.05,
    progress: ProgressFn | None = None,
) -> list[ImportResult]:
    """Import a release; one that would mark more than `max_retire_share` of a level's valid
    units no longer valid (a truncated or wrong file) is refused unless `allow_retire`."""
    source = path.name
    errors: list[RowError] = []
    by_satzart: dict[str, list[gv100ad.Record]] = {level.satzart: [] for level in LEVELS}
    gebietsstand: date | None = None
    for line, text in gv100ad.read_records(path):
        try:
            record = gv100ad.parse_record(line, text)
        except gv100ad.RecordError as exc:
            errors.append(RowError(source, line, str(exc)))
            continue
        gebietsstand = gebietsstand or record.gebietsstand
        if record.gebietsstand != gebietsstand:
            errors.append(
                RowError(
                    source,
                    line,
                    f"Gebietsstand {record.gebietsstand} differs from {gebietsstand} of the file",
                )
            )
            continue
        by_satzart[record.satzart].append(record)
    if gebietsstand is None:
        raise ImportRejected(errors or [RowError(source, 1, "the file holds no GV100AD record")])
    stored = (await run(session, select(func.max(Land.gebietsstand)))).scalar_one()
    if stored is not None and stored > gebietsstand:
        raise ImportRejected(
            [
                RowError(
                    source,
                    1,
                    f"Gebietsstand {gebietsstand} is older than the stored {stored}; "
                    "refusing to go back",
                )
            ]
        )

    keys: dict[str, set[str]] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    for level in LEVELS:
        key, seen, kept = level.key, set[str](), list[dict[str, Any]]()
        keys[level.name], records[level.name] = seen, kept
        for record in by_satzart[level.satzart]:
            row = level.build(record)
            problem = None
            if row[key] in seen:
                problem = f"{level.name}: {key} {row[key]} appears twice"
            elif level.typen is not None and row["typ_code"] not in level.typen:
                problem = (
                    f"Textkennzeichen {record.textkennzeichen!r} (positions 123-124) "
                    f"is not one of {sorted(level.typen)}"
                )
            kreis = row.get("kreis_code")
            if kreis is not None and kreis not in keys["Kreise"] and kreis.endswith("000"):
                # Areas directly under a Land (coastal waters, a condominium) have no Kreis;
                # Berlin and Hamburg do have a Kreis record with these digits.
                row["kreis_code"] = None
            for column, parent in level.parents:
                if problem is None and row[column] is not None and row[column] not in keys[parent]:
                    problem = f"{column} {row[column]} has no record of its own in the file"
            if problem is not None:
                errors.append(RowError(source, record.line, problem))
                continue
            seen.add(row[key])
            kept.append({**row, "gebietsstand": gebietsstand})
    rejected = settle_errors(errors, skip_invalid=skip_invalid)
    if not allow_retire:
        await refuse_mass_retirement(session, source, records, max_retire_share)

    results = []
    for level in LEVELS:
        result = ImportResult(
            f"{source}: {level.name}", rejected=rejected if level is LEVELS[-1] else []
        )
        counts = await sync_rows(
            session, level.table, level.key, records[level.name],
            retire_column="invalid_since", retire_value=gebietsstand, progress=progress,
        )  # fmt: skip
        result.add(counts)
        await access_actions.record_import(session, result, entity=str(level.table.__tablename__))
        results.append(result)
    return results


RETIREMENTS_NAMED = 5


async def refuse_mass_retirement(
    session: AsyncSession, source: str, records: dict[str, list[dict[str, Any]]], share: float
) -> None:
    """Refuse the release if it lacks more than `share` of any level's valid units, naming
    how many per level and the first few of them."""
    problems = []
    for level in LEVELS:
        table = cast(Any, level.table)
        key = getattr(table, level.key)
        statement = select(key, table.name).where(table.invalid_since.is_(None)).order_by(key)
        valid: list[Any] = list((await run(session, statement)).all())
        kept = {row[level.key] for row in records[level.name]}
        leaving = [row[1] for row in valid if row[0] not in kept]
        if valid and len(leaving) > share * len(valid):
            named = "; ".join(leaving[:RETIREMENTS_NAMED])
            more = "; …" if len(leaving) > RETIREMENTS_NAMED else ""
            problems.append(RowError(source, 1, (
                f"would mark {len(leaving)} of {len(valid)} {level.name} no longer valid "
                f"({len(leaving) / len(valid):.1%}, more than {share:.0%}): {named}{more}"
            )))  # fmt: skip
    if problems:
        raise ImportRejected(problems, hint=(
            "A truncated or wrong file? If the release really dissolves them, run again with "
            "--allow-retire."
        ))  # fmt: skip


def count_records(path: Path) -> int:
    """Lines of a GV100AD file, for a progress bar (the import itself checks them)."""
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
