"""The research chain over HTTP: study → participants → observations → finding →
recommendation → published, redacted public text; superseding; consent withdrawal and purge;
scopes; and that no public route gives raw evidence or participant data."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_pages import PASSWORD, csrf_token
from tests.access.test_scope_matrix import sign_in
from tests.browser.narrow import PHONE_WIDTH, laid_out_width
from tests.builders import Client, add_token, add_user, bearer
from tests.research.conftest import TODAY
from tracker.access.models import AuditEntry
from tracker.cli import main
from tracker.db import run
from tracker.i18n import translator
from tracker.research import actions, queries
from tracker.research.redaction import GERMAN_REASONS, KIND_LABELS, REASONS
from tracker.tabular import XLSX_MEDIA_TYPE

LEIPZIG = "147130000000"
KOELN = "053150000000"
ANY = {"If-Match": "*"}
Headers = dict[str, str]
SECRET_QUOTE = "Ich habe Frau Kowalski im Amt angerufen, 0341 1234567, das war furchtbar."


async def people(session: AsyncSession) -> dict[str, Headers]:
    found = {
        "researcher": [("researcher", LEIPZIG)],
        "colleague": [("researcher", "14")],
        "reviewer": [("reviewer", LEIPZIG)],
        "koeln": [("researcher", KOELN)],
        "editor": [("editor", LEIPZIG)],
    }
    tokens = {
        name: bearer(await add_token(session, await add_user(session, f"{name}@x.de", grants)))
        for name, grants in found.items()
    }
    await session.commit()
    return tokens


async def created(client: Client, url: str, body: dict[str, Any], who: Headers) -> dict[str, Any]:
    answer = await client.post(url, json=body, headers=who)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def study_with_evidence(client: Client, who: dict[str, Headers]) -> dict[str, Any]:
    """A Leipzig study of Leistung 10000 with two participants and three observations."""
    me = who["researcher"]
    study = await created(client, "/api/v1/studies", {
        "title": "Elterngeld digital", "question": "Wo brechen Eltern den Antrag ab?",
        "method": "usability_test", "gemeinden": [LEIPZIG], "leistungen": ["10000"],
        "names_to_redact": ["Kowalski"], "retention_days": 90, "started_on": "2026-03-01",
    }, me)  # fmt: skip
    participants = f"/api/v1/studies/{study['id']}/participants"
    consent = {"given_on": "2026-03-01", "quotes": True, "publication": True}
    p1 = await created(
        client,
        participants,
        {"code": "P01", "user_group": "Bürger:in", "age_band": "30-39", "consent": consent},
        me,
    )
    p2 = await created(client, participants, {"code": "P02", "user_group": "Unternehmen",
                                              "consent": consent}, me)  # fmt: skip
    base = {"study_id": study["id"], "journey_step": "Nachweise hochladen"}
    quote = await created(client, "/api/v1/observations", {
        **base, "participant_id": p1["id"], "kind": "quote", "text": SECRET_QUOTE,
        "tags": ["upload"], "recorded_on": "2026-03-02",
    }, me)  # fmt: skip
    note = await created(client, "/api/v1/observations", {
        **base, "participant_id": p2["id"], "kind": "note", "text": "Upload bricht ab.",
        "recorded_on": "2026-06-01",
    }, me)  # fmt: skip
    metric = await created(client, "/api/v1/observations", {
        **base, "participant_id": p1["id"], "kind": "metric", "metric_value": 42.0,
        "metric_unit": "Sekunden", "recorded_on": "2026-03-02",
    }, me)  # fmt: skip
    return {"study": study, "p1": p1, "p2": p2, "quote": quote, "note": note, "metric": metric}


async def demand_with_action(client: Client, session: AsyncSession, key: str) -> str:
    """A Leipzig catalogue with the demand `key` and one Maßnahme under it: its id."""
    manager = bearer(await add_token(session, await add_user(
        session, f"manager-{key}@x.de", [("demand_manager", LEIPZIG)])))  # fmt: skip
    await session.commit()
    catalogue = {
        "key": f"leipzig-{key.lower()}", "version": "2026", "scope_ars": LEIPZIG,
        "title": {"de": "Strategie"}, "demands": [{"key": key, "title": {"de": key}}],
    }  # fmt: skip
    await created(client, "/api/v1/demand-catalogues", catalogue, manager)
    action = await created(client, f"/api/v1/demands/{key}/actions", {
        "title": {"de": "Maßnahme"}, "responsible_level": "kommune"}, manager)  # fmt: skip
    return str(action["id"])


def finding_body(evidence: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "statement": "Der Upload der Geburtsurkunde scheitert; Frau Kowalski rief an.",
        "severity": 4, "confidence": "high", "gemeinden": [LEIPZIG], "leistungen": ["10000"],
        "journey_step": "Nachweise hochladen", "criterion": "Ende-zu-Ende digital",
        "observations": [evidence["quote"]["id"], evidence["note"]["id"]],
    } | fields  # fmt: skip


async def test_the_chain_from_study_to_public_finding(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    me = who["researcher"]
    assert evidence["note"]["recorded_on"] == "2026-06-01"
    study = await client.get(f"/api/v1/studies/{evidence['study']['id']}", headers=me)
    assert (study.json()["participants"], study.json()["observations"]) == (2, 3)
    # participants: pseudonymous codes only
    participants = f"/api/v1/studies/{evidence['study']['id']}/participants"
    consent = {"given_on": "2026-03-01"}
    for body, field in (
        ({"code": "P09", "user_group": "anna@example.org"}, "user_group"),
        ({"code": "P09", "user_group": "Ruf +49 341 1234567 an"}, "user_group"),
        ({"code": "max.mustermann", "user_group": "Bürger:in"}, "code"),
        ({"code": "P09", "user_group": "Frau Schmidt"}, "user_group"),
        ({"code": "P09", "user_group": "Hans Müller"}, "user_group"),
    ):
        refused = await client.post(participants, json={**body, "consent": consent}, headers=me)
        assert refused.status_code == 422, body
        assert refused.json()["detail"].startswith(f"{field} looks like")
    renamed = await client.patch(
        f"/api/v1/participants/{evidence['p1']['id']}",
        json={"user_group": "Anna-Lena Roth"},
        headers={**me, **ANY},
    )
    assert (renamed.status_code, renamed.json()["field"]) == (422, "user_group"), renamed.text
    twice = {"code": "P01", "user_group": "x", "consent": consent}
    assert (await client.post(participants, json=twice, headers=me)).status_code == 409

    no_support = await client.post(
        "/api/v1/findings", json=finding_body(evidence, observations=[]), headers=me
    )
    assert no_support.status_code == 400
    finding = await created(client, "/api/v1/findings", finding_body(evidence), me)
    assert finding["frequency"] == {"observations": 2, "participants": 2, "erased": 0}
    assert finding["published"] is False
    url = f"/api/v1/findings/{finding['id']}"
    assert (await client.patch(url, json={"severity": 3}, headers=me)).status_code == 428
    changed = await client.patch(
        url,
        json={"severity": 3, "observations": [evidence["quote"]["id"], evidence["metric"]["id"]]},
        headers={**me, "If-Match": '"v1"'},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["frequency"] == {"observations": 2, "participants": 1, "erased": 0}
    stale = await client.patch(url, json={"severity": 2}, headers={**me, "If-Match": '"v1"'})
    assert stale.status_code == 412
    history = (await client.get(f"{url}/history", headers=me)).json()["items"]
    assert [h["kind"] for h in history] == ["create", "update"]
    assert history[1]["changes"]["severity"] == [4, 3]
    assert history[1]["author"].startswith("user:")

    # publishing: a reviewer who is not the author; the redacted text becomes public
    assert (await client.post(f"{url}/publish", headers={**me, **ANY})).status_code == 403
    assert (
        await client.post(f"{url}/publish", headers={**who["editor"], **ANY})
    ).status_code == 403
    published = await client.post(f"{url}/publish", headers={**who["reviewer"], **ANY})
    assert published.status_code == 200, published.text
    body = published.json()
    assert (
        body["public_statement"] == "Der Upload der Geburtsurkunde scheitert; Frau [Name] rief an."
    )
    assert [r["kind"] for r in body["redactions"]] == ["listed_name"]

    action = await demand_with_action(client, session, "DF-3")
    answer = {
        "text": "Uploads bis 20 MB annehmen und Fortschritt speichern.",
        "responsible_level": "it_dienstleister", "findings": [finding["id"]],
    }  # fmt: skip
    for links, detail in (
        ([{"kind": "demand", "key": "DF-99"}], "Demand DF-99 does not exist."),
        ([{"kind": "action", "key": "999999"}], "Maßnahme 999999 does not exist."),
        ([{"kind": "action", "key": "DF-3"}], "Maßnahme DF-3 does not exist."),
        ([{"kind": "wish", "key": "x"}], "Links of kind wish are not known (known: action, "
                                          "demand)."),
    ):  # fmt: skip
        refused = await client.post(
            "/api/v1/recommendations", json={**answer, "links": links}, headers=me
        )
        assert (refused.status_code, refused.json()["detail"]) == (422, detail)
    recommendation = await created(client, "/api/v1/recommendations", {
        **answer, "links": [{"kind": "demand", "key": "DF-3"}, {"kind": "action", "key": action}],
    }, me)  # fmt: skip
    assert [(x["kind"], x["key"]) for x in recommendation["links"]] == [
        ("action", action),
        ("demand", "DF-3"),
    ]
    rec_url = f"/api/v1/recommendations/{recommendation['id']}"
    public = (await client.get("/api/v1/public/findings", params={"leistung": "10000"})).json()
    assert [item["recommendations"] for item in public["items"]] == [[]]  # not published yet
    assert (
        await client.post(f"{rec_url}/publish", headers={**who["reviewer"], **ANY})
    ).status_code == 200

    # what anyone sees: the redacted text, counts, and published recommendations; nothing raw
    for headers in ({}, who["editor"], who["koeln"]):
        listed = await client.get(
            "/api/v1/public/findings", params={"gemeinde": "14"}, headers=headers
        )
        assert listed.status_code == 200
        (item,) = listed.json()["items"]
        assert item["statement"] == body["public_statement"]
        assert item["frequency"] == {"observations": 2, "participants": 1, "erased": 0}
        assert item["recommendations"][0]["links"][0]["key"] == action
        one = await client.get(f"/api/v1/public/findings/{finding['id']}", headers=headers)
        assert one.json() == item
        for text in (listed.text, one.text):
            for raw in ("Kowalski", "1234567", "P01", "Bürger", 'observations": [', "furchtbar"):
                assert raw not in text, raw
    for url_ in ("/api/v1/studies", "/api/v1/observations", "/api/v1/findings",
                 f"/api/v1/studies/{evidence['study']['id']}/participants"):  # fmt: skip
        assert (await client.get(url_)).status_code == 401
        assert (await client.get(url_, headers=who["editor"])).status_code == 403
    searched = await client.get("/api/v1/observations", params={"q": "furchtbar"}, headers=me)
    assert [o["id"] for o in searched.json()["items"]] == [evidence["quote"]["id"]]

    # superseding names the replacement
    newer = await created(client, "/api/v1/findings", finding_body(evidence, severity=2), me)
    version = {"If-Match": (await client.get(url, headers=me)).headers["ETag"]}
    missing = await client.patch(url, json={"status": "superseded"}, headers={**me, **version})
    assert missing.status_code == 422
    superseded = await client.patch(
        url, json={"status": "superseded", "superseded_by": newer["id"]}, headers={**me, **version}
    )
    assert superseded.status_code == 200, superseded.text
    assert superseded.json()["superseded_by"] == newer["id"]
    public_one = (await client.get(f"/api/v1/public/findings/{finding['id']}")).json()
    assert (public_one["status"], public_one["superseded_by"]) == ("superseded", newer["id"])
    assert (await client.get(f"/api/v1/public/findings/{newer['id']}")).status_code == 404


async def test_scopes_keep_studies_private(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    study = f"/api/v1/studies/{evidence['study']['id']}"
    assert (await client.get(study, headers=who["colleague"])).status_code == 200
    assert (await client.get(study, headers=who["koeln"])).status_code == 404
    assert (await client.get("/api/v1/studies", headers=who["koeln"])).json()["items"] == []
    assert (await client.get("/api/v1/observations", headers=who["koeln"])).json()["items"] == []
    elsewhere = await client.post("/api/v1/studies", json={
        "title": "x", "question": "y", "method": "survey", "gemeinden": [LEIPZIG],
    }, headers=who["koeln"])  # fmt: skip
    assert elsewhere.status_code == 403
    foreign = await client.post(
        "/api/v1/findings", json=finding_body(evidence, gemeinden=[KOELN]), headers=who["koeln"]
    )
    assert foreign.status_code == 422  # the Leipzig observations are out of its reach


async def audit_texts(session: AsyncSession) -> str:
    rows = (await run(session, select(AuditEntry).order_by(col(AuditEntry.id)))).scalars()
    return json.dumps([row.changes for row in rows], ensure_ascii=False)


async def test_withdrawal_and_purge_erase_content_and_keep_counts(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    me = who["researcher"]
    evidence = await study_with_evidence(client, who)
    finding = await created(
        client,
        "/api/v1/findings",
        finding_body(evidence, observations=[evidence["quote"]["id"]]),
        me,
    )
    both = await created(client, "/api/v1/findings", finding_body(evidence), me)
    withdraw = f"/api/v1/participants/{evidence['p1']['id']}/withdraw-consent"
    answer = await client.post(withdraw, headers=me)
    assert answer.status_code == 200, answer.text
    assert answer.json()["erased_observations"] == 2
    assert answer.json()["findings_to_review"] == [finding["id"]]
    assert answer.json()["participant"]["consent"]["withdrawn_at"] is not None
    again = await client.post(withdraw, headers=me)
    assert (again.json()["erased_observations"], again.json()["findings_to_review"]) == (0, [])

    tombstone = (
        await client.get(f"/api/v1/observations/{evidence['quote']['id']}", headers=me)
    ).json()
    assert tombstone["erased"] is True
    assert (tombstone["text"], tombstone["tags"], tombstone["study_id"]) == (
        None,
        [],
        evidence["study"]["id"],
    )
    assert (tombstone["journey_step"], tombstone["recorded_on"]) == (
        "Nachweise hochladen",
        "2026-03-02",
    )
    flagged = (await client.get(f"/api/v1/findings/{finding['id']}", headers=me)).json()
    assert flagged["needs_review"] is True
    assert flagged["frequency"] == {"observations": 0, "participants": 0, "erased": 1}
    recounted = (await client.get(f"/api/v1/findings/{both['id']}", headers=me)).json()
    assert (recounted["needs_review"], recounted["frequency"]) == (
        False, {"observations": 1, "participants": 1, "erased": 1}
    )  # fmt: skip
    study = (await client.get(f"/api/v1/studies/{evidence['study']['id']}", headers=me)).json()
    assert (study["observations"], study["erased_observations"]) == (3, 2)
    publish = await client.post(
        f"/api/v1/findings/{finding['id']}/publish", headers={**who["reviewer"], **ANY}
    )
    assert publish.status_code == 409
    texts = await audit_texts(session)
    assert "furchtbar" not in texts
    assert "Upload bricht ab" not in texts
    assert '"erased": [false, true]' in texts

    # retention: 90 days after 2026-06-15 everything recorded before 2026-03-17 goes; the note stays
    done = await actions.purge_expired(session, today=TODAY, actor="cli")
    assert done == []  # the expired ones were erased already by the withdrawal
    later = await actions.purge_expired(session, today=TODAY.replace(month=12), actor="cli")
    assert later == [(evidence["study"]["id"], 1, [both["id"]])]
    assert await actions.purge_expired(session, today=TODAY.replace(month=12), actor="cli") == []
    await session.commit()
    note = (await client.get(f"/api/v1/observations/{evidence['note']['id']}", headers=me)).json()
    assert (note["erased"], note["text"]) == (True, None)
    assert "Upload bricht ab" not in await audit_texts(session)


def test_the_purge_command_says_what_it_erased(database_url: str) -> None:
    purged = CliRunner().invoke(
        main, ["research", "purge"], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert purged.exit_code == 0, purged.output
    assert purged.output == "nothing to erase\n"


async def test_a_leistung_lists_published_findings_from_every_gemeinde(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    me = who["researcher"]
    ids = []
    for severity, step in ((4, "Nachweise hochladen"), (2, "Nachweise hochladen"), (3, "Bezahlen")):
        body = finding_body(evidence, severity=severity, journey_step=step,
                            statement=f"Schwere {severity} bei {step}")  # fmt: skip
        found = await created(client, "/api/v1/findings", body, me)
        ids.append(found["id"])
    await created(
        client, "/api/v1/findings", finding_body(evidence, statement="unveröffentlicht"), me
    )
    for finding_id in ids:
        published = await client.post(
            f"/api/v1/findings/{finding_id}/publish", headers={**who["reviewer"], **ANY}
        )
        assert published.status_code == 200
    answer = (await client.get("/api/v1/leistungen/10000/findings")).json()
    assert (answer["total"], answer["by_severity"]) == (3, {"4": 1, "3": 1, "2": 1, "1": 0})
    assert answer["by_journey_step"] == {
        "Bezahlen": {"4": 0, "3": 1, "2": 0, "1": 0},
        "Nachweise hochladen": {"4": 1, "3": 0, "2": 1, "1": 0},
    }
    assert [f["id"] for f in answer["findings"]] == [ids[0], ids[2], ids[1]]
    # with a status filter, only findings in those statuses are listed and counted
    still_open = await queries.leistung_findings(session, "10000", statuses=["open", "confirmed"])
    assert [f.id for f in still_open.findings] == [ids[0], ids[2], ids[1]]
    resolved = await queries.leistung_findings(session, "10000", statuses=["resolved"])
    assert (resolved.findings, resolved.by_severity) == ([], {4: 0, 3: 0, 2: 0, 1: 0})
    assert (await client.get("/api/v1/leistungen/99999x/findings")).status_code == 404
    page = await client.get("/leistungen/10000")
    assert page.status_code == 200
    assert "Schwere 4 bei Nachweise hochladen" in page.text
    assert "verhindert die Nutzung" in page.text
    assert "severity-4" in page.text
    assert "unveröffentlicht" not in page.text
    english = await client.get("/leistungen/10000?lang=en")
    assert "prevents use" in english.text
    # an assessment cites a published finding as evidence; an unpublished one is refused
    assessment = {
        "ars": LEIPZIG, "leika_key": "99041006000000", "dimension": "online",
        "ratings": {"leistungsbeschreibung": 2, "antragsprozess": 2, "nutzerkonto": 2,
                    "authentifizierung": 2, "bezahlprozess": "n/a", "nachweise": 2},
    }  # fmt: skip
    for ref, status in ((str(ids[0]), 201), (str(ids[0] + 3), 422), ("x", 422)):
        cited = await client.post(
            "/api/v1/assessments",
            json={**assessment, "evidence": [{"kind": "finding", "ref": ref}]},
            headers=who["editor"],
        )
        assert cited.status_code == status, cited.text


async def test_observations_import_all_or_nothing_and_exports(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    url = f"/api/v1/studies/{evidence['study']['id']}/observations/import"
    csv_headers = {**who["researcher"], "Content-Type": "text/csv"}
    good = (
        "external_id,participant,kind,text,metric_value,metric_unit,journey_step,tags,recorded_on\n"
        "s-1,P01,note,Findet den Knopf nicht,,,Antrag starten,ux;knopf,2026-05-02\n"
        's-2,P02,metric,,"12,5",Minuten,Antrag starten,,2026-05-02\n'
    )
    bad = good + "s-3,P77,note,x,,,,,\ns-4,,quote,,,,,,2026-13-01\n"
    refused = await client.post(url, content=bad.encode(), headers=csv_headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == "upload.csv:4: participant: no P77 in study " + str(
        evidence["study"]["id"]
    )
    assert refused.json()["errors"][1].startswith("upload.csv:5: recorded_on")
    listed = await client.get(
        "/api/v1/observations", params={"journey_step": "Antrag starten"}, headers=who["researcher"]
    )
    assert listed.json()["items"] == []  # nothing written
    first = await client.post(url, content=good.encode(), headers=csv_headers)
    assert (first.status_code, first.json()["inserted"]) == (200, 2)
    again = await client.post(url, content=good.encode(), headers=csv_headers)
    assert (again.json()["inserted"], again.json()["unchanged"]) == (0, 2)
    listed = await client.get(
        "/api/v1/observations", params={"tag": "knopf"}, headers=who["researcher"]
    )
    assert [o["external_id"] for o in listed.json()["items"]] == ["s-1"]
    assert (await client.post(url, content=good.encode(), headers={**csv_headers, **{
        "Authorization": who["koeln"]["Authorization"]}})).status_code == 404  # fmt: skip

    kpi = {"ozg_id": "10000", "ars": LEIPZIG, "kind": "completion_rate", "value": 0.625,
           "measured_on": "2026-05-01", "source": "Webanalyse"}  # fmt: skip
    await created(client, "/api/v1/kpis", kpi, who["researcher"])
    plain = await client.get("/api/v1/kpis/export", params={"format": "csv"})
    assert plain.text.splitlines()[0] == "id,ozg_id,ars,kind,value,unit,measured_on,source,study_id"
    assert ",0.625," in plain.text
    german = await client.get("/api/v1/kpis/export", params={"format": "csv-de"})
    assert german.content.startswith("\ufeff".encode())
    assert ";0,625;" in german.text
    workbook = await client.get("/api/v1/public/findings/export", params={"format": "xlsx"})
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK"


async def test_the_public_pages_show_only_published_redacted_findings(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    finding = await created(client, "/api/v1/findings", finding_body(evidence), who["researcher"])
    hidden = await created(
        client, "/api/v1/findings", finding_body(evidence, statement="Geheim"), who["researcher"]
    )
    await client.post(
        f"/api/v1/findings/{finding['id']}/publish", headers={**who["reviewer"], **ANY}
    )
    listed = await client.get("/erkenntnisse", params={"q": "urkunde"})
    assert listed.status_code == 200
    assert "Frau [Name] rief an" in listed.text
    assert "Geheim" not in listed.text
    assert "Kowalski" not in listed.text
    # the list's filters are the API's: severity, status, Themenfeld, tag; empty means all
    everything = {"q": "urkunde", "severity": "", "status": "", "themenfeld": "", "tag": ""}
    assert "Frau [Name] rief an" in (await client.get("/erkenntnisse", params=everything)).text
    for params, shown in (
        ({"severity": "4", "status": "open"}, True),
        ({"severity": "3"}, False),
        ({"status": "resolved"}, False),
        ({"tag": "fehlt"}, False),
        ({"themenfeld": "999"}, False),
    ):
        filtered = await client.get("/erkenntnisse", params={**everything, **params})
        assert filtered.status_code == 200, (params, filtered.text)
        assert ("Frau [Name] rief an" in filtered.text) is shown, params
    assert '<option value="resolved">behoben</option>' in listed.text
    assert (await client.get("/erkenntnisse", params={"status": "x"})).status_code == 400
    page = await client.get(f"/erkenntnisse/{finding['id']}")
    assert "verhindert die Nutzung" in page.text
    assert "<dd>offen</dd>" in page.text
    assert "furchtbar" not in page.text  # the observation's text is for researchers only
    assert (await client.get(f"/erkenntnisse/{hidden['id']}")).status_code == 404
    assert "Findings from user research" in (await client.get("/erkenntnisse?lang=en")).text
    mine = await client.get(f"/erkenntnisse/{finding['id']}", headers=who["researcher"])
    assert "Upload bricht ab." in mine.text
    assert "quote · Nachweise hochladen · 2026-03-02" in mine.text  # English, as switched


async def test_a_researcher_records_an_observation_on_the_study_page(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    await add_user(session, "forscherin@x.de", [("researcher", LEIPZIG)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "forscherin@x.de")
    url = f"/studien/{evidence['study']['id']}"
    page = await client.get(url)
    assert page.status_code == 200
    assert '<option value="P01">P01 (Bürger:in)</option>' in page.text  # a select of codes
    assert "Upload bricht ab." in page.text
    assert "<dd>Usability-Test</dd>" in page.text
    assert "usability_test" not in page.text
    assert '<span class="metric">42,0 Sekunden</span>' in page.text
    assert '<option value="metric">Messwert</option>' in page.text
    form = {
        "kind": "note", "participant": "P02", "journey_step": "Bezahlen",
        "text": "Bezahlen per Lastschrift fehlt.", "_csrf_token": csrf_token(page.text),
    }  # fmt: skip
    saved = await client.post(f"{url}/beobachtungen", data=form)
    assert saved.status_code == 303, saved.text
    assert "Bezahlen per Lastschrift fehlt." in (await client.get(url)).text
    metric = {**form, "kind": "metric", "text": "", "metric_value": "7,5",
              "metric_unit": "Minuten"}  # fmt: skip
    assert (await client.post(f"{url}/beobachtungen", data=metric)).status_code == 303
    media = {
        **form, "kind": "media", "participant": "", "text": "",
        "media_uri": "https://medien.example.de/p02.mp4", "media_timecode": "01:23",
    }  # fmt: skip
    assert (await client.post(f"{url}/beobachtungen", data=media)).status_code == 303
    shown = (await client.get(url)).text
    assert '<span class="metric">7,5 Minuten</span>' in shown
    assert "https://medien.example.de/p02.mp4</a> @ 01:23" in shown
    assert await laid_out_width(shown) <= PHONE_WIDTH  # the forms lay out in one column
    unitless = await client.post(f"{url}/beobachtungen", data={**metric, "metric_unit": ""})
    assert (unitless.status_code, "Ein Messwert braucht Wert und Einheit." in unitless.text) == (
        422, True,
    )  # fmt: skip
    bad = await client.post(f"{url}/beobachtungen", data={**metric, "metric_value": "viel"})
    assert (bad.status_code, "Bitte prüfen Sie Wert" in bad.text) == (422, True)
    textless = await client.post(f"{url}/beobachtungen", data={**form, "text": ""})
    assert "Eine Notiz braucht einen Text." in textless.text  # German on the page
    finding = {
        "statement": "Lastschrift fehlt", "severity": "3", "_csrf_token": form["_csrf_token"],
        "observation": [str(evidence["note"]["id"])],
    }  # fmt: skip
    recorded = await client.post(f"{url}/erkenntnisse", data=finding)
    assert recorded.status_code == 303, recorded.text
    listed = await client.get("/api/v1/findings", headers=who["researcher"])
    (item,) = listed.json()["items"]
    assert (item["statement"], item["observations"]) == (
        "Lastschrift fehlt",
        [evidence["note"]["id"]],
    )
    unsupported = await client.post(f"{url}/erkenntnisse", data={**finding, "observation": []})
    assert unsupported.status_code == 422
    wrong = await client.post(f"{url}/beobachtungen", data={**form, "kind": "quote", "text": ""})
    assert wrong.status_code == 422
    assert (await client.post(f"{url}/beobachtungen", data={"kind": "note"})).status_code == 403
    # a participant by code: test_a_researcher_adds_a_participant_on_the_study_page
    client.cookies.clear()
    assert (await client.get(url, headers=who["koeln"])).status_code == 404


def workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_observations_import_from_xlsx_all_or_nothing(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    url = f"/api/v1/studies/{evidence['study']['id']}/observations/import"
    xlsx = {**who["researcher"], "Content-Type": XLSX_MEDIA_TYPE}
    header = ["external_id", "participant", "kind", "text", "metric_value", "metric_unit",
              "journey_step", "tags", "recorded_on"]  # fmt: skip
    good: list[list[Any]] = [
        header,
        ["x-1", "P01", "note", "Sucht den Button", None, None, "Antrag starten", "ux",
         datetime(2026, 5, 2)],
        ["x-2", "P02", "metric", None, 12.5, "Minuten", "Antrag starten", None, "2026-05-03"],
    ]  # fmt: skip
    bad: list[list[Any]] = [*good, ["x-3", "P77", "note", "x"], ["x-4", None, "quote"]]
    refused = await client.post(url, content=workbook(bad), headers=xlsx)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert errors[0] == f"upload.xlsx:4: participant: no P77 in study {evidence['study']['id']}"
    assert errors[1].startswith("upload.xlsx:5:")
    listed = await client.get(
        "/api/v1/observations", params={"journey_step": "Antrag starten"}, headers=who["researcher"]
    )
    assert listed.json()["items"] == []  # nothing written
    first = await client.post(url, content=workbook(good), headers=xlsx)
    assert (first.status_code, first.json()) == (200, {
        "source": "upload.xlsx", "inserted": 2, "unchanged": 0})  # fmt: skip
    again = await client.post(url, content=workbook(good), headers=xlsx)
    assert (again.json()["inserted"], again.json()["unchanged"]) == (0, 2)
    listed = await client.get(
        "/api/v1/observations", params={"journey_step": "Antrag starten"}, headers=who["researcher"]
    )
    found = {o["external_id"]: o for o in listed.json()["items"]}
    assert (found["x-1"]["recorded_on"], found["x-2"]["metric_value"]) == ("2026-05-02", 12.5)
    broken = await client.post(url, content=b"PK not a workbook", headers=xlsx)
    assert broken.status_code == 422
    assert broken.json()["errors"][0].startswith("upload.xlsx:1: not an XLSX workbook")
    other = await client.post(url, content=b"x", headers={**xlsx, "Content-Type": "text/plain"})
    assert other.status_code == 415


async def test_consent_covers_each_kind_and_publication(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    me, reviewer = who["researcher"], who["reviewer"]
    study_id = evidence["study"]["id"]
    media = {"study_id": study_id, "participant_id": evidence["p1"]["id"], "kind": "media",
             "media_uri": "https://media.example.org/p01.mp4"}  # fmt: skip
    refused = await client.post("/api/v1/observations", json=media, headers=me)
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Participant P01 did not consent to recordings."
    # P03 consents to notes, not to publication
    p3 = await created(client, f"/api/v1/studies/{study_id}/participants", {
        "code": "P03", "user_group": "ältere Menschen", "consent": {"given_on": "2026-03-01"},
    }, me)  # fmt: skip
    note = await created(client, "/api/v1/observations", {
        "study_id": study_id, "participant_id": p3["id"], "kind": "note", "text": "Zu klein.",
    }, me)  # fmt: skip
    body = finding_body(evidence, observations=[evidence["note"]["id"], note["id"]])
    finding = await created(client, "/api/v1/findings", body, me)
    publish = f"/api/v1/findings/{finding['id']}/publish"
    blocked = await client.post(publish, headers={**reviewer, **ANY})
    assert blocked.status_code == 409
    assert blocked.json()["participants"] == ["P03"]
    assert "P03" in blocked.json()["detail"]
    recommendation = await created(client, "/api/v1/recommendations", {
        "text": "Schrift größer", "findings": [finding["id"]], "responsible_level": "kommune",
    }, me)  # fmt: skip
    rec_publish = f"/api/v1/recommendations/{recommendation['id']}/publish"
    assert (await client.post(rec_publish, headers={**reviewer, **ANY})).status_code == 409
    # with consent given the finding is published; taking publication back hides it again
    p3_url = f"/api/v1/participants/{p3['id']}"
    full = {"given_on": "2026-03-01", "publication": True}
    assert (await client.patch(p3_url, json={"consent": full}, headers={**me, **ANY})).is_success
    assert (await client.post(publish, headers={**reviewer, **ANY})).status_code == 200
    public = f"/api/v1/public/findings/{finding['id']}"
    assert (await client.get(public)).status_code == 200
    narrowed = {"given_on": "2026-03-01", "publication": False}
    answer = await client.patch(p3_url, json={"consent": narrowed}, headers={**me, **ANY})
    assert answer.status_code == 200, answer.text
    assert (await client.get(public)).status_code == 404
    history = (await client.get(f"/api/v1/findings/{finding['id']}/history", headers=me)).json()
    assert history["items"][-1]["kind"] == "unpublish"
    # notes taken back: P03's note is erased, the finding rests on P02 alone and may be published
    notes_off = {"given_on": "2026-03-01", "notes": False}
    assert (
        await client.patch(p3_url, json={"consent": notes_off}, headers={**me, **ANY})
    ).is_success
    erased = await client.get(f"/api/v1/observations/{note['id']}", headers=me)
    assert (erased.json()["erased"], erased.json()["text"]) == (True, None)
    assert (await client.post(publish, headers={**reviewer, **ANY})).status_code == 200
    # a withdrawal takes what rests on the participant off the public pages
    withdraw = f"/api/v1/participants/{evidence['p2']['id']}/withdraw-consent"
    assert (await client.post(withdraw, headers=me)).status_code == 200
    assert (await client.get(public)).status_code == 404


async def test_tag_filters_page_by_cursor(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    me = who["researcher"]
    base = {"study_id": evidence["study"]["id"], "kind": "note"}
    tagged = [evidence["quote"]["id"]]
    for number in range(5):
        tags = ["upload", "mobil"] if number % 2 == 0 else ["mobil"]
        made = await created(client, "/api/v1/observations",
                             {**base, "text": f"Notiz {number}", "tags": tags}, me)  # fmt: skip
        if "upload" in tags:
            tagged.append(made["id"])
    seen: list[int] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"tag": "upload", "limit": 2} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (await client.get("/api/v1/observations", params=query, headers=me)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == tagged
    first = await created(client, "/api/v1/findings", finding_body(evidence, tags=["upload"]), me)
    await created(client, "/api/v1/findings", finding_body(evidence, tags=["mobil"]), me)
    third = await created(client, "/api/v1/findings", finding_body(evidence, tags=["upload"]), me)
    page = (await client.get("/api/v1/findings", params={"tag": "upload", "limit": 1},
                             headers=me)).json()  # fmt: skip
    assert ([f["id"] for f in page["items"]], page["next_cursor"]) == (
        [first["id"]],
        str(first["id"]),
    )
    params = {"tag": "upload", "limit": 1, "cursor": page["next_cursor"]}
    rest = (await client.get("/api/v1/findings", params=params, headers=me)).json()
    assert ([f["id"] for f in rest["items"]], rest["next_cursor"]) == ([third["id"]], None)
    for tag in ("fehlt", 'it\'s 100% "ü" _x', '["upload"]'):
        none = await client.get("/api/v1/public/findings", params={"tag": tag})
        assert none.json() == {"items": [], "next_cursor": None}, tag


async def test_a_reviewer_publishes_or_rejects_on_the_review_page(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    finding = await created(client, "/api/v1/findings", finding_body(evidence), who["researcher"])
    await add_user(session, "pruefer@x.de", [("reviewer", LEIPZIG)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "pruefer@x.de")
    page = await client.get("/freigabe")
    assert page.status_code == 200
    assert "Der Upload der Geburtsurkunde scheitert; Frau [Name] rief an." in page.text
    # what the redactor removes, for the reviewer, in German (English on the switch)
    assert (
        '<td class="wrap">Kowalski</td><td class="wrap">gelisteter Name</td>'
        '<td class="wrap">auf der Liste der zu schwärzenden Namen der Studie</td>'
    ) in page.text
    assert "listed_name" not in page.text
    assert await laid_out_width(page.text) <= PHONE_WIDTH  # the removals fit or scroll at 390 px
    to_english = translator("en")
    assert {kind: to_english(reason) for kind, reason in GERMAN_REASONS.items()} == REASONS
    assert all(to_english(label) != label or label in ("IBAN", "Name", "Steuer-ID", "Steuernummer")
               for label in KIND_LABELS.values())  # fmt: skip
    token = csrf_token(page.text)
    url = f"/freigabe/erkenntnisse/{finding['id']}"
    decision = {"_csrf_token": token, "version": "1", "decision": "reject", "reason": " "}
    assert (await client.post(url, data=decision)).status_code == 422
    assert (await client.post(url, data={**decision, "_csrf_token": ""})).status_code == 403
    rejected = await client.post(url, data={**decision, "reason": "Quelle fehlt"})
    assert rejected.status_code == 303, rejected.text
    assert f"erkenntnisse-{finding['id']}" not in (await client.get("/freigabe")).text
    history = await client.get(f"/api/v1/findings/{finding['id']}/history", headers=who["reviewer"])
    assert history.json()["items"][-1]["changes"]["reason"] == [None, "Quelle fehlt"]
    # the author's change puts it back; publishing needs the version now read
    changed = await client.patch(f"/api/v1/findings/{finding['id']}", json={"severity": 3},
                                 headers={**who["researcher"], **ANY})  # fmt: skip
    assert changed.status_code == 200
    assert f"erkenntnisse-{finding['id']}" in (await client.get("/freigabe")).text
    stale = await client.post(url, data={**decision, "decision": "publish"})
    assert stale.status_code == 412
    published = await client.post(url, data={**decision, "decision": "publish", "version": "2"})
    assert published.status_code == 303, published.text
    assert "Frau [Name] rief an" in (await client.get("/erkenntnisse")).text
    assert "Nichts wartet auf Freigabe." in (await client.get("/freigabe")).text
    # the same through the API: a reason is required, the author cannot reject
    other = await created(client, "/api/v1/findings", finding_body(evidence), who["researcher"])
    api = f"/api/v1/findings/{other['id']}/reject"
    empty = await client.post(api, json={"reason": ""}, headers={**who["reviewer"], **ANY})
    assert empty.status_code == 400
    own = await client.post(api, json={"reason": "x"}, headers={**who["researcher"], **ANY})
    assert own.status_code == 403
    sent_back = await client.post(
        api, json={"reason": "Beleg fehlt"}, headers={**who["reviewer"], **ANY}
    )
    assert (sent_back.status_code, sent_back.json()["published"]) == (200, False)
    assert f"erkenntnisse-{other['id']}" not in (await client.get("/freigabe")).text
    english = await client.get("/freigabe?lang=en")
    assert "Review: findings and recommendations" in english.text
    assert (await client.post("/freigabe/andere/1", data=decision)).status_code == 400
    client.cookies.clear()
    assert (await client.get("/freigabe")).status_code in (302, 303, 401)


async def test_a_researcher_adds_a_participant_on_the_study_page(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    await add_user(session, "forscher@x.de", [("researcher", LEIPZIG)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "forscher@x.de")
    url = f"/studien/{evidence['study']['id']}"
    token = csrf_token((await client.get(url)).text)
    form = {"code": "P05", "user_group": "ältere Menschen", "age_band": "70+",
            "given_on": "2026-03-04", "quotes": "on", "_csrf_token": token}  # fmt: skip
    saved = await client.post(f"{url}/teilnehmende", data=form)
    assert saved.status_code == 303, saved.text
    assert "P05" in (await client.get(url)).text
    listed = await client.get(f"/api/v1/studies/{evidence['study']['id']}/participants",
                              headers=who["researcher"])  # fmt: skip
    (p5,) = [p for p in listed.json()["items"] if p["code"] == "P05"]
    assert p5["consent"] | {"withdrawn_at": None} == {
        "given_on": "2026-03-04", "notes": False, "quotes": True, "recordings": False,
        "publication": False, "withdrawn_at": None,
    }  # fmt: skip
    personal = {**form, "code": "P06", "user_group": "Frau Schmidt"}
    refused = await client.post(f"{url}/teilnehmende", data=personal)
    assert refused.status_code == 422
    assert "Nutzendengruppe sieht nach personenbezogenen Daten aus (Name nach Anrede" in (
        refused.text
    )
    bare = await client.post(f"{url}/teilnehmende", data={**personal, "user_group": "Hans Müller"})
    assert bare.status_code == 422
    assert "Nutzendengruppe sieht nach einem Personennamen aus" in bare.text
    aged = await client.post(f"{url}/teilnehmende", data={**form, "code": "P08", "age_band": "alt"})
    assert (aged.status_code, "Bitte prüfen Sie: Altersgruppe." in aged.text) == (422, True)
    grouped = {**form, "code": "P07", "user_group": "Junge Erwachsene"}
    assert (await client.post(f"{url}/teilnehmende", data=grouped)).status_code == 303
    twice = await client.post(f"{url}/teilnehmende", data=form)
    assert twice.status_code == 422


async def test_a_demand_links_only_findings_it_may_read(
    client: Client, session: AsyncSession
) -> None:
    """An unpublished finding is as unknown to a demand manager as a missing one; a manager
    who also researches its Gemeinde links it, and anyone once it is published."""
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    finding = await created(client, "/api/v1/findings", finding_body(evidence), who["researcher"])
    action = await demand_with_action(client, session, "LE-7")
    manager = bearer(await add_token(session, await add_user(
        session, "planerin@x.de", [("demand_manager", LEIPZIG)])))  # fmt: skip
    roles = [("demand_manager", LEIPZIG), ("researcher", LEIPZIG)]
    both = bearer(await add_token(session, await add_user(session, "beides@x.de", roles)))
    await session.commit()
    url = f"/api/v1/actions/{action}/links"

    async def link(target: str, who: Headers) -> tuple[int, str]:
        body = {"kind": "finding", "target": target, "reason": "Beleg"}
        answer = await client.post(url, json=body, headers=who)
        return answer.status_code, answer.json().get("detail", "")

    draft, missing = str(finding["id"]), "999999"
    assert await link(draft, manager) == (422, f"Research finding {draft} does not exist.")
    assert await link(missing, manager) == (422, f"Research finding {missing} does not exist.")
    assert (await link(draft, both))[0] == 201
    published = await client.post(f"/api/v1/findings/{draft}/publish",
                                  headers={**who["reviewer"], **ANY})  # fmt: skip
    assert published.status_code == 200, published.text
    links = await client.get(url, headers=manager)
    (mine,) = [item for item in links.json() if item["target"] == draft]
    deleted = await client.delete(f"{url}/{mine['id']}", headers=manager)
    assert deleted.status_code == 204, deleted.text
    assert (await link(draft, manager))[0] == 201
