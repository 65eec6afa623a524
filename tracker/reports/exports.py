"""The comparison report as files: CSV (standard and German Excel) and XLSX, each a format of the
one result (`comparison.comparison`), never a second computation."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from openpyxl.chart import BarChart, Reference  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from tracker.caching import Lru
from tracker.errors import InvalidInput
from tracker.reports import comparison, documents
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


# Litestar adds "; charset=utf-8" to text types itself.
MEDIA_TYPES = {
    Format.JSON: "application/json",
    Format.CSV: "text/csv",
    Format.CSV_DE: "text/csv",
    Format.XLSX: XLSX_MEDIA_TYPE,
    Format.PDF: "application/pdf",
    Format.HTML: "text/html",
}
# What an Accept header can choose (the German CSV only by `format=csv-de`), JSON first: the
# default when Accept names none of them.
BY_MEDIA_TYPE = {
    MEDIA_TYPES[chosen]: chosen
    for chosen in (Format.JSON, Format.CSV, Format.XLSX, Format.PDF, Format.HTML)
}
DOCUMENT_MAX = 500  # Gemeinden up to which a PDF or HTML file is made within a request


def negotiated(best_match: Callable[..., str | None], asked: Format | None) -> Format:
    """`format=` where given, else the best of what the Accept header takes (JSON by default)."""
    if asked is not None:
        return asked
    return BY_MEDIA_TYPE[best_match(list(BY_MEDIA_TYPE), default="application/json") or ""]


def check_size(result: dict[str, Any], chosen: Format) -> None:
    """A PDF or HTML file of a large set takes minutes to lay out: not within a request."""
    count = len(result["members"])
    if chosen in (Format.PDF, Format.HTML) and count > DOCUMENT_MAX:
        raise InvalidInput(
            f"format: a {chosen.value} file is made for at most {DOCUMENT_MAX:,} Gemeinden in a "
            f"request, this set has {count:,}; take xlsx or csv, a smaller set, or "
            f"`tracker report comparison --format {chosen.value}` on the server.",
            german=f"Eine {chosen.value.upper()}-Datei wird im Browser für höchstens "
            f"{DOCUMENT_MAX} Gemeinden erstellt, diese Auswahl hat {count:,}".replace(",", ".")
            + "; bitte XLSX oder CSV wählen, die Auswahl eingrenzen oder "
            f"`tracker report comparison --format {chosen.value}` auf dem Server nutzen.",
        )


def filename(result: dict[str, Any], chosen: Format) -> str:
    """vergleich_land-05_2026-11-30.xlsx: the set and the report date, safe in a header."""
    moment = result["at"] or result["computed_at"]
    definition = re.sub(r"[^a-z0-9,-]+", "-", result["set"]["definition"])[:80].strip("-")
    suffix = {Format.CSV_DE: "excel-de.csv"}.get(chosen, chosen.value)
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
    ("findings_open", "offene Erkenntnisse", COUNT),
    ("massnahmen", "Maßnahmen", COUNT),
]


WIDTHS = {"name": 32, "ars": 15, "typ_name": 22, "band_name": 16}  # characters; else 12


def columns(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """COLUMNS with, after the mean back-office level, a count and a share for every flag of
    a scale that has no column of its own (`comparison.added_flags`)."""
    added: list[tuple[str, str, str | None]] = []
    for dimension, key, name, from_level in comparison.added_flags(result):
        label = comparison.flag_label(dimension, name, from_level)
        added.append((f"flags.{dimension}.{key}", label, COUNT))
        added.append((f"share_flags.{dimension}.{key}", f"Anteil {label}", PERCENT))
    cut = next(i for i, (key, _, _) in enumerate(COLUMNS) if key == "mean_backoffice") + 1
    return [*COLUMNS[:cut], *added, *COLUMNS[cut:]]


def _value(row: dict[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def member_rows(
    result: dict[str, Any], chosen: list[tuple[str, str, str | None]]
) -> Iterator[list[Any]]:
    for row in sorted(result["members"], key=_order):
        yield [_value(row, key) for key, _, _ in chosen]


def _order(row: dict[str, Any]) -> tuple[int, str]:
    return (row["rank"] if row["rank"] is not None else 1 << 30, row["ars"])


def csv_file(result: dict[str, Any], *, german: bool) -> bytes:
    chosen = columns(result)
    return csv_bytes(
        [header for _, header, _ in chosen], member_rows(result, chosen), german=german
    )


def about(result: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """What the report was computed from, as (label, value) lines: set, dates, models,
    sources, freshness and every counting rule."""
    chosen = result["set"]
    yield "Vergleichsgruppe", chosen["description"]["de"]
    yield "Definition", chosen["definition"]
    yield "Permalink (Pfad)", documents.permalink(
        "/vergleich", {"set": chosen["definition"], "at": _day(result["at"]),
                       "since": _day(result["since"])}
    )  # fmt: skip
    yield "Gemeinden", chosen["gemeinden"]
    yield "davon mit Daten", chosen["with_data"]
    yield "Stand", "aktuell" if result["at"] is None else _day(result["at"])
    yield "Vergleichsdatum", _day(result["since"])
    yield "berechnet am (UTC)", result["computed_at"].astimezone(UTC).replace(tzinfo=None)
    for model in result["models"]:
        checked = "" if model["verified"] else " (nicht amtlich bestätigt)"
        yield f"Modell {model['dimension']}", f"{model['name']} {model['version']}{checked}"
    freshness = result["freshness"]
    yield "bewertete Paare", freshness["assessed"]
    yield f"veraltet (älter als {freshness['stale_after_days']} Tage)", freshness["stale"]
    yield "Anteil veraltet", freshness["share_stale"]
    yield "vorläufige Paare", freshness["provisional"]
    yield "Quelle Einwohnerzahlen", result["sources"]["population"]
    for credit in result["sources"]["assessments"]:
        span = f"{_day(credit['earliest']):%d.%m.%Y} bis {_day(credit['latest']):%d.%m.%Y}"
        yield (
            f"Quelle Bewertungen: {credit['source']}",
            (f"{credit['name']}: {credit['pairs']} Paare, bewertet {span}"),
        )
    for band in result["sources"]["bands"]:
        yield f"Größenklasse {band['key']}", band["label"]
    for name, rule in comparison.rules_in("de", result["rules"]).items():
        yield f"Regel: {name}", rule


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(UTC).date()


SPREAD_NAMES = {
    "share_online": "Anteil online", "share_ozg_konform": "Anteil OZG-konform",
    "mean_backoffice": "mittlere Back-Office-Stufe",
    "change_share_online": "Veränderung Anteil online",
}  # fmt: skip
SPREAD_FORMATS = {"mean_backoffice": LEVEL, "change_share_online": CHANGE}


def _statistics(book: Any, result: dict[str, Any]) -> None:
    """The set's spread (median, quartiles) and histogram, typed."""
    sheet = book.create_sheet("Kennzahlen")
    sheet.append(["Kennzahl", "Gemeinden mit Wert", "Minimum", "1. Quartil", "Median",
                  "3. Quartil", "Maximum"])  # fmt: skip
    for key, name in SPREAD_NAMES.items():
        spread = result["spread"][key]
        sheet.append([name, *(spread[k] for k in ("count", "min", "q1", "median", "q3", "max"))])
        for cell in sheet[sheet.max_row][2:]:
            cell.number_format = SPREAD_FORMATS.get(key, PERCENT)
    sheet.append([])
    sheet.append(["Anteil online von", "bis unter", "Gemeinden"])
    for item in result["histogram"]:
        sheet.append([item["lower"], item["upper"], item["gemeinden"]])
        for cell in sheet[sheet.max_row][:2]:
            cell.number_format = PERCENT
    coverage = result["leistungen"]
    sheet.append([])
    sheet.append(["anwendbare OZG-Leistungen", coverage["applicable"]])
    sheet.append(["flächendeckend online", coverage["flaechendeckend"]])
    sheet.append(["in mindestens einer Kommune online", coverage["mindestens_eine_kommune"]])
    for row in sheet.iter_rows(min_row=1, max_row=1):
        for cell in row:
            cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 34
    for letter in "BCDEFG":
        sheet.column_dimensions[letter].width = 14


