"""The comparison report: its sets, its figures against the Gemeinde roll-ups, ranks with ties,
change over a real history (WSP NRW is dated 2024-11-11), peers, and its files."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, client_for
from tracker import fields
from tracker.app import create_app
from tracker.db import Sessionmaker, run
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
MUENCHEN = "091620000000"
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


def test_every_rule_has_a_german_and_an_english_label() -> None:
    from tracker.reports import related, summary

    for rules in (comparison.RULES, figures.RULES, related.RULES, summary.RULES):
        assert set(rules) <= set(comparison.RULE_LABELS), set(rules) - set(comparison.RULE_LABELS)
    german = comparison.labelled_rules("de", comparison.RULES)
    assert german["Geltende Bewertung"] == comparison.RULES_DE["current"]
    assert "Current assessment" in comparison.labelled_rules("en", comparison.RULES)


def test_figures_read_as_words_say() -> None:
    from tracker.reports import charts

    assert percent(8711 / 8713) == "> 99,9 %"  # never 100 % what is not
    assert percent(1 / 8713) == "< 0,1 %"
    assert (percent(1.0), percent(0.0)) == ("100,0 %", "0,0 %")
    assert charts.count_ticks(8) == [0, 2, 4, 6, 8]  # whole Gemeinden
    assert charts.count_ticks(0) == [0, 1]
    ticks = charts.change_ticks(0.0025)  # distinct one-decimal labels, zero in the middle
    assert len({f"{tick * 100:.1f}" for tick in ticks}) == len(ticks)
    assert 0 in ticks
    members = [{"name": f"G{n:03}", "share_online": n / 400, "change": {"share_online": None}}
               for n in range(1, 397)]  # fmt: skip
    bins = [{"lower": n / 10, "upper": (n + 1) / 10, "gemeinden": 3 * (n == 1)} for n in range(10)]
    drawn = charts.charts({"members": members, "histogram": bins}, str, "de")
    assert drawn[0].title.endswith("(die ersten 30 von 396)")
    labels = set(re.findall(r"<text[^>]*>([^<]*)</text>", drawn[1].svg))
    assert {"0", "1", "2", "3"} <= labels
    assert not any(re.fullmatch(r"[0-9]+[.,][0-9]+", label) for label in labels)


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
    # the spec says what the server takes: an ASCII set, short enough for a request line
    spec = (await client.get("/schema/openapi.json")).json()
    operation = spec["paths"]["/api/v1/reports/comparison"]["get"]
    schema = next(p for p in operation["parameters"] if p["name"] == "set")["schema"]
    assert re.fullmatch(schema["pattern"], "peers:05315000:land,typ;ars:09162000, 05315000")
    longest = urlencode({"set": ";" * schema["maxLength"], "at": "2026-01-01T00:00:00+00:00"})
    assert len(f"GET {URL}?{longest} HTTP/1.1") < 16 * 1024 - 2048  # h11's head, headers
    wide = await client.get(URL, params={"set": "ä" * 2_000})  # refused by the pattern
    assert wide.status_code == 400
    assert wide.headers["content-type"].startswith("application/problem+json")
    assert "set" in wide.text
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
    # an error is shown at its field, in German words, and linked from the summary above
    wrong = await client.get("/vergleich", params={"land": "05", "at": "2026-02-30"})
    assert "Stand: „2026-02-30“ ist kein Tag des Kalenders" in wrong.text
    assert "at: „" not in wrong.text
    assert re.search(
        r'id="f-at"[^>]*aria-invalid="true" aria-errormessage="report-error"', wrong.text
    )
    assert '<a href="#f-at">' in wrong.text
    assert wrong.text.index('id="report-error"') < wrong.text.index('id="f-since"')
    term = await client.get("/vergleich", params={"kreis": "99999"})
    assert re.search(r'id="f-kreis"[^>]*aria-invalid="true"', term.text)
    # names said once, plurals right
    one = await report(client, set=f"ars:{KOELN}")
    assert one["set"]["description"]["de"] == "1 ausgewählte Gemeinde"
    district = await report(client, set="rb:053")
    assert district["set"]["description"]["de"] == "Regierungsbezirk Köln"
    page = await client.get("/vergleich", params={"set": f"ars:{KOELN}"})
    assert "(1 Gemeinde, davon mit Daten" in page.text
    # the form says how its fields combine; what it leaves aside and what excludes what
    page = await client.get("/vergleich")
    assert "gelten zugleich" in page.text
    peers = await client.get(
        "/vergleich", params={"land": "09", "peers": KOELN, "gruppe": "alle"}, follow_redirects=True
    )
    assert peers.status_code == 200, peers.text
    assert "nicht berücksichtigt: Land." in peers.text
    empty = await client.get(
        "/vergleich", params={"land": "05", "ars": "09162000"}, follow_redirects=True
    )
    assert "<code>land:05</code> und <code>ars:091620000000</code> schließen sich aus" in empty.text
    assert "(allein: 396 Gemeinden bzw. 1 Gemeinde)" in empty.text
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
    # a Gemeinde with no data has no share in the heat map either (null, as „keine Daten“)
    mixed = await report(client, set=f"ars:{KOELN},{MUENCHEN}")
    rows = {row["ars"]: row["shares"] for row in mixed["heatmap"]["rows"]}
    assert set(rows[MUENCHEN]) == {None}
    assert any(share is not None for share in rows[KOELN])
    page = await client.get(URL, params={"set": f"ars:{KOELN},{MUENCHEN}", "format": "html"})
    assert page.text.count("keine Daten</td>") == 2  # the table and the heat map
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


def pdf_words(content: bytes, folder: Path) -> tuple[float, list[tuple[float, float, float, str]]]:
    """The page width and each word of the PDF's first page: (x min, x max, y min, text)."""
    document = folder / "words.pdf"
    document.write_bytes(content)
    boxes = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", document, "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    width = float(re.search(r'<page width="([0-9.]+)"', boxes)[1])  # type: ignore[index]
    words = [
        (float(x0), float(x1), float(y0), word)
        for x0, y0, x1, word in re.findall(
            r'<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="[0-9.]+">([^<]*)<',
            boxes,
        )
    ]
    return width, words


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
    # the whole table is on the page, its last header („Rang Veränderung“, wrapped) included
    width, words = await asyncio.to_thread(pdf_words, pdf.content, tmp_path)
    assert max(x1 for _, x1, _, _ in words) < width
    ranks = [(x0, y0) for x0, x1, y0, word in words if word == "Rang"]
    changes = [(x0, x1, y0) for x0, x1, y0, word in words if word == "Veränderung"]
    assert any(
        0 < y0 - rank_y < 15 and x0 <= rank_x <= x1
        for rank_x, rank_y in ranks for x0, x1, y0 in changes
    )  # fmt: skip
    html = await client.get(URL, params=params | {"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Vergleich: Land Nordrhein-Westfalen; kreisfreie Städte</h1>" in html.text
    assert "<strong>Anwendbarkeit</strong>:" in html.text  # rules under labels, not API keys
    assert "<strong>applicable</strong>" not in html.text
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
        assert large.status_code == 202  # laid out by a job, not within the request
        assert large.json()["status"] == "queued"
    # the page says which files are made in the background, in German, beside their links
    page = await client.get("/vergleich", params={"set": definition})
    later = "PDF, Excel (XLSX): Diese Auswahl hat mehr als 500 Gemeinden"
    assert (later in page.text) is (definition == "de"), page.text[-3000:]


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
    # the dashboard's back-office figures by Themenfeld are the scale's own flags, summing to
    # the roll-up's; a Themenfeld with nothing assessed has no share (null, not 0 %)
    board = (await client.get(f"/api/v1/dashboards/gemeinden/{KOELN}")).json()
    groups = [group["backoffice"] for group in board["themenfelder"]]
    assert {key: sum(g["flags"][key] for g in groups) for key in own} == own
    assert {g["share_online"] for g in groups if not g["assessed"]} == {None}
    assert {g["share_flags"]["once_only"] for g in groups if not g["assessed"]} == {None}
    assert any(g["share_flags"]["once_only"] for g in groups if g["assessed"])
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


async def test_a_large_sets_file_is_made_by_a_job_and_fetched_when_done(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    """Above `report_job_above_gemeinden` a PDF, HTML or XLSX file is queued (202 with its URL,
    once per report), made by the job and then fetched; smaller sets and CSV stay in the
    request. The pair levels rebuild runs as a job too."""
    from tracker import tasks
    from tracker.jobs import actions as jobs_actions
    from tracker.jobs.models import Job

    settings = replace(settings, report_job_above_gemeinden=NRW_KREISFREI)
    async with client_for(create_app(settings, sessionmaker=sessionmaker)) as client:
        xlsx = {"set": "kreisfrei", "format": "xlsx"}
        queued = await client.get(URL, params=xlsx)
        assert queued.status_code == 202, queued.text
        status = queued.json()
        assert {k: status[k] for k in ("status", "format", "set")} == {
            "status": "queued", "format": "xlsx", "set": "kreisfrei",
        }  # fmt: skip
        assert queued.headers["Location"] == status["url"]
        again = await client.get(URL, params=xlsx)
        assert (again.status_code, again.json()["job_id"]) == (202, status["job_id"])
        assert (await client.get(status["url"])).status_code == 202
        # a browser that clicked the link gets a page that asks again until the file comes
        clicked = await client.get(URL, params=xlsx, headers={"Accept": "text/html,*/*;q=0.8"})
        assert (clicked.status_code, clicked.headers["Location"]) == (202, status["url"])
        assert "Die Datei wird erstellt" in clicked.text
        assert f'content="10; url={status["url"]}"' in clicked.text
        assert "in der Warteschlange" in clicked.text
        assert "fragt alle 10 Sekunden nach" in clicked.text
        small = await client.get(URL, params={"set": "land:05;kreisfrei", "format": "xlsx"})
        assert small.status_code == 200  # 22 Gemeinden: within the request
        assert (await client.get(URL, params={"set": "kreisfrei", "format": "csv"})).is_success

        (done,) = await jobs_actions.run_due(sessionmaker, tasks.TASKS, settings=settings)
        assert (done.id, done.status) == (status["job_id"], "succeeded")
        made = await client.get(status["url"])
        assert made.status_code == 200
        assert 'filename="vergleich_kreisfrei_' in made.headers["content-disposition"]
        book = openpyxl.load_workbook(io.BytesIO(made.content))
        assert book["Vergleich"].max_row > NRW_KREISFREI + 1
        direct = await client.get(URL, params=xlsx)  # the same report now answers the file
        assert (direct.status_code, direct.content) == (200, made.content)

        pdf = (await client.get(URL, params={"set": "kreisfrei", "format": "pdf"})).json()
        await run(session, update(Job).where(col(Job.id) == pdf["job_id"]).values(status="dead"))
        await session.commit()
        failed = await client.get(pdf["url"])
        assert failed.status_code == 503
        assert f"retry job {pdf['job_id']}" in failed.json()["detail"]
        assert (await client.get(f"/api/v1/report-files/{'0' * 64}")).status_code == 404

        rebuild = await jobs_actions.enqueue(session, "pairs.rebuild", key="pairs.rebuild")
        await session.commit()
        (rebuilt,) = await jobs_actions.run_due(sessionmaker, tasks.TASKS, settings=settings)
        assert (rebuilt.id, rebuilt.status) == (rebuild, "succeeded")
