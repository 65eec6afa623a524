"""API shapes of probes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tracker.fields import UtcDatetime


class ProbeState(StrEnum):
    OK = "ok"
    FAILING = "failing"  # failed its newest probes, not yet broken
    BROKEN = "broken"  # flags the assessments citing it for review
    UNCHECKED = "unchecked"  # never probed: robots.txt disallows it, or not a public address


class ProbeResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    probed_at: UtcDatetime
    ok: bool
    status_code: int | None
    final_url: str | None
    latency_ms: int | None
    tls_valid: bool | None
    tls_expires_at: UtcDatetime | None
    error_class: str | None
    error: str | None
    content_type: str | None


class ProbeRead(BaseModel):
    url: str
    host: str
    state: ProbeState
    failures_in_row: int
    broken_since: UtcDatetime | None
    last_ok_at: UtcDatetime | None
    assessments: int
    last: ProbeResultRead | None