def _related(book: Any, result: dict[str, Any]) -> None:
    """Open published findings and Maßnahmen of the members: a sheet when there are any."""
    findings, actions = result["findings"], result["massnahmen"]
    if findings is None and actions is None:
        return
    sheet = book.create_sheet("Erkenntnisse und Maßnahmen")
    if findings is not None:
        sheet.append(["offene veröffentlichte Erkenntnisse", findings["findings"]])
        sheet.append(["Gemeinden mit Erkenntnissen", findings["gemeinden"]])
        for level, count in findings["by_severity"].items():
            sheet.append([f"Schweregrad {level}", count])
        sheet.append(["Erkenntnis", "Schweregrad", "Aussage", "Gemeinden (ARS)"])
        for item in findings["most_severe"]:
            sheet.append([item["id"], item["severity"], xlsx_cell(sheet, item["statement"]),
                          ", ".join(item["gemeinden"])])  # fmt: skip
        sheet.append([])
    if actions is not None:
        sheet.append(["Maßnahmen mit Beteiligung", actions["massnahmen"]])
        sheet.append(["beteiligte Gemeinden", actions["gemeinden"]])
        for item in actions["by_status"]:
            sheet.append([f"Status {item['label']['de']}", item["massnahmen"]])
        sheet.append(["Maßnahme", "Forderung", "Titel", "Status", "beteiligte Gemeinden"])
        for item in actions["most_taken"]:
            sheet.append([item["id"], item["demand"], xlsx_cell(sheet, item["title"]["de"]),
                          item["status"], item["gemeinden"]])  # fmt: skip
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["C"].width = 80


