"""API shapes of maturity models and assessments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from tracker.fields import NO_NUL, Ars, IsoMoment, JsonBool, JsonInt, LeikaKey, UtcDatetime
from tracker.maturity.models import NOT_REQUIRED, Dimension, Status

CriterionKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Rating = Annotated[JsonInt, Field(ge=0, le=99)] | Literal["n/a"]
OzgId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,20}$")]
Note = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)]
ExternalId = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=100)]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LevelRead(_Read):
    level: int
    name: str
    definition: str


class CriterionRead(_Read):
    key: str
    position: int
    name: str
    optional: bool = Field(description=f"May be rated '{NOT_REQUIRED}' („falls erforderlich“).")
    verified: bool
    placeholder: bool = Field(
        description="A stand-in name, not yet named from the official source: not on the form."
    )


class MaturityModelRead(_Read):
    key: str
    dimension: Dimension
    name: str
    version: str
    verified: bool = Field(
        description="False where levels or criteria are not officially confirmed."
    )
    source: str | None
    is_default: bool
    levels: list[LevelRead]
    criteria: list[CriterionRead]


MAX_EVIDENCE = 50  # evidence items of one assessment, in the API and in bulk files


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["url", "document", "finding"]
    ref: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=2000)]
    note: Note | None = None


def _at_most_50(ratings: dict[str, Any]) -> dict[str, Any]:
    # a length bound in Field() makes Litestar document the mapping as an array
    if len(ratings) > 50:
        raise ValueError("at most 50 criteria")
    return ratings


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ars: Ars
    leika_key: LeikaKey | None = Field(default=None, description="A LeiKa-Leistung …")
    ozg_id: OzgId | None = Field(default=None, description="… or the whole OZG-Leistung.")
    dimension: Dimension
    model: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.\-]{1,40}$")] | None = Field(
        default=None, description="Model key; the dimension's default model when omitted."
    )
    ratings: Annotated[dict[CriterionKey, Rating], AfterValidator(_at_most_50)] = Field(
        description=f"Criterion key → level, or '{NOT_REQUIRED}' where it is not required "
        "(at most 50 criteria)."
    )
    evidence: list[Evidence] = Field(default_factory=list, max_length=MAX_EVIDENCE)
    assessed_at: IsoMoment | None = Field(
        default=None, description="Defaults to now; not in the future, not before 2000."
    )
    external_id: ExternalId | None = None
    corrects: Annotated[JsonInt, Field(ge=1, le=2_147_483_647)] | None = Field(
        default=None, description="Id of the assessment this one corrects."
    )
    submit: JsonBool = Field(default=False, description="Submit for review at once.")
    comment: Note | None = Field(default=None, description="The assessor's own note.")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Note | None = None


class BrokenEvidence(BaseModel):
    url: str
    broken_since: UtcDatetime | None = Field(description="Broken since this probe.")


class EvidenceReview(BaseModel):
    """What the link probes say of an assessment's evidence: shown, never changing its level."""

    evidence_broken: bool = Field(
        default=False,
        description="A URL it cites failed its link probes (broken): flagged for review; "
        "the level stays as it is.",
    )
    broken_evidence: list[BrokenEvidence] = Field(default_factory=list)
    shown_confidence: float = Field(
        default=1.0,
        description="0–1: 1, lowered by broken evidence to 1 − 0.5 × (broken URLs / cited "
        "URLs), so at least 0.5. A figure to show beside the level, which it never changes.",
    )


class AssessmentRead(EvidenceReview, _Read):
    id: int
    ars: str
    leika_key: str | None
    ozg_id: str | None
    dimension: Dimension
    model: str
    ratings: dict[str, Any]
    level: int | None
    level_name: str | None
    provisional: bool = Field(
        description="A required criterion is not rated yet; see missing_criteria."
    )
    missing_criteria: list[str]
    evidence: list[Evidence]
    source: str
    land_wide_portal: bool
    corrects_id: int | None
    external_id: str | None
    assessed_at: UtcDatetime
    assessed_by: str
    comment: str | None
    status: Status
    status_comment: str | None
    status_changed_at: UtcDatetime | None
    status_changed_by: str | None
    version: int


class OverrideRead(_Read):
    ars: str
    ozg_id: str
    applicable: bool
    reason: str
    set_at: UtcDatetime
    set_by: str
    version: int


class ApplicabilityRead(BaseModel):
    ars: str
    ozg_id: str
    default: bool = Field(description="From the LeiKa-Typ of the Leistung's LeiKa services.")
    override: OverrideRead | None
    applicable: bool = Field(description="What counts: the override if any, else the default.")


class OverrideWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicable: JsonBool
    reason: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=3, max_length=2000)]


class ImportReport(BaseModel):
    source: str
    inserted: int
    unchanged: int = Field(description="Rows whose external_id is stored with the same content.")
    rejected: list[str] = Field(
        description="Skipped rows (with skip_invalid), as file:line: why; the first 100."
    )
    rejected_count: int = Field(description="Skipped rows in all.")


class LevelDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Annotated[JsonInt, Field(ge=0, le=99)]
    name: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=200)]
    definition: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)] = ""


class CriterionDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: CriterionKey
    name: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)] | None = None
    optional: JsonBool = False
    verified: JsonBool = False


class ModelDefinition(BaseModel):
    """A model version as data (`tracker model add FILE.json`): levels, criteria, and how its
    levels read on other models' scales."""

    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.\-]{1,40}$")]
    dimension: Dimension
    name: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=200)]
    version: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=20)]
    verified: JsonBool = False
    source: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)] | None = None
    levels: list[LevelDefinition] = Field(min_length=2, max_length=100)
    criteria: list[CriterionDefinition] = Field(min_length=1, max_length=100)
    mapping: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Other model key → {this level: that level}, for comparable history.",
    )

    @model_validator(mode="after")
    def distinct(self) -> ModelDefinition:
        levels = [item.level for item in self.levels]
        if len(set(levels)) != len(levels):
            raise ValueError("levels must be distinct")
        keys = [item.key for item in self.criteria]
        if len(set(keys)) != len(keys):
            raise ValueError("criterion keys must be distinct")
        return self
