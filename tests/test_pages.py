"""German pages through HTTP (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

import re

import pytest

from tests.builders import Client


async def test_start_page_counts_in_german(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="de">' in page
    assert 'data-count="gemeinden">10.953<' in page
    assert 'data-count="bevoelkerung">83.577.140<' in page
    assert 'data-count="lebenslagen">55<' in page
    assert "© Statistisches Bundesamt (Destatis), 2025" in page


async def test_search_page_lists_gemeinden_and_leistungen(client: Client) -> None:
    page = (await client.get("/suche", params={"q": "Elterngeld"})).text
    assert 'href="/leistungen/10000">Elterngeld</a>' in page
    empty = (await client.get("/suche")).text
    assert empty.count("Keine Treffer.") == 2
    city = (await client.get("/suche", params={"q": "koeln"})).text
    assert 'href="/gemeinden/053150000000">Köln</a>' in city


async def test_detail_pages_and_english(client: Client) -> None:
    gemeinde = await client.get("/gemeinden/091620000000", params={"lang": "en"})
    assert '<html lang="en">' in gemeinde.text
    assert "1,505,005" in gemeinde.text
    assert "lang=en" in gemeinde.headers["set-cookie"]
    coast = (await client.get("/gemeinden/130009999999", params={"lang": "de"})).text
    assert "ohne Kreis (gemeindefreies Gebiet)" in coast
    leistung = (await client.get("/leistungen/10000")).text
    assert leistung.count("<tr><td>99041006") == 4
    missing = await client.get("/leistungen/99999")
    assert missing.status_code == 404


async def test_region_lists_as_csv(client: Client) -> None:
    laender = await client.get("/api/v1/laender", headers={"Accept": "text/csv"})
    lines = laender.text.splitlines()
    assert (
        lines[0] == "land_code,name,sitz_landesregierung,anzahl_gemeinden,bevoelkerung,gebietsstand"
    )
    assert lines[1] == "01,Schleswig-Holstein,Kiel,1106,2959517,2025-11-30"
    assert len(lines) == 17
    lagen = await client.get("/api/v1/lebenslagen", headers={"Accept": "text/csv"})
    assert len(lagen.text.splitlines()) == 56


async def test_themenfeld_leads_to_its_leistungen(client: Client) -> None:
    start = (await client.get("/", params={"lang": "de"})).text
    assert '<a href="/leistungen?themenfeld=11">Recht &amp; Ordnung</a>' in start
    page = (await client.get("/leistungen", params={"themenfeld": 11})).text
    assert "<h1>Recht &amp; Ordnung</h1>" in page
    assert page.count("<tr><td>1") == 15
    everything = (await client.get("/leistungen")).text
    assert everything.count('href="/leistungen/1') == 557


async def test_browser_gets_an_html_error_page_and_api_a_problem(client: Client) -> None:
    page = await client.get("/gemeinden/099999999999", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Keine Gemeinde hat den ARS 099999999999." in page.text
    english = await client.get(
        "/gemeinden/099999999999", params={"lang": "en"}, headers={"Accept": "text/html"}
    )
    assert "No Gemeinde has the ARS 099999999999." in english.text
    bad = await client.get("/gemeinden/123", headers={"Accept": "text/html"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/html")
    api = await client.get("/api/v1/gemeinden/099999999999", headers={"Accept": "text/html"})
    assert api.headers["content-type"].startswith("application/problem+json")


PAGE_SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/gemeinden/051130000000", 200),
        ("GET", "/nirgends", 404),  # no route: answered before any router's headers apply
        ("GET", "/gemeinden/099999999999", 404),
        ("GET", "/gemeinden/123", 400),
        ("DELETE", "/", 405),
        ("POST", "/anmelden", 403),  # no CSRF token
    ],
)
async def test_every_html_answer_carries_the_security_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    page = await client.request(method, path, headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (status, "text/html; charset=utf-8")
    assert {name: page.headers.get(name) for name in PAGE_SECURITY} == PAGE_SECURITY
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers.get_list("content-security-policy") == [
        page.headers["content-security-policy"]
    ]  # once, also where the router sets it


async def test_api_docs_load_nothing_from_elsewhere(client: Client) -> None:
    """The viewer comes from the installation: /schema works on an offline network."""
    docs = await client.get("/schema", headers={"Accept": "text/html"})
    assert docs.headers["content-type"].startswith("text/html")
    assert {name: docs.headers.get(name) for name in PAGE_SECURITY} == PAGE_SECURITY
    assert docs.headers["content-security-policy"].startswith("default-src 'self'")
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text)
    assert assets
    assert all(asset.startswith("/schema-assets/") for asset in assets), assets
    for asset in assets:
        found = await client.get(asset)
        assert found.status_code == 200, asset


async def test_error_pages_speak_german_and_english_on_request(client: Client) -> None:
    invalid = await client.get("/gemeinden/abc/reifegrad", headers={"Accept": "text/html"})
    assert invalid.status_code == 400
    assert "„ars“ in der Adresse ist ungültig: erwartet ist ein ARS (12 Ziffern)" in invalid.text
    assert "Validation failed" not in invalid.text
    page = await client.get("/nirgends", headers={"Accept": "text/html"})
    assert '<html lang="de">' in page.text
    assert "404 · Nicht gefunden" in page.text
    assert "Zur Startseite" in page.text
    assert "Not Found" not in page.text
    bad = await client.get("/gemeinden/123", headers={"Accept": "text/html"})
    assert "400 · Ungültige Anfrage" in bad.text
    english = await client.get("/nirgends?lang=en", headers={"Accept": "text/html"})
    assert '<html lang="en">' in english.text
    assert "404 · Not found" in english.text
    assert "Back to the start page" in english.text


def test_every_german_text_of_the_pages_has_its_english() -> None:
    """The English switch leaves no German text behind: every `_("…")` of a template, and the
    labels the report's code hands to it, have an English entry."""
    from tracker.errors import PAGE_EXPLANATIONS
    from tracker.i18n import EN, TEMPLATES
    from tracker.maturity import work
    from tracker.reports import documents, pages
    from tracker.reports import routes as report_routes

    marked = re.compile(r"""_\((["'])(.+?)\1\)""")
    texts = {
        match.group(2)
        for path in TEMPLATES.rglob("*.html")
        for match in marked.finditer(path.read_text(encoding="utf-8"))
    }
    texts |= {label for _, label, _ in documents.COLUMNS} | {label for _, label in pages.GRUPPEN}
    texts |= set(documents.DIMENSION_NAMES.values())
    texts |= {*work.ROLE_LABELS.values(), *work.ACTION_LABELS.values(), *work.STEP_DONE.values()}
    texts |= {*work.ENTITY_LABELS.values(), *work.FIELD_LABELS.values()}
    texts |= set(work.VALUE_LABELS.values())
    texts |= set(PAGE_EXPLANATIONS.values())
    texts |= set(report_routes.FILE_STATES.values())
    assert sorted(text for text in texts if text not in EN) == []
