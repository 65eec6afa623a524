"""API shapes of research: studies, participants, observations, findings, recommendations,
links, KPIs and their public (redacted) reads. Read schemas are whitelists: a public read has
no field for raw text, participants or observations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tracker.fields import NO_NUL, Ars, IsoDate, JsonBool, JsonFloat, JsonInt, UtcDatetime
from tracker.research.models import (
    Confidence,
    FindingStatus,
    KpiKind,
    Method,
    ObservationKind,
    StudyStatus,
)

Line = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=500)]
Short = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=100)]
LongText = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=20_000)]
Tag = Annotated[str, StringConstraints(pattern=r"^[^\x00,;]{1,60}$")]
OzgId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,20}$")]
ExternalId = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Step = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=200)]
Id = Annotated[JsonInt, Field(ge=1, le=2_147_483_647)]
LinkKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
LinkKindText = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,19}$")]
Severity = Annotated[JsonInt, Field(ge=1, le=4)]
Timecode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,2}:[0-5][0-9](:[0-5][0-9])?$")]
Level = Annotated[str, StringConstraints(pattern=r"^(kommune|land|bund|it_dienstleister)$")]
SEVERITY_NAMES = {1: "kosmetisch", 2: "störend", 3: "schwerwiegend", 4: "verhindert die Nutzung"}
# German labels of every vocabulary value the pages show (the i18n table has them in English);
# the API keeps the codes
LABELS = {
    "interview": "Interview", "usability_test": "Usability-Test", "survey": "Umfrage",
    "workshop": "Workshop", "digitalisierungslabor": "Digitalisierungslabor",
    "analytics": "Nutzungsdaten", "desk_research": "Sekundärrecherche",
    "planned": "geplant", "running": "läuft", "analysed": "ausgewertet", "closed": "abgeschlossen",
    "note": "Notiz", "quote": "Zitat", "metric": "Messwert", "media": "Medienverweis",
    "low": "gering", "medium": "mittel", "high": "hoch",
    "open": "offen", "confirmed": "bestätigt", "resolved": "behoben", "superseded": "ersetzt",
    "kommune": "Kommune", "land": "Land", "bund": "Bund", "it_dienstleister": "IT-Dienstleister",
    "demand": "Forderung", "action": "Maßnahme",
}  # fmt: skip


# a measured value: any real figure, not a number beyond what anything here measures
Measured = Annotated[JsonFloat, Field(ge=-1e15, le=1e15)]


class _Write(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- studies -------------------------------------------------------------------------------------


class StudyCreate(_Write):
    title: Line
    question: LongText
    method: Method
    started_on: IsoDate | None = None
    ended_on: IsoDate | None = None
    status: StudyStatus = StudyStatus.PLANNED
    gemeinden: list[Ars] = Field(min_length=1, max_length=100, description="ARS of each.")
    leistungen: list[OzgId] = Field(default_factory=list, max_length=100, description="OZG-IDs.")
    team: list[Short] = Field(default_factory=list, max_length=50)
    names_to_redact: list[Short] = Field(
        default_factory=list, max_length=500,
        description="Names the redactor removes from this study's published texts.",
    )  # fmt: skip
    retention_days: Annotated[JsonInt, Field(ge=1, le=36_500)] | None = Field(
        default=None,
        description="Raw notes older than this are erased by `tracker research purge`.",
    )


class StudyPatch(_Write):
    """Only the fields sent change (Gemeinden and Leistungen are fixed at creation)."""

    title: Line | None = None
    question: LongText | None = None
    method: Method | None = None
    started_on: IsoDate | None = None
    ended_on: IsoDate | None = None
    status: StudyStatus | None = None
    team: list[Short] | None = Field(default=None, max_length=50)
    names_to_redact: list[Short] | None = Field(default=None, max_length=500)
    retention_days: Annotated[JsonInt, Field(ge=1, le=36_500)] | None = None


class StudyRead(BaseModel):
    id: int
    title: str
    question: str
    method: str
    started_on: date | None
    ended_on: date | None
    status: str
    gemeinden: list[str]
    leistungen: list[str]
    team: list[str]
    names_to_redact: list[str]
    retention_days: int | None
    participants: int
    observations: int
    erased_observations: int
    created_at: UtcDatetime
    created_by: str
    version: int


# --- participants --------------------------------------------------------------------------------


class Consent(_Write):
    given_on: IsoDate
    notes: JsonBool = True
    quotes: JsonBool = False
    recordings: JsonBool = False
    publication: JsonBool = False


class ParticipantCreate(_Write):
    """A pseudonymous code; names, e-mail addresses and phone numbers are refused (422)."""

    code: Code
    user_group: Short = Field(description="Nutzendengruppe, e.g. Bürger:in, Unternehmen.")
    age_band: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(-[0-9]{1,3}|\+)$")] | None = (
        None
    )
    digital_experience: Annotated[str, StringConstraints(pattern=r"^(low|medium|high)$")] | None = (
        None
    )
    consent: Consent


class ParticipantPatch(_Write):
    user_group: Short | None = None
    age_band: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(-[0-9]{1,3}|\+)$")] | None = (
        None
    )
    digital_experience: Annotated[str, StringConstraints(pattern=r"^(low|medium|high)$")] | None = (
        None
    )
    consent: Consent | None = None


class ConsentRead(BaseModel):
    given_on: date
    notes: bool
    quotes: bool
    recordings: bool
    publication: bool
    withdrawn_at: UtcDatetime | None


class ParticipantRead(BaseModel):
    id: int
    study_id: int
    code: str
    user_group: str
    age_band: str | None
    digital_experience: str | None
    consent: ConsentRead
    version: int


class WithdrawalRead(BaseModel):
    participant: ParticipantRead
    erased_observations: int
    findings_to_review: list[int] = Field(description="Findings left without supporting evidence.")


# --- observations --------------------------------------------------------------------------------


class ObservationCreate(_Write):
    study_id: Id
    participant_id: Id | None = None
    kind: ObservationKind
    text: LongText | None = Field(default=None, description="The note or the verbatim quote.")
    metric_value: Measured | None = None
    metric_unit: Short | None = None
    media_uri: Annotated[str, StringConstraints(pattern=r"^https?://[^\x00\s]{1,1990}$")] | None = (
        None
    )
    media_timecode: Timecode | None = None
    journey_step: Step | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    recorded_on: IsoDate | None = Field(default=None, description="Defaults to today.")
    external_id: ExternalId | None = None


class ObservationPatch(_Write):
    text: LongText | None = None
    metric_value: Measured | None = None
    metric_unit: Short | None = None
    journey_step: Step | None = None
    tags: list[Tag] | None = Field(default=None, max_length=30)


class ObservationRead(BaseModel):
    id: int
    study_id: int
    participant_id: int | None
    participant_code: str | None
    external_id: str | None
    kind: str
    text: str | None
    metric_value: float | None
    metric_unit: str | None
    media_uri: str | None
    media_timecode: str | None
    journey_step: str | None
    tags: list[str]
    recorded_on: date
    recorded_by: str
    erased: bool = Field(description="A tombstone: the content was erased (consent or retention).")
    erased_at: UtcDatetime | None
    version: int


class RejectionWrite(_Write):
    """Why a reviewer sends a finding or recommendation back to its author."""

    reason: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=2000)]


class ResearchLinkCreate(_Write):
    kind: LinkKindText = Field(
        description="demand (its key) or action (a Maßnahme's id): what exists (else 422)."
    )
    key: LinkKey


class ResearchLinkRead(_Read):
    id: int
    kind: str
    key: str
    created_at: UtcDatetime
    created_by: str


# --- findings ------------------------------------------------------------------------------------


class FindingCreate(_Write):
    statement: LongText
    severity: Severity = Field(description="1 kosmetisch … 4 verhindert die Nutzung.")
    confidence: Confidence = Confidence.MEDIUM
    status: FindingStatus = FindingStatus.OPEN
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    criterion: Short | None = Field(default=None, description="The Servicestandard criterion.")
    journey_step: Step | None = None
    gemeinden: list[Ars] = Field(min_length=1, max_length=100)
    leistungen: list[OzgId] = Field(default_factory=list, max_length=100)
    observations: list[Id] = Field(min_length=1, max_length=500, description="Supporting ones.")


class FindingPatch(_Write):
    """Only the fields sent change; `status: superseded` needs `superseded_by`."""

    statement: LongText | None = None
    severity: Severity | None = None
    confidence: Confidence | None = None
    status: FindingStatus | None = None
    superseded_by: Id | None = None
    tags: list[Tag] | None = Field(default=None, max_length=30)
    criterion: Short | None = None
    journey_step: Step | None = None
    observations: list[Id] | None = Field(default=None, min_length=1, max_length=500)


class Frequency(BaseModel):
    observations: int = Field(description="Supporting observations with content.")
    participants: int = Field(description="Distinct participants among them.")
    erased: int = Field(description="Supporting observations erased (tombstones).")


class RemovalRead(BaseModel):
    kind: str
    reason: str
    start: int
    end: int


class FindingRead(BaseModel):
    id: int
    statement: str
    severity: int
    confidence: str
    status: str
    superseded_by: int | None
    tags: list[str]
    criterion: str | None
    journey_step: str | None
    gemeinden: list[str]
    leistungen: list[str]
    observations: list[int]
    frequency: Frequency
    published: bool
    public_statement: str | None
    redactions: list[RemovalRead] | None
    published_at: UtcDatetime | None
    published_by: str | None
    needs_review: bool
    created_at: UtcDatetime
    created_by: str
    version: int


class RedactionPreview(BaseModel):
    text: str
    removals: list[RemovalRead]


class PublicRecommendation(BaseModel):
    id: int
    text: str
    responsible_level: str
    links: list[ResearchLinkRead]


class PublicFinding(BaseModel):
    """What anyone may read: the redacted statement and its context, no raw evidence."""

    id: int
    statement: str = Field(description="The redacted public text.")
    severity: int
    confidence: str
    status: str
    superseded_by: int | None
    tags: list[str]
    criterion: str | None
    journey_step: str | None
    gemeinden: list[str]
    leistungen: list[str]
    frequency: Frequency
    recommendations: list[PublicRecommendation]
    published_at: UtcDatetime


class HistoryRead(_Read):
    id: int
    kind: str
    at: UtcDatetime
    author: str
    changes: dict[str, Any] = Field(description="Field → [old, new].")


# --- recommendations -----------------------------------------------------------------------------


class RecommendationCreate(_Write):
    text: LongText
    responsible_level: Level
    findings: list[Id] = Field(min_length=1, max_length=100)
    links: list[ResearchLinkCreate] = Field(default_factory=list, max_length=50)


class RecommendationPatch(_Write):
    text: LongText | None = None
    responsible_level: Level | None = None
    findings: list[Id] | None = Field(default=None, min_length=1, max_length=100)
    links: list[ResearchLinkCreate] | None = Field(default=None, max_length=50)


class RecommendationRead(BaseModel):
    id: int
    text: str
    responsible_level: str
    findings: list[int]
    links: list[ResearchLinkRead]
    published: bool
    public_text: str | None
    published_at: UtcDatetime | None
    created_at: UtcDatetime
    created_by: str
    version: int


# --- KPIs ----------------------------------------------------------------------------------------


class KpiCreate(_Write):
    ozg_id: OzgId
    ars: Ars
    kind: KpiKind
    value: Measured
    unit: Short | None = None
    measured_on: IsoDate
    source: Line
    study_id: Id | None = None


class KpiPatch(_Write):
    value: Measured | None = None
    unit: Short | None = None
    measured_on: IsoDate | None = None
    source: Line | None = None
    study_id: Id | None = None


class KpiRead(_Read):
    id: int
    ozg_id: str
    ars: str
    kind: str
    value: float
    unit: str | None
    measured_on: date
    source: str
    study_id: int | None
    created_at: UtcDatetime
    created_by: str
    version: int


class LeistungFindingsRead(BaseModel):
    ozg_id: str
    total: int
    by_severity: dict[str, int] = Field(description="Severity (4 … 1) → published findings.")
    by_journey_step: dict[str, dict[str, int]] = Field(
        description="Journey step ('' for none) → severity → published findings."
    )
    findings: list[PublicFinding]


class ImportReportRead(BaseModel):
    source: str
    inserted: int
    unchanged: int = Field(description="Rows whose external_id is stored already.")
