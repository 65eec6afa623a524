"""The demands API: roll-ups, uptake, history, the event feed, milestones, scopes and links."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer, collect
from tests.demands.conftest import TODAY
from tracker.access.models import AuditEntry
from tracker.db import run
from tracker.demands import imports
from tracker.demands import queries as demand_queries

LEIPZIG = "147130000000"
DRESDEN = "146120000000"
ESSEN = "051130000000"
ANY = {"If-Match": "*"}
Headers = dict[str, str]


async def people(session: AsyncSession) -> dict[str, Headers]:
    """The DST's manager, Leipzig's and Dresden's managers, a Leipzig editor; the DF loaded."""
    await imports.import_catalogue(session, imports.CATALOGUES / "dresdner-forderungen-2021.json")
    found = {
        "dst": [("demand_manager", "")],
        "leipzig": [("demand_manager", LEIPZIG)],
        "dresden": [("demand_manager", DRESDEN)],
        "editor": [("editor", LEIPZIG)],
    }
    tokens = {
        name: bearer(await add_token(session, await add_user(session, f"{name}@x.de", grants)))
        for name, grants in found.items()
    }
    await session.commit()
    return tokens


def city(key: str, ars: str, demands: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "version": "2026", "title": {"de": f"Strategie {key}"},
            "scope_ars": ars, "demands": demands}  # fmt: skip


