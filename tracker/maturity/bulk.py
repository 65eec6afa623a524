"""Bulk import and export of assessments in one CSV/XLSX schema: what export writes, import reads.

Idempotent on `external_id` (required): a row whose external id is stored with the same content
is unchanged; with other content it is an error (assessments are append-only: a correction is
a new row with its own external id and `corrects` naming the old one). Rows stream through in
chunks inside the caller's transaction; any error rejects the file and the transaction is
rolled back, unless invalid rows are to be skipped.

Two trust levels: the operator (CLI) imports rows with the status and dates the file gives
(default validated); an upload through the API records rows as the uploader's own, `submitted`
for review (four eyes), within the uploader's editor scope.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import importing, tabular
from tracker.access import actions as access_actions
from tracker.access.guards import Principal
from tracker.access.models import Role
from tracker.bodies import json_depth
from tracker.catalog import queries as catalog_queries
from tracker.catalog.models import OzgLeistung
from tracker.db import as_utc, insert_new, lock_until_commit, run
from tracker.errors import BadRequest, TrackerError
from tracker.fields import Ars, LeikaKey, Text, ascii_digits, check_moment, parse_moment
from tracker.importing import (
    ErrorLog,
    ImportRejected,
    ImportResult,
    ProgressFn,
    RowError,
    describe,
)
from tracker.maturity import pairs, queries, rules
from tracker.maturity.imports import ASSESSMENT_TABLE, insert_assessments
from tracker.maturity.models import NOT_REQUIRED, Assessment, Dimension, Source, Status
from tracker.maturity.schemas import MAX_EVIDENCE, Evidence, OzgId
from tracker.regions.models import Gemeinde
from tracker.tabular import read_cell, write_xlsx
from tracker.webhooks import actions as webhooks_actions

COLUMNS = (
    "external_id", "ars", "leika_key", "ozg_id", "dimension", "model", "ratings", "level",
    "provisional", "evidence", "source", "land_wide_portal", "assessed_at", "assessed_by",
    "status", "status_comment", "status_changed_at", "status_changed_by", "corrects",
)  # fmt: skip
REQUIRED = ("external_id", "ars", "dimension")
XLSX_MEDIA_TYPE = tabular.XLSX_MEDIA_TYPE
CHUNK = 5000
OWN_PREFIX = "tracker:"  # external ids given to assessments recorded here
UPLOAD_SOURCES = {Source.SELF, Source.PROBE, Source.AUDIT}
EVIDENCE_DEPTH = 2  # a list of flat objects
Name = Annotated[Text, StringConstraints(min_length=1, max_length=100)]


def parse_ratings(text: str) -> dict[str, int | str]:
    """`leistungsbeschreibung=4; nachweise=n/a`: criterion key = level or n/a."""
    ratings: dict[str, int | str] = {}
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        key, sep, value = (item.strip() for item in part.partition("="))
        if not sep or not key:
            raise ValueError(f"{part!r} is not criterion=level")
        if key in ratings:
            raise ValueError(f"criterion {key} is rated twice")
        if value == NOT_REQUIRED:
            ratings[key] = value
        elif ascii_digits(value):
            ratings[key] = int(value)
        else:
            raise ValueError(f"{key}: {value!r} is not a level or {NOT_REQUIRED}")
    return ratings


def format_ratings(ratings: dict[str, Any]) -> str:
    return "; ".join(f"{key}={value}" for key, value in ratings.items())


def parse_evidence(text: str) -> list[dict[str, Any]]:
    """A JSON list of {kind, ref, note}, or plain URLs separated by white space; at most
    MAX_EVIDENCE items, as the API takes."""
    if text.startswith(("[", "{")):
        # A valid list has at most MAX_EVIDENCE + 1 brackets and braces; fewer cannot nest deep
        # enough to matter, so the exact (slower) count is needed only beyond that.
        containers = text.count("[") + text.count("{")
        if containers > MAX_EVIDENCE + 1 and json_depth(text.encode()) > EVIDENCE_DEPTH:
            raise ValueError(f"nests deeper than a list of objects ({EVIDENCE_DEPTH} levels)")
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError("must be a JSON list of {kind, ref, note}")
    else:
        items = [{"kind": "url", "ref": ref} for ref in text.split()]
    if len(items) > MAX_EVIDENCE:
        raise ValueError(f"{len(items)} items, at most {MAX_EVIDENCE}")
    return [Evidence.model_validate(item).model_dump() for item in items]


def parse_flag(text: str) -> bool:
    value = text.strip().lower()
    if value in {"", "0", "false", "nein", "no"}:
        return False
    if value in {"1", "true", "ja", "yes"}:
        return True
    raise ValueError(f"{text!r} is not ja/nein")


class BulkRow(BaseModel):
    """One row as read: text cells, empty meaning absent."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)
    external_id: Name
    ars: Ars
    leika_key: LeikaKey | None = None
    ozg_id: OzgId | None = None
    dimension: Dimension
    model: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.\-]{1,40}$")] | None = None
    ratings: dict[str, int | str] = Field(default_factory=dict)
    level: Annotated[int, Field(ge=0, le=99)] | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    source: Source = Source.SELF
    land_wide_portal: bool = False
    assessed_at: datetime
    assessed_by: Name | None = None
    status: Status | None = None
    status_comment: Annotated[Text, StringConstraints(max_length=2000)] | None = None
    status_changed_at: datetime | None = None
    status_changed_by: Name | None = None
    corrects: Name | None = None

    @field_validator("ratings", mode="before")
    @classmethod
    def _ratings(cls, value: Any) -> Any:
        return parse_ratings(value) if isinstance(value, str) else value

    @field_validator("evidence", mode="before")
    @classmethod
    def _evidence(cls, value: Any) -> Any:
        return parse_evidence(value) if isinstance(value, str) else value

    @field_validator("land_wide_portal", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return parse_flag(value) if isinstance(value, str) else value

    @field_validator("assessed_at", "status_changed_at", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:  # the common ISO forms fast, the rest (and the errors) by the strict parser
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
        try:
            return parse_moment(value)
        except BadRequest as exc:
            raise ValueError(exc.detail) from None

    @field_validator("assessed_at", "status_changed_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_moment(value)


def batched(rows: Iterable[tuple[int, dict[str, str]]], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def read_cells(rows: Iterable[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Drop empty cells, so that absent and empty are alike, and take off the quote that the
    tracker's exports put before text a spreadsheet would run (`tabular.read_cell`)."""
    for line, row in rows:
        yield line, {key: read_cell(value) for key, value in row.items() if value not in ("", None)}


def csv_rows(lines: Iterable[bytes], source: str) -> Iterator[tuple[int, dict[str, str]]]:
    return importing.csv_rows(lines, source, REQUIRED)


def capped(
    rows: Iterable[tuple[int, dict[str, str]]], source: str, max_rows: int | None
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows, refusing the file at the first row beyond `max_rows` (an upload's bound)."""
    for count, (line, row) in enumerate(rows, start=1):
        if max_rows is not None and count > max_rows:
            raise ImportRejected(
                [RowError(source, line, f"more than {max_rows} rows; split the file")]
            )
        yield line, row


def xlsx_rows(
    handle: io.BytesIO | Path,
    source: str,
    *,
    max_rows: int | None = None,
    max_unpacked_bytes: int = tabular.OPERATOR_XLSX_BYTES,
) -> Iterator[tuple[int, dict[str, str]]]:
    return tabular.xlsx_rows(
        handle, source, REQUIRED, max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes
    )


@dataclass
class Context:
    """What every row is checked against, loaded once per file."""

    gemeinden: set[str]
    leika: dict[str, int]
    leistungen: set[str]
    models: dict[tuple[str, str | None], queries.LoadedModel]
    upload_by: Principal | None
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, upload_by: Principal | None) -> Context:
        gemeinden = set((await run(session, select(col(Gemeinde.ars)))).scalars())
        leika = await catalog_queries.leika_ids(session)
        leistungen = set((await run(session, select(col(OzgLeistung.ozg_id)))).scalars())
        models: dict[tuple[str, str | None], queries.LoadedModel] = {}
        for loaded in await queries.list_models(session):
            models[(loaded.model.dimension, loaded.model.key)] = loaded
            if loaded.model.is_default:
                models[(loaded.model.dimension, None)] = loaded
        return cls(gemeinden, leika, leistungen, models, upload_by)


def to_record(row: BulkRow, context: Context, source: str, now: datetime) -> dict[str, Any]:
    """The stored columns of a checked row; raises ValueError with what is wrong."""
    if (row.leika_key is None) == (row.ozg_id is None):
        raise ValueError("give exactly one of leika_key and ozg_id")
    if row.ars not in context.gemeinden:
        raise ValueError(f"ars: Gemeinde {row.ars} does not exist")
    if row.leika_key is not None and row.leika_key not in context.leika:
        raise ValueError(f"leika_key: {row.leika_key} is not in the catalogue")
    if row.ozg_id is not None and row.ozg_id not in context.leistungen:
        raise ValueError(f"ozg_id: {row.ozg_id} is not in the catalogue")
    loaded = context.models.get((row.dimension.value, row.model))
    if loaded is None:
        raise ValueError(f"model: {row.model} is no model of the dimension {row.dimension.value}")
    if row.ratings:
        try:
            scoring = rules.score(loaded.criteria, loaded.level_list, row.ratings)
        except TrackerError as exc:
            raise ValueError(f"ratings: {exc.detail}") from None
        if row.level is not None and row.level != scoring.level:
            raise ValueError(f"level: {row.level} given, the ratings give {scoring.level}")
        level, provisional, missing = scoring.level, scoring.provisional, scoring.missing
    elif row.level is None:
        raise ValueError("give ratings, or a level where the source rates no criteria")
    elif row.level not in loaded.level_list:
        raise ValueError(f"level: {row.level} is not a level of {loaded.model.key}")
    else:
        level, provisional = row.level, True
        missing = list(loaded.criterion_keys)
    upload = context.upload_by
    if upload is not None:
        if not upload.may(Role.EDITOR, row.ars):
            raise ValueError(f"ars: you are no editor for Gemeinde {row.ars}")
        if row.assessed_by not in (None, upload.actor):
            raise ValueError(f"assessed_by: an upload is assessed by you ({upload.actor})")
        if row.source not in UPLOAD_SOURCES:
            raise ValueError(f"source: {row.source.value} is only for the importers")
        if row.status not in (None, Status.DRAFT, Status.SUBMITTED):
            raise ValueError("status: an upload is reviewed by a second person (draft/submitted)")
        status = (row.status or Status.SUBMITTED).value
        assessed_by = changed_by = upload.actor
        changed_at = now
    else:
        status = (row.status or Status.VALIDATED).value
        assessed_by = row.assessed_by or source
        changed_by = row.status_changed_by or assessed_by
        changed_at = row.status_changed_at or row.assessed_at
    return {
        "external_id": row.external_id, "ars": row.ars,
        "leika_id": None if row.leika_key is None else context.leika[row.leika_key],
        "ozg_id": row.ozg_id, "dimension": row.dimension.value, "model_id": loaded.model_id,
        "ratings": dict(row.ratings), "level": level, "provisional": provisional,
        "missing_criteria": missing, "evidence": row.evidence, "source": row.source.value,
        "land_wide_portal": row.land_wide_portal, "corrects_id": None,
        "assessed_at": row.assessed_at, "assessed_by": assessed_by, "status": status,
        "status_comment": row.status_comment, "status_changed_at": changed_at,
        "status_changed_by": changed_by, "version": 1,
    }  # fmt: skip


SAME = ("ars", "leika_id", "ozg_id", "dimension", "model_id", "ratings", "level", "evidence")


def same_content(stored: Assessment, record: dict[str, Any]) -> bool:
    return all(getattr(stored, name) == record[name] for name in SAME) and as_utc(
        stored.assessed_at
    ) == as_utc(record["assessed_at"])


async def import_assessments(
    session: AsyncSession,
    rows: Iterable[tuple[int, dict[str, str]]],
    source: str,
    *,
    upload_by: Principal | None = None,
    skip_invalid: bool = False,
    max_rows: int | None = None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Check and store the rows; with `max_rows` (an upload) a longer file is refused. Errors
    are listed up to MAX_ERRORS_LISTED and counted beyond.

    Bulk imports run one at a time: files sharing external ids in crossing orders would
    otherwise wait on each other's new rows (a deadlock on PostgreSQL); in turn, each finds the
    rows of the one before stored and counts them unchanged."""
    await lock_until_commit(session, "tracker.maturity.bulk")
    context = await Context.load(session, upload_by)
    moved = await pairs.touched(session)
    result = ImportResult(source)
    errors = ErrorLog()
    now = datetime.now(UTC)
    for chunk in batched(read_cells(capped(rows, source, max_rows)), CHUNK):
        records: list[tuple[int, dict[str, Any], str | None]] = []
        for line, raw in chunk:
            if "__extra__" in raw:
                errors.append(RowError(source, line, raw["__extra__"]))
                continue
            given = str(raw.get("external_id", "")).strip()
            first = context.seen.setdefault(given, line) if given else line
            if first != line:
                errors.append(
                    RowError(source, line, f"external_id {given} already given on line {first}")
                )
                continue
            try:
                row = BulkRow.model_validate(raw)
                record = to_record(row, context, source, now)
            except ValidationError as exc:
                errors.append(RowError(source, line, describe(exc)))
                continue
            except ValueError as exc:
                errors.append(RowError(source, line, str(exc)))
                continue
            records.append((line, record, row.corrects))
        moved.add(await write_chunk(session, records, result, errors))
        if progress is not None:
            progress(len(chunk))
    result.rejected = errors.settle(skip_invalid=skip_invalid)
    result.rejected_unlisted = errors.total - len(result.rejected)
    await moved.refresh(session)
    if upload_by is not None:  # an upload (the CLI emits for every file it imports)
        await webhooks_actions.emit(session, "import.finished", None, {
            "source": source, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": result.rejected_count,
            "uploaded_by": upload_by.actor,
        })  # fmt: skip
    return result


async def write_chunk(
    session: AsyncSession,
    records: list[tuple[int, dict[str, Any], str | None]],
    result: ImportResult,
    errors: ErrorLog,
) -> list[dict[str, Any]]:
    """Store the new rows of a chunk, compare the stored ones; returns the rows inserted."""
    wanted = [record["external_id"] for _, record, _ in records]
    stored = {
        found.external_id: found
        for found in (
            await run(session, select(Assessment).where(col(Assessment.external_id).in_(wanted)))
        ).scalars()
    }
    fresh: list[tuple[int, dict[str, Any]]] = []
    inserted: list[dict[str, Any]] = []
    for line, record, corrects in records:
        known = stored.get(record["external_id"])
        if known is None and record["external_id"].startswith(OWN_PREFIX):
            errors.append(RowError(result.source, line, (
                f"external_id: {OWN_PREFIX}… names assessments stored here; "
                f"{record['external_id']} is not one"
            )))  # fmt: skip
            continue
        if known is not None:
            compare(known, line, record, result, errors)
            continue
        if corrects is not None:
            if any(pending["external_id"] == corrects for _, pending in fresh):
                inserted += await insert_rows(session, fresh, result, errors)
                fresh = []
            problem = await link_correction(session, record, corrects)
            if problem:
                errors.append(RowError(result.source, line, problem))
                continue
        fresh.append((line, record))
    return inserted + await insert_rows(session, fresh, result, errors)


def compare(
    known: Assessment, line: int, record: dict[str, Any], result: ImportResult, errors: ErrorLog
) -> None:
    """A row whose external id is stored: unchanged with the same content, else an error."""
    if same_content(known, record):
        result.unchanged += 1
    else:
        errors.append(RowError(result.source, line, (
            f"external_id {record['external_id']} is stored with other content; a "
            "correction needs its own external_id and corrects naming this one"
        )))  # fmt: skip


async def insert_rows(
    session: AsyncSession,
    rows: list[tuple[int, dict[str, Any]]],
    result: ImportResult,
    errors: ErrorLog,
) -> list[dict[str, Any]]:
    """Insert new rows and return those inserted; one that a concurrent transaction stored
    first (the JSON API with the same external id) is compared like any stored row, instead of
    failing the file.

    Bulk imports run one at a time, so that is rare: the plain insert is tried first (in a
    savepoint), and only if it collides are the rows inserted again skipping conflicts, which
    with RETURNING costs a fifth more."""
    records = [record for _, record in rows]
    try:
        async with session.begin_nested():
            await insert_assessments(session, records)
        inserted = {record["external_id"] for record in records}
    except IntegrityError:
        connection = await session.connection()
        inserted = await insert_new(connection, ASSESSMENT_TABLE, records, "external_id")
    result.inserted += len(inserted)
    raced = [(line, record) for line, record in rows if record["external_id"] not in inserted]
    if raced:
        wanted = [record["external_id"] for _, record in raced]
        statement = select(Assessment).where(col(Assessment.external_id).in_(wanted))
        stored = {found.external_id: found for found in (await run(session, statement)).scalars()}
        for line, record in raced:
            compare(stored[record["external_id"]], line, record, result, errors)
    return [record for record in records if record["external_id"] in inserted]


async def link_correction(
    session: AsyncSession, record: dict[str, Any], corrects: str
) -> str | None:
    corrected = await queries.by_external_id(session, corrects)
    if corrected is None:
        return f"corrects: no assessment has the external_id {corrects}"
    same = (corrected.ars, corrected.leika_id, corrected.ozg_id, corrected.dimension)
    if same != (record["ars"], record["leika_id"], record["ozg_id"], record["dimension"]):
        return f"corrects: {corrects} is about another Gemeinde, Leistung or dimension"
    record["corrects_id"] = corrected.id
    return None


# --- export -------------------------------------------------------------------------------------


def export_line(row: Any) -> list[Any]:
    """One assessment (a row of `queries.list_assessments`) in the bulk schema."""
    item: Assessment = row.Assessment
    return [
        item.external_id, item.ars, row.leika_key, item.ozg_id,
        item.dimension, row.model_key, format_ratings(item.ratings), item.level,
        "ja" if item.provisional else "nein",
        json.dumps(item.evidence, ensure_ascii=False) if item.evidence else "", item.source,
        "ja" if item.land_wide_portal else "nein", as_utc(item.assessed_at).isoformat(),
        item.assessed_by, item.status, item.status_comment,
        None if item.status_changed_at is None else as_utc(item.status_changed_at).isoformat(),
        item.status_changed_by, row.corrects_external_id,
    ]  # fmt: skip


def xlsx_bytes(lines: Sequence[Sequence[Any]]) -> bytes:
    return write_xlsx("Bewertungen", COLUMNS, lines)


async def import_file(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """The operator's import of a bulk file (CSV, or XLSX by its suffix); one audit entry for
    the file with its counts (the rows themselves are the append-only record)."""
    if path.suffix.lower() == ".xlsx":
        result = await import_assessments(
            session, xlsx_rows(path, path.name), path.name, skip_invalid=skip_invalid,
            progress=progress,
        )  # fmt: skip
    else:
        with path.open("rb") as handle:
            result = await import_assessments(
                session, csv_rows(handle, path.name), path.name, skip_invalid=skip_invalid,
                progress=progress,
            )  # fmt: skip
    await access_actions.record_import(session, result, entity="assessment")
    return result
