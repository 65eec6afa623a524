"""Import of real availability data into assessments.

WSP NRW: the LeiKa services live in the NRW Wirtschafts-Service-Portal become, for every NRW
Gemeinde (Land 05), a validated online-access assessment on the default model with the level
**at least 3** („Online-Leistung“: the application runs online). The portal list rates no
criteria, so the level is a floor from the source (provisional, every criterion missing), the
portal link (its path on `models.PORTALS`) is the evidence, and the row is marked as a Land-wide
portal. Its date is the assessment's and the validation's date. Keys not in the catalogue are
reported, not dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Table, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.catalog.models import LeikaLeistung
from tracker.db import insert_many, run
from tracker.importing import (
    CHUNK_ROWS,
    ImportRejected,
    ImportResult,
    ProgressFn,
    RecordChange,
    RowError,
    drop_duplicates,
    read_csv,
    settle_errors,
    validate_rows,
)
from tracker.maturity import pairs, queries
from tracker.maturity.models import PORTALS, Assessment, Dimension, Source, Status
from tracker.regions import queries as regions_queries

WSP_NRW_FILE = "wsp_nrw_onlinedienste_live_2024-11-11.csv"
WSP_NRW_LEVEL = 3
NRW = "05"
PORTAL = "Wirtschafts-Service-Portal.NRW"


class WspRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True, frozen=True)
    name: Annotated[str, StringConstraints(min_length=1), Field(alias="Name")]
    key: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$"), Field(alias="Nummer")]
    service: Annotated[str, Field(alias="Onlinedienst (übergeordnet)")]
    live: Annotated[str, StringConstraints(pattern=r"^Ja$"), Field(alias="Live")]
    landing: Annotated[str, Field(alias="Landingpage")]
    direct: Annotated[str, Field(alias="Direktlink (nur ODs ohne Landingpage)")]
    office: Annotated[str, Field(alias="Stelle")]


ASSESSMENT_TABLE: Table = Assessment.__table__  # type: ignore[attr-defined]


def source_floor(
    model: queries.LoadedModel, *, level: int, source: Source, at: datetime, comment: str
) -> dict[str, Any]:
    """The columns of a validated online assessment from a source that gives a level floor and
    rates no criteria: provisional, every criterion missing, assessed and validated at `at`."""
    return {
        "dimension": Dimension.ONLINE.value, "model_id": model.model_id, "ratings": {},
        "level": level, "provisional": True, "missing_criteria": list(model.criterion_keys),
        "source": source.value, "corrects_id": None, "assessed_at": at,
        "assessed_by": source.value, "status": Status.VALIDATED.value, "status_comment": comment,
        "status_changed_at": at, "status_changed_by": source.value, "version": 1,
    }  # fmt: skip


async def insert_assessments(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """COPY or a core executemany: no ORM bookkeeping for many new rows."""
    await insert_many(await session.connection(), ASSESSMENT_TABLE, rows)


async def store_created(
    session: AsyncSession,
    result: ImportResult,
    rows: list[dict[str, Any]],
    *,
    progress: ProgressFn | None = None,
    rows_per_step: int = 1,
) -> None:
    """Insert an importer's new rows in chunks, count them, refresh the pairs they move, and
    audit the run (one entry per created assessment)."""
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        await insert_assessments(session, chunk)
        if progress is not None:
            progress(len(chunk) // max(rows_per_step, 1))
    await pairs.refresh_assessed(session, rows)
    result.inserted = len(rows)
    result.changes = [RecordChange(row["external_id"], "create", None) for row in rows]
    await access_actions.record_import(session, result, entity="assessment")


def publication_date(path: Path) -> datetime:
    """The list's date, from its file name (…_YYYY-MM-DD.csv)."""
    found = re.search(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", path.name)
    if found is None:
        raise ImportRejected(
            [RowError(path.name, 1, "the file name carries no date (…_YYYY-MM-DD.csv)")]
        )
    year, month, day = (int(part) for part in found.groups())
    return datetime(year, month, day, tzinfo=UTC)


def skip_repeats(
    source: str, rows: list[tuple[int, WspRow]]
) -> tuple[list[tuple[int, WspRow]], list[RowError]]:
    """A row repeated word for word is listed and skipped (the real list has one); the same key
    with other content stays an error for `drop_duplicates`."""
    first: dict[WspRow, int] = {}
    kept, repeats = [], []
    for line, row in rows:
        if row in first:
            repeats.append(
                RowError(source, line, f"repeats line {first[row]} word for word; skipped")
            )
        else:
            first[row] = line
            kept.append((line, row))
    return kept, repeats


async def import_wsp_nrw(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    stand = publication_date(path)
    columns = [info.alias for info in WspRow.model_fields.values() if info.alias]
    parsed, errors = validate_rows(path.name, read_csv(path, columns), WspRow)
    parsed, repeats = skip_repeats(path.name, parsed)
    parsed, duplicates = drop_duplicates(path.name, parsed, lambda row: row.key, "Nummer")
    result = ImportResult(
        path.name, rejected=settle_errors(errors + duplicates, skip_invalid=skip_invalid),
        skipped=repeats,
    )  # fmt: skip

    keys = {row.key for _, row in parsed}
    statement = select(col(LeikaLeistung.leika_key), col(LeikaLeistung.id)).where(
        col(LeikaLeistung.leika_key).in_(keys)
    )
    leika_ids: dict[str, int] = {row.leika_key: row.id for row in await run(session, statement)}
    for line, row in parsed:
        if row.key not in leika_ids:
            result.skipped.append(
                RowError(path.name, line, f"LeiKa key {row.key} is not in the catalogue")
            )
    result.skipped.sort(key=lambda error: error.line)
    gemeinden = [
        gemeinde.ars
        for gemeinde in await regions_queries.inhabited_gemeinden(session)
        if gemeinde.land_code == NRW
    ]
    model = await queries.model_for(session, Dimension.ONLINE.value, None)
    prefix = f"wsp-nrw:{stand.date().isoformat()}:"
    existing = set(
        (
            await run(
                session,
                select(col(Assessment.external_id)).where(
                    col(Assessment.external_id).startswith(prefix)
                ),
            )
        )
        .scalars()
        .all()
    )
    rows: list[dict[str, Any]] = []
    for _, row in parsed:
        if row.key not in leika_ids:
            continue
        evidence = [{
            "kind": "url", "ref": urljoin(PORTALS[Source.WSP_NRW] + "/", row.landing or row.direct),
            "note": f"{PORTAL}: {row.service} (live am {stand:%d.%m.%Y}; Stelle: {row.office})",
        }]  # fmt: skip
        common: dict[str, Any] = {
            **source_floor(
                model, level=WSP_NRW_LEVEL, source=Source.WSP_NRW, at=stand,
                comment=f"Live-Liste des {PORTAL} vom {stand:%d.%m.%Y}",
            ),
            "leika_id": leika_ids[row.key], "ozg_id": None, "evidence": evidence,
            "land_wide_portal": True,
        }  # fmt: skip
        for ars in gemeinden:
            external_id = f"{prefix}{row.key}:{ars}"
            if external_id in existing:
                result.unchanged += 1
            else:
                rows.append({**common, "external_id": external_id, "ars": ars})
    await store_created(session, result, rows, progress=progress, rows_per_step=len(gemeinden))
    return result
