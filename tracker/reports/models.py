"""The one table reports write: comparison report files made in the background."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, Text
from sqlmodel import Field

from tracker.db import TableModel


class ReportFile(TableModel, table=True):
    """A report file of a large set, by the digest of what it reports (set, dates, data stamp,
    format, language): queued with its job, `content` filled when the job is done. Kept a week
    (the daily clean-up); the same request on changed data is another digest."""

    __tablename__ = "report_file"

    digest: str = Field(primary_key=True, max_length=64)
    format: str = Field(max_length=10)
    lang: str = Field(max_length=2)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    job_id: int | None = Field(default=None, foreign_key="job.id", ondelete="SET NULL")
    filename: str | None = Field(default=None, max_length=200)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    made_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
