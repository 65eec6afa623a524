"""What every importer shares: row errors with file and line, counts, and an idempotent upsert.

An import is all-or-nothing per file: rows are read and checked first; any error rejects the
file before anything is written, unless the caller asked to skip invalid rows.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, insert, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import tabular
from tracker.changes import diff
from tracker.db import TableModel, run

RowT = TypeVar("RowT", bound=BaseModel)
T = TypeVar("T")
ProgressFn = Callable[[int], None]
CHUNK_ROWS = 1000


@dataclass(frozen=True)
class RowError:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class ImportRejected(Exception):
    """The file was not imported; nothing was written. `errors` lists the first
    MAX_ERRORS_LISTED by line, `total` counts them all; `hint` says what to do instead of the
    usual "fix the file, or skip the invalid rows"."""

    def __init__(
        self, errors: Sequence[RowError], *, total: int | None = None, hint: str | None = None
    ) -> None:
        listed = sorted(errors, key=lambda error: error.line)[:MAX_ERRORS_LISTED]
        super().__init__("\n".join(str(error) for error in listed))
        self.errors = listed
        self.total = max(total or 0, len(errors))
        self.hint = hint


@dataclass(frozen=True)
class RecordChange:
    """What an import did to one stored record: create, update (with its fields) or retire."""

    key: object
    action: str
    fields: dict[str, list[Any]] | None


@dataclass
class ImportResult:
    source: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    rejected: list[RowError] = field(default_factory=list)
    changes: list[RecordChange] = field(default_factory=list)
    # Rejected rows beyond those listed in `rejected` (see ErrorLog).
    rejected_unlisted: int = 0
    # Rows that are valid but deliberately not imported or not counted (a key not in the
    # catalogue, a record the source itself does not count, a repeated line), each with why.
    skipped: list[RowError] = field(default_factory=list)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) + self.rejected_unlisted

    def add(self, counts: SyncCounts) -> None:
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.retired += counts.retired
        self.changes += counts.changes

    @property
    def wrote_nothing(self) -> bool:
        return self.inserted == self.updated == self.retired == 0

    def summary(self) -> str:
        text = (
            f"{self.source}: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected_count} rejected"
        )
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        if self.retired:
            text += f", {self.retired} marked no longer valid"
        return text + (" (nothing written)" if self.wrote_nothing else "")


@dataclass
class SyncCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    changes: list[RecordChange] = field(default_factory=list)


# Python's csv refuses longer fields (its default `field_size_limit`); the reader names the line.
MAX_FIELD_CHARS = 131_072
# Errors listed for a rejected file (or skipped rows); the rest are counted, not listed.
MAX_ERRORS_LISTED = 100
UTF8_HINT = "save the file as UTF-8"


def decoded_lines(lines: Iterable[bytes], source: str) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a UTF-8 file (line ends kept, a leading BOM dropped).

    A line that is not UTF-8, or that holds a NUL character (which PostgreSQL text refuses),
    rejects the file, naming the line: every importer reads through here.
    """
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRejected([RowError(source, number, not_utf8(raw, exc))]) from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        if "\x00" in text:
            position = text.index("\x00") + 1
            raise ImportRejected(
                [RowError(source, number, f"NUL character at position {position}; remove it")]
            )
        yield number, text


def not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    """What a decode error says: where, which byte, and how it reads in Windows-1252 (the usual
    other encoding of a German authority's file)."""
    byte = raw[exc.start]
    shown = raw[exc.start : exc.start + 1].decode("cp1252", errors="replace")
    return (
        f"not UTF-8 (byte 0x{byte:02x} at position {exc.start + 1}, {shown!r} in Windows-1252); "
        f"{UTF8_HINT}"
    )


def check_text(source: str, line: int, values: Iterable[object]) -> None:
    """The checks of `decoded_lines` and the csv reader for cells that come from elsewhere
    (XLSX): no NUL, no value longer than MAX_FIELD_CHARS."""
    for value in values:
        if isinstance(value, str):
            if "\x00" in value:
                raise ImportRejected([RowError(source, line, "NUL character in a cell; remove it")])
            if len(value) > MAX_FIELD_CHARS:
                raise ImportRejected([RowError(source, line, too_long())])


def too_long() -> str:
    return f"a field is longer than {MAX_FIELD_CHARS} characters"


