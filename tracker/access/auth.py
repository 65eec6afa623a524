"""Authentication: a bearer token (API) or the browser session; anyone else reads as a viewer.

The browser session is a signed cookie naming a stored `LoginSession`, so that sign-out and a
new password end it everywhere. It serves the pages (whose forms carry a CSRF token) and API
reads; an API write needs a bearer token, since a cookie is sent by any page of the same site.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from tracker.access import actions, queries
from tracker.access.guards import ANONYMOUS
from tracker.db import SAFE_METHODS, WRITE_OPTION, Sessionmaker

SESSION_USER_KEY = "user_id"
SESSION_KEY = "session_key"


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        sessionmaker: Sessionmaker = connection.app.state.sessionmaker
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise NotAuthorizedException(
                    "Use Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"}
                )
            async with sessionmaker.begin() as session:
                # notes the token's last use: a write
                await session.connection(execution_options={WRITE_OPTION: True})
                principal = await actions.authenticate_token(session, secret.strip())
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
