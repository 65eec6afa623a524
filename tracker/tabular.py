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
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import openpyxl  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

T = TypeVar("T")
FORMULA_TRIGGERS = "=+-@\t\r"
QUOTE = "'"
_TRIGGER = "[" + re.escape(FORMULA_TRIGGERS) + "]"
_QUOTED = re.compile("'*" + _TRIGGER)  # what gets a quote: a trigger after any quotes
_UNQUOTE = re.compile("'+" + _TRIGGER)  # what loses one: what safe_cell writes for it


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
