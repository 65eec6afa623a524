"""The German demand pages (English switch): catalogues with progress, a demand's page."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_pages import PASSWORD, csrf_token
from tests.access.test_scope_matrix import sign_in
from tests.builders import Client, add_user
from tracker.demands import imports


async def test_the_catalogue_and_a_demand_page_show_progress_milestones_and_history(
    client: Client, session: AsyncSession
) -> None:
    await imports.import_catalogue(session, imports.CATALOGUES / "dresdner-forderungen-2021.json")
    (positions,) = imports.position_files()
    await imports.import_positions(session, positions)
    await session.commit()
    page = await client.get("/forderungen")
    assert page.status_code == 200
    assert 'href="/forderungen/DF-3">DF-3</a> Zentrale IT-Verfahren' in page.text
    assert '<progress value="66.7" max="100">' in page.text
    english = (await client.get("/forderungen", params={"lang": "en"})).text
    assert "Central IT for central tasks" in english
    assert "Progress" in english
    assert "progress is set by hand (moving it to a status whose default" in english
    assert "Der Fortschritt einer Maßnahme ist von Hand gesetzt" in page.text
    assert "set by hand" not in page.text

    # the board: a column per status, a card per Maßnahme, filters
    assert page.text.count('<section class="column" data-status=') == 6
    assert page.text.count('<article class="action-card') == 5
    board = page.text[page.text.index('data-status="proposed"') :]
    assert board.index("(Neu)Start KfZ") < board.index('data-status="accepted"')
    assert "Fällig 31.12.2030" in page.text
    for params, cards in (
        ({"ebene": "bund"}, 1), ({"forderung": "DF-4"}, 2), ({"forderung": "DF-3"}, 3),
        ({"ueberfaellig": "true"}, 0), ({"katalog": "dresdner-forderungen-2021"}, 5),
    ):  # fmt: skip
        found = await client.get("/forderungen", params=params)
        assert found.status_code == 200
        assert found.text.count('<article class="action-card') == cards, params
    assert 'value="bund" selected' in (await client.get("/forderungen?ebene=bund")).text
    nothing = await client.get("/forderungen", params={"forderung": "DF-9", "lang": "de"})
    assert "Keine Forderung passt zum Filter." in nothing.text
    assert (await client.get("/forderungen", params={"ebene": "mond"})).status_code == 400

    df3 = (await client.get("/forderungen/DF-3", params={"lang": "de"})).text
    assert "Initiative „(Neu)Start KfZ“" in df3
    assert "Deutscher Städtetag" in df3
    # the 2030 target is open and not yet due; everything else is done
    assert 'data-count="overdue">0<' in df3
    assert "30.09.2025" in df3
    assert "31.12.2030" in df3
    assert df3.count('data-overdue="false"') == 5
    assert 'id="verlauf"' in df3
    assert (await client.get("/forderungen/DF-9")).status_code == 404


async def test_a_manager_changes_a_status_with_a_comment_on_the_page(
    client: Client, session: AsyncSession
) -> None:
    await imports.import_catalogue(session, imports.CATALOGUES / "dresdner-forderungen-2021.json")
    (positions,) = imports.position_files()
    await imports.import_positions(session, positions)
    await add_user(session, "dm@staedtetag.de", [("demand_manager", "")], password=PASSWORD)
    await add_user(session, "dm@leipzig.de", [("demand_manager", "147130000000")],
                   password=PASSWORD)  # fmt: skip
    await session.commit()
    assert "Status ändern" not in (await client.get("/forderungen/DF-3")).text
    await sign_in(client, "dm@leipzig.de")
    assert "Status ändern" not in (await client.get("/forderungen/DF-3")).text  # not its own
    client.cookies.clear()
    await sign_in(client, "dm@staedtetag.de")
    page = (await client.get("/forderungen/DF-3", params={"lang": "de"})).text
    assert page.count("Status ändern") == 3
    kfz = (await client.get("/api/v1/demands/DF-3/actions")).json()["items"][2]
    form = {"_csrf_token": csrf_token(page), "version": str(kfz["version"]),
            "status": "in_progress", "progress": "15", "comment": "KBA prüft"}  # fmt: skip
    url = f"/forderungen/massnahmen/{kfz['id']}/status"
    done = await client.post(url, data=form)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/forderungen/DF-3#massnahme-{kfz['id']}"
    after = (await client.get("/forderungen/DF-3")).text
    assert "KBA prüft" in after
    # the history speaks German and names the author to the signed-in
    assert "Status: vorgeschlagen → in Arbeit; Fortschritt: 0 % → 15 %" in after
    assert "Fällig: – → 31.12.2030" in after
    assert "von Hand gesetzt: nein → ja" in after
    assert "progress_manual" not in after
    assert "<td data-author>dm</td>" in after
    assert "user:" not in after
    assert '<progress value="15.0" max="100">' in after
    stale = await client.post(url, data={**form, "_csrf_token": csrf_token(after)})
    assert stale.status_code == 422  # the version the form was made with is gone
    assert "Inzwischen hat jemand anderes diese Maßnahme geändert" in stale.text
    assert 'class="error-summary" role="alert"' in stale.text
    assert 'name="comment" size="50" value="KBA prüft"' in stale.text  # what was typed is kept
    assert "The resource has changed" not in stale.text
    fresh = {**form, "_csrf_token": csrf_token(after), "version": str(kfz["version"] + 1)}
    too_much = await client.post(url, data={**fresh, "progress": "150", "comment": "zu viel"})
    assert too_much.status_code == 422
    assert "Der Fortschritt ist eine ganze Zahl von 0 bis 100" in too_much.text
    assert f'href="#progress-{kfz["id"]}"' in too_much.text
    assert 'value="150"' in too_much.text
    assert 'value="zu viel"' in too_much.text
    unknown = await client.post(url, data={**fresh, "status": "vergessen"})
    assert unknown.status_code == 422
    assert "Wählen Sie einen Status aus der Liste." in unknown.text
    assert "String should" not in unknown.text
    english = await client.post(f"{url}?lang=en", data={**fresh, "progress": "x"})
    assert "Progress is a whole number from 0 to 100" in english.text
    client.cookies.clear()
    anonymous = (await client.get("/forderungen/DF-3")).text
    assert "<td data-author>ein Nutzerkonto</td>" in anonymous  # no name to anonymous readers
    assert "<td data-author>Import</td>" in anonymous
    await sign_in(client, "dm@leipzig.de")
    foreign = (await client.get("/forderungen/DF-3", params={"lang": "de"})).text
    crafted = await client.post(url, data={**fresh, "_csrf_token": csrf_token(foreign),
                                           "progress": "150"})  # fmt: skip
    assert crafted.status_code == 403  # the scope before the form's content
    assert "Sie verwalten den Katalog dresdner-forderungen-2021" in crafted.text
