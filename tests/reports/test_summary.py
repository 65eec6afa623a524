"""Roll-ups over many Gemeinden (SQL) agree with the per-Gemeinde roll-up (Python), respect
applicability overrides and level mapping, and move through time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.maturity.test_routes import ESSEN, people, record, step
from tracker.maturity import counts
from tracker.maturity.imports import WSP_NRW_FILE, import_wsp_nrw
from tracker.reports import summary
from tracker.reports.summary import median_of

NRW_GEMEINDEN = 396


async def get(client: Client, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def group(summary: dict[str, Any], code: str, dimension: str = "online") -> dict[str, Any]:
    return dict(
        next(g for g in summary["groups"] if (g["code"], g["dimension"]) == (code, dimension))
    )


def test_median_of_a_level_histogram() -> None:
    assert median_of([(0, 1), (1, 0), (2, 2)], 3) == 2
    assert median_of([(0, 1), (1, 1), (2, 1), (3, 1)], 4) == 1.5
    assert median_of([(0, 0), (4, 5)], 5) == 4


async def test_summary_agrees_with_the_gemeinde_rollup(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    await session.commit()
    essen = (await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad"))["summary"]["online"]
    by_land = await get(client, "/api/v1/reifegrad/summary", group_by="land", dimension="online")
    assert "flaechendeckend" in by_land["rules"]
    nrw = group(by_land, "05")
    assert nrw["name"] == "Nordrhein-Westfalen"
    assert nrw["gemeinden"] == NRW_GEMEINDEN
    assert nrw["applicable"] == NRW_GEMEINDEN * essen["applicable"]
    # every NRW Gemeinde has the same Land-wide portal: the Land is Essen times 396
    assert nrw["online"] == NRW_GEMEINDEN * essen["online"]
    assert nrw["ozg_konform"] == nrw["at_least"]["3"] == nrw["assessed"]
    assert nrw["leistungen_flaechendeckend"] == essen["online"]
    assert nrw["leistungen_mindestens_eine_kommune"] == essen["online"]
    assert (nrw["mean_level"], nrw["median_level"]) == (3.0, 3.0)
    assert nrw["share_online"] == round(essen["online"] / essen["applicable"], 4)
    bayern = group(by_land, "09")
    assert (bayern["assessed"], bayern["online"], bayern["mean_level"]) == (0, 0, None)
    assert bayern["leistungen_flaechendeckend"] == 0

    bund = group(await get(client, "/api/v1/reifegrad/summary", group_by="bund"), "DE")
    assert bund["online"] == nrw["online"]
    assert bund["leistungen_flaechendeckend"] == 0  # only NRW has them
    assert bund["leistungen_mindestens_eine_kommune"] == essen["online"]
    assert bund["applicable"] == sum(g["applicable"] for g in by_land["groups"])
    for grouping in ("kreis", "themenfeld", "gemeindetyp", "gemeinde"):
        groups = await get(client, "/api/v1/reifegrad/summary", group_by=grouping)
        online = [g for g in groups["groups"] if g["dimension"] == "online"]
        assert sum(g["applicable"] for g in online) == bund["applicable"], grouping
        assert sum(g["online"] for g in online) == bund["online"], grouping
        if grouping == "kreis":  # every NRW Gemeinde has the portal; no other Kreis has any
            assert {
                g["leistungen_flaechendeckend"] for g in online if g["code"].startswith("05")
            } == {essen["online"]}
            assert {
                g["leistungen_flaechendeckend"] for g in online if not g["code"].startswith("05")
            } == {0}
        if grouping == "kreis":  # with its type and inhabitants
            kreis = group(groups, "05113")
            assert (kreis["typ"], kreis["population"]) == (
                "Kreisfreie Stadt",
                574_682,
            )  # Destatis, 31.12.2024
        if grouping == "gemeinde":  # every Gemeinde as its own roll-up counts it
            own = group(groups, ESSEN)
            assert (own["name"], own["typ"], own["gemeinden"]) == ("Essen", "Kreisfreie Stadt", 1)
            assert (own["applicable"], own["online"]) == (essen["applicable"], essen["online"])
            assert own["leistungen_flaechendeckend"] == essen["online"]
    nrw_gemeinden = await get(
        client, "/api/v1/reifegrad/summary", group_by="gemeinde", area="05", dimension="online"
    )
    assert len(nrw_gemeinden["groups"]) == NRW_GEMEINDEN
    assert sum(g["population"] for g in nrw_gemeinden["groups"]) == nrw["population"]
    one = await get(client, "/api/v1/reifegrad/summary", group_by="bund", area=ESSEN)
    mine = group(one, "DE")
    assert (mine["gemeinden"], mine["applicable"], mine["online"]) == (
        1, essen["applicable"], essen["online"],
    )  # fmt: skip


async def test_overrides_move_denominators_everywhere(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    who = await people(session)
    rollup = await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad")
    portal = next(item["ozg_id"] for item in rollup["leistungen"] if item["online"])
    url = f"/api/v1/gemeinden/{ESSEN}/leistungen/{portal}/applicability"
    before = group(await get(client, "/api/v1/reifegrad/summary", area="05"), "05")
    assert (await get(client, url)) == {
        "ars": ESSEN, "ozg_id": portal, "default": True, "override": None, "applicable": True,
    }  # fmt: skip
    body = {"applicable": False, "reason": "Zuständig ist die IHK, nicht die Stadt."}
    assert (await client.put(url, json=body)).status_code == 401
    made = await client.put(url, json=body, headers=who["editor"])
    assert made.status_code == 201, made.text
    assert made.json()["applicable"] is False
    assert made.json()["override"]["reason"] == body["reason"]
    after = group(await get(client, "/api/v1/reifegrad/summary", area="05"), "05")
    assert after["applicable"] == before["applicable"] - 1
    assert after["online"] == before["online"] - 1
    # Essen is out of this Leistung's denominator: the other 395 keep it flächendeckend
    assert after["leistungen_flaechendeckend"] == before["leistungen_flaechendeckend"]
    coverage = await get(client, f"/api/v1/leistungen/{portal}/reifegrad")
    nrw = next(land for land in coverage["laender"] if land["code"] == "05")
    assert (nrw["gemeinden"], nrw["online"], nrw["flaechendeckend"]) == (395, 395, True)
    essen = await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad")
    assert essen["not_applicable"] == [{"ozg_id": portal, "name": coverage["name"]}]
    assert essen["summary"]["online"]["applicable"] == 463

    # a federal Leistung the Gemeinde does carry out comes in
    federal = f"/api/v1/gemeinden/{ESSEN}/leistungen/10484/applicability"
    body = {"applicable": True, "reason": "Die Stadt nimmt die Aufgabe im Auftrag wahr."}
    assert (await client.put(federal, json=body, headers=who["editor"])).status_code == 201
    essen = await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad")
    assert essen["summary"]["online"]["applicable"] == 464
    assert next(i for i in essen["leistungen"] if i["ozg_id"] == "10484")["overridden"] is True
    again = group(await get(client, "/api/v1/reifegrad/summary", area="05"), "05")
    assert again["applicable"] == before["applicable"]

    # changing needs the version read; going back to the default too
    change = {"applicable": True, "reason": "Doch zuständig."}
    assert (await client.put(url, json=change, headers=who["editor"])).status_code == 428
    stale = {**who["editor"], "If-Match": '"v9"'}
    assert (await client.put(url, json=change, headers=stale)).status_code == 412
    current = {**who["editor"], "If-Match": made.headers["ETag"]}
    changed = await client.put(url, json=change, headers=current)
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"v2"'
    assert (await client.delete(url, headers=who["editor"])).status_code == 428
    gone = await client.delete(url, headers={**who["editor"], "If-Match": '"v2"'})
    assert gone.status_code == 204
    assert (await get(client, url))["override"] is None
    gone_match = await client.put(url, json=change, headers={**who["editor"], "If-Match": '"v2"'})
    assert gone_match.status_code == 412  # nothing there to match
    listed = await get(client, "/api/v1/applicability-overrides", area=ESSEN)
    assert [item["ozg_id"] for item in listed["items"]] == ["10484"]
    other = await client.put(
        "/api/v1/gemeinden/147130000000/leistungen/10000/applicability",
        json=body, headers=who["editor"],
    )  # fmt: skip
    assert other.status_code == 403
    bad = await client.put(url, json={"applicable": "no", "reason": "x"}, headers=who["editor"])
    assert bad.status_code == 400
    missing = await client.put(
        f"/api/v1/gemeinden/{ESSEN}/leistungen/99999/applicability", json=body,
        headers=who["editor"],
    )  # fmt: skip
    assert missing.status_code == 404


async def test_other_model_versions_count_through_the_mapping(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    ratings = {f"kriterium_{n}": 6 for n in range(1, 14)}
    made = await record(
        client, who["editor"], leika_key=None, ozg_id="10000", model="ozg-rgm-2.0",
        ratings=ratings, submit=True,
    )  # fmt: skip
    assert made["level"] == 6
    await step(client, who["reviewer"], made, "validate")
    essen = await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad")
    elterngeld = next(item for item in essen["leistungen"] if item["ozg_id"] == "10000")
    assert elterngeld["online"]["highest"] == 4  # 2.0 level 6 reads as 1.1 level 4
    mine = group(await get(client, "/api/v1/reifegrad/summary", group_by="bund", area=ESSEN), "DE")
    assert (mine["assessed"], mine["at_least"]["4"], mine["mean_level"]) == (1, 1, 4.0)
    assert "scale" in essen["rules"]


async def test_timeseries_by_month_with_change(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)  # dated 2024-11-11
    await session.commit()
    essen = (await get(client, f"/api/v1/gemeinden/{ESSEN}/reifegrad"))["summary"]["online"]
    series = await get(
        client, "/api/v1/reifegrad/timeseries", period="month", count=3, until="2024-12-31",
        dimension="online", area="05",
    )  # fmt: skip
    assert "change" in series["rules"]
    [nrw] = series["series"]
    assert [point["period"] for point in nrw["points"]] == ["2024-10", "2024-11", "2024-12"]
    online = [point["online"] for point in nrw["points"]]
    assert online == [0, NRW_GEMEINDEN * essen["online"], NRW_GEMEINDEN * essen["online"]]
    assert [point["change"]["online"] for point in nrw["points"]] == [0, online[1], 0]
    assert nrw["points"][0]["at"].startswith("2024-10-31T23:59:59")
    quarters = await get(
        client, "/api/v1/reifegrad/timeseries", period="quarter", count=2, until="2025-02-01",
        group_by="land", dimension="online",
    )  # fmt: skip
    laender = {item["code"]: item for item in quarters["series"]}
    assert len(laender) == 16
    assert [p["period"] for p in laender["05"]["points"]] == ["2024-Q4", "2025-Q1"]
    assert laender["05"]["points"][0]["change"]["share_online"] > 0
    years = await get(client, "/api/v1/reifegrad/timeseries", period="year", count=1)
    assert len(years["series"]) == 2  # Bund × both dimensions
    too_many = await client.get("/api/v1/reifegrad/timeseries", params={"group_by": "gemeinde"})
    assert too_many.status_code == 422
    assert "narrow the area" in too_many.json()["detail"]
    for wrong in ("2024-02-30", "2999-01-01"):  # one rule for every date of a roll-up
        refused = await client.get("/api/v1/reifegrad/timeseries", params={"until": wrong})
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith(f"until: '{wrong}'")
    per_gemeinde = await get(
        client, "/api/v1/reifegrad/timeseries", group_by="gemeinde", area="05", count=2,
        dimension="online", until="2024-12-31",
    )  # fmt: skip
    assert len(per_gemeinde["series"]) == NRW_GEMEINDEN
    bad = await client.get("/api/v1/reifegrad/timeseries", params={"period": "week"})
    assert bad.status_code == 400
    assert (
        await client.get("/api/v1/reifegrad/summary", params={"area": "0511"})
    ).status_code == 400


async def test_the_counts_give_what_the_pairs_give(
    client: Client, session: AsyncSession, data_dir: Path
) -> None:
    """Bund, Land and Kreis read the counts; the same figures counted from the pairs agree,
    after an import, an override and a validation, for every area the counts answer."""
    who = await people(session)
    await import_wsp_nrw(session, data_dir / WSP_NRW_FILE)
    await session.commit()
    override = await client.put(
        f"/api/v1/gemeinden/{ESSEN}/leistungen/10000/applicability",
        json={"applicable": False, "reason": "Wird vom Kreis erbracht"},
        headers=who["editor"],
    )
    assert override.status_code == 201
    made = await record(client, who["editor"], leika_key=None, ozg_id="10002", submit=True)
    assert (await step(client, who["reviewer"], made, "validate")).status_code == 200

    def plain(setting: summary.Frame, found: tuple[dict[Any, Any], summary.Online]) -> Any:
        """The figures once complete (`completed` reads the counts' fewer Leistungen)."""
        return {
            key: (t.assessed, t.level_sum, {n: c for n, c in t.at_least.items() if c},
                  t.flaechendeckend, t.mindestens_eine, t.applicable)
            for key, t in summary.completed(setting, *found).items()
        }  # fmt: skip

    for group_by in summary.COUNTED_GROUPS:
        for area in (None, "05", "051", "05158"):
            setting = await summary.frame(session, group_by=group_by, dimension=None, area=area)
            counted = await summary.tally_counts(session, setting, [counts.LIVE])
            from_pairs = await summary.tally_pairs(session, setting, None)
            assert plain(setting, counted[counts.LIVE]) == plain(setting, from_pairs), (
                group_by, area,
            )  # fmt: skip
            if group_by is summary.GroupBy.LAND and area is None:
                nrw = plain(setting, from_pairs)[("05", "online")]
                assert nrw[3] > 0  # WSP NRW: Leistungen online in every Gemeinde of NRW
