"""Pollers: a strong ETag from the data read, 304 on If-None-Match, Cache-Control, a compact
form; a change behind the answer changes its ETag at once."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.maturity.test_routes import ESSEN, people, record, step


async def test_gemeinde_reifegrad_answers_304_until_a_validation(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    url = f"/api/v1/gemeinden/{ESSEN}/reifegrad"
    first = await client.get(url)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('"')
    assert first.headers["cache-control"] == "public, no-cache"
    again = await client.get(url, headers={"If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    head = await client.head(url)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", tag)
    assert head.headers["content-length"] == first.headers["content-length"]
    packed = await client.get(url, headers={"Accept-Encoding": "br"})
    assert (packed.headers["content-encoding"], packed.headers["etag"]) == ("br", tag)
    assert packed.json() == first.json()  # httpx decodes brotli
    compact = await client.get(url, params={"fields": "summary"})
    assert compact.headers["etag"] != tag
    assert (compact.json()["leistungen"], compact.json()["not_applicable"]) == (None, None)
    assert compact.json()["summary"] == first.json()["summary"]
    assert len(compact.content) * 20 < len(first.content)

    draft = await record(client, who["editor"], submit=True)
    # a draft moves no figure: still 304
    assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 304
    await step(client, who["reviewer"], draft, "validate")
    changed = await client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.json()["summary"]["online"]["online"] == 1


async def test_summary_answers_304_until_an_override(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    url = "/api/v1/reifegrad/summary"
    first = await client.get(url, params={"group_by": "land"})
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    unchanged = await client.get(url, params={"group_by": "land"}, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    other = await client.get(url, params={"group_by": "kreis"}, headers={"If-None-Match": tag})
    assert other.status_code == 200
    override = await client.put(
        f"/api/v1/gemeinden/{ESSEN}/leistungen/10000/applicability",
        json={"applicable": False, "reason": "Wird vom Kreis erbracht"},
        headers=who["editor"],
    )
    assert override.status_code == 201, override.text
    changed = await client.get(url, params={"group_by": "land"}, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    nrw = next(
        g for g in changed.json()["groups"] if (g["code"], g["dimension"]) == ("05", "online")
    )
    before = next(
        g for g in first.json()["groups"] if (g["code"], g["dimension"]) == ("05", "online")
    )
    assert nrw["applicable"] == before["applicable"] - 1
