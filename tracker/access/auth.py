"""Authentication: a bearer token (API) or the browser session; anyone else reads as a viewer."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from tracker.access import actions, queries
from tracker.access.guards import ANONYMOUS
from tracker.db import WRITE_OPTION, Sessionmaker

SESSION_USER_KEY = "user_id"


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
        user_id = cookie_session.get(SESSION_USER_KEY) if isinstance(cookie_session, dict) else None
        if isinstance(user_id, int):
            async with sessionmaker() as session:
                principal = await queries.principal_for_user(session, user_id)
            if principal is not None:
                return AuthenticationResult(user=principal, auth="session")
        return AuthenticationResult(user=ANONYMOUS, auth=None)
