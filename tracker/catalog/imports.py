"""Import of the OZG catalogue files (formats in ../shared/data/README.md §1).

Order matters, each file its own transaction: Themenfelder, Lebenslagen, OZG-Leistungen, LeiKa.
`anzahl_leika_leistungen` and `leika_keys` of ozg_leistungen.csv are derived from the LeiKa file
and not read; the CSV export writes them back from the stored links.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import run
from tracker.importing import ImportResult, ProgressFn, import_csv
from tracker.search import search_key

NOT_IN_LEIKA = "nicht im LeiKa"
THEMENFELDER_FILE = "ozg_themenfelder.csv"
LEBENSLAGEN_FILE = "ozg_lebenslagen.csv"
LEISTUNGEN_FILE = "ozg_leistungen.csv"
LEIKA_FILE = "leika_leistungen_ozg.csv"


def _none_if_empty(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _leika_key(value: object) -> object:
    return None if isinstance(value, str) and value.strip() == NOT_IN_LEIKA else value


def _leika_typ(value: object) -> object:
    if isinstance(value, str):
        return sorted({part.strip() for part in value.split(",") if part.strip()})
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]
Optional = Annotated[
    Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")] | None, BeforeValidator(_none_if_empty)
]
SourceId = Annotated[int, Field(ge=1, le=2_147_483_647)]
OzgId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,20}$")]
# LeiKa-Typ codes, sub-codes included (2/3a, 3b …; DOMAIN.md 1.2); several per row, or none.
LeikaTyp = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[0-9](/[0-9])?[a-z]?$")]],
    BeforeValidator(_leika_typ),
]


class _Row(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class ThemenfeldRow(_Row):
    themenfeld_id: SourceId
    name: Name


class LebenslageRow(_Row):
    lebenslage_id: SourceId
    name: Name
    themenfeld_id: SourceId


class LeistungRow(_Row):
    ozg_id: OzgId
    name: Name
    lebenslage_id: SourceId
    themenfeld_id: SourceId
    kdn_id: Annotated[SourceId | None, BeforeValidator(_none_if_empty)] = None


class LeikaRow(_Row):
    leika_key: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")] | None,
        BeforeValidator(_leika_key),
        Field(description=f"14 digits, or „{NOT_IN_LEIKA}“"),
    ]
    name: Name
    leika_typ: LeikaTyp
    ozg_id: Annotated[OzgId | None, BeforeValidator(_none_if_empty)]
    gesetz_kurz: Optional
    gesetze: Optional
    rechtsgrundlage: Optional
    sdg1_relevant: bool
    sdg2_relevant: bool
    kdn_id: SourceId


async def _audited(session: AsyncSession, path: Path, **options: Any) -> ImportResult:
    """import_csv, and the run and each record it changed in the audit log."""
    result = await import_csv(session, path, **options)
    await access_actions.record_import(session, result, entity=options["table"].__tablename__)
    return result


async def _ids(session: AsyncSession, column: Any) -> set[Any]:
    return set((await run(session, select(column))).scalars())


async def import_themenfelder(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    return await _audited(
        session,
        path,
        row_model=ThemenfeldRow,
        table=Themenfeld,
        key="id",
        key_column="themenfeld_id",
        to_record=lambda row: {"id": row.themenfeld_id, "name": row.name},
        skip_invalid=skip_invalid,
        progress=progress,
    )


async def import_lebenslagen(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    themenfelder = await _ids(session, col(Themenfeld.id))

    def check(row: LebenslageRow) -> str | None:
        if row.themenfeld_id not in themenfelder:
            return f"themenfeld_id {row.themenfeld_id} is not in {THEMENFELDER_FILE}"
        return None

    return await _audited(
        session,
        path,
        row_model=LebenslageRow,
        table=Lebenslage,
        key="id",
        key_column="lebenslage_id",
        to_record=lambda row: {
            "id": row.lebenslage_id,
            "name": row.name,
            "themenfeld_id": row.themenfeld_id,
        },
        check=check,
        skip_invalid=skip_invalid,
        progress=progress,
    )


async def import_leistungen(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    themenfeld_of: dict[int, int] = {
        row.id: row.themenfeld_id
        for row in await run(session, select(col(Lebenslage.id), col(Lebenslage.themenfeld_id)))
    }

    def check(row: LeistungRow) -> str | None:
        if row.lebenslage_id not in themenfeld_of:
            return f"lebenslage_id {row.lebenslage_id} is not in {LEBENSLAGEN_FILE}"
        if themenfeld_of[row.lebenslage_id] != row.themenfeld_id:
            return (
                f"themenfeld_id {row.themenfeld_id} differs from Lebenslage {row.lebenslage_id}'s "
                f"Themenfeld {themenfeld_of[row.lebenslage_id]}"
            )
        return None

    return await _audited(
        session,
        path,
        row_model=LeistungRow,
        table=OzgLeistung,
        key="ozg_id",
        to_record=lambda row: {
            "ozg_id": row.ozg_id,
            "name": row.name,
            "search_name": search_key(row.name),
            "lebenslage_id": row.lebenslage_id,
            "themenfeld_id": row.themenfeld_id,
            "kdn_id": row.kdn_id,
        },
        check=check,
        skip_invalid=skip_invalid,
        progress=progress,
    )


async def import_leika(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    ozg_ids = await _ids(session, col(OzgLeistung.ozg_id))
    keys_in_file: dict[str, int] = {}

    def check(row: LeikaRow) -> str | None:
        if row.leika_key is not None:
            if row.leika_key in keys_in_file:
                first = keys_in_file[row.leika_key]
                return f"leika_key {row.leika_key} already given for kdn_id {first}"
            keys_in_file[row.leika_key] = row.kdn_id
        if row.ozg_id is not None and row.ozg_id not in ozg_ids:
            return f"ozg_id {row.ozg_id} is not in {LEISTUNGEN_FILE}"
        return None

    return await _audited(
        session,
        path,
        row_model=LeikaRow,
        table=LeikaLeistung,
        key="kdn_id",
        to_record=lambda row: {
            **row.model_dump(),
            "search_name": search_key(row.name),
        },
        check=check,
        skip_invalid=skip_invalid,
        progress=progress,
    )


Importer = Callable[..., Awaitable[ImportResult]]
# In dependency order; each is run in a transaction of its own.
CATALOG_FILES: list[tuple[str, Importer]] = [
    (THEMENFELDER_FILE, import_themenfelder),
    (LEBENSLAGEN_FILE, import_lebenslagen),
    (LEISTUNGEN_FILE, import_leistungen),
    (LEIKA_FILE, import_leika),
]
