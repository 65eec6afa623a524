"""Reads of webhooks: subscriptions within an admin's scope, a subscription's delivery log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access.guards import Principal
from tracker.db import run, tuples
from tracker.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription


async def list_subscriptions(session: AsyncSession, viewer: Principal) -> list[WebhookSubscription]:
    statement = select(WebhookSubscription).order_by(col(WebhookSubscription.id))
    return [
        found
        for found in (await run(session, statement)).scalars()
        if viewer.may_admin_over(found.ars_prefix)
    ]


async def deliveries(
    session: AsyncSession, subscription_id: int, *, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Newest event first."""
    statement = (
        select(WebhookDelivery, col(WebhookEvent.message_id), col(WebhookEvent.type))
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.subscription_id) == subscription_id)
        .order_by(col(WebhookDelivery.event_id).desc())
        .limit(limit)
    )
    if status is not None:
        statement = statement.where(col(WebhookDelivery.status) == status)
    return [
        {**delivery.model_dump(), "message_id": message_id, "type": kind}
        for delivery, message_id, kind in await tuples(session, statement)
    ]


async def delivery(session: AsyncSession, delivery_id: int) -> dict[str, Any]:
    statement = (
        select(WebhookDelivery, col(WebhookEvent.message_id), col(WebhookEvent.type))
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.id) == delivery_id)
    )
    ((found, message_id, kind),) = await tuples(session, statement)
    return {**found.model_dump(), "message_id": message_id, "type": kind}
