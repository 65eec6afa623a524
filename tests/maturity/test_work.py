"""The officer's and reviewer's way through the pages: sign in back to the page one came from,
the account, recording, the work lists, submitting, and a second person's review."""

from __future__ import annotations

import json
import re

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_pages import PASSWORD, csrf_token
from tests.builders import Client, add_token, add_user, bearer
from tests.maturity.test_routes import ELTERNGELD, FULL, record, step
from tracker.maturity import actions, queries, rules

KOELN = "053150000000"
LEIPZIG = "147130000000"
FORM = f"/gemeinden/{KOELN}/reifegrad/erfassen"
RATED = {
    "c_leistungsbeschreibung": "4", "c_antragsprozess": "3", "c_nutzerkonto": "4",
    "c_authentifizierung": "4", "c_bezahlprozess": "n/a", "c_nachweise": "3",
}  # fmt: skip


async def sign_in(client: Client, email: str, next_path: str | None = None) -> str:
    """Signs in through the form; the page it leads to."""
    client.cookies.clear()
    page = await client.get("/anmelden", params={"next": next_path} if next_path else None)
    answer = await client.post(
        "/anmelden",
        data={"email": email, "password": PASSWORD, "_csrf_token": csrf_token(page.text),
              "next": next_path or "/"},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def post_form(client: Client, url: str, page: str, **fields: str) -> object:
    return await client.post(url, data={**fields, "_csrf_token": csrf_token(page)})


def assessment_ids(page: str, table: str) -> list[int]:
    marker = f'<table id="{table}">'
    body = page.split(marker, 1)[1].split("</table>", 1)[0] if marker in page else ""
    return [int(n) for n in re.findall(r'data-assessment="(\d+)"', body)]


async def test_sign_in_returns_to_the_page_one_came_from(
    client: Client, session: AsyncSession
) -> None:
    await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    await session.commit()
    away = await client.get("/arbeit/entwuerfe")
    assert away.status_code == 303
    assert away.headers["location"] == "/anmelden?next=%2Farbeit%2Fentwuerfe"
    assert (await client.get(FORM)).headers["location"].startswith("/anmelden?next=%2Fgemeinden")
    assert await sign_in(client, "eva@koeln.de", "/arbeit/entwuerfe") == "/arbeit/entwuerfe"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "x"):
        assert await sign_in(client, "eva@koeln.de", elsewhere) == "/"
    account = (await client.get("/konto")).text
    assert 'id="account-name">eva (eva@koeln.de)<' in account
    assert f'<a href="/gemeinden/{KOELN}/reifegrad">Köln</a>' in account
    assert "Bearbeitung" in account


