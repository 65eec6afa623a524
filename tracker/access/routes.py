"""JSON API of access: /api/v1/me, users, grants, tokens, audit."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from tracker.access import actions, queries
from tracker.access.guards import Principal, admin, global_admin, principal_of, signed_in
from tracker.access.models import RoleGrant, User
from tracker.access.schemas import (
    AuditRead,
    GrantCreate,
    GrantRead,
    Me,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from tracker.concurrency import IfMatch, etag, tagged
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import ISO_MOMENT_PATTERN, RowId, Text, parse_moment

AnyRequest = Request[Any, Any, Any]


def user_read(user: User, grants: list[RoleGrant], viewer: Principal) -> UserRead:
    """An admin with a scope limit sees only the grants within it."""
    shown = [GrantRead.model_validate(g) for g in grants if viewer.may_admin_over(g.scope_ars)]
    return UserRead.model_validate({**user.model_dump(), "grants": shown})


@get("/me", guards=[signed_in], responses=problem_responses(401))
async def me(request: AnyRequest) -> Me:
    principal = principal_of(request)
    assert principal.user_id is not None  # noqa: S101  (signed_in)
    assert principal.email is not None  # noqa: S101
    return Me(
        user_id=principal.user_id,
        email=principal.email,
        grants=[
            GrantCreate.model_validate(grant, from_attributes=True) for grant in principal.grants
        ],
        via_token=principal.token_id,
    )


@get("/users", guards=[admin], responses=problem_responses(401, 403))
async def list_users(request: AnyRequest, session: DbSession) -> list[UserRead]:
    return [
        user_read(user, grants, principal_of(request))
        for user, grants in await queries.list_users(session, principal_of(request))
    ]


@post("/users", guards=[admin], responses=problem_responses(401, 403, 409, 415))
async def create_user(
    request: AnyRequest, data: JSONBody[UserCreate], session: DbSession
) -> UserRead:
    user = await actions.create_user(session, data, actor=principal_of(request))
    assert user.id is not None  # noqa: S101
    grants = (await queries.grants_of(session, [user.id]))[user.id]
    return user_read(user, grants, principal_of(request))


@get("/users/{user_id:int}", guards=[admin], responses=problem_responses(401, 403, 404))
async def get_user(request: AnyRequest, user_id: RowId, session: DbSession) -> Response[UserRead]:
    user, grants = await queries.user_for(session, principal_of(request), user_id)
    return tagged(request, user_read(user, grants, principal_of(request)), etag(user.version))


@patch(
    "/users/{user_id:int}",
    guards=[admin],
    responses=problem_responses(401, 403, 404, 412, 415, 428),
)
async def update_user(
    request: AnyRequest,
    user_id: RowId,
    data: JSONBody[UserUpdate],
    session: DbSession,
    if_match: IfMatch = None,
) -> Response[UserRead]:
    user = await actions.update_user(
        session, user_id, data, if_match=if_match, actor=principal_of(request)
    )
    grants = (await queries.grants_of(session, [user_id]))[user_id]
    body = user_read(user, grants, principal_of(request))
    return Response(body, headers={"ETag": etag(user.version)})


@post(
    "/users/{user_id:int}/grants",
    guards=[admin],
    responses=problem_responses(401, 403, 404, 409, 415),
)
async def grant_role(
    request: AnyRequest, user_id: RowId, data: JSONBody[GrantCreate], session: DbSession
) -> GrantRead:
    grant = await actions.grant_role(session, user_id, data, actor=principal_of(request))
    return GrantRead.model_validate(grant)


@delete(
    "/users/{user_id:int}/grants/{grant_id:int}",
    guards=[admin],
    status_code=HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def revoke_grant(
    request: AnyRequest, user_id: RowId, grant_id: RowId, session: DbSession
) -> None:
    await actions.revoke_grant(session, user_id, grant_id, actor=principal_of(request))


@get("/tokens", guards=[signed_in], responses=problem_responses(401))
async def list_tokens(request: AnyRequest, session: DbSession) -> list[TokenRead]:
    user_id = principal_of(request).user_id
    assert user_id is not None  # noqa: S101  (signed_in)
    return [
        TokenRead.model_validate(token) for token in await queries.list_tokens(session, user_id)
    ]


@post("/tokens", guards=[signed_in], responses=problem_responses(401, 403, 415))
async def create_token(
    request: AnyRequest, data: JSONBody[TokenCreate], session: DbSession
) -> TokenCreated:
    principal = principal_of(request)
    assert principal.user_id is not None  # noqa: S101  (signed_in)
    token, secret = await actions.create_token(session, principal.user_id, data, actor=principal)
    return TokenCreated.model_validate(
        {**TokenRead.model_validate(token).model_dump(), "token": secret}
    )


@get("/tokens/{token_id:int}", guards=[signed_in], responses=problem_responses(401, 404))
async def get_token(
    request: AnyRequest, token_id: RowId, session: DbSession
) -> Response[TokenRead]:
    token = await queries.get_token(session, token_id)
    principal = principal_of(request)
    if token.user_id != principal.user_id:
        await queries.user_for(session, principal, token.user_id)
    return tagged(request, TokenRead.model_validate(token), etag(token.version))


@delete(
    "/tokens/{token_id:int}",
    guards=[signed_in],
    status_code=HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 409, 412, 428),
)
async def revoke_token(
    request: AnyRequest, token_id: RowId, session: DbSession, if_match: IfMatch = None
) -> None:
    await actions.revoke_token(session, token_id, if_match=if_match, actor=principal_of(request))


@get("/audit", guards=[global_admin], responses=problem_responses(401, 403))
async def list_audit(
    session: DbSession,
    entity: Annotated[Text | None, QueryParameter(max_length=50)] = None,
    id: Annotated[Text | None, QueryParameter(max_length=100, description="Entity id.")] = None,
    actor: Annotated[
        Text | None, QueryParameter(max_length=100, description="e.g. user:3, cli, import")
    ] = None,
    since: Annotated[
        str | None,
        QueryParameter(pattern=ISO_MOMENT_PATTERN, description="Entries at or after (ISO 8601)."),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> list[AuditRead]:
    where = queries.AuditFilter(entity=entity, entity_id=id, actor=actor, since=parse_moment(since))
    return [
        AuditRead.model_validate(entry)
        for entry in await queries.list_audit(session, where, limit=limit)
    ]


router = Router(
    "/api/v1",
    route_handlers=[
        me, list_users, create_user, get_user, update_user, grant_role, revoke_grant,
        list_tokens, create_token, get_token, revoke_token, list_audit,
    ],
    tags=["Zugang"],
)  # fmt: skip
