"""Writes of the access feature. Each records its audit entry in the same transaction."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import insert, or_, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import changes
from tracker.access import queries
from tracker.access.guards import Principal, ensure
from tracker.access.models import ApiToken, AuditEntry, LoginSession, Role, RoleGrant, User
from tracker.access.schemas import GrantCreate, TokenCreate, UserCreate, UserUpdate
from tracker.concurrency import compare_and_set, expected_version
from tracker.db import run
from tracker.errors import Conflict, NotFound
from tracker.importing import CHUNK_ROWS, ImportResult

TOKEN_PREFIX = "trk_"  # noqa: S105  (a marker, not a secret)
# Fields whose values never enter the audit log; a change to them is noted as "(changed)".
SECRET_FIELDS = frozenset({"password_hash", "token_hash"})
_hasher = PasswordHasher()


def now() -> datetime:
    return datetime.now(UTC)


def _actor(actor: Principal | str) -> tuple[str, int | None]:
    return (actor, None) if isinstance(actor, str) else (actor.actor, actor.user_id)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return changes.diff(old, new, secret=SECRET_FIELDS)


async def record_audit(
    session: AsyncSession,
    *,
    actor: Principal | str,
    entity: str,
    entity_id: object,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    label, user_id = _actor(actor)
    session.add(
        AuditEntry(
            at=now(), actor=label, actor_user_id=user_id, entity=entity,
            entity_id=str(entity_id), action=action, changes=changes,
        )
    )  # fmt: skip


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_grant(actor: Principal | str, grant: GrantCreate) -> None:
    if isinstance(actor, str):
        return  # the CLI runs on the server, as its operator
    if grant.role == Role.SUPERADMIN:
        ensure(actor.is_superadmin, "Only a superadmin grants superadmin.")
    ensure(
        actor.may_admin_over(grant.scope_ars),
        f"Your admin scope does not cover '{grant.scope_ars}'.",
    )


async def create_user(session: AsyncSession, data: UserCreate, *, actor: Principal | str) -> User:
    """A new user; or, for an admin with a scope limit, the grants added to a person who has an
    account outside that scope: a 409 there would tell the admin who exists elsewhere. That
    person keeps name and password; the admin sees only the grants within the scope."""
    for grant in data.grants:
        _check_grant(actor, grant)
    scoped = not isinstance(actor, str) and not actor.may_admin_over("")
    ensure(not scoped or bool(data.grants), "Give the user a role within your admin scope.")
    email = data.email.strip().lower()
    existing = await queries.get_user_by_email(session, email)
    if existing is not None and existing.id is not None:
        held = (await queries.grants_of(session, [existing.id]))[existing.id]
        if isinstance(actor, str) or queries.visible_to(actor, held):
            raise Conflict(f"A user with the e-mail {email} exists already.")
        for grant in data.grants:
            if not any(g.role == grant.role and g.scope_ars == grant.scope_ars for g in held):
                await _add_grant(session, existing, grant, actor=actor)
        return existing
    user = User(
        email=email,
        display_name=data.display_name,
        password_hash=None if data.password is None else hash_password(data.password),
        created_at=now(),
    )
    session.add(user)
    await session.flush()
    fields = {"email": email, "display_name": data.display_name, "is_active": True}
    if data.password is not None:
        fields["password_hash"] = "set"  # noqa: S105  (masked by diff)
    await record_audit(
        session,
        actor=actor,
        entity="app_user",
        entity_id=user.id,
        action="create",
        changes=diff({}, fields),
    )
    for grant in data.grants:
        await _add_grant(session, user, grant, actor=actor)
    return user


async def _add_grant(
    session: AsyncSession, user: User, data: GrantCreate, *, actor: Principal | str
) -> RoleGrant:
    assert user.id is not None  # noqa: S101  (flushed)
    grant = RoleGrant(
        user_id=user.id, role=data.role.value, scope_ars=data.scope_ars, created_at=now()
    )
    session.add(grant)
    await session.flush()
    await record_audit(
        session, actor=actor, entity="role_grant", entity_id=grant.id, action="create",
        changes=diff({}, {"user_id": user.id, "role": grant.role, "scope_ars": grant.scope_ars}),
    )  # fmt: skip
    return grant


async def grant_role(
    session: AsyncSession, user_id: int, data: GrantCreate, *, actor: Principal | str
) -> RoleGrant:
    _check_grant(actor, data)
    user = (
        await queries.get_user(session, user_id)
        if isinstance(actor, str)
        else (await queries.user_for(session, actor, user_id))[0]
    )
    existing = (await queries.grants_of(session, [user_id]))[user_id]
    if any(grant.role == data.role and grant.scope_ars == data.scope_ars for grant in existing):
        raise Conflict(f"User {user_id} holds {data.role.value} for '{data.scope_ars}' already.")
    return await _add_grant(session, user, data, actor=actor)


async def revoke_grant(
    session: AsyncSession, user_id: int, grant_id: int, *, actor: Principal
) -> None:
    await queries.user_for(session, actor, user_id)
    grant = await session.get(RoleGrant, grant_id)
    if grant is None or grant.user_id != user_id:
        raise NotFound(f"User {user_id} has no grant {grant_id}.")
    _check_grant(actor, GrantCreate(role=Role(grant.role), scope_ars=grant.scope_ars))
    await record_audit(
        session, actor=actor, entity="role_grant", entity_id=grant_id, action="delete",
        changes=diff({"user_id": user_id, "role": grant.role, "scope_ars": grant.scope_ars}, {}),
    )  # fmt: skip
    await session.delete(grant)
    await end_sessions(session, user_id, actor=actor)


async def update_user(
    session: AsyncSession, user_id: int, data: UserUpdate, *, if_match: str | None, actor: Principal
) -> User:
    """Compare-and-set on the version: of concurrent writers with one ETag, exactly one wins.
    A new password or deactivation ends the user's browser sessions."""
    user, _ = await queries.user_for(session, actor, user_id, to_change=True)
    if data.password is not None:
        ensure(
            actor.user_id == user_id or actor.may_admin_over(""),
            "A password is changed by its user or by an admin without a scope limit.",
        )
    version = expected_version(if_match, current=user.version)
    new: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"password"})
    if data.password is not None:
        new["password_hash"] = hash_password(data.password)
    old = {name: getattr(user, name) for name in new}
    await compare_and_set(session, user, version, new)
    changes = diff(old, new) | {"version": [version, version + 1]}
    await record_audit(
        session, actor=actor, entity="app_user", entity_id=user_id, action="update", changes=changes
    )
    if data.password is not None or data.is_active is False:
        await end_sessions(session, user_id, actor=actor)
    return user


