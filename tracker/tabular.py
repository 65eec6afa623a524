"""Every CSV and XLSX file the tracker writes, with cells a spreadsheet shows and never runs.

A spreadsheet takes text starting with `=`, `+`, `-`, `@`, tab or CR for a formula
(`=HYPERLINK(...)` in a Gemeinde's name would become a live link in the public export). Following
OWASP's CSV-injection guidance, a CSV text cell starting so gets a single quote in front
(`safe_cell`); an XLSX text cell is written as an explicit string cell, unchanged, so it never
becomes a formula. Numbers stay numbers: -3 is written as -3.

The quote is reversible: `read_cell` strips exactly one from any cell of quotes followed by a
trigger, in CSV and XLSX alike, so an export re-imports unchanged. Text that already starts with
quotes before a trigger (`'=x`) therefore gets one more in both formats.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import openpyxl  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from tracker import importing  # a module reference: importing reads `read_cell` from here

T = TypeVar("T")
FORMULA_TRIGGERS = "=+-@\t\r"
QUOTE = "'"
_TRIGGER = "[" + re.escape(FORMULA_TRIGGERS) + "]"
_QUOTED = re.compile("'*" + _TRIGGER)  # what gets a quote: a trigger after any quotes
_UNQUOTE = re.compile("'+" + _TRIGGER)  # what loses one: what safe_cell writes for it
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX upload's bounds, checked before its rows are read: columns of the sheet, and the
# workbook's size unpacked (a zip bomb is small packed).
MAX_XLSX_COLUMNS = 100
OPERATOR_XLSX_BYTES = 4 * 1024**3  # the CLI's bound; an upload's is a setting
SIZELESS_SHEET_BYTES = 4 * 1024 * 1024


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def safe_cell(value: Any) -> Any:
    """A CSV cell: None as empty, numbers as they are, text that a spreadsheet would take for a
    formula behind a single quote."""
    if value is None:
        return ""
    if is_number(value):
        return value
    text = value if isinstance(value, str) else str(value)
    return QUOTE + text if _QUOTED.match(text) else text


def read_cell(value: T) -> T:
    """The value that `safe_cell` or `xlsx_cell` wrote as `value`: importers of the tracker's
    files call it on each cell (anything but text passes unchanged)."""
    if isinstance(value, str) and value.startswith("'") and _UNQUOTE.match(value):
        return value[1:]  # type: ignore[return-value]
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *, german: bool = False) -> str:
    """RFC 4180 lines (CRLF): the csv module quotes a field only for the characters of its line
    terminator, and a bare CR in an unquoted field starts a new row in a spreadsheet, whose
    first cell would escape `safe_cell`. `german`: the dialect German Excel opens as it is,
    `;` between cells and a decimal comma (`csv_bytes` adds the BOM it needs for UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=";" if german else ",")
    cell = german_cell if german else safe_cell
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def german_cell(value: Any) -> Any:
    """A cell for German Excel: decimal numbers with a comma (no thousands separator)."""
    if isinstance(value, float | Decimal):
        return format(Decimal(repr(value)) if isinstance(value, float) else value, "f").replace(
            ".", ","
        )
    return safe_cell(value)


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, german: bool = False
) -> bytes:
    """UTF-8; for German Excel with a byte order mark, without which it reads ANSI."""
    text = csv_text(header, rows, german=german)
    return ("\ufeff" + text if german else text).encode()


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A write-only cell: numbers, booleans and dates as themselves, text as an explicit string
    cell, which Excel never evaluates (openpyxl would make a formula of text starting with `=`).
    Characters that XLSX cannot hold (control characters) become U+FFFD."""
    cell = openpyxl.cell.WriteOnlyCell(sheet)
    if value is None:
        return cell
    if isinstance(value, bool | date) and not (isinstance(value, datetime) and value.tzinfo):
        cell.value = value
        return cell
    if is_number(value):
        cell.value = value
        return cell
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if _UNQUOTE.match(text):  # what read_cell would change: one more quote, as in CSV
        text = QUOTE + text
    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell.data_type = "s"
    return cell


def workbook() -> Any:
    """A workbook for files with number formats and charts (the comparison report); its cells
    are written with `xlsx_cell`, as every XLSX cell of the tracker is."""
    return openpyxl.Workbook()


def write_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A workbook of one sheet: header row, then the rows, every cell made by `xlsx_cell`."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append([xlsx_cell(sheet, name) for name in header])
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- reading XLSX: every importer of a workbook (assessments, observations) -------------------


def xlsx_rows(
    handle: io.BytesIO | Path,
    source: str,
    required: Sequence[str],
    *,
    max_rows: int | None = None,
    max_unpacked_bytes: int = OPERATOR_XLSX_BYTES,
) -> Iterator[tuple[int, dict[str, str]]]:
    """The first sheet's rows with their numbers, as text (`file:row` in every error; a
    missing `required` column rejects the file). Refused before any row is read: a workbook
    that unpacks to more than `max_unpacked_bytes`, a sheet whose dimension claims more than
    `max_rows` rows or MAX_XLSX_COLUMNS columns."""
    unpacked = unpacked_size(handle, source, sizeless=max_rows is None)
    if unpacked > max_unpacked_bytes:
        raise importing.ImportRejected([importing.RowError(source, 1, (
            f"the workbook unpacks to {unpacked} bytes, more than the {max_unpacked_bytes} "
            "taken; split the file"
        ))])  # fmt: skip
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise importing.ImportRejected(
            [importing.RowError(source, 1, f"not an XLSX workbook ({exc})")]
        ) from None
    try:
        if max_rows is not None and (sheet.max_row or 0) > max_rows + 1:
            raise importing.ImportRejected([importing.RowError(source, 1, (
                f"the sheet has {sheet.max_row - 1} rows, more than {max_rows}; split the file"
            ))])  # fmt: skip
        if (sheet.max_column or 0) > MAX_XLSX_COLUMNS:
            raise importing.ImportRejected([importing.RowError(source, 1, (
                f"the sheet has {sheet.max_column} columns, more than {MAX_XLSX_COLUMNS}"
            ))])  # fmt: skip
        # Read the rows that are there: openpyxl stops at a dimension that claims too few.
        sheet.reset_dimensions()
        lines = sheet_rows(sheet, source)
        header = [str(cell or "").strip() for cell in next(lines, ())]
        missing = [name for name in required if name not in header]
        if missing:
            raise importing.ImportRejected(
                [importing.RowError(source, 1, f"missing columns: {', '.join(missing)}")]
            )
        for number, cells in enumerate(lines, start=2):
            values = [cell_text(cell) for cell in cells]
            importing.check_text(source, number, values)
            if any(values):
                yield number, dict(zip(header, values, strict=False))
    finally:
        book.close()


def sheet_rows(sheet: Any, source: str) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows; XML that breaks off or is malformed rejects the file at its row."""
    lines = sheet.iter_rows(values_only=True)
    number = 1
    while True:
        try:
            cells = next(lines)
        except StopIteration:
            return
        except Exception as exc:  # the XML parser's and openpyxl's many kinds
            raise importing.ImportRejected(
                [importing.RowError(source, number, f"not readable as XLSX ({exc})")]
            ) from None
        yield cells
        number += 1


