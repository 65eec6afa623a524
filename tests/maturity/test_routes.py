"""Assessments through HTTP: recording, review with four eyes, current and as-of figures."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer

ESSEN = "051130000000"
LEIPZIG = "147130000000"
ELTERNGELD = "99041006000000"  # LeiKa key of OZG-Leistung 10000 (Elterngeld)
FULL = {
    "leistungsbeschreibung": 4, "antragsprozess": 4, "nutzerkonto": 4, "authentifizierung": 4,
    "bezahlprozess": "n/a", "nachweise": 3, "kriterium_7": "n/a", "kriterium_8": "n/a",
    "kriterium_9": "n/a", "kriterium_10": "n/a",
}  # fmt: skip


async def people(session: AsyncSession) -> dict[str, dict[str, str]]:
    editor = await add_user(session, "editor@essen.de", [("editor", ESSEN)])
    reviewer = await add_user(session, "review@nrw.de", [("reviewer", "05")])
    both = await add_user(session, "both@essen.de", [("editor", ESSEN), ("reviewer", ESSEN)])
    nrw = await add_user(session, "editor@nrw.de", [("editor", "05")])
    tokens = {
        "nrw": await add_token(session, nrw),
        "editor": await add_token(session, editor),
        "reviewer": await add_token(session, reviewer),
        "both": await add_token(session, both),
    }
    await session.commit()
    return {name: bearer(secret) for name, secret in tokens.items()}


def leistung(rollup: dict[str, Any], ozg_id: str) -> dict[str, Any]:
    return dict(next(item for item in rollup["leistungen"] if item["ozg_id"] == ozg_id))


async def record(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"ars": ESSEN, "leika_key": ELTERNGELD, "dimension": "online", "ratings": FULL} | fields
    response = await client.post("/api/v1/assessments", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def step(
    client: Client, headers: dict[str, str], assessment: dict[str, Any], name: str, **body: Any
) -> Any:
    return await client.post(
        f"/api/v1/assessments/{assessment['id']}/{name}",
        json=body,
        headers={**headers, "If-Match": f'"v{assessment["version"]}"'},
    )


async def test_models_are_data_with_levels_and_criteria(client: Client) -> None:
    models = {model["key"]: model for model in (await client.get("/api/v1/maturity-models")).json()}
    assert set(models) == {"ozg-rgm-1.1", "ozg-rgm-2.0", "backoffice-b"}
    rgm = models["ozg-rgm-1.1"]
    assert [level["name"] for level in rgm["levels"]] == [
        "Offline", "Information", "Formular-Assistent", "Online-Leistung", "Online-Transaktion",
    ]  # fmt: skip
    assert len(rgm["criteria"]) == 10
    assert [c["verified"] for c in rgm["criteria"]] == [True] * 6 + [False] * 4
    assert len(models["ozg-rgm-2.0"]["levels"]) == 8
    assert len(models["ozg-rgm-2.0"]["criteria"]) == 13
    assert models["ozg-rgm-2.0"]["verified"] is False
    assert [level["name"][:2] for level in models["backoffice-b"]["levels"]] == [
        f"B{n}" for n in range(7)
    ]


async def test_record_submit_validate_and_current(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    draft = await record(
        client, who["editor"], evidence=[{"kind": "url", "ref": "https://www.essen.de/elterngeld"}]
    )
    assert (draft["level"], draft["level_name"], draft["provisional"], draft["status"]) == (
        3, "Online-Leistung", False, "draft",
    )  # fmt: skip
    assert draft["assessed_by"].startswith("user:")
    # not published yet: invisible to anonymous readers
    assert (await client.get(f"/api/v1/assessments/{draft['id']}")).status_code == 404
    assert (await client.get("/api/v1/assessments", params={"ars": ESSEN})).json()["items"] == []
    submitted = (await step(client, who["editor"], draft, "submit")).json()
    assert submitted["status"] == "submitted"
    validated = await step(client, who["reviewer"], submitted, "validate", comment="geprüft")
    assert validated.status_code == 200, validated.text
    assert validated.json()["status"] == "validated"
    public = await client.get(f"/api/v1/assessments/{draft['id']}")
    assert public.status_code == 200
    assert public.headers["etag"] == '"v3"'
    current = (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json()
    elterngeld = leistung(current, "10000")
    assert elterngeld["online"] == {
        "highest": 3, "lowest": 3, "assessed": 1, "online": True, "ozg_konform": True,
        "provisional": False, "land_wide_portal": False, "age_days": 0, "stale": False,
        "assessment_id": elterngeld["online"]["assessment_id"],
        "assessed_at": elterngeld["online"]["assessed_at"], "flags": ["online", "ozg_konform"],
    }  # fmt: skip
    assert (
        await client.get(f"/api/v1/assessments/{elterngeld['online']['assessment_id']}")
    ).json()["assessed_at"] == elterngeld["online"][
        "assessed_at"
    ]  # the assessment that gave the level
    assert elterngeld["backoffice"] is None
    assert current["summary"]["online"] == {
        "applicable": 464, "assessed": 1, "online": 1, "ozg_konform": 1,
        "share_online": round(1 / 464, 4), "share_ozg_konform": round(1 / 464, 4),
        "by_highest_level": {"3": 1}, "stale": 0, "flags": {"online": 1, "ozg_konform": 1},
    }  # fmt: skip
    assert "newest validated" in current["rules"]["current"]


async def test_four_eyes_scope_and_workflow_rules(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    own = await record(client, who["both"], submit=True)
    four_eyes = await step(client, who["both"], own, "validate")
    assert four_eyes.status_code == 403
    assert four_eyes.json()["detail"] == "Four eyes: the assessor cannot review the own assessment."
    leipzig = await client.post(
        "/api/v1/assessments",
        json={"ars": LEIPZIG, "ozg_id": "10000", "dimension": "online", "ratings": FULL},
        headers=who["editor"],
    )
    assert leipzig.status_code == 403
    not_submitted = await record(client, who["editor"])
    assert (await step(client, who["reviewer"], not_submitted, "validate")).status_code == 409
    no_reason = await step(client, who["reviewer"], own, "reject")
    assert no_reason.status_code == 422
    stale = await client.post(
        f"/api/v1/assessments/{own['id']}/reject",
        json={"comment": "x"},
        headers={**who["reviewer"], "If-Match": '"v9"'},
    )
    assert stale.status_code == 412
    rejected = await step(client, who["reviewer"], own, "reject", comment="Nachweis fehlt")
    assert rejected.json()["status"] == "rejected"
    current = (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json()
    assert leistung(current, "10000")["online"] is None  # rejected and draft rows never count


async def test_correction_and_as_of(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    first = await record(client, who["editor"], assessed_at="2025-01-15T10:00:00Z", submit=True)
    await step(client, who["reviewer"], first, "validate")
    lower = dict(FULL, nachweise=1)
    fix = await record(
        client,
        who["editor"],
        ratings=lower,
        corrects=first["id"],
        assessed_at="2025-06-01T10:00:00Z",
        submit=True,
    )
    assert fix["level"] == 1
    await step(client, who["reviewer"], fix, "validate")
    now = (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json()
    assert (
        leistung(now, "10000")["online"]["highest"],
        leistung(now, "10000")["online"]["online"],
    ) == (1, False)
    # the first one stays as it was: corrections never change a row
    assert (await client.get(f"/api/v1/assessments/{first['id']}")).json()["level"] == 3
    before = (
        await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad", params={"at": "2025-03-01"})
    ).json()
    assert leistung(before, "10000")["online"] is None  # validated only today, not by March 2025
    wrong = await client.post(
        "/api/v1/assessments",
        json={
            "ars": ESSEN,
            "ozg_id": "10001",
            "dimension": "online",
            "ratings": FULL,
            "corrects": first["id"],
        },
        headers=who["editor"],
    )
    assert wrong.status_code == 422


async def test_provisional_level_names_missing_criteria(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    partial = await record(client, who["editor"], ratings={"leistungsbeschreibung": 2})
    assert partial["provisional"] is True
    assert partial["level"] == 2
    # the criteria „falls erforderlich“ left unrated count as not required
    assert partial["missing_criteria"] == ["antragsprozess"]
    whole = await record(
        client, who["editor"], ratings={"leistungsbeschreibung": 2, "antragsprozess": 4}
    )
    assert (whole["level"], whole["provisional"], whole["missing_criteria"]) == (2, False, [])
    back = await record(
        client, who["editor"], dimension="backoffice",
        ratings={"digitaler_eingang": 3, "fachverfahren": 2, "e_akte": 3, "once_only": "n/a",
                 "automatisierung": "n/a"},
    )  # fmt: skip
    assert (back["model"], back["level"], back["level_name"]) == (
        "backoffice-b",
        2,
        "B2 Fachverfahrensanbindung",
    )


async def test_bad_assessments_are_client_errors(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    cases = [
        # a rule across two fields, which the spec cannot state: 422
        ({"ars": ESSEN, "dimension": "online", "ratings": FULL}, 422),  # no Leistung
        (
            {
                "ars": ESSEN,
                "leika_key": ELTERNGELD,
                "ozg_id": "10000",
                "dimension": "online",
                "ratings": FULL,
            },
            422,
        ),
        (
            {
                "ars": "059999999999",
                "leika_key": ELTERNGELD,
                "dimension": "online",
                "ratings": FULL,
            },
            404,
        ),
        (
            {"ars": ESSEN, "leika_key": "99999999999999", "dimension": "online", "ratings": FULL},
            404,
        ),
        (
            {
                "ars": ESSEN,
                "leika_key": ELTERNGELD,
                "dimension": "online",
                "ratings": {"nachweise": 9},
            },
            422,
        ),
        (
            {
                "ars": ESSEN,
                "leika_key": ELTERNGELD,
                "dimension": "online",
                "model": "nope",
                "ratings": FULL,
            },
            422,
        ),
        (
            {
                "ars": ESSEN,
                "leika_key": ELTERNGELD,
                "dimension": "online",
                "ratings": {"nachweise": True},
            },
            400,
        ),
    ]
    for body, status in cases:
        response = await client.post("/api/v1/assessments", json=body, headers=who["nrw"])
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    await record(client, who["editor"], external_id="pvog-1")
    again = await client.post(
        "/api/v1/assessments",
        json={
            "ars": ESSEN,
            "leika_key": ELTERNGELD,
            "dimension": "online",
            "ratings": FULL,
            "external_id": "pvog-1",
        },
        headers=who["editor"],
    )
    assert again.status_code == 409


async def test_rollup_of_several_leika_services(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    for key, level in (("99041006000000", 1), ("99041006013000", 2)):
        ratings = dict(FULL, nachweise=level)
        made = await record(client, who["editor"], leika_key=key, ratings=ratings, submit=True)
        await step(client, who["reviewer"], made, "validate")
    elterngeld = leistung(
        (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json(), "10000"
    )
    online = elterngeld["online"]
    assert (online["highest"], online["lowest"], online["assessed"]) == (2, 1, 2)
    assert (online["online"], online["ozg_konform"]) == (True, False)
    assert elterngeld["applicable_leika"] == 4
    # the whole Leistung assessed at 3 counts like one more LeiKa service
    whole = await record(client, who["editor"], leika_key=None, ozg_id="10000", submit=True)
    await step(client, who["reviewer"], whole, "validate")
    online = leistung((await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json(), "10000")[
        "online"
    ]
    assert (online["highest"], online["assessed"], online["ozg_konform"]) == (3, 3, True)


async def test_federal_leistungen_are_out_of_the_denominator(client: Client) -> None:
    rollup = (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json()
    listed = {item["ozg_id"] for item in rollup["leistungen"]}
    assert len(listed) == rollup["summary"]["online"]["applicable"] == 464
    assert "10484" not in listed  # all its LeiKa services are type 1 (Bund executes)
    assert "10000" in listed


async def test_the_apis_of_a_gemeinde_take_its_ags(client: Client) -> None:
    for path in ("/api/v1/gemeinden/{}/reifegrad", "/api/v1/dashboards/gemeinden/{}"):
        moved = await client.get(path.format("05113000") + "?fields=summary")
        assert moved.status_code == 301, moved.text
        assert moved.headers["location"] == path.format(ESSEN) + "?fields=summary"
        assert (await client.get(path.format("05999999"))).status_code == 404
    by_ags = await client.get("/api/v1/assessments", params={"ars": "05113000"})
    by_ars = await client.get("/api/v1/assessments", params={"ars": ESSEN})
    assert by_ags.status_code == 200, by_ags.text
    assert by_ags.json() == by_ars.json()
    assert (await client.get("/api/v1/assessments", params={"ars": "05999999"})).status_code == 404
