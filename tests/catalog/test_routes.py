"""Catalogue API on the real OZG catalogue."""

from __future__ import annotations

import csv
import io

from tests.builders import Client, collect


async def test_themenfelder_are_the_fourteen_with_their_leistungen(client: Client) -> None:
    items = await collect(client, "/api/v1/themenfelder")
    assert len(items) == 14
    counts = {item["name"]: item["leistungen_count"] for item in items}
    assert counts["Unternehmensführung & -entwicklung"] == 78
    assert counts["Recht & Ordnung"] == 15
    assert sum(counts.values()) == 557


async def test_lebenslagen_hide_the_source_test_rows_unless_asked(client: Client) -> None:
    used = await collect(client, "/api/v1/lebenslagen")
    everything = await collect(client, "/api/v1/lebenslagen", include_unused="true")
    assert len(used) == 55
    assert len(everything) == 58
    unused = [item for item in everything if item["leistungen_count"] == 0]
    assert sorted(item["id"] for item in unused) == [64, 65, 66]


async def test_leistungen_paginate_through_all_557_without_repeats(client: Client) -> None:
    items = await collect(client, "/api/v1/leistungen")
    ids = [item["ozg_id"] for item in items]
    assert len(ids) == 557
    assert ids == sorted(set(ids))


async def test_leistung_detail_lists_its_leika_services(client: Client) -> None:
    response = await client.get("/api/v1/leistungen/10000")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Elterngeld"
    assert body["themenfeld"] == "Familie & Kind"
    assert body["lebenslage"] == "Geburt"
    assert [item["leika_key"] for item in body["leika"]] == [
        "99041006000000",
        "99041006013000",
        "99041006017000",
        "99041006151000",
    ]
    assert body["leika_count"] == 4


async def test_filters_by_themenfeld_and_lebenslage(client: Client) -> None:
    items = await collect(client, "/api/v1/leistungen", themenfeld="11")
    assert len(items) == 15
    assert {item["themenfeld"] for item in items} == {"Recht & Ordnung"}
    geburt = await collect(client, "/api/v1/leistungen", lebenslage="26")
    assert "10000" in {item["ozg_id"] for item in geburt}
    assert {item["lebenslage"] for item in geburt} == {"Geburt"}


async def test_search_finds_leistung_by_own_name_first_then_by_leika_name(client: Client) -> None:
    response = await client.get("/api/v1/leistungen", params={"q": "fuehrerschein"})
    names = [item["name"] for item in response.json()["items"]]
    assert names[0] == "Führerschein"
    by_key = await client.get("/api/v1/leistungen", params={"q": "99041006013000"})
    assert [item["ozg_id"] for item in by_key.json()["items"]] == ["10000"]


async def test_leika_key_lookup_and_rows_not_in_leika(client: Client) -> None:
    response = await client.get("/api/v1/leika/99001001000000")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Abfallgebühr"
    assert body["leika_typ"] == ["5"]
    assert body["federal_key"] is True
    assert body["ozg_leistung"]["name"] == "Abfallentsorgung"
    missing = await collect(client, "/api/v1/leika", in_leika="false")
    assert len(missing) == 436
    assert all(item["leika_key"] is None and item["in_leika"] is False for item in missing)


async def test_leika_typ_stays_a_set(client: Client) -> None:
    rows = await collect(client, "/api/v1/leika", typ="2/3")
    multi = [item for item in rows if len(item["leika_typ"]) > 1]
    assert len(rows) == 3566 + 20
    assert {tuple(item["leika_typ"]) for item in multi} == {("1", "2/3")}
    without_ozg = await collect(client, "/api/v1/leika")
    assert sum(1 for item in without_ozg if item["ozg_id"] is None) == 26


async def test_unknown_ids_give_problem_404(client: Client) -> None:
    for url in ("/api/v1/leistungen/99999", "/api/v1/leika/99999999999999"):
        response = await client.get(url)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 404


async def test_malformed_parameters_give_problem_400_naming_the_field(client: Client) -> None:
    cases = {
        "/api/v1/leika/123": "leika_key",
        "/api/v1/leistungen?limit=0": "limit",
        "/api/v1/leistungen?themenfeld=abc": "themenfeld",
    }
    for url, field in cases.items():
        response = await client.get(url)
        assert response.status_code == 400, url
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [entry["key"] for entry in response.json()["extra"]] == [field]
    outside = await client.get("/api/v1/leistungen", params={"cursor": "!!"})
    assert outside.status_code == 400
    assert [entry["key"] for entry in outside.json()["extra"]] == ["cursor"]
    # any cursor of the pattern is a position: the page after it
    after = await client.get("/api/v1/leistungen", params={"cursor": "10000", "limit": 1})
    assert after.status_code == 200
    assert after.json()["items"][0]["ozg_id"] > "10000"


async def test_csv_export_has_the_import_columns_and_every_row(client: Client) -> None:
    response = await client.get("/api/v1/leistungen", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 557
    elterngeld = next(row for row in rows if row["ozg_id"] == "10000")
    assert elterngeld["anzahl_leika_leistungen"] == "4"
    assert elterngeld["leika_keys"] == "99041006000000 99041006013000 99041006017000 99041006151000"
