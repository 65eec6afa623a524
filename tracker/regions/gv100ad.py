"""Parser of Destatis' Gemeindeverzeichnis GV100AD, fixed-width, per the official record layout.

Each record is 220 characters (UTF-8 since the Sorbian names; positions count characters).
Satzart 10 Land, 20 Regierungsbezirk, 30 Region (Baden-Württemberg only), 40 Kreis,
50 Gemeindeverband, 60 Gemeinde. Positions below are 1-based and inclusive, as in the PDF.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tracker.fields import ascii_digits
from tracker.importing import decoded_lines

RECORD_LENGTH = 220


class RecordError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class Record:
    line: int
    satzart: str
    gebietsstand: date
    land: str  # 11-12
    rb: str  # 13
    kreis: str  # 14-15
    gemeinde: str  # 16-18
    verband: str  # 19-22
    name: str  # 23-72
    sitz: str  # 73-122 (Satzart 10-50)
    textkennzeichen: str  # 123-124


@dataclass(frozen=True, kw_only=True)
class GemeindeFigures:
    """Satzart 60 only."""

    flaeche_ha: int  # 129-139
    bevoelkerung: int  # 140-150
    bevoelkerung_maennlich: int  # 151-161
    plz: str  # 166-170
    plz_eindeutig: bool  # 171-175 is '*****' when the Gemeinde has several PLZ
    finanzamtsbezirk: str  # 178-181
    oberlandesgericht: str  # 182
    landgericht: str  # 183
    amtsgericht: str  # 184-185
    arbeitsagentur: str  # 186-190
    btwk_von: str  # 191-193
    btwk_bis: str  # 194-196


@dataclass(frozen=True, kw_only=True)
class GemeindeRecord(Record):
    figures: GemeindeFigures


def _cut(text: str, start: int, end: int) -> str:
    return text[start - 1 : end].strip()


def _number(text: str, start: int, end: int, label: str) -> int:
    value = _cut(text, start, end)
    if not ascii_digits(value):
        raise RecordError(f"{label} (positions {start}-{end}) must be a number, got {value!r}")
    return int(value)


def _digits(text: str, start: int, end: int, label: str, *, optional: bool = False) -> str:
    value = _cut(text, start, end)
    if (value or not optional) and not (ascii_digits(value) and len(value) == end - start + 1):
        raise RecordError(
            f"{label} (positions {start}-{end}) must be {end - start + 1} digits, got {value!r}"
        )
    return value


def _gebietsstand(text: str) -> date:
    raw = text[2:10]
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError as exc:
        raise RecordError(
            f"Gebietsstand (positions 3-10) is not a date YYYYMMDD, got {raw!r}"
        ) from exc


def parse_record(line: int, text: str) -> Record:
    if len(text) != RECORD_LENGTH:
        raise RecordError(f"record has {len(text)} characters, the layout has {RECORD_LENGTH}")
    satzart = text[:2]
    if satzart not in {"10", "20", "30", "40", "50", "60"}:
        raise RecordError(f"unknown Satzart {satzart!r} (positions 1-2)")
    fields: dict[str, Any] = {
        "line": line,
        "satzart": satzart,
        "gebietsstand": _gebietsstand(text),
        "land": _digits(text, 11, 12, "Land"),
        "rb": _cut(text, 13, 13),
        "kreis": _cut(text, 14, 15),
        "gemeinde": _cut(text, 16, 18),
        "verband": _cut(text, 19, 22),
        "name": _cut(text, 23, 72),
        "sitz": "" if satzart == "60" else _cut(text, 73, 122),
        "textkennzeichen": _cut(text, 123, 124),
    }
    if not fields["name"]:
        raise RecordError("name (positions 23-72) is empty")
    if satzart in {"40", "50", "60"}:
        _digits(text, 13, 15, "Regierungsbezirk and Kreis")
    if satzart == "50":
        _digits(text, 19, 22, "Gemeindeverband")
    if satzart != "60":
        return Record(**fields)
    _digits(text, 16, 18, "Gemeinde")
    _digits(text, 19, 22, "Gemeindeverband")
    _digits(text, 123, 124, "Textkennzeichen")
    plz_marker = _cut(text, 171, 175)
    figures = GemeindeFigures(
        flaeche_ha=_number(text, 129, 139, "Fläche"),
        bevoelkerung=_number(text, 140, 150, "Bevölkerung"),
        bevoelkerung_maennlich=_number(text, 151, 161, "Bevölkerung männlich"),
        plz=_digits(text, 166, 170, "PLZ", optional=True),
        plz_eindeutig=plz_marker != "*****",
        finanzamtsbezirk=_cut(text, 178, 181),
        oberlandesgericht=_cut(text, 182, 182),
        landgericht=_cut(text, 183, 183),
        amtsgericht=_cut(text, 184, 185),
        arbeitsagentur=_cut(text, 186, 190),
        btwk_von=_cut(text, 191, 193),
        btwk_bis=_cut(text, 194, 196),
    )
    if figures.bevoelkerung_maennlich > figures.bevoelkerung:
        raise RecordError("Bevölkerung männlich exceeds Bevölkerung insgesamt")
    return GemeindeRecord(**fields, figures=figures)


def read_records(path: Path) -> Iterator[tuple[int, str]]:
    """Lines with their numbers, CR/LF stripped; blank lines are skipped. A line that is not
    UTF-8 or holds a NUL character rejects the file (`importing.decoded_lines`)."""
    with path.open("rb") as handle:
        for number, text in decoded_lines(handle, path.name):
            line = text.rstrip("\r\n")
            if line.strip():
                yield number, line


def verify(path: Path) -> int:
    """Parse the whole file before anything is imported: the number of Gemeinde records, or a
    RecordError naming the first line that is not a GV100AD record."""
    gemeinden = 0
    for line, text in read_records(path):
        try:
            record = parse_record(line, text)
        except RecordError as exc:
            raise RecordError(f"{path.name}:{line}: {exc}") from None
        gemeinden += isinstance(record, GemeindeRecord)
    if not gemeinden:
        raise RecordError(f"{path.name}: no Gemeinde records (Satzart 60)")
    return gemeinden