async def record_import(session: AsyncSession, result: ImportResult, *, entity: str) -> None:
    """One entry for the run with its counts, and one per record it created, changed or retired."""
    label = "import"
    at = now()
    counts = {
        "inserted": result.inserted, "updated": result.updated, "unchanged": result.unchanged,
        "retired": result.retired, "rejected": result.rejected_count,
    }  # fmt: skip
    await record_audit(
        session,
        actor=label,
        entity="import",
        entity_id=result.source,
        action="import",
        changes=counts,
    )
    rows = [
        {
            "at": at,
            "actor": label,
            "actor_user_id": None,
            "entity": entity,
            "entity_id": str(change.key),
            "action": change.action,
            "changes": change.fields,
        }
        for change in result.changes
    ]
    for start in range(0, len(rows), CHUNK_ROWS):
        await session.exec(insert(AuditEntry), params=rows[start : start + CHUNK_ROWS])


async def create_token(
    session: AsyncSession, user_id: int, data: TokenCreate, *, actor: Principal | str
) -> tuple[ApiToken, str]:
    """A token made with a token is no wider and lives no longer than the one that made it:
    without a scope it inherits the maker's."""
    scope_ars = data.scope_ars
    expires_at = now() + timedelta(days=data.expires_in_days)
    if not isinstance(actor, str):
        ensure(actor.user_id == user_id, "Tokens are created by their owner.")
        if actor.token_scope_ars is not None:
            scope_ars = actor.token_scope_ars if scope_ars is None else scope_ars
            ensure(
                scope_ars.startswith(actor.token_scope_ars),
                f"This token is narrowed to '{actor.token_scope_ars}'; "
                "a token it creates cannot reach further.",
            )
        if actor.token_expires_at is not None:
            expires_at = min(expires_at, actor.token_expires_at)
    await queries.get_user(session, user_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user_id,
        name=data.name,
        token_hash=queries.hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scope_ars=scope_ars,
        created_at=now(),
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    await record_audit(
        session, actor=actor, entity="api_token", entity_id=token.id, action="create",
        changes=diff({}, {"user_id": user_id, "name": data.name, "scope_ars": scope_ars,
                          "expires_at": token.expires_at, "token_hash": "x"}),
    )  # fmt: skip
    return token, secret


async def revoke_token(
    session: AsyncSession, token_id: int, *, if_match: str | None, actor: Principal | str
) -> ApiToken:
    token = await queries.get_token(session, token_id)
    if not isinstance(actor, str) and actor.user_id != token.user_id:
        # someone else's token: an admin over its owner may revoke it; to others it does not exist
        await queries.user_for(session, actor, token.user_id, to_change=True)
    if not isinstance(actor, str):
        expected_version(if_match, current=token.version)
    if token.revoked_at is not None:
        raise Conflict(f"Token {token_id} was revoked already.")
    token.revoked_at = now()
    token.version += 1
    await record_audit(
        session, actor=actor, entity="api_token", entity_id=token_id, action="revoke",
        changes={"revoked_at": [None, changes.plain(token.revoked_at)]},
    )  # fmt: skip
    return token


async def note_token_use(
    session: AsyncSession, token_id: int, *, at: datetime, every_seconds: int
) -> bool:
    """Note the token's use at `at` unless one was noted within `every_seconds`; the condition in
    the UPDATE lets concurrent requests (and workers) write it once. True if it wrote."""
    statement = (
        update(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            or_(
                col(ApiToken.last_used_at).is_(None),
                col(ApiToken.last_used_at) < at - timedelta(seconds=every_seconds),
            ),
        )
        .values(last_used_at=at)
    )
    return bool((await run(session, statement)).rowcount)  # type: ignore[attr-defined]


async def authenticate_password(
    session: AsyncSession, email: str, password: str
) -> Principal | None:
    user = await queries.get_user_by_email(session, email)
    if user is None or user.password_hash is None or not user.is_active or user.id is None:
        _hasher.hash(password)  # same work whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return await queries.principal_for_user(session, user.id)


async def start_session(session: AsyncSession, principal: Principal) -> str:
    """A new browser session for a signed-in user; the key goes into the signed cookie."""
    assert principal.user_id is not None  # noqa: S101  (authenticated)
    key = secrets.token_urlsafe(32)
    session.add(
        LoginSession(user_id=principal.user_id, key_hash=queries.hash_token(key), created_at=now())
    )
    await record_audit(
        session, actor=principal, entity="app_user", entity_id=principal.user_id, action="login"
    )
    return key


async def end_session(session: AsyncSession, key: str) -> None:
    """Sign-out: this session's key stops working at once, wherever a copy of the cookie is."""
    statement = (
        update(LoginSession)
        .where(
            col(LoginSession.key_hash) == queries.hash_token(key),
            col(LoginSession.ended_at).is_(None),
        )
        .values(ended_at=now())
    )
    await run(session, statement)


async def end_sessions(session: AsyncSession, user_id: int, *, actor: Principal | str) -> None:
    """Every open browser session of the user ends (after a new password, deactivation or a
    removed grant)."""
    statement = (
        update(LoginSession)
        .where(col(LoginSession.user_id) == user_id, col(LoginSession.ended_at).is_(None))
        .values(ended_at=now())
    )
    ended = (await run(session, statement)).rowcount  # type: ignore[attr-defined]
    if ended:
        await record_audit(
            session, actor=actor, entity="app_user", entity_id=user_id, action="end_sessions",
            changes={"sessions": [ended, 0]},
        )  # fmt: skip
