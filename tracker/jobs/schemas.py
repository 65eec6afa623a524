"""API shape of a job."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from tracker.fields import UtcDatetime


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    args: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    run_at: UtcDatetime
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    worker: str | None
    last_error: str | None
