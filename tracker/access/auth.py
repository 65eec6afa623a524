"""Authentication: a bearer token (API) or the browser session; anyone else reads as a viewer.

The browser session is a signed cookie naming a stored `LoginSession`, so that sign-out and a
new password end it everywhere. It serves the pages (whose forms carry a CSRF token) and API
reads; an API write needs a bearer token, since a cookie is sent by any page of the same site.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from tracker.access import actions, queries
from tracker.access.guards import ANONYMOUS, Principal
from tracker.db import SAFE_METHODS, WRITE_OPTION, Sessionmaker
from tracker.settings import Settings

SESSION_USER_KEY = "user_id"
SESSION_KEY = "session_key"


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        # The primary, also for reads: a revoked token or an ended session stops at once.
        sessionmaker: Sessionmaker = connection.app.state.sessionmaker
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise NotAuthorizedException(
                    "Use Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"}
                )
            principal = await authenticate_token(
                sessionmaker, secret.strip(), connection.app.state.settings
            )
            if principal is None:
                raise NotAuthorizedException(
                    "The token is unknown, expired or revoked.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            return AuthenticationResult(user=principal, auth=principal.token_id)
        cookie_session = connection.scope.get("session")
        if not isinstance(cookie_session, dict):
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        user_id, key = cookie_session.get(SESSION_USER_KEY), cookie_session.get(SESSION_KEY)
        if not isinstance(user_id, int) or not isinstance(key, str):
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        async with sessionmaker() as session:
            principal = await queries.principal_for_session(session, user_id, key)
        if principal is None:
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        if (
            connection.url.path.startswith("/api/")
            and connection.scope.get("method") not in SAFE_METHODS
        ):
            raise NotAuthorizedException(
                "API writes need Authorization: Bearer <token>; a browser session is not enough.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return AuthenticationResult(user=principal, auth="session")


async def authenticate_token(
    sessionmaker: Sessionmaker, secret: str, settings: Settings
) -> Principal | None:
    """The token's principal, read in a reading transaction. Its last use is written in a short
    writing one only when the noted one is older than `token_touch_seconds`: a dashboard polling
    with a token writes once every few minutes, not on every request (SQLite has one writer)."""
    async with sessionmaker() as session:
        found = await queries.principal_for_token(session, secret)
    if found is None:
        return None
    at = actions.now()
    every = timedelta(seconds=settings.token_touch_seconds)
    token_id = found.principal.token_id
    if token_id is not None and (found.last_used_at is None or found.last_used_at < at - every):
        async with sessionmaker.begin() as session:
            await session.connection(execution_options={WRITE_OPTION: True})
            await actions.note_token_use(
                session, token_id, at=at, every_seconds=settings.token_touch_seconds
            )
    return found.principal
