"""API shapes of webhooks. The secret appears once, in the answer to the creation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tracker.fields import UtcDatetime

EventType = Literal[
    "assessment.validated", "assessment.rejected", "applicability.changed", "import.finished",
    "demand.status_changed", "finding.published",
]  # fmt: skip
TargetUrl = Annotated[
    str, StringConstraints(pattern=r"^https?://[^\s\x00]+$", min_length=10, max_length=2000)
]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: TargetUrl
    event_types: list[EventType] = Field(min_length=1, max_length=10)
    ars_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{0,12}$")] = Field(
        default="", description="Only events about ARS starting with it; '' everything."
    )


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    url: str
    event_types: list[str]
    ars_prefix: str
    active: bool
    created_by: str
    created_at: UtcDatetime


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="Signs every delivery (Standard Webhooks). Shown only now.")


class DeliveryRead(BaseModel):
    id: int
    event_id: int
    message_id: str = Field(description="The Webhook-Id header: de-duplicate by it.")
    type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: UtcDatetime
    last_attempt_at: UtcDatetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: UtcDatetime | None