def unpacked_size(handle: io.BytesIO | Path, source: str, *, sizeless: bool = True) -> int:
    """The members' sizes as the archive states them (zipfile reads no more than stated).

    A sheet without a `<dimension>` makes openpyxl parse all of it before the first row, just
    to size it: unless `sizeless`, such a sheet is taken only up to SIZELESS_SHEET_BYTES."""
    try:
        with zipfile.ZipFile(handle) as archive:
            size = sum(info.file_size for info in archive.infolist())
            for info in archive.infolist():
                if sizeless or not info.filename.startswith("xl/worksheets/"):
                    continue
                if not sized(archive, info):
                    raise importing.ImportRejected([importing.RowError(source, 1, (
                        f"the sheet states no dimension and unpacks to {info.file_size} bytes, "
                        f"more than the {SIZELESS_SHEET_BYTES} taken so; save it again with "
                        "a spreadsheet program"
                    ))])  # fmt: skip
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise importing.ImportRejected(
            [importing.RowError(source, 1, f"not an XLSX workbook ({exc})")]
        ) from None
    if isinstance(handle, io.BytesIO):
        handle.seek(0)
    return size


def sized(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a small sheet, or one whose `<dimension>` comes before its rows (as Excel,
    LibreOffice and openpyxl write it)."""
    if info.file_size <= SIZELESS_SHEET_BYTES or not info.filename.endswith(".xml"):
        return True
    with archive.open(info) as member:
        head = member.read(65_536)
    data = head.find(b"<sheetData")
    found = re.search(rb"<(\w+:)?dimension\b", head)
    return found is not None and (data < 0 or found.start() < data)


def cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return (cell if cell.tzinfo else cell.replace(tzinfo=UTC)).isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)
