"""Webhooks: `emit` writes an event to the outbox in the caller's transaction, with one pending
delivery per matching subscription and a delivery job per subscription; a rollback takes all of
it back, so no event is lost and none is sent for a change that did not happen. The job sends a
subscription's deliveries in event order (a later one waits for the earlier), signed in the
Standard Webhooks format, retried with exponential backoff for about a day, then dead."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal, ensure
from tracker.db import run, tuples
from tracker.errors import InvalidInput, NotFound
from tracker.jobs import actions as jobs_actions
from tracker.jobs.actions import JobContext, backoff_seconds
from tracker.outbound import UnsafeTarget, check_target, literal_target_check
from tracker.settings import Settings
from tracker.webhooks.models import (
    EVENT_TYPES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

DELIVER_JOB = "webhooks.deliver"
DELIVERIES_PER_RUN = 50  # then the job queues itself again, so each run commits its progress


def _now() -> datetime:
    return datetime.now(UTC)


async def emit(
    session: AsyncSession, event_type: str, ars: str | None, payload: dict[str, Any]
) -> WebhookEvent:
    """The one entry point for every feature's events (`EVENT_TYPES`), in its transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    now = _now()
    event = WebhookEvent(
        message_id=f"msg_{uuid.uuid4().hex}", type=event_type, ars=ars, payload=payload,
        created_at=now,
    )  # fmt: skip
    session.add(event)
    await session.flush()
    subscriptions = (
        await run(session, select(WebhookSubscription).where(col(WebhookSubscription.active)))
    ).scalars()
    for subscription in subscriptions:
        if event_type not in subscription.event_types:
            continue
        if subscription.ars_prefix and not (ars or "").startswith(subscription.ars_prefix):
            continue  # never another scope's data
        assert event.id is not None  # noqa: S101  (flushed)
        assert subscription.id is not None  # noqa: S101
        session.add(WebhookDelivery(
            subscription_id=subscription.id, event_id=event.id, next_attempt_at=now,
        ))  # fmt: skip
        await queue_delivery(session, subscription.id)
    await session.flush()
    return event


async def queue_delivery(session: AsyncSession, subscription_id: int) -> None:
    await jobs_actions.enqueue(
        session, DELIVER_JOB, {"subscription_id": subscription_id},
        key=f"webhook:{subscription_id}", max_attempts=3,
    )  # fmt: skip


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the
    secret's base64 part."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def create_subscription(
    session: AsyncSession,
    *,
    url: str,
    event_types: list[str],
    ars_prefix: str,
    actor: Principal,
    allowed_networks: tuple[str, ...],
) -> WebhookSubscription:
    ensure(
        actor.may_admin_over(ars_prefix),
        f"You are no admin over {ars_prefix or 'everywhere'}.",
    )
    try:
        literal_target_check(url, allowed_networks)
    except UnsafeTarget as exc:
        raise InvalidInput(f"url: {exc}") from None
    subscription = WebhookSubscription(
        url=url, event_types=sorted(set(event_types)), ars_prefix=ars_prefix,
        secret=new_secret(), created_by=actor.actor, created_at=_now(),
    )  # fmt: skip
    session.add(subscription)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="webhook_subscription", entity_id=subscription.id,
        action="create", changes={"url": [None, url], "event_types": [None, event_types],
                                  "ars_prefix": [None, ars_prefix]},
    )  # fmt: skip
    return subscription


async def managed(
    session: AsyncSession, subscription_id: int, actor: Principal
) -> WebhookSubscription:
    """A subscription the admin may see and change; another scope's is not there (404)."""
    found = await session.get(WebhookSubscription, subscription_id)
    if found is None or not actor.may_admin_over(found.ars_prefix):
        raise NotFound(f"Webhook {subscription_id} does not exist.")
    return found


async def deactivate(session: AsyncSession, subscription_id: int, *, actor: Principal) -> None:
    found = await managed(session, subscription_id, actor)
    found.active = False
    session.add(found)
    await access_actions.record_audit(
        session, actor=actor, entity="webhook_subscription", entity_id=subscription_id,
        action="delete", changes={"active": [True, False]},
    )  # fmt: skip
    await session.flush()
    await mark_stale(session)


async def redeliver(
    session: AsyncSession, subscription_id: int, delivery_id: int, *, actor: Principal
) -> WebhookDelivery:
    """Send a delivery again (dead, or delivered and lost by the receiver), as soon as the
    subscription's earlier deliveries are through."""
    await managed(session, subscription_id, actor)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound(f"Webhook {subscription_id} has no delivery {delivery_id}.")
    delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
    delivery.next_attempt_at, delivery.delivered_at = _now(), None
    session.add(delivery)
    await queue_delivery(session, subscription_id)
    await access_actions.record_audit(
        session, actor=actor, entity="webhook_delivery", entity_id=delivery_id,
        action="redeliver",
    )  # fmt: skip
    await session.flush()
    return delivery


async def deliver(context: JobContext) -> None:
    """The job: this subscription's pending deliveries, oldest event first."""
    session, settings, now = context.session, context.settings, context.now
    if context.http_client is None:
        raise RuntimeError("webhooks need the outbound client")
    subscription = await session.get(WebhookSubscription, int(context.args["subscription_id"]))
    if subscription is None or not subscription.active:
        return
    statement = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(
            col(WebhookDelivery.subscription_id) == subscription.id,
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
        )
        .order_by(col(WebhookDelivery.event_id))
        .limit(DELIVERIES_PER_RUN)
    )
    pending = await tuples(session, statement)
    for delivery, event in pending:
        due = delivery.next_attempt_at
        due = due if due.tzinfo else due.replace(tzinfo=UTC)
        if due > now:
            context.again_at = due  # keep the order: later events wait for this one
            return
        error, code = await _post(context.http_client, subscription, event, settings)
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_status_code = now, code
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        elif delivery.attempts >= settings.webhook_max_attempts:
            delivery.status = DeliveryStatus.DEAD
        else:
            wait = backoff_seconds(delivery.attempts, settings.webhook_backoff_seconds)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            session.add(delivery)
            context.again_at = delivery.next_attempt_at
            return
        session.add(delivery)
    if len(pending) == DELIVERIES_PER_RUN:
        context.again_at = now


async def _post(
    client: httpx.AsyncClient, subscription: WebhookSubscription, event: WebhookEvent,
    settings: Settings,
) -> tuple[str | None, int | None]:  # fmt: skip
    body = json.dumps(
        {"type": event.type, "timestamp": _iso(event.created_at), "data": event.payload},
        separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip
    timestamp = int(_now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "Webhook-Id": event.message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(subscription.secret, event.message_id, timestamp, body),
    }
    try:
        await check_target(subscription.url, settings)
        response = await client.post(subscription.url, content=body, headers=headers)
    except UnsafeTarget as exc:
        return f"unsafe: {exc}"[:500], None
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500], None
    if 200 <= response.status_code < 300:
        return None, response.status_code
    return f"HTTP {response.status_code}", response.status_code


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


async def mark_stale(session: AsyncSession) -> None:
    """Unused deliveries of inactive subscriptions end dead (nothing is sent for them)."""
    inactive = select(col(WebhookSubscription.id)).where(~col(WebhookSubscription.active))
    await run(
        session,
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id).in_(inactive),
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.DEAD, last_error="subscription removed"),
    )
