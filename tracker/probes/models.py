"""Probe tables: one row per URL with its running state, one dated row per probe, and which
assessments cite a URL (refreshed by each run)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field

from tracker.db import TableModel


def moment(nullable: bool = True) -> datetime | None:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))  # type: ignore[no-any-return]


class ProbeUrl(TableModel, table=True):
    """`broken`: failed `probe_failures_to_flag` probes in a row over at least
    `probe_failure_days` days; it flags the assessments citing it for review, never their level."""

    __tablename__ = "probe_url"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    host: str = Field(max_length=255, index=True)
    failures_in_row: int = 0
    first_failed_at: datetime | None = moment()
    last_probed_at: datetime | None = moment()
    last_ok_at: datetime | None = moment()
    broken: bool = False
    broken_since: datetime | None = moment()


class ProbeResult(TableModel, table=True):
    __tablename__ = "probe_result"
    __table_args__ = (Index("ix_probe_result_url_id_id", "url_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    url_id: int = Field(foreign_key="probe_url.id")
    probed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ok: bool
    status_code: int | None = None
    final_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    latency_ms: int | None = None
    tls_valid: bool | None = None
    tls_expires_at: datetime | None = moment()
    # dns, timeout, tls, connect, redirects, http_4xx, http_5xx, robots (not probed: disallowed)
    error_class: str | None = Field(default=None, max_length=20)
    error: str | None = Field(default=None, max_length=500)
    content_type: str | None = Field(default=None, max_length=200)


class ProbeLink(TableModel, table=True):
    __tablename__ = "probe_link"

    url_id: int = Field(foreign_key="probe_url.id", primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True, index=True)
    ars: str = Field(max_length=12, index=True)
