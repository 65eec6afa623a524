"""The open-PVOG export importer, on files the test writes (no real export is at hand)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.maturity.test_routes import ELTERNGELD, ESSEN
from tracker.db import run
from tracker.importing import ImportRejected
from tracker.maturity.models import Assessment
from tracker.maturity.pvog import PVOG_LEVEL, import_pvog
from tracker.regions.models import Gemeinde

HEADER = [
    "leika_key", "leika_name", "ars", "ars_name", "ozgid", "ozg_bezeichnung", "url",
    "online_status", "aktiv", "art_flaechendeckung", "begruendung_nicht_beruecksichtigt",
    "datenstand_pvog_import",
]  # fmt: skip
SAARLAND = "100000000000"
KLEVE = "051540000000"
DIESEL = "99041006013000"  # another LeiKa service of OZG-Leistung 10000
FEDERAL = "99078004000000"  # Förderdarlehen der Rentenbank (10404): LeiKa-Typ 1 alone


def record(**fields: str) -> dict[str, str]:
    return {
        "leika_key": ELTERNGELD, "leika_name": "Elterngeld", "ars": ESSEN, "ars_name": "Essen",
        "ozgid": "10000", "ozg_bezeichnung": "Elterngeld", "url": "https://elterngeld.de",
        "online_status": "ok", "aktiv": "ja", "art_flaechendeckung": "landesweit flächendeckend",
        "begruendung_nicht_beruecksichtigt": "", "datenstand_pvog_import": "2025-10-01",
    } | fields  # fmt: skip


def export(path: Path, rows: list[dict[str, Any]], delimiter: str = ";") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


async def inhabited(session: AsyncSession, prefix: str) -> int:
    statement = select(func.count()).where(
        col(Gemeinde.ars).startswith(prefix), col(Gemeinde.bevoelkerung) > 0,
        col(Gemeinde.invalid_since).is_(None),
    )  # fmt: skip
    return int((await run(session, statement)).scalar_one())


async def test_records_become_assessments_for_the_gemeinden_they_cover(
    client: Client, session: AsyncSession, tmp_path: Path
) -> None:
    saarland, kleve = await inhabited(session, "10"), await inhabited(session, "05154")
    path = export(tmp_path / "open-pvog.csv", [
        record(),  # 2: Essen itself
        record(ars=SAARLAND),  # 3: every Gemeinde of the Saarland
        record(ars=KLEVE, leika_key=DIESEL, url="https://kreis-kleve.de",
               art_flaechendeckung="kreisweit flächendeckend",
               datenstand_pvog_import="01.10.2025"),  # 4: every Gemeinde of the Kreis
        record(aktiv="nein"),  # 5: not counted
        record(online_status="nicht ok"),  # 6: not counted
        record(art_flaechendeckung="nicht in Auswertung berücksichtigt",
               begruendung_nicht_beruecksichtigt="Doppelter Eintrag"),  # 7
        record(leika_key="99999999999999"),  # 8: not in the catalogue
        record(leika_key="", ozgid="10000", url="https://essen.de/ozg"),  # 9: whole Leistung
        record(ars=ESSEN, url="https://elterngeld.de/essen"),  # 10: merges into line 2's
        record(ars=KLEVE, leika_key=FEDERAL, ozgid="10404"),  # 11: imported, never counted
    ])  # fmt: skip
    result = await import_pvog(session, path)
    assert result.inserted == 1 + saarland + kleve + 1 + kleve
    assert result.rejected == []
    assert [str(error) for error in result.skipped] == [
        "open-pvog.csv:5: not counted: aktiv = nein",
        "open-pvog.csv:6: not counted: online_status = nicht ok",
        "open-pvog.csv:7: not counted: nicht in Auswertung berücksichtigt (Doppelter Eintrag)",
        "open-pvog.csv:8: LeiKa key 99999999999999 is not in the catalogue",
        f"open-pvog.csv:11: imported, but not counted for Gemeinden: LeiKa key {FEDERAL} is of "
        "LeiKa-Typ 1 (federal) alone",
    ]
    again = await import_pvog(session, path)
    assert (again.inserted, again.unchanged) == (0, result.inserted)
    await session.commit()

    statement = select(Assessment).where(
        col(Assessment.ars) == ESSEN, col(Assessment.source) == "import:pvog"
    )
    essen = {row.ozg_id or "leika": row for row in (await run(session, statement)).scalars()}
    assert set(essen) == {"leika", "10000"}
    one = essen["leika"]
    assert (one.level, one.provisional, one.status, one.land_wide_portal) == (
        PVOG_LEVEL, True, "validated", True,
    )  # fmt: skip
    assert [item["ref"] for item in one.evidence] == [
        "https://elterngeld.de", "https://elterngeld.de/essen",
    ]  # fmt: skip
    coverage = (await client.get("/api/v1/leistungen/10000/reifegrad")).json()
    laender = {land["code"]: land for land in coverage["laender"]}
    assert laender["10"]["flaechendeckend"] is True
    assert (laender["10"]["online"], laender["10"]["ozg_konform"]) == (saarland, 0)
    kreise = {kreis["code"]: kreis for kreis in coverage["kreise"]}
    assert kreise["05154"]["online"] == kreise["05154"]["gemeinden"] == kleve
    assert coverage["bund"]["mindestens_eine_kommune"] is True


async def test_bad_records_reject_the_file(session: AsyncSession, tmp_path: Path) -> None:
    path = export(tmp_path / "kaputt.csv", [
        record(ars="05113000000"),  # 2: eleven digits
        record(ars="059990000000"),  # 3: no such Kreis
        record(online_status="vielleicht"),  # 4
        record(art_flaechendeckung="überall"),  # 5
        record(datenstand_pvog_import="gestern"),  # 6
        record(leika_key="", ozgid=""),  # 7
    ], delimiter=",")  # fmt: skip
    with pytest.raises(ImportRejected) as rejected:
        await import_pvog(session, path)
    lines = [error.line for error in rejected.value.errors]
    assert lines == [2, 3, 4, 5, 6, 7]
    assert "no Gemeinde, Verband, Kreis or Land has the ARS 059990000000" in str(rejected.value)
    count = select(func.count()).where(col(Assessment.source) == "import:pvog")
    assert (await run(session, count)).scalar_one() == 0
    skipped = await import_pvog(session, path, skip_invalid=True)
    assert (skipped.inserted, len(skipped.rejected)) == (0, 6)
    (tmp_path / "leer.csv").write_text("leika_key;ars\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="missing columns: ozgid"):
        await import_pvog(session, tmp_path / "leer.csv")
