"""The comparison report: its sets, its figures against the Gemeinde roll-ups, ranks with ties,
change over a real history (WSP NRW is dated 2024-11-11), peers, and its files."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tracker import fields
from tracker.db import run
from tracker.demands import imports as demand_imports
from tracker.demands import queries as demand_queries
from tracker.demands.models import ActionUptake, DemandAction
from tracker.i18n import percent
from tracker.maturity.bulk import import_assessments
from tracker.maturity.imports import WSP_NRW_FILE, import_wsp_nrw
from tracker.regions.models import Gemeinde
from tracker.reports import comparison, dashboard, figures, sets
from tracker.research.models import Finding, Subject, SubjectKind
from tracker.settings import Settings

KOELN, ESSEN, DORTMUND, DUESSELDORF = (
    "053150000000", "051130000000", "059130000000", "051110000000",
)  # fmt: skip
NRW_KREISFREI = 22
URL = "/api/v1/reports/comparison"


async def report(client: Client, **params: Any) -> dict[str, Any]:
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def member(result: dict[str, Any], ars: str) -> dict[str, Any]:
    return dict(next(row for row in result["members"] if row["ars"] == ars))


async def history(client: Client, session: AsyncSession, data_dir: Path) -> tuple[str, str]:
    """WSP NRW (2024-11-11, level 3 everywhere in NRW), then in 2025 Köln alone online with X,
    Essen, Dortmund and Düsseldorf with Y (level 4, without ratings: provisional)."""
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    await session.commit()
    koeln = (await client.get(f"/api/v1/gemeinden/{KOELN}/reifegrad")).json()
    x, y = [item["ozg_id"] for item in koeln["leistungen"] if item["online"] is None][:2]
    rows = [(KOELN, x)] + [(ars, y) for ars in (ESSEN, DORTMUND, DUESSELDORF)]
    lines = [
        (number, {"external_id": f"cmp-{number}", "ars": ars, "ozg_id": ozg_id,
                  "dimension": "online", "level": "4", "assessed_at": "2025-06-01"})
        for number, (ars, ozg_id) in enumerate(rows, start=2)
    ]  # fmt: skip
    await import_assessments(session, lines, "comparison.csv")
    await session.commit()
    return x, y


def test_ranks_quartiles_histogram_and_dates() -> None:
    assert comparison.ranks({"a": 0.5, "b": 0.7, "c": 0.5, "d": None, "e": 0.1}) == {
        "a": 2, "b": 1, "c": 2, "d": None, "e": 4,
    }  # fmt: skip
    assert comparison.spread([0.1, 0.2, 0.3, 0.4, None]) == {
        "count": 4, "min": 0.1, "q1": 0.175, "median": 0.25, "q3": 0.325, "max": 0.4,
    }  # fmt: skip
    assert comparison.spread([0.3])["median"] == 0.3
    assert comparison.RULES.keys() == comparison.RULES_DE.keys()  # every rule also in German
    assert figures.RULES.keys() == figures.RULES_DE.keys()
    bins = comparison.histogram([0.0, 0.05, 0.1, 0.95, 1.0])
    assert [b["gemeinden"] for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    at = fields.report_moment("2026-11-30")
    assert at == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert comparison.default_since(at) == datetime(2025, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    mid_month = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert comparison.default_since(mid_month).date().isoformat() == "2025-11-30"


async def test_sets_and_their_band_edges(session: AsyncSession, settings: Settings) -> None:
    kreisfrei = await sets.resolve(session, " Land:05 ; kreisfrei", settings)
    assert kreisfrei.definition == "land:05;kreisfrei"
    assert kreisfrei.description["de"] == "Land Nordrhein-Westfalen; kreisfreie Städte"
    assert len(await kreisfrei.members(session)) == NRW_KREISFREI
    # the band holds its lower edge: exactly 100,000 is a Großstadt, 99,999 a Mittelstadt
    for ars, population in ((ESSEN, 100_000), (DORTMUND, 99_999)):
        await run(
            session,
            update(Gemeinde).where(col(Gemeinde.ars) == ars).values(bevoelkerung=population),
        )
    gross = await sets.resolve(session, "land:05;band:grossstadt", settings)
    mittel = await sets.resolve(session, "land:05;band:mittelstadt", settings)
    gross_ars = {row.ars for row in await gross.members(session)}
    mittel_ars = {row.ars for row in await mittel.members(session)}
    assert ESSEN in gross_ars
    assert ESSEN not in mittel_ars
    assert DORTMUND in mittel_ars
    assert DORTMUND not in gross_ars
    peers = await sets.resolve(session, "peers:05113000", settings)  # an AGS
    assert peers.definition == f"peers:{ESSEN}:typ,band"
    assert peers.focus == ESSEN
    assert "Großstadt (≥ 100.000)" in peers.description["de"]
    picked = await sets.resolve(session, f"ars:{KOELN},05113000", settings)
    assert picked.definition == f"ars:{ESSEN},{KOELN}"
    await session.rollback()


async def test_bad_sets_are_clear_errors(client: Client) -> None:
    for definition, named in (
        ("foo:1", "'foo:1'"), ("land:99", "99"), ("land:5", "'land:5'"), ("dst", "TRACKER_DST"),
        ("band:riesig", "grossstadt"), (f"peers:{KOELN};peers:{ESSEN}", "one peer group"),
        ("ars:12345", "'12345'"),
    ):  # fmt: skip
        response = await client.get(URL, params={"set": definition})
        assert response.status_code == 422, (definition, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert named in response.json()["detail"], response.json()
    # the page says the same in German, on the form, and keeps what was chosen
    for params, german in (
        ({"set": "land:99"}, "den Schlüssel 99 gibt es nicht"),
        ({"land": "05", "since": "gestern"}, "„gestern“ ist kein Datum"),
        ({"peers": "0531"}, "kein ARS (12 Ziffern) und kein AGS (8 Ziffern)"),
        ({"set": "dst"}, "keine Liste der Mitgliedsstädte"),
    ):
        page = await client.get("/vergleich", params=params)
        assert page.status_code in (400, 422), page.text
        assert german in page.text, (params, page.text)
        assert 'id="report-form"' in page.text
    late = await client.get(
        URL, params={"set": "land:05", "at": "2025-01-01", "since": "2025-02-01"}
    )
    assert late.status_code == 422
    assert "since" in late.json()["detail"]
    for at, why in (("2024-02-30", "no day of the calendar"), ("2999-01-01", "future")):
        wrong = await client.get(URL, params={"set": "land:05", "at": at})
        assert wrong.status_code == 422, wrong.text
        assert why in wrong.json()["detail"]
        for rollup in (
            "/api/v1/gemeinden/053150000000/reifegrad",
            "/api/v1/leistungen/10000/reifegrad",
            "/api/v1/reifegrad/summary",
        ):  # one rule for `at` everywhere (tracker.fields.report_moment)
            refused = await client.get(rollup, params={"at": at})
            assert refused.status_code == 422, (rollup, refused.text)
            assert refused.json()["detail"].startswith("at: ")
            assert why in refused.json()["detail"]
    day = await client.get("/api/v1/gemeinden/053150000000/reifegrad", params={"at": "2025-01-31"})
    assert day.status_code == 200
    assert day.json()["at"].startswith("2025-01-31T23:59:59.999999")  # a day is its end


async def test_the_report_agrees_with_the_rollups_and_moves_over_time(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    x, y = await history(client, session, data_dir)
    before = await report(client, set="land:05;kreisfrei", since="2024-10-31")
    members = before["members"]
    assert len(members) == before["set"]["gemeinden"] == NRW_KREISFREI
    for row in members:  # every figure as the Gemeinde's own roll-up gives it
        own = (await client.get(f"/api/v1/gemeinden/{row['ars']}/reifegrad?fields=summary")).json()
        online = own["summary"]["online"]
        assert (row["applicable"], row["online"], row["ozg_konform"]) == (
            online["applicable"], online["online"], online["ozg_konform"],
        )  # fmt: skip
        assert row["share_online"] == online["share_online"]
        # nothing assessed before WSP NRW: no data then, so no change (not the whole share)
        assert row["then"]["share_online"] is None
        assert row["change"]["share_online"] is None
        assert row["rank_change"] is None
    leaders = {KOELN, ESSEN, DORTMUND, DUESSELDORF}
    assert {row["ars"]: row["rank"] for row in members if row["rank"] == 1}.keys() == leaders
    assert {row["rank"] for row in members} == {1, len(leaders) + 1}  # ties share the rank
    wsp = member(before, "051120000000")["online"]  # Duisburg: WSP NRW alone
    # WSP NRW gives levels without ratings: provisional, as the 2025 ones
    assert member(before, KOELN)["provisional"] == member(before, "051120000000")["provisional"] + 1
    assert before["freshness"]["provisional"] == NRW_KREISFREI * wsp + len(leaders)
    assert sum(b["gemeinden"] for b in before["histogram"]) == NRW_KREISFREI
    assert before["leistungen"]["mindestens_eine_kommune"] == wsp + 2
    assert before["leistungen"]["flaechendeckend"] == wsp
    assert len(before["heatmap"]["themenfelder"]) == 14
    assert len(before["heatmap"]["rows"]) == NRW_KREISFREI
    assert before["spread"]["share_online"]["count"] == NRW_KREISFREI
    assert "rank" in before["rules"]
    assert "online" in before["rules"]
    assert before["sources"]["population"].startswith("Statistisches Bundesamt")
    credits = {credit["source"]: credit for credit in before["sources"]["assessments"]}
    assert credits["import:wsp-nrw"]["earliest"].startswith("2024-11-11")
    assert "Wirtschafts-Service-Portal.NRW" in credits["import:wsp-nrw"]["name"]
    assert sum(credit["pairs"] for credit in credits.values()) == before["freshness"]["assessed"]
    # after WSP: only the 2025 assessments moved; a month's end reads the counts, any other
    # moment the assessments, and the two agree
    counted = await report(client, set="land:05;kreisfrei", since="2024-11-30")
    computed = await report(client, set="land:05;kreisfrei", since="2025-01-15T12:00:00Z")
    assert (counted["since_from"], computed["since_from"]) == ("counts", "pairs")
    for found in (counted, computed):
        koeln = member(found, KOELN)
        assert koeln["change"]["share_online"] == round(1 / koeln["applicable"], 4)
        assert member(found, "051120000000")["change"]["share_online"] == 0
        assert {row["ars"] for row in found["members"] if row["rank_change"] == 1} == leaders
    # a peer group: Köln is behind the NRW median on Y (3 peers assessed), not on X (its own)
    peers = await report(client, set=f"peers:{KOELN}:land")
    assert peers["set"]["focus"] == KOELN
    assert peers["set"]["gemeinden"] == 396
    assert peers["heatmap"] is None  # more than 200 Gemeinden
    behind = {(item["ozg_id"], item["dimension"]): item for item in peers["behind_peers"]}
    assert behind[(y, "online")]["level"] is None
    assert behind[(y, "online")]["peer_median"] == 4
    assert behind[(y, "online")]["peers_assessed"] == 3
    assert (x, "online") not in behind
    # a past report date reads the pairs as they were
    then = await report(client, set="land:05;kreisfrei", at="2025-01-31", since="2024-10-31")
    assert member(then, KOELN)["online"] == wsp


def read_pdf(content: bytes, folder: Path) -> tuple[int, str]:
    """The PDF's pages rendered by poppler (as PNG) and its text."""
    document = folder / "vergleich.pdf"
    document.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "30", document, folder / "page"], check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", document, "-"], capture_output=True, text=True, check=True
    ).stdout
    return len(list(folder.glob("page*.png"))), text


