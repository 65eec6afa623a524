"""Import of the federal Dashboard Digitale Verwaltung open-PVOG export (DOMAIN.md 5.2).

Columns used: leika_key, ars, ozgid, ozg_bezeichnung, url, online_status, aktiv,
art_flaechendeckung, begruendung_nicht_beruecksichtigt, datenstand_pvog_import (others, such as
leika_name or ars_name, are ignored). Comma or semicolon separated, UTF-8.

Each active (`aktiv = ja`), reachable (`online_status = ok`) record that the dashboard counts
(not „nicht in Auswertung berücksichtigt“) becomes a validated online-access assessment on the
default model for every inhabited Gemeinde its ARS covers: a Gemeinde's ARS covers itself, a
Gemeindeverband's, Kreis's or Land's covers the Gemeinden below it, 000000000000 all of them.
The export has no Reifegrad; an online service counts as level **2**, the federal dashboard's
"online" floor (provisional, every criterion missing), its URL as evidence. Records not counted
and keys not in the catalogue are listed, not dropped silently. Idempotent on the external id
`pvog:<Datenstand>:<LeiKa key or OZG-ID>:<ARS>`; several records covering one Gemeinde and
service merge their URLs into one assessment.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog import queries as catalog_queries
from tracker.catalog.models import OzgLeistung
from tracker.db import run
from tracker.errors import BadRequest
from tracker.fields import check_moment, parse_moment
from tracker.importing import (
    CHUNK_ROWS,
    ImportResult,
    ProgressFn,
    RowError,
    csv_rows,
    settle_errors,
    validate_rows,
)
from tracker.maturity import applicability, queries
from tracker.maturity.imports import source_floor, store_created
from tracker.maturity.models import Assessment, Dimension, Source
from tracker.regions import queries as regions_queries
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land

PVOG_LEVEL = 2  # the federal dashboard's "online": at least level 2
COLUMNS = ("leika_key", "ars", "ozgid", "url", "online_status", "aktiv", "art_flaechendeckung",
           "datenstand_pvog_import")  # fmt: skip
NOT_COUNTED = "nicht in Auswertung berücksichtigt"
COVERAGE_KINDS = {
    "bundesweit flächendeckend", "landesweit flächendeckend", "kreisweit flächendeckend",
    "in mind. einer Kommune verfügbar", NOT_COUNTED,
}  # fmt: skip
LAND_WIDE = {"bundesweit flächendeckend", "landesweit flächendeckend"}


def _empty_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class PvogRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)
    leika_key: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")] | None = None
    ars: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    ozgid: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,20}$")] | None = None
    ozg_bezeichnung: str | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    online_status: Annotated[str, StringConstraints(pattern=r"^(ok|nicht ok)$")]
    aktiv: Annotated[str, StringConstraints(pattern=r"^(ja|nein)$")]
    art_flaechendeckung: str
    begruendung_nicht_beruecksichtigt: str | None = None
    datenstand_pvog_import: datetime

    @field_validator("leika_key", "ozgid", "url", "begruendung_nicht_beruecksichtigt",
                     mode="before")  # fmt: skip
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("online_status", "aktiv", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("art_flaechendeckung")
    @classmethod
    def _kind(cls, value: str) -> str:
        known = {kind.lower(): kind for kind in COVERAGE_KINDS}
        if value.lower() not in known:
            raise ValueError(f"{value!r} is none of: {', '.join(sorted(COVERAGE_KINDS))}")
        return known[value.lower()]

    @field_validator("datenstand_pvog_import", mode="before")
    @classmethod
    def _stand(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if len(text) == 10 and text[2] == "." and text[5] == ".":  # 01.10.2025
            text = f"{text[6:]}-{text[3:5]}-{text[:2]}"
        try:
            moment = parse_moment(text)
        except BadRequest as exc:
            raise ValueError(exc.detail) from None
        return None if moment is None else check_moment(moment)


def read_export(path: Path) -> list[tuple[int, dict[str, str]]]:
    with path.open("rb") as handle:
        return list(csv_rows(handle, path.name, COLUMNS, semicolons=True))


class Areas:
    """Inhabited Gemeinden below each ARS prefix, and which prefixes name a known unit."""

    def __init__(self, gemeinden: list[str], units: set[str]) -> None:
        self.gemeinden = gemeinden
        self.inhabited = set(gemeinden)
        self.units = units
        self.seen: dict[str, list[str] | None] = {}

    def covered(self, ars: str) -> list[str] | None:
        """The inhabited Gemeinden an ARS covers; None for an ARS no unit has."""
        if ars not in self.seen:
            self.seen[ars] = self._covered(ars)
        return self.seen[ars]

    def _covered(self, ars: str) -> list[str] | None:
        if ars in self.units:  # a Gemeinde's own ARS
            return [ars] if ars in self.inhabited else []
        for digits in (9, 5, 2, 0):  # Gemeindeverband, Kreis, Land, Bund
            prefix = ars[:digits]
            if ars[digits:].strip("0") == "" and (digits == 0 or prefix in self.units):
                return [gemeinde for gemeinde in self.gemeinden if gemeinde.startswith(prefix)]
        return None


async def load_areas(session: AsyncSession) -> Areas:
    units: set[str] = set((await run(session, select(col(Gemeinde.ars)))).scalars())
    for column in (col(Gemeindeverband.ars), col(Kreis.code), col(Land.code)):
        units |= set((await run(session, select(column))).scalars())
    inhabited = await regions_queries.inhabited_gemeinden(session)
    return Areas([gemeinde.ars for gemeinde in inhabited], units)


async def import_pvog(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    parsed, errors = validate_rows(path.name, read_export(path), PvogRow)
    areas = await load_areas(session)
    leika = await catalog_queries.leika_ids(session)
    leistungen = set((await run(session, select(col(OzgLeistung.ozg_id)))).scalars())
    municipal = set((await applicability.catalogue(session)).default_leika_ids)
    listed: list[RowError] = []
    wanted: list[tuple[int, PvogRow, list[str]]] = []
    for line, row in parsed:
        if row.leika_key is None and row.ozgid is None:
            errors.append(RowError(path.name, line, "give a leika_key or an ozgid"))
            continue
        coverage = areas.covered(row.ars)
        if coverage is None:
            errors.append(RowError(path.name, line, f"ars: no Gemeinde, Verband, Kreis or Land "
                                                    f"has the ARS {row.ars}"))  # fmt: skip
            continue
        reason = not_counted(row)
        if reason:
            listed.append(RowError(path.name, line, f"not counted: {reason}"))
        elif row.leika_key is not None and row.leika_key not in leika:
            listed.append(RowError(path.name, line, f"LeiKa key {row.leika_key} is not in the "
                                                    "catalogue"))  # fmt: skip
        elif row.leika_key is None and row.ozgid not in leistungen:
            listed.append(RowError(path.name, line, f"OZG-ID {row.ozgid} is not in the catalogue"))
        else:
            if row.leika_key is not None and leika[row.leika_key] not in municipal:
                listed.append(RowError(path.name, line, (
                    f"imported, but not counted for Gemeinden: LeiKa key {row.leika_key} is of "
                    "LeiKa-Typ 1 (federal) alone"
                )))  # fmt: skip
            wanted.append((line, row, coverage))
    result = ImportResult(
        path.name, rejected=settle_errors(errors, skip_invalid=skip_invalid), skipped=listed
    )

    model = await queries.model_for(session, Dimension.ONLINE.value, None)
    records: dict[str, dict[str, Any]] = {}
    for line, row, gemeinden in wanted:
        stand = row.datenstand_pvog_import
        service = row.leika_key or f"ozg-{row.ozgid}"
        evidence = {
            "kind": "url",
            "ref": row.url or "",
            "note": (
                f"PVOG ({row.art_flaechendeckung}; ARS {row.ars}; Datenstand {stand:%d.%m.%Y})"
            ),
        }
        if not row.url:
            evidence = {"kind": "document", "ref": f"{path.name}:{line}", "note": evidence["note"]}
        for ars in gemeinden:
            external_id = f"pvog:{stand.date().isoformat()}:{service}:{ars}"
            found = records.get(external_id)
            if found is not None:
                if evidence not in found["evidence"]:
                    found["evidence"].append(evidence)
                continue
            records[external_id] = {
                **source_floor(
                    model, level=PVOG_LEVEL, source=Source.PVOG, at=stand,
                    comment=f"open-PVOG-Export, Datenstand {stand:%d.%m.%Y}",
                ),
                "external_id": external_id, "ars": ars,
                "leika_id": leika.get(row.leika_key or ""),
                "ozg_id": None if row.leika_key else row.ozgid, "evidence": [evidence],
                "land_wide_portal": row.art_flaechendeckung in LAND_WIDE,
            }  # fmt: skip
    existing = await stored_ids(session, list(records))
    fresh = [record for key, record in records.items() if key not in existing]
    result.unchanged = len(records) - len(fresh)
    await store_created(session, result, fresh)
    return result


def not_counted(row: PvogRow) -> str | None:
    if row.aktiv != "ja":
        return "aktiv = nein"
    if row.online_status != "ok":
        return "online_status = nicht ok"
    if row.art_flaechendeckung == NOT_COUNTED:
        return f"{NOT_COUNTED} ({row.begruendung_nicht_beruecksichtigt or 'ohne Begründung'})"
    return None


async def stored_ids(session: AsyncSession, external_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(external_ids), CHUNK_ROWS):
        chunk = external_ids[start : start + CHUNK_ROWS]
        statement = select(col(Assessment.external_id)).where(
            col(Assessment.external_id).in_(chunk)
        )
        found |= {value for value in (await run(session, statement)).scalars() if value}
    return found
