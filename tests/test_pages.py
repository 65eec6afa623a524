"""German pages through HTTP (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

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
