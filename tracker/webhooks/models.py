"""Webhook tables: subscriptions, the outbox of events, one delivery per subscription × event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field

from tracker.db import TableModel

# Event types are data: a feature emits its own (research adds finding.published).
EVENT_TYPES = (
    "assessment.validated",
    "assessment.rejected",
    "applicability.changed",
    "import.finished",
    "demand.status_changed",
    "finding.published",
)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # failed its last try; redeliver to send it again


class WebhookSubscription(TableModel, table=True):
    """`ars_prefix`: only events about ARS starting with it (within the creating admin's scope);
    events without an ARS go to subscriptions without a prefix. The secret signs every delivery
    and is shown once, at creation."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    ars_prefix: str = Field(default="", max_length=12)
    secret: str = Field(max_length=100)
    active: bool = True
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookEvent(TableModel, table=True):
    """The outbox: written in the transaction of the change that causes it."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=40, unique=True)  # Webhook-Id: receivers de-duplicate by it
    type: str = Field(max_length=50)
    ars: str | None = Field(default=None, max_length=12)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookDelivery(TableModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_delivery_subscription_id_status", "subscription_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    event_id: int = Field(foreign_key="webhook_event.id")
    status: str = Field(default=DeliveryStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