async def test_the_files_are_formats_of_the_one_result(
    client: Client, session: AsyncSession, data_dir: Path, tmp_path: Path
) -> None:
    await history(client, session, data_dir)
    await run(
        session,
        update(Gemeinde)
        .where(col(Gemeinde.ars) == KOELN)
        .values(display_name='=HYPERLINK("http://x","Köln")'),
    )
    await session.commit()
    params = {"set": "land:05;kreisfrei", "since": "2024-10-31"}
    result = await report(client, **params)
    koeln = member(result, KOELN)
    plain = await client.get(URL, params=params | {"format": "csv"})
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/csv")
    assert 'filename="vergleich_land-05-kreisfrei_' in plain.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(plain.content.decode())))
    assert rows[0][:3] == ["Rang", "ARS", "Gemeinde"]
    assert len(rows) == NRW_KREISFREI + 1
    line = next(row for row in rows if row[1] == KOELN)
    assert line[2].startswith("'=HYPERLINK")  # neutralised
    assert float(line[8]) == koeln["share_online"]
    german = await client.get(URL, params=params | {"format": "csv-de"})
    assert german.content.startswith(b"\xef\xbb\xbf")
    assert german.headers["content-type"] == "text/csv; charset=utf-8"
    assert german.headers["content-disposition"].endswith('.excel-de.csv"')
    rows = list(csv.reader(io.StringIO(german.content.decode("utf-8-sig")), delimiter=";"))
    line = next(row for row in rows if row[1] == KOELN)
    assert line[8] == str(koeln["share_online"]).replace(".", ",")
    xlsx = await client.get(
        URL,
        params=params,
        headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert xlsx.status_code == 200, xlsx.text
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Vergleich", "Kennzahlen", "Regeln und Quellen"]
    data = book["Vergleich"]
    assert len(data._charts) == 1
    by_ars = {row[1].value: row for row in data.iter_rows(min_row=2)}
    cell = by_ars[KOELN][2]
    assert cell.data_type == "s"
    assert cell.value.startswith("=HYPERLINK")
    assert by_ars[KOELN][8].value == koeln["share_online"]
    assert by_ars[KOELN][8].number_format == "0.0%"
    notes = {row[0].value: row[1].value for row in book["Regeln und Quellen"].iter_rows()}
    assert notes["Definition"] == "land:05;kreisfrei"
    assert notes["Regel: online"] == comparison.RULES_DE["online"]  # the same rule, in German
    assert notes["Vergleichsdatum"] == datetime(2024, 10, 31)  # a typed date cell
    statistics = {row[0].value: row for row in book["Kennzahlen"].iter_rows()}
    assert statistics["Anteil online"][4].value == result["spread"]["share_online"]["median"]
    # the PDF renders: pages as PNG, and its text holds the title, a Gemeinde and its figure
    pdf = await client.get(URL, params=params, headers={"Accept": "application/pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    pages, text = await asyncio.to_thread(read_pdf, pdf.content, tmp_path)
    assert pages >= 2
    assert "Vergleich: Land Nordrhein-Westfalen; kreisfreie Städte" in text
    duisburg = member(result, "051120000000")
    assert re.search(rf"Duisburg .*{re.escape(percent(duisburg['share_online']))}", text)
    assert f"Seite 1 / {pages}" in text
    assert "Statistisches Bundesamt (Destatis)" in text
    html = await client.get(URL, params=params | {"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Vergleich: Land Nordrhein-Westfalen; kreisfreie Städte</h1>" in html.text
    # the city dashboard reads the same figures: its roll-up, its peer group's report
    board_url = f"/api/v1/dashboards/gemeinden/{KOELN}"
    board = (await client.get(board_url)).json()
    rollup = (await client.get(f"/api/v1/gemeinden/{KOELN}/reifegrad?fields=summary")).json()
    assert board["summary"] == rollup["summary"]
    assert sum(group["applicable"] for group in board["themenfelder"]) == koeln["applicable"]
    assert sum(group["online"]["online"] for group in board["themenfelder"]) == koeln["online"]
    peers = await report(client, set=board["peers"]["definition"])
    assert board["peers"]["rank"] == member(peers, KOELN)["rank"]
    assert board["peers"]["gemeinden"] == peers["set"]["gemeinden"]
    assert len(board["history"]) == dashboard.MONTHS
    assert board["history"][-1]["share_online"] == koeln["share_online"]
    held = await client.get(
        board_url, headers={"If-None-Match": (await client.get(board_url)).headers["etag"]}
    )
    assert held.status_code == 304
    page = await client.get(f"/gemeinden/{KOELN}/dashboard")
    assert page.status_code == 200
    assert "Rang in der Vergleichsgruppe" in page.text
    # a second download of the same report is a 304 for a client that holds it
    tag = xlsx.headers["etag"]
    again = await client.get(
        URL, params=params | {"format": "xlsx"}, headers={"If-None-Match": tag}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("definition", ["kreisfrei", "de"])
async def test_nationwide_sets_answer(client: Client, definition: str) -> None:
    found = await report(client, set=definition)
    assert found["set"]["gemeinden"] > 100
    assert found["members"][0]["applicable"] > 0
    # nothing assessed: no data, which is no 0 %: unranked, out of the spread and histogram
    assert found["set"]["with_data"] == 0
    assert {row["share_online"] for row in found["members"]} == {None}
    assert {row["rank"] for row in found["members"]} == {None}
    assert found["spread"]["share_online"]["count"] == 0
    assert sum(item["gemeinden"] for item in found["histogram"]) == 0
    if definition == "de":
        large = await client.get(URL, params={"set": definition, "format": "pdf"})
        assert large.status_code == 422  # laid out by the CLI, not within a request
        assert "tracker report comparison" in large.json()["detail"]


async def test_findings_and_massnahmen_appear_when_their_data_does(
    client: Client, session: AsyncSession
) -> None:
    """A set's open published findings and the Maßnahmen its members take part in: absent
    without data; once per finding in the total and once per member; in every format."""
    params = {"set": "land:05;kreisfrei"}
    before = await report(client, **params)
    assert before["findings"] is None
    assert before["massnahmen"] is None
    assert member(before, KOELN)["findings_open"] == 0
    await demand_imports.import_catalogue(
        session, demand_imports.CATALOGUES / "dresdner-forderungen-2021.json"
    )
    now = datetime.now(UTC)
    stamp: dict[str, Any] = {"created_at": now, "created_by": "t"}

    def finding(text: str, severity: int, status: str, published: bool) -> Finding:
        return Finding(statement=f"{text} (roh)", severity=severity, confidence="high",
                       status=status, tags=[], public_statement=text if published else None,
                       published_at=now if published else None, **stamp)  # fmt: skip

    both = finding("Das Formular bricht beim Upload ab", 4, "open", True)
    one = finding("Die Gebühr wird nicht erklärt", 2, "confirmed", True)
    hidden = finding("Noch nicht veröffentlicht", 4, "open", False)
    solved = finding("Schon behoben", 3, "resolved", True)
    outside = finding("In Leipzig", 3, "open", True)
    session.add_all([both, one, hidden, solved, outside])
    await session.flush()
    about = [(both, KOELN), (both, ESSEN), (one, KOELN), (hidden, KOELN), (solved, ESSEN),
             (outside, "147130000000")]  # fmt: skip
    session.add_all(
        Subject(owner="finding", owner_id=f.id or 0, kind=SubjectKind.GEMEINDE, key=ars)
        for f, ars in about
    )
    demand = await demand_queries.get_demand(session, "DF-3")
    action = DemandAction(demand_id=demand.id or 0, title={"de": "Kfz-Zulassung anbinden"},
                          responsible_level="kommune", status="in_progress", owner_ars=DORTMUND,
                          **stamp)  # fmt: skip
    session.add(action)
    await session.flush()
    for ars in (KOELN, DORTMUND):  # Dortmund owns it and took it up: counted once
        session.add(ActionUptake(action_id=action.id or 0, ars=ars, status="in_progress",
                                 changed_at=now, changed_by="t"))  # fmt: skip
    await session.commit()
    result = await report(client, **params)
    findings = result["findings"]
    assert findings["findings"] == 2  # the one about Köln and Essen counts once
    assert findings["gemeinden"] == 2
    assert findings["by_severity"] == {"4": 1, "3": 0, "2": 1, "1": 0}
    assert [item["statement"] for item in findings["most_severe"]] == [
        "Das Formular bricht beim Upload ab",
        "Die Gebühr wird nicht erklärt",
    ]  # public text only, most severe first
    assert findings["most_severe"][0]["gemeinden"] == sorted([KOELN, ESSEN])
    assert (member(result, KOELN)["findings_open"], member(result, ESSEN)["findings_open"]) == (
        2,
        1,
    )
    actions = result["massnahmen"]
    assert (actions["massnahmen"], actions["gemeinden"]) == (1, 2)
    assert actions["most_taken"][0]["gemeinden"] == 2
    assert [item["status"] for item in actions["by_status"]] == ["in_progress"]
    assert member(result, DORTMUND)["massnahmen"] == 1
    assert "findings" in result["rules"]
    workbook = await client.get(URL, params=params | {"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    cells = [cell.value for row in book["Erkenntnisse und Maßnahmen"].iter_rows() for cell in row]
    assert "Das Formular bricht beim Upload ab" in cells
    assert "Noch nicht veröffentlicht" not in cells
    page = await client.get("/vergleich", params=params)
    assert "Offene Erkenntnisse aus der Nutzendenforschung" in page.text
    assert "Kfz-Zulassung anbinden" in page.text
    assert "(roh)" not in page.text
    board = (await client.get(f"/api/v1/dashboards/gemeinden/{KOELN}")).json()
    assert board["findings"]["findings"] == 2
    assert board["findings"]["most_severe"][0]["statement"] == "Das Formular bricht beim Upload ab"
    assert (
        "Die Gebühr wird nicht erklärt" in (await client.get(f"/gemeinden/{KOELN}/dashboard")).text
    )


async def test_back_office_flags_of_their_own_scale_in_summary_and_comparison(
    client: Client, session: AsyncSession
) -> None:
    """The Land summary and the comparison report count digital bearbeitet (B3), Once-Only (B4)
    and vollautomatisch (B6) from the scale's flags (data), as the Gemeinde roll-up does."""
    koeln = (await client.get(f"/api/v1/gemeinden/{KOELN}/reifegrad")).json()
    x, y = [item["ozg_id"] for item in koeln["leistungen"]][:2]
    rows = [(KOELN, x, 4), (KOELN, y, 2), (ESSEN, x, 3)]
    lines = [
        (number, {"external_id": f"flag-{number}", "ars": ars, "ozg_id": ozg_id,
                  "dimension": "backoffice", "level": str(level), "assessed_at": "2025-06-01"})
        for number, (ars, ozg_id, level) in enumerate(rows, start=2)
    ]  # fmt: skip
    await import_assessments(session, lines, "flags.csv")
    await session.commit()
    rollup = (await client.get(f"/api/v1/gemeinden/{KOELN}/reifegrad?fields=summary")).json()
    own = rollup["summary"]["backoffice"]["flags"]
    assert own == {"digital_bearbeitet": 1, "once_only": 1, "vollautomatisch": 0}
    found = await client.get("/api/v1/reifegrad/summary", params={"group_by": "land"})
    by_land = found.json()
    nrw = next(g for g in by_land["groups"] if (g["code"], g["dimension"]) == ("05", "backoffice"))
    assert nrw["flags"] == {"digital_bearbeitet": 2, "once_only": 1, "vollautomatisch": 0}
    assert nrw["share_flags"]["once_only"] == round(1 / nrw["applicable"], 4)
    online = next(g for g in by_land["groups"] if (g["code"], g["dimension"]) == ("05", "online"))
    assert set(online["flags"]) == {"online", "ozg_konform"}
    assert [f["key"] for f in by_land["flags"]["backoffice"]] == list(own)
    series = await client.get(
        "/api/v1/reifegrad/timeseries",
        params={"group_by": "land", "area": "05", "dimension": "backoffice", "count": 2},
    )
    assert series.json()["series"][0]["points"][-1]["flags"] == nrw["flags"]  # now
    for grouping in ("kreis", "gemeindetyp"):  # from the counts, and from the pairs
        found = await client.get(
            "/api/v1/reifegrad/summary",
            params={"group_by": grouping, "area": KOELN[:5], "dimension": "backoffice"},
        )
        assert [g["flags"] for g in found.json()["groups"]] == [own], grouping
    result = await report(client, set="land:05;kreisfrei")
    assert member(result, KOELN)["flags"]["backoffice"] == own
    assert member(result, ESSEN)["share_flags"]["backoffice"]["once_only"] == 0
    assert member(result, DORTMUND)["share_flags"]["backoffice"]["once_only"] is None  # no data
    assert [f["key"] for f in result["flags"]["backoffice"]] == list(own)
    plain = await client.get(URL, params={"set": "land:05;kreisfrei", "format": "csv"})
    table = list(csv.DictReader(io.StringIO(plain.content.decode())))
    line = next(row for row in table if row["ARS"] == KOELN)
    assert line["Back-Office: Once-Only (ab B4)"] == "1"
    assert float(line["Anteil Back-Office: Once-Only (ab B4)"]) == round(
        1 / member(result, KOELN)["applicable"], 4
    )
    page = await client.get("/vergleich", params={"set": "land:05;kreisfrei"})
    assert "Back-Office: Once-Only (ab B4)" in page.text
    english = await client.get(
        "/vergleich",
        params={"set": "land:05;kreisfrei", "lang": "en", "sort": "flag_backoffice_once_only"},
    )
    assert english.status_code == 200, english.text
    assert "Back office: once-only (from B4)" in english.text
