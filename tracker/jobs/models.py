"""The job table: every piece of work that must not run inside a request."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlmodel import Field

from tracker.db import TableModel


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting, also for a retry after `run_at`
    RUNNING = "running"  # claimed by a worker until `locked_until`
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # failed its last attempt


class Job(TableModel, table=True):
    """`pending_key` holds the idempotency key while the job is queued or running (UNIQUE: the
    same work is queued once); it is cleared when the job ends, so that it can be queued again."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_run_at", "status", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=100, index=True)
    pending_key: str | None = Field(default=None, max_length=200, unique=True)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JobStatus.QUEUED, max_length=20)
    attempts: int = 0
    max_attempts: int = 5
    run_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    worker: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
