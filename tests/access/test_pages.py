"""Browser login: session cookie, CSRF on forms, rate limit, security headers, body limit."""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer

PASSWORD = "correct horse battery staple"


def csrf_token(page: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match is not None, "no CSRF field in the form"
    return match.group(1)


async def test_login_sets_a_session_and_logout_ends_it(
    client: Client, session: AsyncSession
) -> None:
    await add_user(session, "eva@essen.de", [("editor", "051130000000")], password=PASSWORD)
    await session.commit()
    form = await client.get("/anmelden")
    assert form.status_code == 200
    token = csrf_token(form.text)
    logged_in = await client.post(
        "/anmelden", data={"email": "eva@essen.de", "password": PASSWORD, "_csrf_token": token}
    )
    assert logged_in.status_code == 303
    cookie = logged_in.headers["set-cookie"]
    assert "tracker_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == "eva@essen.de"
    start = await client.get("/")
    assert "Abmelden" in start.text
    out = await client.post("/abmelden", data={"_csrf_token": csrf_token(start.text)})
    assert out.status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_forms_without_csrf_token_are_refused(client: Client, session: AsyncSession) -> None:
    await add_user(session, "eva@essen.de", [], password=PASSWORD)
    await session.commit()
    await client.get("/anmelden")
    refused = await client.post("/anmelden", data={"email": "eva@essen.de", "password": PASSWORD})
    assert refused.status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_wrong_password_and_rate_limit(client: Client, session: AsyncSession) -> None:
    await add_user(session, "eva@essen.de", [], password=PASSWORD)
    await session.commit()
    token = csrf_token((await client.get("/anmelden")).text)
    statuses = []
    for _ in range(12):
        attempt = await client.post(
            "/anmelden",
            data={"email": "eva@essen.de", "password": "wrong password!", "_csrf_token": token},
        )
        statuses.append(attempt.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert "E-Mail oder Passwort stimmen nicht." not in attempt.text


async def test_pages_carry_security_headers(client: Client) -> None:
    page = await client.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    api = await client.get("/api/v1/themenfelder")
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_oversized_body_gets_413(client: Client, session: AsyncSession) -> None:
    user = await add_user(session, "eva@essen.de", [])
    secret = await add_token(session, user)
    await session.commit()
    response = await client.post(
        "/api/v1/tokens",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"Content-Type": "application/json", **bearer(secret)},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
