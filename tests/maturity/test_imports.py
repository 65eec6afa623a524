"""The NRW portal list as assessments: real file, then synthetic copies with one thing wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, rewrite
from tracker.db import run
from tracker.importing import ImportRejected
from tracker.maturity.imports import WSP_NRW_FILE, import_wsp_nrw
from tracker.maturity.models import Assessment

NRW_INHABITED = 396  # NRW Gemeinden with population (GV100AD 30.11.2025)


async def test_real_list_becomes_nrw_assessments(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    result = await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    assert result.inserted == 159 * NRW_INHABITED
    assert result.rejected == []  # every row is valid; what is left out is skipped, saying why
    not_in_catalogue = [e for e in result.skipped if "is not in the catalogue" in e.message]
    assert len(not_in_catalogue) == 209
    assert str(not_in_catalogue[0]) == (
        "wsp_nrw_onlinedienste_live_2024-11-11.csv:4: "
        "LeiKa key 99050212006000 is not in the catalogue"
    )
    assert [str(e) for e in result.skipped if "repeats" in e.message] == [
        "wsp_nrw_onlinedienste_live_2024-11-11.csv:360: repeats line 346 word for word; skipped"
    ]
    await session.commit()
    essen = (await client.get("/api/v1/gemeinden/051130000000/reifegrad")).json()
    summary = essen["summary"]["online"]
    assert (summary["assessed"], summary["online"], summary["ozg_konform"]) == (22, 22, 22)
    assert summary["by_highest_level"] == {"3": 22}
    assessed = [item["online"] for item in essen["leistungen"] if item["online"]]
    assert all(figures["land_wide_portal"] for figures in assessed)
    listed = await client.get("/api/v1/assessments", params={"ars": "051130000000", "limit": 1})
    first = listed.json()["items"][0]
    assert (first["source"], first["land_wide_portal"], first["status"], first["provisional"]) == (
        "import:wsp-nrw", True, "validated", True,
    )  # fmt: skip
    assert first["evidence"][0]["note"].startswith("Wirtschafts-Service-Portal.NRW: ")
    assert first["assessed_at"].startswith("2024-11-11")
    before = await client.get(
        "/api/v1/gemeinden/051130000000/reifegrad", params={"at": "2024-11-10"}
    )
    assert before.json()["summary"]["online"]["assessed"] == 0
    leipzig = (await client.get("/api/v1/gemeinden/147130000000/reifegrad")).json()
    assert leipzig["summary"]["online"]["assessed"] == 0

    again = await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    assert (again.inserted, again.unchanged) == (0, 159 * NRW_INHABITED)
    count = (
        await run(session, select(func.count()).where(col(Assessment.source) == "import:wsp-nrw"))
    ).scalar_one()
    assert count == 159 * NRW_INHABITED


async def test_conflicting_rows_reject_the_file(
    session: AsyncSession, data_dir: Path, tmp_path: Path
) -> None:
    path = rewrite(
        data_dir / WSP_NRW_FILE,
        tmp_path / "wsp_nrw_live_2025-01-31.csv",
        {0: {"Live": "Nein"}, 2: {"Nummer": "99050058108000", "Name": "anders"}},
    )
    with pytest.raises(ImportRejected) as rejected:
        await import_wsp_nrw(session, path)
    assert [str(e) for e in rejected.value.errors] == [
        "wsp_nrw_live_2025-01-31.csv:2: Live: String should match pattern '^Ja$' (got 'Nein')",
        "wsp_nrw_live_2025-01-31.csv:4: Nummer 99050058108000 already given on line 3",
    ]
    wsp = select(func.count()).where(col(Assessment.source) == "import:wsp-nrw")
    assert (await run(session, wsp)).scalar_one() == 0


async def test_reifegrad_page_shows_the_nrw_portal(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    await session.commit()
    page = (await client.get("/gemeinden/051130000000/reifegrad", params={"lang": "de"})).text
    assert "<h1>Reifegrad: Essen</h1>" in page
    assert 'data-count="applicable">464<' in page
    assert 'data-count="ozg_konform">22<' in page
    assert page.count('<span class="tag">Landesportal</span>') == 22
    gemeinde = (await client.get("/gemeinden/051130000000")).text
    assert 'href="/gemeinden/051130000000/reifegrad"' in gemeinde


async def test_leistung_coverage_by_land_and_kreis(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    await session.commit()
    # 10069 „Zulassung für reglementierte Berufe“ is live in the NRW portal
    body = (await client.get("/api/v1/leistungen/10069/reifegrad")).json()
    assert (body["ozg_id"], body["dimension"], body["applicable"]) == ("10069", "online", True)
    nrw = next(land for land in body["laender"] if land["code"] == "05")
    assert (nrw["name"], nrw["gemeinden"], nrw["online"], nrw["ozg_konform"]) == (
        "Nordrhein-Westfalen", NRW_INHABITED, NRW_INHABITED, NRW_INHABITED,
    )  # fmt: skip
    assert (nrw["flaechendeckend"], nrw["mindestens_eine_kommune"], nrw["share_online"]) == (
        True,
        True,
        1.0,
    )
    bayern = next(land for land in body["laender"] if land["code"] == "09")
    assert (bayern["online"], bayern["flaechendeckend"], bayern["mindestens_eine_kommune"]) == (
        0,
        False,
        False,
    )
    bund = body["bund"]
    assert bund["online"] == NRW_INHABITED
    assert bund["gemeinden"] == sum(land["gemeinden"] for land in body["laender"])
    assert (bund["flaechendeckend"], bund["mindestens_eine_kommune"]) == (False, True)
    essen = next(kreis for kreis in body["kreise"] if kreis["code"] == "05113")
    assert (essen["name"], essen["gemeinden"], essen["flaechendeckend"]) == (
        "Essen, Stadt",
        1,
        True,
    )
    assert "flaechendeckend" in body["rules"]
    back = (
        await client.get("/api/v1/leistungen/10069/reifegrad", params={"dimension": "backoffice"})
    ).json()
    assert back["bund"]["assessed"] == 0
    federal = (await client.get("/api/v1/leistungen/10484/reifegrad")).json()
    assert federal["applicable"] is False
    assert (await client.get("/api/v1/leistungen/99999/reifegrad")).status_code == 404