async def add_action(
    client: Client, headers: Headers, demand: str, **fields: Any
) -> dict[str, Any]:
    body = {"title": {"de": "Maßnahme"}, "responsible_level": "kommune"} | fields
    answer = await client.post(f"/api/v1/demands/{demand}/actions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_roll_up_weights_dropped_empty_and_nested_demands(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    tree = city("leipzig-2030", LEIPZIG, [
        {"key": "HF-1", "kind": "handlungsfeld", "title": {"de": "Verwaltung"}, "children": [
            {"key": "Z-1", "kind": "ziel", "title": {"de": "Ende zu Ende"}, "weight": 3},
            {"key": "Z-2", "kind": "ziel", "title": {"de": "Leer"}},
        ]},
        {"key": "HF-2", "title": {"de": "Noch leer"}},
    ])  # fmt: skip
    created = await client.post("/api/v1/demand-catalogues", json=tree, headers=who["leipzig"])
    assert created.status_code == 201, created.text
    await add_action(client, who["leipzig"], "Z-1", progress=20, weight=1)
    await add_action(client, who["leipzig"], "Z-1", progress=80, weight=3)
    await add_action(client, who["leipzig"], "Z-1", status="dropped", progress=0, weight=50)
    await add_action(client, who["leipzig"], "HF-1", status="done", weight=1)  # default 100

    answer = await client.get("/api/v1/demands", params={"catalogue": "leipzig-2030"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["on"] == TODAY.isoformat()
    assert "dropped" in body["rule"]
    hf1, hf2 = body["demands"]
    z1, z2 = hf1["children"]
    # the Maßnahmen under a demand come from the tree the roll-up is made of
    handlungsfeld = await demand_queries.get_demand(session, "HF-1")
    built = await demand_queries.demand_tree(session, handlungsfeld.catalogue_id, on=TODAY)
    nodes = {node.demand.key: node for node in built.by_id.values()}
    assert len(nodes["HF-1"].actions_under()) == 4
    assert len(nodes["Z-1"].actions_under()) == 3
    assert nodes["Z-2"].actions_under() == nodes["HF-2"].actions_under() == []
    assert z1["rollup"] == {
        "progress": 65.0, "weight": 4.0, "actions": 3,  # (20·1 + 80·3) / 4; dropped out
        "by_status": {"proposed": 2, "dropped": 1}, "overdue_milestones": 0,
    }  # fmt: skip
    assert z2["rollup"]["progress"] is None
    # HF-1: its own action (100, weight 1) and Z-1 (65, weight 3); the empty Z-2 is out
    assert hf1["rollup"]["progress"] == pytest.approx((100 + 65 * 3) / 4)
    assert hf1["rollup"]["actions"] == 4
    assert hf1["rollup"]["by_status"] == {"proposed": 2, "dropped": 1, "done": 1}
    assert hf2["rollup"] == {
        "progress": None, "weight": 0, "actions": 0, "by_status": {}, "overdue_milestones": 0,
    }  # fmt: skip
    one = (await client.get("/api/v1/demands/Z-1")).json()
    assert (one["catalogue"], one["parent"], one["rollup"]) == (
        "leipzig-2030",
        "HF-1",
        z1["rollup"],
    )
    assert (await client.get("/api/v1/demands/NOPE")).status_code == 404
    # Z-1 weighs 1 instead of 3: HF-1 = (100·1 + 65·1) / 2
    lighter = await client.patch(
        "/api/v1/demands/Z-1", json={"weight": 1, "summary": {"de": "Durchgängig digital"}},
        headers={**who["leipzig"], "If-Match": '"v1"'},
    )  # fmt: skip
    assert lighter.status_code == 200, lighter.text
    assert (lighter.json()["version"], lighter.headers["ETag"]) == (2, '"v2"')
    parent = (await client.get("/api/v1/demands/HF-1")).json()
    assert parent["rollup"]["progress"] == 82.5
    refused = await client.patch(
        "/api/v1/demands/Z-1", json={"weight": 9}, headers={**who["dresden"], **ANY}
    )
    assert refused.status_code == 403


async def test_progress_is_the_uptake_mean_unless_set_by_hand(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    action = await add_action(client, who["dst"], "DF-3", status="accepted")
    assert (action["progress"], action["progress_manual"]) == (10, False)
    url = f"/api/v1/actions/{action['id']}"
    for ars, status, progress in (
        (LEIPZIG, "in_progress", 20), (DRESDEN, "in_progress", 40), (ESSEN, "dropped", 100),
    ):  # fmt: skip
        put = await client.put(
            f"{url}/gemeinden/{ars}", json={"status": status, "progress": progress},
            headers=who["dst"],
        )  # fmt: skip
        assert put.status_code == 201, put.text
    read = (await client.get(url)).json()
    assert read["progress"] == 30.0  # the dropped uptake does not count
    # the city's dashboard shows the Maßnahmen it takes part in, with its own state
    board = (await client.get(f"/api/v1/dashboards/gemeinden/{LEIPZIG}")).json()
    taken = {item["id"]: item for item in board["massnahmen"]}
    assert taken[action["id"]]["demand"] == "DF-3"
    assert taken[action["id"]]["uptake"] == {"status": "in_progress", "progress": 20}
    assert (read["uptake"], read["uptake_by_status"]) == (3, {"in_progress": 2, "dropped": 1})
    by_hand = await client.patch(url, json={"progress": 80}, headers={**who["dst"], **ANY})
    assert (by_hand.json()["progress"], by_hand.json()["progress_manual"]) == (80, True)
    back = await client.patch(
        url, json={"progress": None}, headers={**who["dst"], "If-Match": by_hand.headers["ETag"]}
    )
    assert (back.json()["progress"], back.json()["progress_manual"]) == (30.0, False)
    stale = await client.patch(
        url, json={"weight": 2}, headers={**who["dst"], "If-Match": by_hand.headers["ETag"]}
    )
    assert stale.status_code == 412
    # a Leipzig editor reports on Leipzig's uptake, not on Dresden's
    leipzig = await client.put(
        f"{url}/gemeinden/{LEIPZIG}", json={"status": "done"},
        headers={**who["editor"], "If-Match": '"v1"'},
    )  # fmt: skip
    assert (leipzig.status_code, leipzig.json()["progress"]) == (200, 100)
    dresden = await client.put(
        f"{url}/gemeinden/{DRESDEN}", json={"status": "done"}, headers={**who["editor"], **ANY}
    )
    assert dresden.status_code == 403
    assert (await client.get(url)).json()["progress"] == 70.0
    listed = (await client.get(f"{url}/gemeinden")).json()
    assert [u["ars"] for u in listed] == sorted([LEIPZIG, DRESDEN, ESSEN])
    # done is done: the Maßnahme is at 100, set by hand, whatever its uptake's mean says
    done = await client.post(
        f"{url}/status", json={"status": "done"}, headers={**who["dst"], **ANY}
    )
    assert (done.json()["progress"], done.json()["progress_manual"]) == (100, True)


async def test_status_changes_append_to_a_history_that_is_never_rewritten(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    action = await add_action(client, who["dst"], "DF-4", owner_body="FITKO")
    url = f"/api/v1/actions/{action['id']}"
    assert (await client.post(f"{url}/status", json={"status": "accepted"},
                              headers=who["dst"])).status_code == 428  # fmt: skip
    unknown = await client.post(f"{url}/status", json={"status": "vertagt"},
                                headers={**who["dst"], **ANY})  # fmt: skip
    assert unknown.status_code == 422
    assert "vertagt is not in the vocabulary" in unknown.json()["detail"]
    accepted = await client.post(
        f"{url}/status", json={"status": "accepted", "comment": "Im Präsidium beschlossen"},
        headers={**who["dst"], "If-Match": '"v1"'},
    )  # fmt: skip
    assert (accepted.status_code, accepted.json()["progress"]) == (200, 10)
    first = (await client.get(f"{url}/history")).json()["items"]
    blocked = await client.post(
        f"{url}/status", json={"status": "blocked", "progress": 35, "comment": "Warten auf Bund"},
        headers={**who["dst"], "If-Match": accepted.headers["ETag"]},
    )  # fmt: skip
    assert blocked.json()["progress"] == 35
    moved = await client.patch(
        url, json={"due_date": "2027-03-31", "owner_ars": LEIPZIG, "comment": "Leipzig führt"},
        headers={**who["dst"], "If-Match": blocked.headers["ETag"]},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    history = (await client.get(f"{url}/history")).json()["items"]
    assert history[: len(first)] == first  # earlier entries stay as they were
    assert [(e["kind"], e["comment"]) for e in history] == [
        ("create", None), ("status", "Im Präsidium beschlossen"), ("status", "Warten auf Bund"),
        ("update", "Leipzig führt"),
    ]  # fmt: skip
    assert history[2]["changes"] == {
        "status": ["accepted", "blocked"], "progress": [10, 35], "progress_manual": [False, True],
    }  # fmt: skip
    assert history[3]["changes"] == {
        "due_date": [None, "2027-03-31"], "owner_ars": [None, LEIPZIG],
        "owner_body": ["FITKO", None],
    }  # fmt: skip
    assert all(e["author"].startswith("user:") for e in history)
    for method in ("PATCH", "DELETE", "PUT"):
        attempt = await client.request(method, f"{url}/history", headers={**who["dst"], **ANY})
        assert attempt.status_code == 405
    audit = await run(
        session,
        select(col(AuditEntry.action))
        .where(col(AuditEntry.entity) == "demand_action")
        .order_by(col(AuditEntry.id)),
    )
    assert list(audit.scalars()) == ["create", "status", "status", "update"]


async def test_the_event_feed_pages_by_cursor_and_since(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    start = await collect(client, "/api/v1/demands/events")
    one = await add_action(client, who["dst"], "DF-1")
    two = await add_action(client, who["dst"], "DF-2")
    for ars in (LEIPZIG, DRESDEN):
        put = await client.put(f"/api/v1/actions/{one['id']}/gemeinden/{ars}",
                               json={"status": "accepted"}, headers=who["dst"])  # fmt: skip
        assert put.status_code == 201
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/demands/events", params=params)).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    new = seen[len(start) :]
    assert [(e["action_id"], e["kind"], e["ars"]) for e in new] == [
        (one["id"], "create", None), (two["id"], "create", None),
        (one["id"], "uptake", LEIPZIG), (one["id"], "uptake", DRESDEN),
    ]  # fmt: skip
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
    # polling on with the last cursor gives only what came since
    last = str(seen[-1]["id"])
    await client.post(f"/api/v1/actions/{two['id']}/status", json={"status": "done"},
                      headers={**who["dst"], **ANY})  # fmt: skip
    after = (await client.get("/api/v1/demands/events", params={"cursor": last})).json()
    assert [(e["action_id"], e["kind"]) for e in after["items"]] == [(two["id"], "status")]
    later = await client.get("/api/v1/demands/events", params={"since": "2999-01-01"})
    assert later.json() == {"items": [], "next_cursor": None}
    assert (await client.get("/api/v1/demands/events", params={"since": "1"})).status_code == 400


async def test_milestones_are_overdue_against_the_day_of_the_request(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    action = await add_action(client, who["dst"], "DF-5")
    url = f"/api/v1/actions/{action['id']}/milestones"
    for due, title in (("2026-06-14", "gestern"), ("2026-06-15", "heute"), ("2026-01-01", "alt")):
        added = await client.post(url, json={"due_date": due, "title": {"de": title}},
                                  headers=who["dst"])  # fmt: skip
        assert added.status_code == 201, added.text
    listed = (await client.get(url)).json()
    assert [(m["title"]["de"], m["overdue"]) for m in listed] == [
        ("alt", True), ("gestern", True), ("heute", False),
    ]  # fmt: skip
    done = await client.patch(
        f"/api/v1/milestones/{listed[0]['id']}", json={"done_at": "2026-02-01"},
        headers={**who["dst"], "If-Match": '"v1"'},
    )  # fmt: skip
    assert (done.status_code, done.json()["overdue"]) == (200, False)
    assert (await client.get(f"/api/v1/actions/{action['id']}")).json()["overdue_milestones"] == 1
    df5 = (await client.get("/api/v1/demands/DF-5")).json()
    assert df5["rollup"]["overdue_milestones"] == 1
    # days that cannot be: done in the future, due before the start, a plan in the year 738
    future = await client.patch(
        f"/api/v1/milestones/{listed[1]['id']}", json={"done_at": "2099-01-01"},
        headers={**who["dst"], "If-Match": '"v1"'},
    )  # fmt: skip
    assert future.status_code == 422
    assert future.json()["detail"].startswith("done_at: 2099-01-01 lies in the future")
    backwards = await client.post("/api/v1/demands/DF-5/actions", headers=who["dst"], json={
        "title": {"de": "Rückwärts"}, "responsible_level": "kommune",
        "start_date": "2026-05-01", "due_date": "2026-01-01",
    })  # fmt: skip
    assert backwards.status_code == 422
    assert backwards.json()["detail"].startswith("due_date: 2026-01-01 lies before start_date")
    ancient = await client.post(url, json={"due_date": "0738-01-04", "title": {"de": "alt"}},
                                headers=who["dst"])  # fmt: skip
    assert ancient.status_code == 400
    assert [entry["key"] for entry in ancient.json()["extra"]] == ["due_date"]


async def test_managers_act_only_on_catalogues_within_their_scope(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    leipzig = city("leipzig-digital", LEIPZIG, [{"key": "LE-1", "title": {"de": "Feld"}}])
    assert (await client.post("/api/v1/demand-catalogues", json=leipzig,
                              headers=who["dresden"])).status_code == 403  # fmt: skip
    assert (await client.post("/api/v1/demand-catalogues", json={**leipzig, "scope_ars": ""},
                              headers=who["leipzig"])).status_code == 403  # fmt: skip
    created = await client.post("/api/v1/demand-catalogues", json=leipzig, headers=who["leipzig"])
    assert created.status_code == 201
    again = await client.post("/api/v1/demand-catalogues", json=leipzig, headers=who["leipzig"])
    assert again.status_code == 409
    body = {"title": {"de": "X"}, "responsible_level": "kommune"}
    for demand, headers, status in (
        ("DF-3", who["leipzig"], 403),  # a city manager does not touch the DST catalogue
        ("LE-1", who["dresden"], 403),  # nor another city's
        ("LE-1", who["editor"], 403),  # an editor manages no catalogue
        ("LE-1", who["dst"], 201),  # a grant for all of Germany covers Leipzig
    ):
        answer = await client.post(f"/api/v1/demands/{demand}/actions", json=body, headers=headers)
        assert answer.status_code == status, (demand, answer.text)
    own = await add_action(client, who["leipzig"], "LE-1")
    dst = await add_action(client, who["dst"], "DF-3")
    for url, json_body in (
        (f"/api/v1/actions/{dst['id']}", {"weight": 5}),
        (f"/api/v1/actions/{dst['id']}/links", {"kind": "gemeinde", "target": LEIPZIG,
                                                "reason": "Pilot"}),
    ):  # fmt: skip
        method = "PATCH" if json_body.get("weight") else "POST"
        refused = await client.request(method, url, json=json_body,
                                       headers={**who["leipzig"], **ANY})  # fmt: skip
        assert refused.status_code == 403, url
        assert "dresdner-forderungen-2021" in refused.json()["detail"]
    patched = await client.patch(f"/api/v1/actions/{own['id']}", json={"weight": 5},
                                 headers={**who["leipzig"], **ANY})  # fmt: skip
    assert patched.status_code == 200
    # Leipzig's manager takes up the DST's Maßnahme for Leipzig, not for Dresden
    mine = await client.put(f"/api/v1/actions/{dst['id']}/gemeinden/{LEIPZIG}",
                            json={"status": "accepted"}, headers=who["leipzig"])  # fmt: skip
    assert (mine.status_code, mine.json()["progress"]) == (201, 10)
    theirs = await client.put(f"/api/v1/actions/{dst['id']}/gemeinden/{DRESDEN}",
                              json={"status": "accepted"}, headers=who["leipzig"])  # fmt: skip
    assert theirs.status_code == 403
    anonymous = await client.post("/api/v1/demands/DF-3/actions", json=body)
    assert anonymous.status_code == 401


async def test_links_to_what_does_not_exist_are_422_naming_it(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    action = await add_action(client, who["dst"], "DF-3")
    url = f"/api/v1/actions/{action['id']}/links"
    for kind, target, detail in (
        ("leistung", "99999", "OZG-Leistung 99999 does not exist."),
        ("leika", "99999999999999", "LeiKa-Leistung 99999999999999 does not exist."),
        ("gemeinde", "059999999999", "Gemeinde 059999999999 does not exist."),
        ("gemeinde", "05113000", "05113000 is no ARS (12 digits)."),
        ("finding", "F-1", "Research finding F-1 does not exist."),
    ):
        answer = await client.post(url, json={"kind": kind, "target": target, "reason": "weil"},
                                   headers=who["dst"])  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == detail
        assert answer.json()["field"] == "target"
        assert answer.json()["invalid-params"] == [{"name": "target", "reason": detail}]
    owner = await client.post("/api/v1/demands/DF-3/actions", headers=who["dst"], json={
        "title": {"de": "X"}, "responsible_level": "land", "owner_ars": "059999999999",
    })  # fmt: skip
    assert (owner.status_code, owner.json()["detail"], owner.json()["field"]) == (
        422,
        "Gemeinde 059999999999 does not exist.",
        "owner_ars",
    )
    kfz = await client.post(url, json={"kind": "leistung", "target": "10000", "reason": "DF-3"},
                            headers=who["dst"])  # fmt: skip
    assert kfz.status_code == 201, kfz.text
    twice = await client.post(url, json={"kind": "leistung", "target": "10000", "reason": "x y"},
                              headers=who["dst"])  # fmt: skip
    assert twice.status_code == 409
    # why it matters: the Leistung with its coverage where it applies (other tests of the
    # session may link it and assess it too)
    answer = await client.get("/api/v1/demands/DF-3/leistungen")
    assert answer.status_code == 200, answer.text
    leistung = {item["ozg_id"]: item for item in answer.json()["leistungen"]}["10000"]
    assert action["id"] in leistung["actions"]
    (link,) = [link for link in leistung["links"] if link["action"] == action["id"]]
    assert link == {"action": action["id"], "action_title": action["title"], "demand": "DF-3",
                    "kind": "leistung", "target": "10000", "reason": "DF-3"}  # fmt: skip
    page = (await client.get("/forderungen/DF-3", params={"lang": "de"})).text
    assert (f'verknüpft von <a href="/forderungen/DF-3#massnahme-{action["id"]}">'
            f'{action["title"]["de"]}</a>: <q>DF-3</q>') in page  # fmt: skip
    online = leistung["online"]
    assert online["gemeinden"] > 0
    assert online["ozg_konform"] <= online["online"] <= online["assessed"] <= online["gemeinden"]
    assert set(leistung["findings_by_severity"]) == {"1", "2", "3", "4"}
    assert leistung["open_findings"] == sum(leistung["findings_by_severity"].values())
    assert (await client.get("/api/v1/demands/DF-9/leistungen")).status_code == 404
    pilot = {"kind": "gemeinde", "target": LEIPZIG, "reason": "Pilotstadt"}
    city_link = await client.post(url, json=pilot, headers=who["dst"])
    assert city_link.status_code == 201
    links = (await client.get(url)).json()
    assert [(link["kind"], link["target"]) for link in links] == [
        ("leistung", "10000"), ("gemeinde", LEIPZIG),
    ]  # fmt: skip
    removed = await client.delete(f"{url}/{links[0]['id']}", headers=who["dst"])
    assert removed.status_code == 204
    assert [link["target"] for link in (await client.get(url)).json()] == [LEIPZIG]


async def test_options_lists_every_method_and_the_spec_requires_if_match(client: Client) -> None:
    """A path served by separate handlers lists all their methods (not the first one's alone);
    updates that answer 428 without If-Match document it as required."""
    for path, allowed in (
        ("/api/v1/actions/1", "GET, OPTIONS, PATCH"),
        ("/api/v1/demands/DF-1", "GET, OPTIONS, PATCH"),
        ("/api/v1/demands/DF-1/actions", "GET, OPTIONS, POST"),
        ("/api/v1/actions/1/gemeinden/147130000000", "GET, OPTIONS, PUT"),
    ):
        answer = await client.options(path)
        assert (answer.status_code, answer.headers["allow"]) == (204, allowed), path
    spec = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, method in (
        ("/api/v1/actions/{action_id}", "patch"),
        ("/api/v1/actions/{action_id}/status", "post"),
        ("/api/v1/demands/{key}", "patch"),
        ("/api/v1/milestones/{milestone_id}", "patch"),
    ):
        (header,) = [p for p in spec[path][method]["parameters"] if p["name"] == "If-Match"]
        assert header["required"] is True, path
    uptake = spec["/api/v1/actions/{action_id}/gemeinden/{ars}"]["put"]["parameters"]
    assert [p["required"] for p in uptake if p["name"] == "If-Match"] == [False]  # creation