def csv_rows(
    lines: Iterable[bytes],
    source: str,
    required: Sequence[str],
    *,
    semicolons: bool = False,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a UTF-8 CSV with their line numbers; a missing column rejects the file, a row
    with more fields than the header is marked `__extra__`. With `semicolons`, a header with
    more semicolons than commas makes `;` the delimiter; header names are stripped."""
    text = decoded_lines(lines, source)
    first = next(text, None)
    if first is None:
        raise ImportRejected([RowError(source, 1, "the file is empty")])
    delimiter = ";" if semicolons and first[1].count(";") > first[1].count(",") else ","
    reading = 0  # the line the reader took last: where a csv.Error happened

    def numbered() -> Iterator[str]:
        nonlocal reading
        for reading, line in itertools.chain([first], text):  # noqa: B007
            yield line

    reader = csv.DictReader(numbered(), delimiter=delimiter)
    try:
        names = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = names
        missing = [name for name in required if name not in names]
        if missing:
            raise ImportRejected([RowError(source, 1, f"missing columns: {', '.join(missing)}")])
        for row in reader:
            if None in row:
                yield reader.line_num, {"__extra__": "more fields than the header names"}
            else:
                yield reader.line_num, row
    except csv.Error as exc:
        problem = too_long() if "field limit" in str(exc) else f"not readable as CSV ({exc})"
        raise ImportRejected([RowError(source, reading, problem)]) from None


def read_csv(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a UTF-8 CSV file with their line numbers; a missing column rejects the file. The
    quote that tracker's CSV exports put before formula-like text is taken off again, so that an
    export re-imports as it was (`tabular.read_cell`)."""
    with path.open("rb") as handle:
        for line, row in csv_rows(handle, path.name, columns):
            yield line, {key: tabular.read_cell(value) for key, value in row.items()}


def describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "row"
        got = error.get("input")
        shown = (
            f" (got {got!r})" if isinstance(got, str | int) and not isinstance(got, bool) else ""
        )
        parts.append(f"{where}: {error['msg']}{shown}")
    return "; ".join(parts)


def validate_rows(
    source: str, rows: Iterable[tuple[int, dict[str, Any]]], model: type[RowT]
) -> tuple[list[tuple[int, RowT]], list[RowError]]:
    valid: list[tuple[int, RowT]] = []
    errors: list[RowError] = []
    for line, raw in rows:
        if "__extra__" in raw:
            errors.append(RowError(source, line, raw["__extra__"]))
            continue
        try:
            valid.append((line, model.model_validate(raw)))
        except ValidationError as exc:
            errors.append(RowError(source, line, describe(exc)))
    return valid, errors


def drop_duplicates(
    source: str, rows: list[tuple[int, T]], key: Callable[[T], object], label: str
) -> tuple[list[tuple[int, T]], list[RowError]]:
    """Keep the first row of each key; later ones are errors naming the first line."""
    first_line: dict[object, int] = {}
    kept: list[tuple[int, T]] = []
    errors: list[RowError] = []
    for line, row in rows:
        value = key(row)
        if value is None:
            kept.append((line, row))
        elif value in first_line:
            errors.append(
                RowError(source, line, f"{label} {value} already given on line {first_line[value]}")
            )
        else:
            first_line[value] = line
            kept.append((line, row))
    return kept, errors


def settle_errors(
    errors: list[RowError], *, skip_invalid: bool, total: int | None = None
) -> list[RowError]:
    """Reject the whole file on any error, unless invalid rows are to be skipped and listed."""
    if errors and not skip_invalid:
        raise ImportRejected(errors, total=total)
    return sorted(errors, key=lambda error: error.line)


class ErrorLog:
    """A file's row errors: the first `keep` by line and the count of all, so that a file of a
    million bad rows does not become a million messages in memory or in the answer."""

    def __init__(self, keep: int = MAX_ERRORS_LISTED) -> None:
        self.keep = keep
        self.kept: list[RowError] = []
        self.total = 0

    def append(self, error: RowError) -> None:
        self.total += 1
        self.kept.append(error)
        if len(self.kept) >= 4 * self.keep:
            self.kept = self.listed()

    def listed(self) -> list[RowError]:
        return sorted(self.kept, key=lambda error: error.line)[: self.keep]

    def settle(self, *, skip_invalid: bool) -> list[RowError]:
        return settle_errors(self.listed(), skip_invalid=skip_invalid, total=self.total)


async def sync_rows(
    session: AsyncSession,
    model: type[TableModel],
    key: str,
    rows: Sequence[dict[str, Any]],
    *,
    retire_column: str | None = None,
    retire_value: Any = None,
    progress: ProgressFn | None = None,
) -> SyncCounts:
    """Insert new rows, update changed ones, count unchanged ones; never delete.

    With `retire_column`, stored rows missing from `rows` get `retire_value` there (once), and a
    row that comes back has it cleared.
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    primary_key = [column.name for column in table.primary_key.columns]
    rows_stored = (await run(session, select(*table.columns))).mappings()
    stored: dict[Any, dict[str, Any]] = {row[key]: dict(row) for row in rows_stored}
    counts = SyncCounts()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        if retire_column is not None:
            row = {**row, retire_column: None}
        old = stored.pop(row[key], None)
        if old is None:
            inserts.append(row)
            counts.changes.append(RecordChange(row[key], "create", None))
        elif changed := diff(old, row):
            updates.append({**{name: old[name] for name in primary_key}, **row})
            counts.changes.append(RecordChange(row[key], "update", changed))
        else:
            counts.unchanged += 1
    retirements = []
    if retire_column is not None:
        for old in stored.values():
            if old[retire_column] is None:
                retirements.append(
                    {**{name: old[name] for name in primary_key}, retire_column: retire_value}
                )
                counts.changes.append(
                    RecordChange(old[key], "retire", diff(old, {retire_column: retire_value}))
                )
    for statement, batch in (
        (insert(table), inserts),
        (update(model), updates),
        (update(model), retirements),
    ):
        for start in range(0, len(batch), CHUNK_ROWS):
            chunk = batch[start : start + CHUNK_ROWS]
            await session.exec(statement, params=chunk)
            if progress is not None:
                progress(len(chunk))
    counts.inserted, counts.updated, counts.retired = len(inserts), len(updates), len(retirements)
    if progress is not None:
        progress(counts.unchanged)
    return counts


async def import_csv(
    session: AsyncSession,
    path: Path,
    *,
    row_model: type[RowT],
    table: type[TableModel],
    key: str,
    key_column: str | None = None,
    to_record: Callable[[RowT], dict[str, Any]],
    check: Callable[[RowT], str | None] | None = None,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Read, check and upsert one CSV file; `key` is the table column that identifies a row,
    `key_column` the file's name for it where the two differ."""
    columns = list(row_model.model_fields)
    parsed, errors = validate_rows(path.name, read_csv(path, columns), row_model)
    checked = []
    for line, row in parsed:
        problem = None if check is None else check(row)
        if problem is None:
            checked.append((line, to_record(row)))
        else:
            errors.append(RowError(path.name, line, problem))
    records, duplicates = drop_duplicates(
        path.name, checked, lambda record: record[key], key_column or key
    )
    result = ImportResult(
        path.name, rejected=settle_errors(errors + duplicates, skip_invalid=skip_invalid)
    )
    result.add(
        await sync_rows(session, table, key, [record for _, record in records], progress=progress)
    )
    return result


# Autovacuum's default: a table is analysed once a tenth of it changed (plus a floor).
ANALYZE_SHARE = 0.1
ANALYZE_FLOOR_ROWS = 1000
STALE_TABLES = text("""
SELECT format('%I.%I', s.schemaname, s.relname)
FROM pg_stat_xact_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.n_tup_ins + s.n_tup_upd + s.n_tup_del
      > :floor + :share * GREATEST(c.reltuples, 0)
""")


async def refresh_statistics(session: AsyncSession) -> None:
    """After a large load PostgreSQL's planner believes the tables small until autovacuum comes
    round, and joins millions of rows in nested loops: an import analyses, before its commit,
    the tables its transaction changed by more than a tenth of what the planner believes they
    hold (autovacuum's rule, without its wait). A small file into a large table skips it.
    (SQLite plans from its indexes and needs none.)"""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    stale = await connection.execute(
        STALE_TABLES, {"floor": ANALYZE_FLOOR_ROWS, "share": ANALYZE_SHARE}
    )
    names = list(stale.scalars())
    if names:
        await connection.exec_driver_sql(f"ANALYZE {', '.join(names)}")
