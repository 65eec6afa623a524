"""The comparison report as files: CSV (standard and German Excel) and XLSX, each a format of the
one result (`comparison.comparison`), never a second computation."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from openpyxl.chart import BarChart, Reference  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from tracker.caching import Lru
from tracker.reports import documents
from tracker.reports.schemas import Comparison
from tracker.tabular import csv_bytes, workbook, xlsx_cell

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT, LEVEL, COUNT, CHANGE = "0.0%", "0.00", "#,##0", "+0.0%;-0.0%;0.0%"


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    CSV_DE = "csv-de"
    XLSX = "xlsx"
    PDF = "pdf"
    HTML = "html"


MEDIA_TYPES = {
    Format.JSON: "application/json",
    Format.CSV: "text/csv; charset=utf-8",
    Format.CSV_DE: "text/csv; charset=utf-8",
    Format.XLSX: XLSX_MEDIA_TYPE,
    Format.PDF: "application/pdf",
    Format.HTML: "text/html; charset=utf-8",
}

BY_MEDIA_TYPE = {
    "application/json": Format.JSON,
    "text/csv": Format.CSV,
    XLSX_MEDIA_TYPE: Format.XLSX,
}


def negotiated(best_match: Callable[..., str | None], asked: Format | None) -> Format:
    """`format=` where given, else the best of what the Accept header takes (JSON by default)."""
    if asked is not None:
        return asked
    return BY_MEDIA_TYPE[best_match(list(BY_MEDIA_TYPE), default="application/json") or ""]


def filename(result: dict[str, Any], chosen: Format) -> str:
    """vergleich_land-05_2026-11-30.xlsx: the set and the report date, safe in a header."""
    moment = result["at"] or result["computed_at"]
    definition = re.sub(r"[^a-z0-9,-]+", "-", result["set"]["definition"])[:80].strip("-")
    suffix = "csv" if chosen is Format.CSV_DE else chosen.value
    return f"vergleich_{definition}_{moment:%Y-%m-%d}.{suffix}"


# (key in a member row, or then./change. for the nested ones; header; XLSX number format)
COLUMNS: list[tuple[str, str, str | None]] = [
    ("rank", "Rang", None),
    ("ars", "ARS", None),
    ("name", "Gemeinde", None),
    ("typ_name", "Gemeindetyp", None),
    ("population", "Einwohner", COUNT),
    ("band_name", "Größenklasse", None),
    ("applicable", "anwendbare Leistungen", COUNT),
    ("online", "online (≥ 2)", COUNT),
    ("share_online", "Anteil online", PERCENT),
    ("ozg_konform", "OZG-konform (≥ 3)", COUNT),
    ("share_ozg_konform", "Anteil OZG-konform", PERCENT),
    ("mean_backoffice", "mittlere Back-Office-Stufe", LEVEL),
    ("assessed_online", "bewertet online", COUNT),
    ("assessed_backoffice", "bewertet Back-Office", COUNT),
    ("stale", "veraltet", COUNT),
    ("provisional", "vorläufig", COUNT),
    ("then.share_online", "Anteil online damals", PERCENT),
    ("change.share_online", "Veränderung Anteil online", CHANGE),
    ("change.share_ozg_konform", "Veränderung Anteil OZG-konform", CHANGE),
    ("change.mean_backoffice", "Veränderung Back-Office-Stufe", "+0.00;-0.00;0.00"),
    ("rank_change", "Rang Veränderung", None),
]


def _value(row: dict[str, Any], key: str) -> Any:
    outer, _, inner = key.partition(".")
    return row[outer][inner] if inner else row[outer]


def member_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    for row in sorted(result["members"], key=_order):
        yield [_value(row, key) for key, _, _ in COLUMNS]


def _order(row: dict[str, Any]) -> tuple[int, str]:
    return (row["rank"] if row["rank"] is not None else 1 << 30, row["ars"])


def csv_file(result: dict[str, Any], *, german: bool) -> bytes:
    return csv_bytes([header for _, header, _ in COLUMNS], member_rows(result), german=german)


def about(result: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """What the report was computed from, as (label, value) lines: set, dates, models,
    sources, freshness and every counting rule."""
    chosen = result["set"]
    yield "Vergleichsgruppe", chosen["description"]["de"]
    yield "Definition (Permalink)", chosen["definition"]
    yield "Gemeinden", chosen["gemeinden"]
    yield "Stand", "jetzt" if result["at"] is None else result["at"]
    yield "Vergleichsdatum", result["since"]
    yield "berechnet am", result["computed_at"]
    for model in result["models"]:
        checked = "" if model["verified"] else " (nicht amtlich bestätigt)"
        yield f"Modell {model['dimension']}", f"{model['name']} {model['version']}{checked}"
    freshness = result["freshness"]
    yield "bewertete Paare", freshness["assessed"]
    yield f"veraltet (älter als {freshness['stale_after_days']} Tage)", freshness["stale"]
    yield "Anteil veraltet", freshness["share_stale"]
    yield "vorläufige Paare", freshness["provisional"]
    yield "Quelle Einwohnerzahlen", result["sources"]["population"]
    for band in result["sources"]["bands"]:
        yield f"Größenklasse {band['key']}", band["label"]
    for name, rule in result["rules"].items():
        yield f"Regel: {name}", rule


def xlsx_file(result: dict[str, Any]) -> bytes:
    """A data sheet with typed cells, number formats and a native bar chart of the share online;
    a sheet with the rules and sources."""
    book = workbook()
    data = book.active
    data.title = "Vergleich"
    data.append([header for _, header, _ in COLUMNS])
    for cell in data[1]:
        cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    rows = list(member_rows(result))
    for row in rows:
        data.append([xlsx_cell(data, value) for value in row])
    for index, (_, _, number_format) in enumerate(COLUMNS, start=1):
        if number_format is None:
            continue
        for (cell,) in data.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = number_format
    if rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Anteil online"
        chart.y_axis.number_format = PERCENT
        share = next(i for i, (key, _, _) in enumerate(COLUMNS, start=1) if key == "share_online")
        name = next(i for i, (key, _, _) in enumerate(COLUMNS, start=1) if key == "name")
        chart.add_data(
            Reference(data, min_col=share, min_row=1, max_row=len(rows) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(data, min_col=name, min_row=2, max_row=len(rows) + 1))
        chart.height = max(7.5, 0.5 * min(len(rows), 60))
        chart.legend = None
        data.add_chart(chart, f"{openpyxl.utils.get_column_letter(len(COLUMNS) + 2)}2")
    notes = book.create_sheet("Regeln und Quellen")
    notes.append(["Angabe", "Wert"])
    for label, value in about(result):  # an aware moment becomes ISO text (`xlsx_cell`)
        notes.append([xlsx_cell(notes, label), xlsx_cell(notes, value)])
    notes.column_dimensions["A"].width = 40
    notes.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render(result: dict[str, Any], chosen: Format, lang: str = "de") -> bytes:
    """The report in this format."""
    if chosen is Format.JSON:
        return Comparison.model_validate(result).model_dump_json().encode()
    if chosen is Format.PDF:
        return documents.pdf_document(result, lang)
    if chosen is Format.HTML:
        return documents.html_document(result, lang).encode()
    if chosen is Format.XLSX:
        return xlsx_file(result)
    return csv_file(result, german=chosen is Format.CSV_DE)


# Rendered files by the report's key: a second download of the same report costs nothing.
FILES: Lru[bytes] = Lru(16)


def kept(key: tuple[Any, ...], result: dict[str, Any], chosen: Format, lang: str) -> bytes:
    found = FILES.get((key, chosen, lang))
    if found is None:
        found = render(result, chosen, lang)
        FILES.put((key, chosen, lang), found)
    return found
