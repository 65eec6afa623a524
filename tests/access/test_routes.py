"""Who may do what, through HTTP: tokens, scopes, audit and optimistic concurrency."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer
from tracker.access import guards
from tracker.access.models import ApiToken, AuditEntry
from tracker.app import create_app
from tracker.db import as_utc, run
from tracker.settings import Settings

ESSEN = "051130000000"
LEIPZIG = "147130000000"
SAFE = {"GET", "HEAD", "OPTIONS"}


def write_routes(app: Litestar) -> list[tuple[str, str, object]]:
    """Every (method, path, handler) of the app that changes something."""
    found: list[tuple[str, str, object]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(set(handler.http_methods) - SAFE):
                found.append((method, route.path, handler))
    return found


def test_every_write_route_is_guarded(settings: Settings) -> None:
    app = create_app(settings)
    routes = write_routes(app)
    assert routes, "no write route found"
    for method, path, handler in routes:
        public = handler.opt.get("public")  # type: ignore[attr-defined]
        assert handler.resolve_guards() or public, f"{method} {path} has no guard"  # type: ignore[attr-defined]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_role_route_matrix(client: Client, session: AsyncSession, settings: Settings) -> None:
    """Anonymous gets 401 on every guarded write route; an editor gets 403 on admin routes;
    a foreign-scope admin gets 403 (or 404 where existence is private)."""
    editor = await add_user(session, "editor@essen.de", [("editor", ESSEN)])
    nrw_admin = await add_user(session, "admin@nrw.de", [("admin", "05")])
    editor_token = await add_token(session, editor)
    admin_token = await add_token(session, nrw_admin)
    await session.commit()
    admin_only = set()
    for method, path, handler in write_routes(create_app(settings)):
        if not path.startswith("/api/"):
            continue
        url = concrete(path)
        anonymous = await client.request(method, url, json={})
        assert anonymous.status_code == 401, f"{method} {path}"
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        if guards.admin in (handler.guards or []):  # type: ignore[attr-defined]
            admin_only.add((method, path))
            as_editor = await client.request(method, url, json={}, headers=bearer(editor_token))
            assert as_editor.status_code == 403, f"{method} {path}"
    assert ("POST", "/api/v1/users") in admin_only

    leipzig = await client.post(
        "/api/v1/users",
        json={
            "email": "x@leipzig.de",
            "display_name": "X",
            "grants": [{"role": "editor", "scope_ars": LEIPZIG}],
        },
        headers=bearer(admin_token),
    )
    assert leipzig.status_code == 403
    assert leipzig.json()["detail"] == f"Your admin scope does not cover '{LEIPZIG}'."
    foreign = await add_user(session, "y@leipzig.de", [("editor", LEIPZIG)])
    await session.commit()
    for method, url in (
        ("GET", f"/api/v1/users/{foreign.id}"),
        ("POST", f"/api/v1/users/{foreign.id}/grants"),
    ):
        hidden = await client.request(
            method, url, json={"role": "editor", "scope_ars": ESSEN}, headers=bearer(admin_token)
        )
        assert hidden.status_code == 404, f"{method} {url}"


async def test_admin_creates_user_in_scope_and_it_is_audited(
    client: Client, session: AsyncSession
) -> None:
    admin = await add_user(session, "admin@nrw.de", [("admin", "05")])
    token = await add_token(session, admin)
    await session.commit()
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "Editor@Essen.de",
            "display_name": "Eva",
            "password": "a long enough secret",
            "grants": [{"role": "editor", "scope_ars": ESSEN}],
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "editor@essen.de"
    assert [(g["role"], g["scope_ars"]) for g in body["grants"]] == [("editor", ESSEN)]
    assert "password" not in response.text
    assert "hash" not in response.text
    entries = (
        (await run(session, select(AuditEntry).where(col(AuditEntry.entity_id) == str(body["id"]))))
        .scalars()
        .all()
    )
    user_entry = next(entry for entry in entries if entry.entity == "app_user")
    assert user_entry.actor.startswith(f"user:{admin.id}/token:")
    assert user_entry.changes == {
        "email": [None, "editor@essen.de"],
        "display_name": [None, "Eva"],
        "is_active": [None, True],
        "password_hash": ["(secret)", "(changed)"],
    }
    duplicate = await client.post(
        "/api/v1/users",
        json={
            "email": "editor@essen.de",
            "display_name": "Eva",
            "grants": [{"role": "reviewer", "scope_ars": ESSEN}],
        },
        headers=bearer(token),
    )
    assert duplicate.status_code == 409  # a user the admin sees anyway


async def test_a_token_notes_its_use_at_most_every_few_minutes(
    client: Client, session: AsyncSession, settings: Settings
) -> None:
    user = await add_user(session, "poller@essen.de", [("editor", ESSEN)])
    secret = await add_token(session, user)
    await session.commit()
    statement = select(ApiToken).where(col(ApiToken.user_id) == user.id)
    stored = (await run(session, statement)).scalars().one()

    async def last_used() -> datetime | None:
        await session.refresh(stored)
        return None if stored.last_used_at is None else as_utc(stored.last_used_at)

    assert await last_used() is None
    assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 200
    first = await last_used()
    assert first is not None
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 200
    assert await last_used() == first  # within TRACKER_TOKEN_TOUCH_SECONDS: not written again

    earlier = first - timedelta(seconds=settings.token_touch_seconds + 1)
    stored.last_used_at = earlier
    session.add(stored)
    await session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 200
    again = await last_used()
    assert again is not None
    assert again > first


async def test_tokens_are_hashed_expire_and_can_be_revoked(
    client: Client, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await add_user(session, "dash@essen.de", [("editor", ESSEN)])
    secret = await add_token(session, user)
    await session.commit()
    stored = (
        (await run(session, select(ApiToken).where(col(ApiToken.user_id) == user.id)))
        .scalars()
        .one()
    )
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.token_hash
    assert stored.prefix == secret[:10]

    me = await client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json() == {
        "user_id": user.id,
        "email": "dash@essen.de",
        "grants": [{"role": "editor", "scope_ars": ESSEN}],
        "via_token": stored.id,
    }
    await session.refresh(stored)
    assert stored.last_used_at is not None
    listed = await client.get("/api/v1/tokens", headers=bearer(secret))
    assert [token["prefix"] for token in listed.json()] == [secret[:10]]
    assert secret not in listed.text

    created = await client.post(
        "/api/v1/tokens", json={"name": "second", "expires_in_days": 1}, headers=bearer(secret)
    )
    assert created.status_code == 201
    second = created.json()["token"]
    etag = (
        await client.get(f"/api/v1/tokens/{created.json()['id']}", headers=bearer(secret))
    ).headers["etag"]
    no_match = await client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=bearer(secret))
    assert no_match.status_code == 428
    revoked = await client.delete(
        f"/api/v1/tokens/{created.json()['id']}", headers={**bearer(secret), "If-Match": etag}
    )
    assert revoked.status_code == 204
    refused = await client.get("/api/v1/me", headers=bearer(second))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The token is unknown, expired or revoked."

    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.add(stored)
    await session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(secret))).status_code == 401
    assert (
        await client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    ).status_code == 401

    audit_text = repr((await run(session, select(AuditEntry))).scalars().all())
    for token_secret in (secret, second):
        assert token_secret not in audit_text
        assert token_secret not in caplog.text
        assert token_secret not in refused.text


async def test_token_scope_narrows_the_owner_roles(client: Client, session: AsyncSession) -> None:
    admin = await add_user(session, "admin@nrw.de", [("admin", "05"), ("editor", "05")])
    narrow = await add_token(session, admin, scope="05113")
    await session.commit()
    me = (await client.get("/api/v1/me", headers=bearer(narrow))).json()
    assert me["grants"] == [
        {"role": "admin", "scope_ars": "05113"},
        {"role": "editor", "scope_ars": "05113"},
    ]


async def test_update_needs_the_current_etag(client: Client, session: AsyncSession) -> None:
    admin = await add_user(session, "root@bund.de", [("superadmin", "")])
    target = await add_user(session, "eva@essen.de", [("editor", ESSEN)])
    token = await add_token(session, admin)
    await session.commit()
    url = f"/api/v1/users/{target.id}"
    read = await client.get(url, headers=bearer(token))
    assert read.headers["etag"] == '"v1"'
    missing = await client.patch(url, json={"display_name": "Eva M."}, headers=bearer(token))
    assert missing.status_code == 428
    stale = await client.patch(
        url, json={"display_name": "Eva M."}, headers={**bearer(token), "If-Match": '"v0"'}
    )
    assert stale.status_code == 412
    done = await client.patch(
        url, json={"display_name": "Eva M."}, headers={**bearer(token), "If-Match": '"v1"'}
    )
    assert done.status_code == 200
    assert done.headers["etag"] == '"v2"'
    assert done.json()["display_name"] == "Eva M."
    again = await client.patch(
        url, json={"display_name": "Eva X"}, headers={**bearer(token), "If-Match": '"v1"'}
    )
    assert again.status_code == 412


async def test_audit_log_is_for_global_admins(client: Client, session: AsyncSession) -> None:
    root = await add_user(session, "root@bund.de", [("admin", "")])
    nrw = await add_user(session, "admin@nrw.de", [("admin", "05")])
    root_token, nrw_token = await add_token(session, root), await add_token(session, nrw)
    await session.commit()
    assert (await client.get("/api/v1/audit", headers=bearer(nrw_token))).status_code == 403
    listed = await client.get(
        "/api/v1/audit", params={"entity": "app_user", "actor": "test"}, headers=bearer(root_token)
    )
    assert listed.status_code == 200
    assert {entry["entity_id"] for entry in listed.json()} >= {str(root.id), str(nrw.id)}
    imports = await client.get(
        "/api/v1/audit", params={"actor": "import", "limit": 5}, headers=bearer(root_token)
    )
    assert len(imports.json()) == 5


async def test_someone_elses_token_does_not_exist_for_you(
    client: Client, session: AsyncSession
) -> None:
    owner = await add_user(session, "a@essen.de", [("editor", ESSEN)])
    other = await add_user(session, "b@leipzig.de", [("editor", LEIPZIG)])
    owner_secret, other_secret = await add_token(session, owner), await add_token(session, other)
    await session.commit()
    token_id = (await client.get("/api/v1/tokens", headers=bearer(owner_secret))).json()[0]["id"]
    assert (
        await client.get(f"/api/v1/tokens/{token_id}", headers=bearer(other_secret))
    ).status_code == 404
    foreign = await client.delete(
        f"/api/v1/tokens/{token_id}", headers={**bearer(other_secret), "If-Match": '"v1"'}
    )
    assert foreign.status_code == 404
    assert (await client.get("/api/v1/me", headers=bearer(owner_secret))).status_code == 200


async def test_passwords_stay_out_of_logs_bodies_and_audit(
    client: Client, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_password = "never-shown-anywhere-42"
    root = await add_user(session, "root@bund.de", [("superadmin", "")])
    token = await add_token(session, root)
    await session.commit()
    created = await client.post(
        "/api/v1/users",
        json={"email": "p@essen.de", "display_name": "P", "password": secret_password},
        headers=bearer(token),
    )
    too_short = await client.post(
        "/api/v1/users",
        json={"email": "q@essen.de", "display_name": "Q", "password": "short"},
        headers=bearer(token),
    )
    assert too_short.status_code == 400
    audit_text = repr((await run(session, select(AuditEntry))).scalars().all())
    for text in (created.text, too_short.text, caplog.text, audit_text):
        assert secret_password not in text
