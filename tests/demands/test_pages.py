"""The German demand pages (English switch): catalogues with progress, a demand's page."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
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
