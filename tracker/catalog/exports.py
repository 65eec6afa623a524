"""CSV rows of the catalogue in the columns its importer reads: an export re-imports unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tracker.catalog.imports import NOT_IN_LEIKA

THEMENFELD_COLUMNS = ["themenfeld_id", "name"]
LEBENSLAGE_COLUMNS = ["lebenslage_id", "name", "themenfeld_id", "themenfeld"]
LEISTUNG_COLUMNS = [
    "ozg_id", "name", "lebenslage_id", "lebenslage", "themenfeld_id", "themenfeld",
    "anzahl_leika_leistungen", "leika_keys", "kdn_id",
]  # fmt: skip
LEIKA_COLUMNS = [
    "leika_key", "name", "leika_typ", "ozg_id", "ozg_leistung", "gesetz_kurz", "gesetze",
    "rechtsgrundlage", "sdg1_relevant", "sdg2_relevant", "kdn_id",
]  # fmt: skip


def themenfeld_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    return ([row.id, row.name] for row in rows)


def lebenslage_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    return ([row.id, row.name, row.themenfeld_id, row.themenfeld] for row in rows)


def leistung_rows(rows: Iterable[Any], leika_keys: dict[str, list[str]]) -> Iterator[list[Any]]:
    for row in rows:
        keys = leika_keys.get(row.ozg_id, [])
        yield [
            row.ozg_id, row.name, row.lebenslage_id, row.lebenslage, row.themenfeld_id,
            row.themenfeld, row.leika_count, " ".join(keys), row.kdn_id,
        ]  # fmt: skip


def leika_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    for row in rows:
        leika = row.LeikaLeistung
        yield [
            leika.leika_key or NOT_IN_LEIKA, leika.name, ", ".join(leika.leika_typ), leika.ozg_id,
            row.ozg_leistung, leika.gesetz_kurz, leika.gesetze, leika.rechtsgrundlage,
            int(leika.sdg1_relevant), int(leika.sdg2_relevant), leika.kdn_id,
        ]  # fmt: skip