def xlsx_file(result: dict[str, Any]) -> bytes:
    """A data sheet with typed cells, number formats and a native bar chart of the share online;
    a sheet with the rules and sources."""
    book = workbook()
    data = book.active
    data.title = "Vergleich"
    chosen = columns(result)
    data.append([header for _, header, _ in chosen])
    for cell in data[1]:
        cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    rows = list(member_rows(result, chosen))
    for row in rows:
        data.append([xlsx_cell(data, value) for value in row])
    for index, (key, _, number_format) in enumerate(chosen, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        data.column_dimensions[letter].width = WIDTHS.get(key, 12)
        if number_format is None:
            continue
        for (cell,) in data.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = number_format
    data.auto_filter.ref = data.dimensions
    if rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Anteil online"
        chart.y_axis.number_format = PERCENT
        share = next(i for i, (key, _, _) in enumerate(chosen, start=1) if key == "share_online")
        name = next(i for i, (key, _, _) in enumerate(chosen, start=1) if key == "name")
        chart.add_data(
            Reference(data, min_col=share, min_row=1, max_row=len(rows) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(data, min_col=name, min_row=2, max_row=len(rows) + 1))
        chart.height = max(7.5, 0.5 * min(len(rows), 60))
        chart.legend = None
        data.add_chart(chart, f"{openpyxl.utils.get_column_letter(len(chosen) + 2)}2")
    _statistics(book, result)
    _related(book, result)
    notes = book.create_sheet("Regeln und Quellen")
    notes.append(["Angabe", "Wert"])
    for label, value in about(result):
        notes.append([xlsx_cell(notes, label), xlsx_cell(notes, value)])
        if isinstance(value, date):
            notes.cell(notes.max_row, 2).number_format = (
                "DD.MM.YYYY HH:MM" if isinstance(value, datetime) else "DD.MM.YYYY"
            )
    notes["B1"].font = notes["A1"].font = Font(bold=True)
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
