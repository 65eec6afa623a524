"""Research tables. Raw evidence (studies, participants, observations) is read only by
researchers in scope; findings and recommendations are public once a reviewer published their
redacted text. Participants carry pseudonymous codes, never names or contact data. An erased
observation stays as a tombstone (study, step, date) with its content gone, so counts stay
honest; `research_event` keeps every change of findings and recommendations (old → new)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field

from tracker.db import TableModel


class Method(StrEnum):
    INTERVIEW = "interview"
    USABILITY_TEST = "usability_test"
    SURVEY = "survey"
    WORKSHOP = "workshop"
    DIGITALISIERUNGSLABOR = "digitalisierungslabor"
    ANALYTICS = "analytics"
    DESK_RESEARCH = "desk_research"


class StudyStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    ANALYSED = "analysed"
    CLOSED = "closed"


class ObservationKind(StrEnum):
    NOTE = "note"
    QUOTE = "quote"
    METRIC = "metric"
    MEDIA = "media"


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class FindingStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"


class SubjectKind(StrEnum):
    """What a study or finding is about: a Gemeinde (ARS) or a Leistung (OZG-ID)."""

    GEMEINDE = "gemeinde"
    LEISTUNG = "leistung"


class KpiKind(StrEnum):
    """Service-standard KPIs (DIN SPEC 66336 / Servicestandard vocabulary)."""

    VISITS = "visits"
    COMPLETION_RATE = "completion_rate"
    SATISFACTION = "satisfaction"
    PROCESSING_TIME = "processing_time"
    MEDIENBRUECHE = "medienbrueche"
    DIGITAL_SHARE = "digital_share"


class Study(TableModel, table=True):
    __tablename__ = "research_study"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    question: str
    method: str = Field(max_length=30)
    started_on: date | None = None
    ended_on: date | None = None
    status: str = Field(max_length=20)
    team: list[str] = Field(sa_column=Column(JSON, nullable=False))
    names_to_redact: list[str] = Field(sa_column=Column(JSON, nullable=False))
    retention_days: int | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)
    version: int = 1


class Subject(TableModel, table=True):
    """A Gemeinde or Leistung that a study or a finding is about (`owner` study | finding)."""

    __tablename__ = "research_subject"
    __table_args__ = (Index("ix_research_subject_kind_key", "kind", "key"),)

    owner: str = Field(primary_key=True, max_length=20)
    owner_id: int = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=20)


# The Nutzendengruppen offered on the study page: data, not code. A participant's user_group
# may be another term, but two or more capitalised words outside this list look like a name.
USER_GROUPS = (
    "Bürger:in", "Unternehmen", "Sachbearbeitung", "Menschen mit Behinderung", "ältere Menschen",
    "Junge Erwachsene", "Alleinerziehende", "Studierende", "Eltern", "Neu Zugezogene",
)  # fmt: skip
PARTICIPANT_FIELDS_DE = {
    "code": "Code", "user_group": "Nutzendengruppe", "age_band": "Altersgruppe",
    "digital_experience": "Digitale Erfahrung",
}  # fmt: skip


class Participant(TableModel, table=True):
    __tablename__ = "research_participant"
    __table_args__ = (UniqueConstraint("study_id", "code", name="study_code"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="research_study.id", index=True)
    code: str = Field(max_length=40)
    user_group: str = Field(max_length=100)
    age_band: str | None = Field(default=None, max_length=20)
    digital_experience: str | None = Field(default=None, max_length=20)
    consent_on: date
    consent_notes: bool = True
    consent_quotes: bool = False
    consent_recordings: bool = False
    consent_publication: bool = False
    withdrawn_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1


class Observation(TableModel, table=True):
    """Raw evidence; `erased_at` set: a tombstone whose content (text, metric, media) is gone."""

    __tablename__ = "research_observation"

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="research_study.id", index=True)
    participant_id: int | None = Field(
        default=None, foreign_key="research_participant.id", index=True
    )
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    kind: str = Field(max_length=10)
    text: str | None = None
    metric_value: float | None = None
    metric_unit: str | None = Field(default=None, max_length=40)
    media_uri: str | None = Field(default=None, max_length=2000)
    media_timecode: str | None = Field(default=None, max_length=20)
    journey_step: str | None = Field(default=None, max_length=200)
    tags: list[str] = Field(sa_column=Column(JSON, nullable=False))
    recorded_on: date
    recorded_by: str = Field(max_length=100)
    erased_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    erasure_reason: str | None = Field(default=None, max_length=20)
    # search_key(text): what the trigram indexes hold (PostgreSQL pg_trgm, SQLite FTS5)
    search_text: str = ""
    version: int = 1


class Finding(TableModel, table=True):
    __tablename__ = "research_finding"
    __table_args__ = (CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),)

    id: int | None = Field(default=None, primary_key=True)
    statement: str
    severity: int
    confidence: str = Field(max_length=10)
    status: str = Field(max_length=20)
    superseded_by: int | None = Field(default=None, foreign_key="research_finding.id")
    tags: list[str] = Field(sa_column=Column(JSON, nullable=False))
    criterion: str | None = Field(default=None, max_length=100)
    journey_step: str | None = Field(default=None, max_length=200)
    # the redacted text, set by the reviewer's publishing; null while unpublished
    public_statement: str | None = None
    redactions: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    published_by: str | None = Field(default=None, max_length=100)
    search_text: str = ""  # search_key(statement)
    public_search_text: str = ""  # search_key(public_statement)
    # set when a consent withdrawal or purge left the finding without any supporting evidence
    needs_review: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)
    version: int = 1


class FindingObservation(TableModel, table=True):
    __tablename__ = "research_finding_observation"

    finding_id: int = Field(primary_key=True, foreign_key="research_finding.id")
    observation_id: int = Field(primary_key=True, foreign_key="research_observation.id", index=True)


class Recommendation(TableModel, table=True):
    __tablename__ = "research_recommendation"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    responsible_level: str = Field(max_length=30)
    public_text: str | None = None
    search_text: str = ""  # search_key(text)
    public_search_text: str = ""  # search_key(public_text)
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    published_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)
    version: int = 1


class RecommendationFinding(TableModel, table=True):
    __tablename__ = "research_recommendation_finding"

    recommendation_id: int = Field(primary_key=True, foreign_key="research_recommendation.id")
    finding_id: int = Field(primary_key=True, foreign_key="research_finding.id", index=True)


class Link(TableModel, table=True):
    """A recommendation's link to something outside research by (kind, key), e.g. a demand of
    the Dresdner Forderungen or a Maßnahme: generic, so that other features add kinds without a
    change here."""

    __tablename__ = "research_link"
    __table_args__ = (
        UniqueConstraint("recommendation_id", "kind", "key", name="recommendation_kind_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="research_recommendation.id", index=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)


class Kpi(TableModel, table=True):
    """A dated measurement of a service-standard KPI for a Leistung in a Gemeinde."""

    __tablename__ = "research_kpi"
    __table_args__ = (Index("ix_research_kpi_ozg_id_ars", "ozg_id", "ars"),)

    id: int | None = Field(default=None, primary_key=True)
    ozg_id: str = Field(foreign_key="ozg_leistung.ozg_id", max_length=20)
    ars: str = Field(foreign_key="gemeinde.ars", max_length=12)
    kind: str = Field(max_length=30)
    value: float
    unit: str | None = Field(default=None, max_length=40)
    measured_on: date
    source: str = Field(max_length=500)
    study_id: int | None = Field(default=None, foreign_key="research_study.id")
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)
    version: int = 1


class ResearchEvent(TableModel, table=True):
    """Append-only history of findings and recommendations: `changes` maps field → [old, new]."""

    __tablename__ = "research_event"
    __table_args__ = (Index("ix_research_event_entity_entity_id", "entity", "entity_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)
    entity_id: int
    kind: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    author: str = Field(max_length=100)
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