async def test_record_submit_and_a_second_person_validates(
    client: Client, session: AsyncSession
) -> None:
    await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    await add_user(session, "rita@nrw.de", [("reviewer", "05")], password=PASSWORD)
    await add_user(session, "leo@leipzig.de", [("editor", LEIPZIG)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "eva@koeln.de")
    form = (await client.get(FORM)).text
    saved = await post_form(
        client, FORM, form, leistung="10000 Elterngeld", action="draft", **RATED
    )
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    told = (await client.get(saved.headers["location"])).text  # type: ignore[attr-defined]
    assert "Sie ist ein Entwurf und zählt noch nicht: Reichen Sie sie zur Prüfung ein" in told
    drafts = (await client.get("/arbeit/entwuerfe")).text
    [number] = assessment_ids(drafts, "drafts")
    start = (await client.get("/")).text
    assert 'data-count="drafts">1<' in start
    detail = (await client.get(f"/bewertungen/{number}")).text
    assert 'id="submit-form"' in detail
    assert "Bisher gibt es keine freigegebene Bewertung" in detail
    status = f"/bewertungen/{number}/status"
    submitted = await post_form(client, status, detail, step="einreichen", version="1")
    assert submitted.status_code == 303  # type: ignore[attr-defined]
    assert assessment_ids((await client.get("/arbeit/entwuerfe")).text, "submitted") == [number]
    # the author is no reviewer, and four eyes would stop her anyway
    refused = await post_form(client, status, detail, step="freigeben", version="2")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "keine Rolle als Prüfer" in refused.text  # type: ignore[attr-defined]

    await sign_in(client, "leo@leipzig.de")
    hidden = await client.get(f"/bewertungen/{number}", headers={"Accept": "text/html"})
    assert hidden.status_code == 404
    assert f"Die Bewertung {number} gibt es nicht." in hidden.text
    assert assessment_ids((await client.get("/arbeit/pruefung")).text, "to-review") == []

    await sign_in(client, "rita@nrw.de")
    assert 'data-count="to_review">1<' in (await client.get("/")).text
    waiting = (await client.get("/arbeit/pruefung")).text
    assert assessment_ids(waiting, "to-review") == [number]
    review = (await client.get(f"/bewertungen/{number}")).text
    assert 'id="review-form"' in review
    assert "eva" in review  # the author by name, not user:N
    no_reason = await post_form(client, status, review, step="zurueckweisen", version="2")
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    assert "Eine Zurückweisung braucht eine Begründung." in no_reason.text  # type: ignore[attr-defined]
    validated = await post_form(client, status, review, step="freigeben", version="2")
    assert validated.status_code == 303  # type: ignore[attr-defined]
    assert validated.headers["location"] == f"/arbeit/pruefung?erledigt={number}-freigegeben"  # type: ignore[attr-defined]
    assert assessment_ids((await client.get("/arbeit/pruefung")).text, "to-review") == []
    history = (await client.get("/arbeit/verlauf")).text
    assert f'<a href="/bewertungen/{number}">Bewertung {number}</a>: freigegeben' in history
    assert "Stand: eingereicht → freigegeben" in history  # German labels and values
    assert "Konto: angemeldet" in history
    assert "app_user" not in history
    assert "status:" not in history
    reifegrad = (await client.get(f"/gemeinden/{KOELN}/reifegrad")).text
    row = reifegrad.split("<td>10000</td>", 1)[1].split("</tr>", 1)[0]
    assert "<strong>3</strong> – Online-Leistung" in row
    rolled = (await client.get(f"/api/v1/gemeinden/{KOELN}/reifegrad")).json()
    assert [flag["key"] for flag in rolled["flags"]["backoffice"]] == [
        "digital_bearbeitet", "once_only", "vollautomatisch",
    ]  # fmt: skip
    assert set(rolled["summary"]["backoffice"]["flags"]) == {
        "digital_bearbeitet", "once_only", "vollautomatisch",
    }  # fmt: skip
    [elterngeld] = [item for item in rolled["leistungen"] if item["ozg_id"] == "10000"]
    assert elterngeld["online"]["flags"] == ["online", "ozg_konform"]


async def test_a_whole_leistung_draft_shows_the_current_services_and_every_comment(
    client: Client, session: AsyncSession
) -> None:
    eva = await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    rita = await add_user(session, "rita@nrw.de", [("reviewer", "05")], password=PASSWORD)
    editor, reviewer = bearer(await add_token(session, eva)), bearer(await add_token(session, rita))
    await session.commit()
    service = await record(
        client, editor, ars=KOELN, leika_key=ELTERNGELD, ratings=FULL, comment="Portal geprüft"
    )
    service = (await step(client, editor, service, "submit")).json()
    assert (await step(client, reviewer, service, "validate")).status_code == 200
    await sign_in(client, "eva@koeln.de")
    form = (await client.get(FORM)).text
    saved = await post_form(
        client, FORM, form, leistung="10000 Elterngeld", action="draft", comment="Ganze Leistung",
        **RATED,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    drafts = (await client.get("/arbeit/entwuerfe")).text
    [number] = assessment_ids(drafts, "drafts")
    assert "Kommentar: Ganze Leistung" in drafts
    client.cookies.clear()  # signed out, a page that needs sign-in leads to the form
    page = {"Accept": "text/html"}
    for path in (f"/bewertungen/{number}", "/freigabe", "/studien/1"):
        away = await client.get(path, headers=page)
        assert away.status_code == 303, (path, away.text)
        assert away.headers["location"] == "/anmelden?next=" + path.replace("/", "%2F")
    assert (await client.get("/api/v1/studies/1")).status_code == 401  # the API stays an API
    for who in ("eva@koeln.de", "rita@nrw.de"):
        await sign_in(client, who)
        detail = (await client.get(f"/bewertungen/{number}")).text
        assert 'id="no-previous"' not in detail
        assert f'class="current-assessment" data-assessment="{service["id"]}"' in detail
        assert f"LeiKa {ELTERNGELD}" in detail
        assert f'id="comment-{number}">Ganze Leistung<' in detail
        assert f'id="comment-{service["id"]}">Portal geprüft<' in detail
    # rejected, it is recorded anew from a form filled from it
    await sign_in(client, "eva@koeln.de")
    status = f"/bewertungen/{number}/status"
    own = (await client.get(f"/bewertungen/{number}")).text
    await post_form(client, status, own, step="einreichen", version="1")
    await sign_in(client, "rita@nrw.de")
    review = (await client.get(f"/bewertungen/{number}")).text
    rejected = await post_form(
        client, status, review, step="zurueckweisen", version="2", comment="Nachweis fehlt"
    )
    assert rejected.status_code == 303  # type: ignore[attr-defined]
    await sign_in(client, "eva@koeln.de")
    again = (await client.get(f"/bewertungen/{number}")).text
    link = f"/gemeinden/{KOELN}/reifegrad/erfassen?aus={number}"
    assert f'href="{link}" id="record-anew"' in again
    form = (await client.get(link)).text
    assert 'value="10000 Elterngeld"' in form
    assert ">Ganze Leistung</textarea>" in form
    assert '<option value="4" title=' in form
    assert re.search(r'id="c_leistungsbeschreibung".*?value="4"[^>]*selected', form, re.S)
    backoffice = (await client.get(FORM, params={"dimension": "backoffice"})).text
    assert "B0-B6 (eigene Skala), Version 1" in backoffice  # not "(… eigene Skala) 1"
    # the validated service's own page: nothing else counts beside it
    alone = (await client.get(f"/bewertungen/{service['id']}")).text
    assert "Außer dieser zählt keine andere Bewertung" in alone


async def test_the_form_catches_mistakes_before_saving(
    client: Client, session: AsyncSession
) -> None:
    await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "eva@koeln.de")
    form = (await client.get(FORM, params={"leistung": "10000"})).text
    assert 'value="10000 Elterngeld"' in form  # the Reifegrad page's erfassen link
    assert '<option value="10000 Elterngeld" data-ozg="10000">' in form
    assert "Kriterium 7 (Name ungeprüft)" not in form
    assert "Die Beantragung der Leistung kann einschließlich aller Nachweise online" in form
    assert "ozg-rgm-2.0" in form  # RGM 2.0 can be chosen
    # the live preview's table is the rule's own data, and its script is served from here
    table = json.loads(form.split('id="scoring-table">', 1)[1].split("</script>", 1)[0])
    assert table == rules.scoring_table(
        (await queries.model_for(session, "online", None)).criteria,
        (await queries.model_for(session, "online", None)).level_names,
    )
    assert {c["key"]: c["optional"] for c in table["criteria"]}["bezahlprozess"] is True
    script = await client.get("/assets/erfassen.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    # the ID wins no more over the name
    wrong = await post_form(client, FORM, form, leistung="10000 Meldebescheinigung",
                            action="draft", comment="Stand März", **RATED)  # fmt: skip
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert "Die OZG-ID 10000 ist „Elterngeld“, nicht „Meldebescheinigung“." in wrong.text  # type: ignore[attr-defined]
    assert 'href="#leistung"' in wrong.text  # type: ignore[attr-defined]
    assert ">Stand März</textarea>" in wrong.text  # type: ignore[attr-defined]
    assert 'value="4" title="Die Leistung kann vollständig digital' in wrong.text  # type: ignore[attr-defined]
    nothing = await post_form(client, FORM, form, leistung="10000", action="draft")
    assert '<a href="#criteria">Bewerten Sie mindestens ein Kriterium.</a>' in nothing.text  # type: ignore[attr-defined]
    # a preview saves nothing and says the level
    rated = {"c_leistungsbeschreibung": "4", "c_antragsprozess": "3"}
    preview = await post_form(client, FORM, form, leistung="10000", action="preview", **rated)
    assert preview.status_code == 200  # type: ignore[attr-defined]
    assert "Reifegrad 3 – Online-Leistung · nicht vorläufig" in preview.text  # type: ignore[attr-defined]
    only_one = await post_form(client, FORM, form, leistung="10000", action="preview",
                               c_leistungsbeschreibung="4")  # fmt: skip
    missing = "vorläufig</span> (nicht bewertet: Antragsprozesse und Kontextintegration)"
    assert missing in only_one.text  # type: ignore[attr-defined]
    # a LeiKa service of Typ 1 would never count: said first, saved only when confirmed
    federal = {"leistung": "99078004000000", "action": "draft", **rated}
    warned = await post_form(client, FORM, form, **federal)
    assert warned.status_code == 200  # type: ignore[attr-defined]
    assert "zählt in dieser Gemeinde nicht" in warned.text  # type: ignore[attr-defined]
    assert assessment_ids((await client.get("/arbeit/entwuerfe")).text, "drafts") == []
    saved = await post_form(client, FORM, form, confirm="1", assessed_at="2026-03-01", **federal)
    assert saved.status_code == 303  # type: ignore[attr-defined]
    [number] = assessment_ids((await client.get("/arbeit/entwuerfe")).text, "drafts")
    read = (await client.get(f"/api/v1/assessments/{number}")).json()
    assert read["assessed_at"].startswith("2026-03-01")
    future = await post_form(client, FORM, form, assessed_at="2999-01-01", **federal)
    assert 'href="#assessed_at"' in future.text  # type: ignore[attr-defined]
    # another city's form: read-only, said up front
    essen = (await client.get("/gemeinden/051130000000/reifegrad/erfassen")).text
    assert 'id="readonly-note"' in essen
    assert "<fieldset disabled>" in essen


async def test_rgm_2_is_said_unrecordable_up_front_until_its_criteria_are_named(
    client: Client, session: AsyncSession
) -> None:
    """RGM 2.0 can be chosen; while none of its 13 criteria has an official name the form says
    so first (which, and who names them) and offers no saving; named, it records."""
    await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "eva@koeln.de")
    default = (await client.get(FORM)).text
    assert "noch nicht erfassbar: Kriterien nicht benannt" in default  # beside its link
    rgm2 = (await client.get(FORM, params={"model": "ozg-rgm-2.0"})).text
    note = rgm2.split('id="unnamed-model"', 1)[1].split("</div>", 1)[0]
    assert "keines seiner 13 Kriterien (kriterium_1, kriterium_2" in note
    assert "tracker model name-criterion ozg-rgm-2.0 SCHLÜSSEL NAME" in note
    assert "Administrator" in note
    assert 'value="draft"' not in rgm2  # nothing to fail on
    assert 'value="submit"' not in rgm2
    english = (await client.get(FORM, params={"model": "ozg-rgm-2.0", "lang": "en"})).text
    assert "cannot be recorded yet: none of its 13 criteria" in english
    url = f"{FORM}?model=ozg-rgm-2.0&lang=de"
    posted = await post_form(client, url, rgm2, leistung="10000", action="draft")
    assert posted.status_code == 422  # type: ignore[attr-defined]
    assert "lässt sich noch nicht erfassen" in posted.text  # type: ignore[attr-defined]
    # named (what `tracker model name-criterion` does), the criterion is on the form and rated
    await actions.name_criterion(
        session, "ozg-rgm-2.0", "kriterium_1", name="Information", description=None,
        actor="cli",
    )  # fmt: skip
    await session.commit()
    named = (await client.get(url)).text
    assert 'id="unnamed-model"' not in named
    assert '<label for="c_kriterium_1">Information</label>' in named
    assert "lassen den Reifegrad vorläufig, bis sie benannt sind: kriterium_2" in named
    saved = await post_form(client, url, named, leistung="10000", action="draft", c_kriterium_1="5")
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    [number] = assessment_ids((await client.get("/arbeit/entwuerfe")).text, "drafts")
    read = (await client.get(f"/api/v1/assessments/{number}")).json()
    assert (read["model"], read["level"], read["provisional"]) == ("ozg-rgm-2.0", 5, True)
    assert read["missing_criteria"][:2] == ["kriterium_2", "kriterium_3"]


async def test_the_leika_picker_offers_counted_services_under_their_leistung(
    client: Client, session: AsyncSession
) -> None:
    """The list also offers the Gemeinde's counted LeiKa services (key and name), found by
    name or key and grouped under their OZG-Leistung; with or without JavaScript; a key whose
    name does not match is refused as an OZG-ID is."""
    await add_user(session, "eva@koeln.de", [("editor", KOELN)], password=PASSWORD)
    await session.commit()
    await sign_in(client, "eva@koeln.de")
    picker = f"{FORM}/leika"
    found = (await client.get(picker, params={"q": "melderegisterauskunft"})).json()["items"]
    assert {"leika_key": "99115004000000", "name": "Melderegisterauskunft", "ozg_id": "10559",
            "ozg_name": "Meldebescheinigung und -registerauskunft"} in found  # fmt: skip
    by_key = (await client.get(picker, params={"q": "9904100601"})).json()["items"]
    assert {item["leika_key"] for item in by_key} == {"99041006013000", "99041006017000"}
    of_one = (await client.get(picker, params={"ozg_id": "10000"})).json()["items"]
    assert {item["ozg_id"] for item in of_one} == {"10000"}
    assert len(of_one) == 4
    # a LeiKa service of Typ 1 never counts in a Gemeinde: not offered
    assert (await client.get(picker, params={"q": "Förderdarlehen der Rentenbank"})).json() == {
        "items": []
    }
    assert (await client.get("/gemeinden/059999999999/reifegrad/erfassen/leika")).status_code == 404
    # without JavaScript: the chosen OZG-Leistung's services stand under it in the list
    form = (await client.get(FORM, params={"leistung": "10000"})).text
    listed = form.split('<datalist id="leistungen">', 1)[1].split("</datalist>", 1)[0]
    parent = listed.index('<option value="10000 Elterngeld" data-ozg="10000">')
    child = listed.index('<option class="leika" value="99041006017000 Elterngeld Bewilligung"')
    assert parent < child < listed.index('<option value="', parent + 1)  # before the next
    typed = await post_form(client, FORM, form, leistung="Melderegisterauskunft", action="preview",
                            c_leistungsbeschreibung="3")  # fmt: skip
    assert typed.status_code == 422  # type: ignore[attr-defined]
    assert "ist keine OZG-ID und kein LeiKa-Schlüssel" in typed.text  # type: ignore[attr-defined]
    assert 'value="99115004000000 Melderegisterauskunft"' in typed.text  # type: ignore[attr-defined]
    assert "Die Liste bietet jetzt 8 passende LeiKa-Leistungen" in typed.text  # type: ignore[attr-defined]
    nothing = await post_form(client, FORM, form, leistung="Quxbrot", action="preview",
                              c_leistungsbeschreibung="3")  # fmt: skip
    assert "Keine anwendbare LeiKa-Leistung passt" in nothing.text  # type: ignore[attr-defined]
    wrong = await post_form(client, FORM, form, leistung="99115004000000 Witwenrente",
                            action="preview", c_leistungsbeschreibung="3")  # fmt: skip
    assert "ist „Melderegisterauskunft“, nicht „Witwenrente“" in wrong.text  # type: ignore[attr-defined]
    right = await post_form(client, FORM, form, leistung="99115004000000 Melderegisterauskunft",
                            action="preview", c_leistungsbeschreibung="3")  # fmt: skip
    assert right.status_code == 200  # type: ignore[attr-defined]
    assert "Reifegrad 3" in right.text  # type: ignore[attr-defined]
