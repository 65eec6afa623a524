"""Bulk import and export of assessments in one CSV/XLSX schema: what export writes, import reads.

Idempotent on `external_id` (required): a row whose external id is stored with the same content
is unchanged; with other content it is an error (assessments are append-only: a correction is
a new row with its own external id and `corrects` naming the old one). Rows stream through in
chunks into a temporary staging table inside the caller's transaction, are checked there in a
few set-based statements, and inserted in one; any error rejects the file and the transaction
is rolled back, unless invalid rows are to be skipped.

Two trust levels: the operator (CLI) imports rows with the status and dates the file gives
(default validated); an upload through the API records rows as the uploader's own, `submitted`
for review (four eyes), within the uploader's editor scope.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    not_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import Text as SqlText
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import importing, tabular
from tracker.access import actions as access_actions
from tracker.access.guards import Principal
from tracker.access.models import Role
from tracker.bodies import json_depth
from tracker.catalog.models import LeikaLeistung, OzgLeistung
from tracker.db import as_utc, lock_until_commit, roomy_sorts
from tracker.errors import BadRequest, TrackerError
from tracker.fields import (
    CLOCK_SKEW,
    EARLIEST_MOMENT,
    Ars,
    LeikaKey,
    Text,
    ascii_digits,
    check_moment,
    parse_moment,
)
from tracker.importing import (
    MAX_ERRORS_LISTED,
    ErrorLog,
    ImportRejected,
    ImportResult,
    ProgressFn,
    RowError,
    describe,
)
from tracker.maturity import pairs, queries, rules
from tracker.maturity.imports import ASSESSMENT_TABLE
from tracker.maturity.models import NOT_REQUIRED, Assessment, Dimension, ModelLevel, Source, Status
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
UPLOAD_SOURCES = frozenset(item.value for item in (Source.SELF, Source.PROBE, Source.AUDIT))
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
        return read_moment(value) if isinstance(value, str) else value

    @field_validator("assessed_at", "status_changed_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_moment(value)


def read_moment(value: str) -> datetime:
    """An ISO 8601 moment (naive: UTC): the common forms fast, the rest (and the errors) by the
    strict parser; ValueError saying what is wrong."""
    try:
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = parse_moment(value)
    except BadRequest as exc:
        raise ValueError(exc.detail) from None
    assert parsed is not None  # noqa: S101  (a value was given)
    return parsed


def batched(rows: Iterable[tuple[int, dict[str, str]]], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


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


class Parsed(NamedTuple):
    """A row's fields as read (BulkRow's, without its per-row validation cost)."""

    external_id: str
    ars: str
    leika_key: str | None
    ozg_id: str | None
    dimension: str
    model: str | None
    ratings: dict[str, int | str]
    level: int | None
    evidence: list[dict[str, Any]]
    source: str
    land_wide_portal: bool
    assessed_at: datetime
    assessed_by: str | None
    status: str | None
    status_comment: str | None
    status_changed_at: datetime | None
    status_changed_by: str | None
    corrects: str | None

    @classmethod
    def of(cls, row: BulkRow) -> Parsed:
        return cls(
            row.external_id, row.ars, row.leika_key, row.ozg_id, row.dimension.value, row.model,
            row.ratings, row.level, row.evidence, row.source.value, row.land_wide_portal,
            row.assessed_at, row.assessed_by, None if row.status is None else row.status.value,
            row.status_comment, row.status_changed_at, row.status_changed_by, row.corrects,
        )  # fmt: skip


_ARS = re.compile(r"[0-9]{12}")
_LEIKA = re.compile(r"[0-9]{14}")
_OZG = re.compile(r"[0-9A-Za-z]{1,20}")
_MODEL = re.compile(r"[a-z0-9.\-]{1,40}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
DIMENSIONS = frozenset(item.value for item in Dimension)
SOURCES = frozenset(item.value for item in Source)
STATUSES = frozenset(item.value for item in Status)
SELF = Source.SELF.value
# Cells the fast path reads; a row with any other (ratings, evidence, a flag) goes through
# BulkRow. `provisional` is written by the export and never read.
QUICK_CELLS = frozenset(COLUMNS) - {"ratings", "evidence", "land_wide_portal"}


def quick_row(raw: dict[str, str], latest: datetime) -> Parsed | None:
    """The row read without pydantic when every cell is plainly valid (as the exports and the
    benchmark write them); None when BulkRow must decide (and word any error). Accepts nothing
    that BulkRow refuses and reads every cell as it does; `latest` is the plausible moments'
    bound (`fields.check_moment`), taken once per file."""
    if not QUICK_CELLS.issuperset(raw):
        return None
    for value in raw.values():
        if value != value.strip():
            return None
    get = raw.get
    external_id, ars, dimension = get("external_id"), get("ars"), get("dimension")
    assessed = get("assessed_at")
    if external_id is None or ars is None or dimension is None or assessed is None:
        return None
    leika_key, ozg_id, model, level = get("leika_key"), get("ozg_id"), get("model"), get("level")
    source, status = get("source", SELF), get("status")
    comment, changed = get("status_comment"), get("status_changed_at")
    assessed_by, changed_by, corrects = (
        get("assessed_by"), get("status_changed_by"), get("corrects")
    )  # fmt: skip
    if (
        len(external_id) > 100
        or not _ARS.fullmatch(ars)
        or dimension not in DIMENSIONS
        or source not in SOURCES
        or (leika_key is not None and not _LEIKA.fullmatch(leika_key))
        or (ozg_id is not None and not _OZG.fullmatch(ozg_id))
        or (model is not None and not _MODEL.fullmatch(model))
        or (level is not None and not _LEVEL.fullmatch(level))
        or (status is not None and status not in STATUSES)
        or (comment is not None and len(comment) > 2000)
        or (assessed_by is not None and len(assessed_by) > 100)
        or (changed_by is not None and len(changed_by) > 100)
        or (corrects is not None and len(corrects) > 100)
    ):
        return None
    try:
        assessed_at = datetime.fromisoformat(assessed)
        changed_at = None if changed is None else datetime.fromisoformat(changed)
    except ValueError:
        return None
    assessed_at = assessed_at if assessed_at.tzinfo else assessed_at.replace(tzinfo=UTC)
    if not EARLIEST_MOMENT <= assessed_at <= latest:
        return None
    if changed_at is not None:
        changed_at = changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=UTC)
        if not EARLIEST_MOMENT <= changed_at <= latest:
            return None
        changed_at = changed_at.astimezone(UTC)
    return Parsed(
        external_id, ars, leika_key, ozg_id, dimension, model, {},
        None if level is None else int(level), [], source, False, assessed_at.astimezone(UTC),
        assessed_by, status, comment, changed_at, changed_by, corrects,
    )  # fmt: skip


class Scale(NamedTuple):
    """A model as a staged row names it: loaded (to score ratings by the rule), its id and key,
    and its criteria as JSON (all missing, for a row without ratings); read once per file."""

    loaded: queries.LoadedModel | None
    model_id: int | None
    key: str | None
    unrated: str


NO_SCALE = Scale(None, None, None, "[]")  # no model of that key and dimension


@dataclass
class Context:
    """What a file's rows are read with in Python: the models by dimension and key (None: the
    default), the uploader. The external ids, the Gemeinden, the catalogue and the stored rows
    are checked in the database (`stage_problems`)."""

    scales: dict[tuple[str, str | None], Scale]
    upload_by: Principal | None
    latest: datetime = field(default_factory=lambda: datetime.now(UTC) + CLOCK_SKEW)

    @classmethod
    async def load(cls, session: AsyncSession, upload_by: Principal | None) -> Context:
        scales: dict[tuple[str, str | None], Scale] = {}
        for loaded in await queries.list_models(session):
            model = loaded.model
            scale = Scale(
                loaded, loaded.model_id, model.key, json.dumps(list(loaded.criterion_keys))
            )
            scales[(model.dimension, model.key)] = scale
            if model.is_default:
                scales[(model.dimension, None)] = scale
        return cls(scales, upload_by)


def stage_record(
    line: int, row: Parsed, context: Context, source: str, now: datetime
) -> tuple[Any, ...]:
    """A staging row (STAGE's columns): what the file says, the ratings scored by the rule, and
    the problems only Python can word (ratings, an upload's limits) for `stage_problems` to
    place among the others."""
    scale = context.scales.get((row.dimension, row.model), NO_SCALE)
    loaded = scale.loaded
    scored = problem = None
    provisional = True
    missing = scale.unrated
    if row.ratings and loaded is not None:
        try:
            scoring = rules.score(loaded.criteria, loaded.level_list, row.ratings)
        except TrackerError as exc:
            problem = f"ratings: {exc.detail}"
        else:
            scored, provisional = scoring.level, scoring.provisional
            missing = json.dumps(scoring.missing)
    upload = context.upload_by
    upload_problem = None
    if upload is not None:
        if not upload.may(Role.EDITOR, row.ars):
            upload_problem = f"ars: you are no editor for Gemeinde {row.ars}"
        elif row.assessed_by not in (None, upload.actor):
            upload_problem = f"assessed_by: an upload is assessed by you ({upload.actor})"
        elif row.source not in UPLOAD_SOURCES:
            upload_problem = f"source: {row.source} is only for the importers"
        elif row.status not in (None, Status.DRAFT, Status.SUBMITTED):
            upload_problem = "status: an upload is reviewed by a second person (draft/submitted)"
        status = row.status or Status.SUBMITTED.value
        assessed_by = changed_by = upload.actor
        changed_at = now
    else:
        status = row.status or Status.VALIDATED.value
        assessed_by = row.assessed_by or source
        changed_by = row.status_changed_by or assessed_by
        changed_at = row.status_changed_at or row.assessed_at
    return (
        line, row.external_id, row.ars, row.leika_key, row.ozg_id, row.dimension,
        row.model, scale.model_id, scale.key, row.level, bool(row.ratings), scored,
        provisional, missing, json.dumps(row.ratings) if row.ratings else "{}",
        json.dumps(row.evidence) if row.evidence else "[]", row.source,
        row.land_wide_portal, row.assessed_at, assessed_by, status, row.status_comment,
        changed_at, changed_by, row.corrects, problem, upload_problem,
    )  # fmt: skip


# The staging table of a file's rows (one per transaction, dropped at its end).
STAGE = Table(
    "bulk_stage", MetaData(),
    Column("line", Integer), Column("external_id", String), Column("ars", String),
    Column("leika_key", String), Column("ozg_id", String), Column("dimension", String),
    Column("model", String), Column("model_id", Integer), Column("model_key", String),
    Column("level", Integer), Column("rated", Boolean), Column("scored", Integer),
    Column("provisional", Boolean), Column("missing", SqlText), Column("ratings", SqlText),
    Column("evidence", SqlText), Column("source", String), Column("land_wide_portal", Boolean),
    Column("assessed_at", DateTime(timezone=True)), Column("assessed_by", String),
    Column("status", String), Column("status_comment", SqlText),
    Column("status_changed_at", DateTime(timezone=True)), Column("status_changed_by", String),
    Column("corrects", String), Column("ratings_problem", SqlText),
    Column("upload_problem", SqlText),
    prefixes=["TEMPORARY"],
)  # fmt: skip
STAGE_NAMES = [column.name for column in STAGE.columns]
STAGE_KEYS = ("external_id", "ars", "leika_key", "ozg_id", "model_id", "level")  # joined on
# The staged rows as checked: with the LeiKa row's id, the level that counts, the stored row of
# the external id (and whether it has the same content), and the first problem (None: fine).
CHECKED = Table(
    "bulk_checked", MetaData(),
    # keyed by line: a failing row is updated by its line (each a scan of all rows without)
    Column("line", Integer, primary_key=True, autoincrement=False),
    *(Column(column.name, column.type) for column in STAGE.columns if column.name != "line"),
    Column("leika_id", Integer), Column("final_level", Integer), Column("stored_id", Integer),
    Column("same", Boolean), Column("problem", SqlText),
    prefixes=["TEMPORARY"],
)  # fmt: skip
# The ids the file's insert made, on PostgreSQL (`new_ids`).
INSERTED = Table("bulk_inserted", MetaData(), Column("id", Integer), prefixes=["TEMPORARY"])
ID_CHUNK = 1000  # external ids per statement
COLLISIONS = 2  # inserts retried after colliding with a concurrent writer's rows
GEMEINDE_TABLE: Table = Gemeinde.__table__  # type: ignore[attr-defined]
LEIKA_TABLE: Table = LeikaLeistung.__table__  # type: ignore[attr-defined]
OZG_TABLE: Table = OzgLeistung.__table__  # type: ignore[attr-defined]
LEVEL_TABLE: Table = ModelLevel.__table__  # type: ignore[attr-defined]
STORED_CONTENT = ("ars", "leika_id", "ozg_id", "dimension", "model_id", "level", "assessed_at")


def _text(value: Any) -> Any:
    return cast(value, String)


def stage_problems() -> Select[Any]:
    """Per staged row, the checks in the order a reader fixes them: the Leistung named once,
    the Gemeinde and the Leistung known, the model and level, the ratings, an upload's limits,
    then against what is stored (same content under a known external id; no invented
    `tracker:` id). The correction a row names is checked after (`check_corrections`)."""
    s, a = STAGE.c, ASSESSMENT_TABLE.c
    gemeinde, leika, leistung = GEMEINDE_TABLE.c, LEIKA_TABLE.c, OZG_TABLE.c
    scale = LEVEL_TABLE.c
    final_level = case((s.rated, s.scored), else_=s.level)
    same = and_(
        a.ars == s.ars, a.leika_id.is_not_distinct_from(leika.id),
        a.ozg_id.is_not_distinct_from(s.ozg_id), a.dimension == s.dimension,
        a.model_id == s.model_id, a.level.is_not_distinct_from(final_level),
        a.assessed_at == s.assessed_at,
    )  # fmt: skip
    # a file's external ids counted here, not in a dict of every id read (a nationwide file
    # held hundreds of megabytes of them)
    first_line = func.min(s.line).over(partition_by=s.external_id)
    problem = case(
        (
            and_(s.external_id.is_not(None), first_line < s.line),
            "external_id " + s.external_id + " already given on line " + _text(first_line),
        ),
        (
            (s.leika_key.is_(None)) == (s.ozg_id.is_(None)),
            literal("give exactly one of leika_key and ozg_id"),
        ),
        (gemeinde.ars.is_(None), "ars: Gemeinde " + s.ars + " does not exist"),
        (
            and_(s.leika_key.is_not(None), leika.id.is_(None)),
            "leika_key: " + s.leika_key + " is not in the catalogue",
        ),
        (
            and_(s.ozg_id.is_not(None), leistung.ozg_id.is_(None)),
            "ozg_id: " + s.ozg_id + " is not in the catalogue",
        ),
        (
            s.model_id.is_(None),
            "model: " + func.coalesce(s.model, "None") + " is no model of the dimension "
            + s.dimension,
        ),
        (and_(s.rated, s.ratings_problem.is_not(None)), s.ratings_problem),
        (
            and_(s.rated, s.level.is_not(None), s.level != s.scored),
            "level: " + _text(s.level) + " given, the ratings give " + _text(s.scored),
        ),
        (
            and_(not_(s.rated), s.level.is_(None)),
            literal("give ratings, or a level where the source rates no criteria"),
        ),
        (
            and_(not_(s.rated), scale.level.is_(None)),
            "level: " + _text(s.level) + " is not a level of " + s.model_key,
        ),
        (s.upload_problem.is_not(None), s.upload_problem),
        (
            and_(a.id.is_not(None), not_(same)),
            "external_id " + s.external_id + " is stored with other content; a correction "
            "needs its own external_id and corrects naming this one",
        ),
        (
            and_(a.id.is_(None), func.substr(s.external_id, 1, len(OWN_PREFIX)) == OWN_PREFIX),
            f"external_id: {OWN_PREFIX}… names assessments stored here; " + s.external_id
            + " is not one",
        ),
        else_=None,
    )  # fmt: skip
    return (
        select(*STAGE.columns, leika.id, final_level, a.id, same, problem)
        .select_from(STAGE)
        .outerjoin(GEMEINDE_TABLE, gemeinde.ars == s.ars)
        .outerjoin(LEIKA_TABLE, leika.leika_key == s.leika_key)
        .outerjoin(OZG_TABLE, leistung.ozg_id == s.ozg_id)
        .outerjoin(LEVEL_TABLE, and_(scale.model_id == s.model_id, scale.level == s.level))
        .outerjoin(ASSESSMENT_TABLE, a.external_id == s.external_id)
    )


async def check_json_content(connection: AsyncConnection) -> None:
    """A stored row whose ratings or evidence read differently as text (keys in another order)
    is compared as data; only a real difference is a problem."""
    k, a = CHECKED.c, ASSESSMENT_TABLE.c
    text_same = and_(_text(a.ratings) == k.ratings, _text(a.evidence) == k.evidence)
    statement = (
        select(k.line, k.external_id, k.ratings, k.evidence, a.ratings, a.evidence)
        .join(ASSESSMENT_TABLE, a.id == k.stored_id)
        .where(k.problem.is_(None), k.same, not_(text_same))
    )
    differing = [
        {"failed_line": line, "problem": (
            f"external_id {external_id} is stored with other content; a correction needs "
            "its own external_id and corrects naming this one"
        )}
        for line, external_id, ratings, evidence, stored_ratings, stored_evidence in (
            await connection.execute(statement)
        )
        if (json.loads(ratings), json.loads(evidence)) != (stored_ratings, stored_evidence)
    ]  # fmt: skip
    if differing:
        await connection.execute(
            update(CHECKED).where(k.line == bindparam("failed_line")), differing
        )


async def check_corrections(connection: AsyncConnection) -> None:
    """A new row's `corrects` names a stored assessment, or a fine new row on an earlier line,
    about the same Gemeinde, Leistung and dimension. Repeated until no more rows fail, since a
    row that fails takes those correcting it along."""
    k, target = CHECKED.c, ASSESSMENT_TABLE.alias("target")
    earlier = CHECKED.alias("earlier")
    key = (k.ars, k.leika_id, k.ozg_id, k.dimension)
    pending = select(k.line, k.corrects, *key).where(
        k.problem.is_(None), k.stored_id.is_(None), k.corrects.is_not(None)
    )
    while candidates := (await connection.execute(pending)).all():
        names = sorted({candidate.corrects for candidate in candidates})
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(names), ID_CHUNK):
            chunk = names[start : start + ID_CHUNK]
            stored = select(
                target.c.external_id, literal(0), target.c.ars, target.c.leika_id,
                target.c.ozg_id, target.c.dimension,
            ).where(target.c.external_id.in_(chunk))  # fmt: skip
            staged = select(
                earlier.c.external_id, earlier.c.line, earlier.c.ars, earlier.c.leika_id,
                earlier.c.ozg_id, earlier.c.dimension,
            ).where(
                earlier.c.external_id.in_(chunk), earlier.c.problem.is_(None),
                earlier.c.stored_id.is_(None),
            )  # fmt: skip
            for statement in (stored, staged):
                for name, line, *identity in await connection.execute(statement):
                    found.setdefault(name, (line, *identity))
        failed: list[tuple[int, str]] = []
        for line, corrects, *identity in candidates:
            hit = found.get(corrects)
            if hit is None or hit[0] >= line:
                failed.append((line, f"corrects: no assessment has the external_id {corrects}"))
            elif tuple(hit[1:]) != tuple(identity):
                failed.append(
                    (line, f"corrects: {corrects} is about another Gemeinde, Leistung or dimension")
                )
        if not failed:
            return
        await connection.execute(
            update(CHECKED).where(k.line == bindparam("failed_line")),
            [{"failed_line": line, "problem": problem} for line, problem in failed],
        )


async def check_staged(connection: AsyncConnection) -> None:
    """Every check of the staged rows, into CHECKED (anew: after a concurrent writer's rows
    collided with the insert, they are stored rows now)."""
    await connection.execute(delete(CHECKED))
    # no ANALYZE (as fill_temporary would): what reads it scans it whole or joins it once
    names = [column.name for column in CHECKED.columns]
    await connection.execute(insert(CHECKED).from_select(names, stage_problems()))
    await check_json_content(connection)
    await check_corrections(connection)


async def fill_stage(connection: AsyncConnection, records: list[tuple[Any, ...]]) -> None:
    """Staged rows in bulk: PostgreSQL's COPY, else one executemany."""
    if not records:
        return
    if connection.dialect.name == "postgresql":
        driver: Any = (await connection.get_raw_connection()).driver_connection
        await driver.copy_records_to_table(STAGE.name, records=records, columns=STAGE_NAMES)
        return
    # the driver's executemany with the values as SQLAlchemy's types store them (a moment as
    # its UTC text): the Core insert's per-row parameter handling costs as much as the insert
    dialect = connection.dialect
    moments = [
        (index, processor)
        for index, column in enumerate(STAGE.columns)
        if (processor := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        and isinstance(column.type, DateTime)
    ]
    if moments:
        rows = [list(record) for record in records]
        for row in rows:
            for index, processor in moments:
                row[index] = processor(row[index])
        records = [tuple(row) for row in rows]
    compiled = insert(STAGE).compile(dialect=dialect)
    assert compiled.positiontup == STAGE_NAMES  # noqa: S101  (the driver takes them in order)
    await connection.exec_driver_sql(str(compiled), records)


def as_json(connection: AsyncConnection, value: Any) -> Any:
    """JSON text as a JSON column's value: a cast on PostgreSQL; SQLite keeps JSON as text (and
    a CAST to JSON there would read it as a number)."""
    if connection.dialect.name == "postgresql":
        return cast(value, JSON)
    return type_coerce(value, JSON)


FINE_NEW = (CHECKED.c.problem.is_(None), CHECKED.c.stored_id.is_(None))


class Tally(NamedTuple):
    """The checked rows by outcome."""

    failing: int
    new: int
    unchanged: int


async def tally(connection: AsyncConnection) -> Tally:
    """The checked rows counted in one pass."""
    k = CHECKED.c
    counts = select(
        func.count(k.problem),
        func.count().filter(*FINE_NEW),
        func.count().filter(k.problem.is_(None), k.stored_id.is_not(None)),
    )
    failing, new, unchanged = (await connection.execute(counts)).one()
    return Tally(int(failing), int(new), int(unchanged))


def new_rows(connection: AsyncConnection) -> Select[Any]:
    """The checked new rows in the assessment table's columns, in file order."""
    k = CHECKED.c
    values = {
        "external_id": k.external_id, "ars": k.ars, "leika_id": k.leika_id,
        "ozg_id": k.ozg_id, "dimension": k.dimension, "model_id": k.model_id,
        "ratings": as_json(connection, k.ratings), "level": k.final_level,
        "provisional": k.provisional, "missing_criteria": as_json(connection, k.missing),
        "evidence": as_json(connection, k.evidence), "source": k.source,
        "land_wide_portal": k.land_wide_portal, "assessed_at": k.assessed_at,
        "assessed_by": k.assessed_by, "status": k.status, "status_comment": k.status_comment,
        "status_changed_at": k.status_changed_at, "status_changed_by": k.status_changed_by,
        "version": literal(1),
    }  # fmt: skip
    return (
        select(*(value.label(name) for name, value in values.items()))
        .where(*FINE_NEW)
        .order_by(k.line)
    )


async def insert_checked(session: AsyncSession) -> None:
    """Insert the checked new rows and link their corrections."""
    connection = await session.connection()
    k, a = CHECKED.c, ASSESSMENT_TABLE.c
    statement = new_rows(connection)
    inserting = insert(ASSESSMENT_TABLE).from_select(
        list(statement.selected_columns.keys()), statement
    )
    if connection.dialect.name == "postgresql":
        # the ids kept as the insert returns them: found by external id, they cost half of the
        # query that reads the pairs to refresh (SQLite takes no INSERT inside a WITH)
        inserted = inserting.returning(ASSESSMENT_TABLE.c.id).cte("inserted")
        await connection.execute(insert(INSERTED).from_select(["id"], select(inserted.c.id)))
    else:
        await connection.execute(inserting)
    target = ASSESSMENT_TABLE.alias("target")
    corrects = (
        select(k.corrects)
        .where(k.external_id == a.external_id)
        .correlate(ASSESSMENT_TABLE)
        .scalar_subquery()
    )
    correcting = select(k.external_id).where(*FINE_NEW, k.corrects.is_not(None))
    await connection.execute(
        update(ASSESSMENT_TABLE)
        .where(a.external_id.in_(correcting))
        .values(
            corrects_id=select(target.c.id).where(target.c.external_id == corrects)
            .scalar_subquery()
        )
    )  # fmt: skip


async def log_problems(
    connection: AsyncConnection, source: str, errors: ErrorLog, failing: int
) -> None:
    """The first problems the checks found, and the count of all (`failing`)."""
    if not failing:
        return
    k = CHECKED.c
    listed = (
        await connection.execute(
            select(k.line, k.problem)
            .where(k.problem.is_not(None))
            .order_by(k.line)
            .limit(MAX_ERRORS_LISTED)
        )
    ).all()
    for line, problem in listed:
        errors.append(RowError(source, line, problem))
    errors.total += failing - len(listed)


def new_ids(connection: AsyncConnection) -> Select[Any]:
    """The ids of the assessments the file inserted (while its staging tables exist)."""
    if connection.dialect.name == "postgresql":
        return select(INSERTED.c.id)
    k = CHECKED.c
    return (
        select(ASSESSMENT_TABLE.c.id)
        .join(CHECKED, k.external_id == ASSESSMENT_TABLE.c.external_id)
        .where(*FINE_NEW)
    )


def read_row(
    line: int, raw: dict[str, str], context: Context, source: str, now: datetime,
    errors: ErrorLog,
) -> tuple[Any, ...] | None:  # fmt: skip
    """A row's staging record, or None with its error logged."""
    if "__extra__" in raw:
        errors.append(RowError(source, line, raw["__extra__"]))
        return None
    # empty cells dropped (absent and empty are alike), the exports' quote taken off
    cells = {
        key: read_cell(value) if value[0] == "'" else value for key, value in raw.items() if value
    }
    parsed = quick_row(cells, context.latest)
    if parsed is None:
        try:
            parsed = Parsed.of(BulkRow.model_validate(cells))
        except ValidationError as exc:
            errors.append(RowError(source, line, describe(exc)))
            return None
    return stage_record(line, parsed, context, source, now)


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

    Python reads each row's shape and scores its ratings (`rules.score`); the rows are staged
    in bulk (COPY on PostgreSQL), checked against the Gemeinden, the catalogue, the scales and
    the stored rows in a few set-based statements, inserted in one, and the pairs they move
    refreshed once for the file (`pairs.refresh_inserted`).

    Bulk imports run one at a time: files sharing external ids in crossing orders would
    otherwise wait on each other's new rows (a deadlock on PostgreSQL); in turn, each finds the
    rows of the one before stored and counts them unchanged. A row that another writer (the
    JSON API) stored meanwhile makes the insert collide: the checks run again, and find it
    stored."""
    await lock_until_commit(session, "tracker.maturity.bulk")
    await roomy_sorts(session)
    context = await Context.load(session, upload_by)
    result = ImportResult(source)
    errors = ErrorLog()
    now = datetime.now(UTC)
    connection = await session.connection()
    await connection.run_sync(STAGE.create)
    await connection.run_sync(CHECKED.create)
    await connection.run_sync(INSERTED.create)
    try:
        for chunk in batched(capped(rows, source, max_rows), CHUNK):
            records = [
                record
                for line, raw in chunk
                if (record := read_row(line, raw, context, source, now, errors)) is not None
            ]
            await fill_stage(connection, records)
            if progress is not None:
                progress(len(chunk))
        if connection.dialect.name == "postgresql":
            # the join keys' statistics are all the checks' plan reads (half the cost of all)
            await connection.exec_driver_sql(f"ANALYZE {STAGE.name} ({', '.join(STAGE_KEYS)})")
        for attempt in range(COLLISIONS + 1):
            await check_staged(connection)
            found = await tally(connection)
            if ((errors.total or found.failing) and not skip_invalid) or not found.new:
                break
            try:
                async with session.begin_nested():
                    await insert_checked(session)
                result.inserted = found.new
                break
            except IntegrityError:
                if attempt == COLLISIONS:
                    raise
        await log_problems(connection, source, errors, found.failing)
        result.rejected = errors.settle(skip_invalid=skip_invalid)
        result.rejected_unlisted = errors.total - len(result.rejected)
        result.unchanged = found.unchanged
        if result.inserted:
            await pairs.refresh_inserted(session, new_ids(connection))
    finally:
        await connection.run_sync(INSERTED.drop)
        await connection.run_sync(CHECKED.drop)
        await connection.run_sync(STAGE.drop)
    if upload_by is not None:  # an upload (the CLI emits for every file it imports)
        await webhooks_actions.emit(session, "import.finished", None, {
            "source": source, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": result.rejected_count,
            "uploaded_by": upload_by.actor,
        })  # fmt: skip
    return result


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
