"""Webhook subscriptions (admins, within their scope), their delivery log and redelivery."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Router, delete, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from tracker.access.guards import admin, principal_of
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import RowId
from tracker.webhooks import actions, queries
from tracker.webhooks.schemas import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)

AnyRequest = Request[Any, Any, Any]


@get("/webhooks", guards=[admin], responses=problem_responses(401, 403))
async def list_webhooks(request: AnyRequest, session: DbSession) -> list[SubscriptionRead]:
    found = await queries.list_subscriptions(session, principal_of(request))
    return [SubscriptionRead.model_validate(item) for item in found]


@post("/webhooks", guards=[admin], responses=problem_responses(400, 401, 403, 422))
async def create_webhook(
    request: AnyRequest, state: State, data: JSONBody[SubscriptionCreate], session: DbSession
) -> SubscriptionCreated:
    """The answer holds the signing secret; it is never shown again."""
    created = await actions.create_subscription(
        session, url=data.url, event_types=list(data.event_types), ars_prefix=data.ars_prefix,
        actor=principal_of(request),
        allowed_networks=state.settings.outbound_allowed_networks,
    )  # fmt: skip
    return SubscriptionCreated.model_validate(created)


@get("/webhooks/{webhook_id:int}", guards=[admin], responses=problem_responses(401, 403, 404))
async def get_webhook(
    request: AnyRequest, webhook_id: RowId, session: DbSession
) -> SubscriptionRead:
    found = await actions.managed(session, webhook_id, principal_of(request))
    return SubscriptionRead.model_validate(found)


@delete(
    "/webhooks/{webhook_id:int}", guards=[admin], status_code=HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)  # fmt: skip
async def delete_webhook(request: AnyRequest, webhook_id: RowId, session: DbSession) -> None:
    """Stops deliveries; pending ones end dead, the log stays."""
    await actions.deactivate(session, webhook_id, actor=principal_of(request))


@get(
    "/webhooks/{webhook_id:int}/deliveries", guards=[admin],
    responses=problem_responses(400, 401, 403, 404),
)  # fmt: skip
async def list_deliveries(
    request: AnyRequest,
    webhook_id: RowId,
    session: DbSession,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> list[DeliveryRead]:
    """The delivery log, newest event first."""
    await actions.managed(session, webhook_id, principal_of(request))
    found = await queries.deliveries(session, webhook_id, status=status, limit=limit)
    return [DeliveryRead.model_validate(item) for item in found]


@post(
    "/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver", guards=[admin],
    status_code=202, responses=problem_responses(401, 403, 404),
)  # fmt: skip
async def redeliver(
    request: AnyRequest, webhook_id: RowId, delivery_id: RowId, session: DbSession
) -> DeliveryRead:
    delivery = await actions.redeliver(
        session, webhook_id, delivery_id, actor=principal_of(request)
    )
    assert delivery.id is not None  # noqa: S101  (stored)
    return DeliveryRead.model_validate(await queries.delivery(session, delivery.id))


router = Router(
    "/api/v1",
    route_handlers=[
        list_webhooks, create_webhook, get_webhook, delete_webhook, list_deliveries, redeliver,
    ],
    tags=["Webhooks"],
)  # fmt: skip
