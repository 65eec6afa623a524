"""Reads of users, grants, tokens and the audit log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access.guards import Grant, Principal
from tracker.access.models import ApiToken, AuditEntry, LoginSession, RoleGrant, User
from tracker.db import as_utc, run, tuples
from tracker.errors import Forbidden, NotFound


def hash_token(secret: str) -> str:
    """Tokens and session keys are stored as SHA-256: they are long random strings."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def get_user(session: AsyncSession, user_id: int) -> User:
    user: User | None = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    statement = select(User).where(col(User.email) == email.strip().lower())
    user: User | None = (await run(session, statement)).scalars().first()
    return user


async def grants_of(session: AsyncSession, user_ids: list[int]) -> dict[int, list[RoleGrant]]:
    statement = (
        select(RoleGrant).where(col(RoleGrant.user_id).in_(user_ids)).order_by(col(RoleGrant.id))
    )
    grants: dict[int, list[RoleGrant]] = {user_id: [] for user_id in user_ids}
    for grant in (await run(session, statement)).scalars():
        grants[grant.user_id].append(grant)
    return grants


def visible_to(principal: Principal, grants: list[RoleGrant]) -> bool:
    """An admin sees users with a grant inside the admin's scope (and users without any grant
    only with an unlimited scope). Seeing is not changing: see `Principal.manages`."""
    return principal.may_admin_over("") or any(
        principal.may_admin_over(grant.scope_ars) for grant in grants
    )


async def list_users(
    session: AsyncSession, principal: Principal
) -> list[tuple[User, list[RoleGrant]]]:
    users = list((await run(session, select(User).order_by(col(User.id)))).scalars())
    grants = await grants_of(session, [user.id for user in users if user.id is not None])
    return [
        (user, grants[user.id])
        for user in users
        if user.id is not None and visible_to(principal, grants[user.id])
    ]


async def user_for(
    session: AsyncSession, principal: Principal, user_id: int, *, to_change: bool = False
) -> tuple[User, list[RoleGrant]]:
    """The user if the principal may see it; otherwise 404, since existence itself is private.
    `to_change`: 403 unless the principal manages every grant of the user (no takeover of an
    account that holds roles elsewhere)."""
    user = await get_user(session, user_id)
    grants = (await grants_of(session, [user_id]))[user_id]
    if not visible_to(principal, grants):
        raise NotFound(f"User {user_id} does not exist.")
    if to_change and principal.user_id != user_id and not principal.manages(grants):
        raise Forbidden(
            f"User {user_id} holds roles outside your admin scope; a global admin changes them."
        )
    return user, grants


async def principal_for_user(
    session: AsyncSession, user_id: int, token: ApiToken | None = None
) -> Principal | None:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    grants = [
        Grant(grant.role, grant.scope_ars)
        for grant in (await grants_of(session, [user_id]))[user_id]
    ]
    if token is not None and token.scope_ars is not None:
        grants = narrow(grants, token.scope_ars)
    return Principal(
        user_id=user_id,
        email=user.email,
        grants=tuple(grants),
        token_id=None if token is None else token.id,
        token_scope_ars=None if token is None else token.scope_ars,
        token_expires_at=None
        if token is None or token.expires_at is None
        else as_utc(token.expires_at),
    )


def narrow(grants: list[Grant], scope_ars: str) -> list[Grant]:
    """The grants as far as they reach into `scope_ars`."""
    narrowed = []
    for grant in grants:
        if scope_ars.startswith(grant.scope_ars):
            narrowed.append(Grant(grant.role, scope_ars))
        elif grant.scope_ars.startswith(scope_ars):
            narrowed.append(grant)
    return narrowed


async def get_token(session: AsyncSession, token_id: int) -> ApiToken:
    token: ApiToken | None = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    return token


async def list_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    statement = select(ApiToken).where(col(ApiToken.user_id) == user_id).order_by(col(ApiToken.id))
    return list((await run(session, statement)).scalars())


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    actor_user_id: int | None = None  # what one user did, with or without a token


async def list_audit(session: AsyncSession, where: AuditFilter, *, limit: int) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if where.entity is not None:
        statement = statement.where(col(AuditEntry.entity) == where.entity)
    if where.entity_id is not None:
        statement = statement.where(col(AuditEntry.entity_id) == where.entity_id)
    if where.actor is not None:
        statement = statement.where(col(AuditEntry.actor) == where.actor)
    if where.since is not None:
        statement = statement.where(col(AuditEntry.at) >= where.since)
    if where.actor_user_id is not None:
        statement = statement.where(col(AuditEntry.actor_user_id) == where.actor_user_id)
    return list((await run(session, statement)).scalars())


async def display_names(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    statement = select(col(User.id), col(User.display_name)).where(col(User.id).in_(user_ids))
    return {int(number): str(name) for number, name in await tuples(session, statement)}


def user_id_of(actor: str | None) -> int | None:
    """The user in an actor text (`user:N`, `user:N/token:M`); None for imports and others."""
    if actor is None or not actor.startswith("user:"):
        return None
    number = actor[5:].split("/", 1)[0]
    return int(number) if number.isdigit() and len(number) < 10 else None


@dataclass(frozen=True)
class TokenUse:
    principal: Principal
    last_used_at: datetime | None


async def principal_for_token(session: AsyncSession, secret: str) -> TokenUse | None:
    """The principal behind a bearer token and its last noted use; None if the token is unknown,
    expired or revoked, or its user inactive. Reads only: `actions.note_token_use` writes."""
    statement = select(ApiToken).where(col(ApiToken.token_hash) == hash_token(secret))
    token: ApiToken | None = (await run(session, statement)).scalars().first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= datetime.now(UTC):
        return None
    principal = await principal_for_user(session, token.user_id, token)
    if principal is None:
        return None
    last_used_at = None if token.last_used_at is None else as_utc(token.last_used_at)
    return TokenUse(principal, last_used_at)


# A browser session lasts this long at most, as its cookie does.
SESSION_HOURS = 8


async def principal_for_session(session: AsyncSession, user_id: int, key: str) -> Principal | None:
    """The user of an open browser session; None once it was ended or has run out."""
    statement = select(col(LoginSession.id)).where(
        col(LoginSession.key_hash) == hash_token(key),
        col(LoginSession.user_id) == user_id,
        col(LoginSession.ended_at).is_(None),
        col(LoginSession.created_at) > datetime.now(UTC) - timedelta(hours=SESSION_HOURS),
    )
    if (await run(session, statement)).first() is None:
        return None
    return await principal_for_user(session, user_id)
