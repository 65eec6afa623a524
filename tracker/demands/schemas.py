"""API shapes of demand catalogues, demands, Maßnahmen (actions), uptake, milestones, links and
the event feed; the catalogue file and a new catalogue share one shape."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from tracker.demands.models import LinkKind
from tracker.fields import NO_NUL, Ars, IsoDate, JsonFloat, JsonInt, PlanDate, UtcDatetime

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$"
STATUS_PATTERN = r"^[a-z][a-z_]{0,19}$"
# a link's target: an OZG-ID, a LeiKa key, an ARS, or a research key
TARGET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
# a catalogue's scope: '' (global, the DST's own) or an ARS prefix (a city's strategy)
SCOPE_PATTERN = r"^([0-9]{2}([0-9]{3}([0-9]{4}([0-9]{3})?)?)?)?$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
StatusKey = Annotated[str, StringConstraints(pattern=STATUS_PATTERN)]
Line = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)]
LongText = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=20_000)]
Percent = Annotated[JsonInt, Field(ge=0, le=100)]
Weight = Annotated[JsonFloat, Field(ge=0, le=1000)]
ExternalId = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=100)]


class ResponsibleLevel(StrEnum):
    BUND = "bund"
    LAND = "land"
    KOMMUNE = "kommune"
    DST = "dst"  # Deutscher Städtetag
    IT_PLANUNGSRAT = "it_planungsrat"
    FITKO = "fitko"
    IT_DIENSTLEISTER = "it_dienstleister"
    OTHER = "other"


class Title(BaseModel):
    """A short text in German (required) and English."""

    model_config = ConfigDict(extra="forbid")
    de: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=500)]
    en: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=500)] = ""


class Description(BaseModel):
    model_config = ConfigDict(extra="forbid")
    de: LongText
    en: LongText = ""


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- the catalogue file, and POST /demand-catalogues ------------------------------------------


class DemandDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] = "demand"
    title: Title
    summary: Description | None = None
    verification: Literal["V", "P", "U"] | None = Field(
        default=None, description="How far the wording is confirmed: verified, partly, not."
    )
    source: Line | None = None
    source_date: IsoDate | None = None
    weight: Weight = 1.0
    children: list[DemandDefinition] = Field(default_factory=list, max_length=200)


class CatalogueDefinition(BaseModel):
    """A catalogue as data: its demands as a tree of any depth (at most 2000 in all)."""

    model_config = ConfigDict(extra="forbid")
    key: Key
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")]
    title: Title
    summary: Description | None = None
    publisher: Line | None = None
    source: Line | None = None
    source_date: IsoDate | None = None
    scope_ars: Annotated[str, StringConstraints(pattern=SCOPE_PATTERN)] = Field(
        default="",
        description="'' for a catalogue that global demand managers edit (the DST's); an ARS "
        "prefix for a city's own, edited only by managers of that scope.",
    )
    demands: list[DemandDefinition] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def distinct_keys(self) -> CatalogueDefinition:
        keys = list(walk_keys(self.demands))
        if len(keys) > 2000:
            raise ValueError("at most 2000 demands")
        if len(set(keys)) != len(keys):
            raise ValueError("demand keys must be distinct")
        return self


def walk_keys(demands: list[DemandDefinition]) -> Any:
    for demand in demands:
        yield demand.key
        yield from walk_keys(demand.children)


class MilestoneDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: ExternalId
    due_date: IsoDate
    title: Title
    done_at: IsoDate | None = None
    source: Line | None = None


class PositionDefinition(BaseModel):
    """One seeded Maßnahme of the optional positions file, under a demand by key."""

    model_config = ConfigDict(extra="forbid")
    external_id: ExternalId
    demand: Key
    title: Title
    description: Description | None = None
    responsible_level: ResponsibleLevel
    owner_body: Line | None = None
    status: StatusKey
    progress: Percent | None = None
    start_date: IsoDate | None = None
    due_date: IsoDate | None = None
    source: Line | None = None
    milestones: list[MilestoneDefinition] = Field(default_factory=list, max_length=100)


class PositionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Line = Field(description="What the seed is, shown to whoever loads it.")
    catalogue: Key
    positions: list[PositionDefinition] = Field(min_length=1, max_length=1000)


# --- reads -------------------------------------------------------------------------------------


class StatusRead(_Read):
    key: str
    position: int
    label: dict[str, str]
    default_progress: int | None = Field(description="Set on moving here; null keeps it.")
    counted: bool = Field(description="False: the action leaves every roll-up (dropped).")


class CatalogueRead(_Read):
    key: str
    version: str
    title: dict[str, str]
    summary: dict[str, str] | None
    publisher: str | None
    source: str | None
    source_date: date | None
    scope_ars: str
    created_at: UtcDatetime


class Rollup(BaseModel):
    progress: float | None = Field(
        description="Weighted mean progress (0-100) of the counted Maßnahmen and child "
        "demands; null when nothing counts."
    )
    weight: float = Field(description="Sum of the weights that counted.")
    actions: int = Field(description="Maßnahmen here and below, dropped ones included.")
    by_status: dict[str, int] = Field(description="Maßnahmen here and below per status.")
    overdue_milestones: int = Field(description="Open milestones dated before `on`.")


ROLLUP_RULE = (
    "A Maßnahme's progress is set by hand (moving it to a status whose default progress is "
    "100, done, sets 100 by hand), else the mean progress of its counted uptake by "
    "Gemeinden, else its stored progress. A demand's progress is the weight-averaged progress "
    "of its counted Maßnahmen and of its child demands that have one (weighted by their own "
    "weights); Maßnahmen with a status that is not counted (dropped) are left out, and a "
    "demand with nothing counted has none. A milestone is overdue when it is not done and its "
    "date lies before the day of the request."
)

ROLLUP_RULE_DE = (
    "Der Fortschritt einer Maßnahme ist von Hand gesetzt (der Wechsel in einen Status mit "
    "Standardfortschritt 100, erledigt, setzt 100 von Hand), sonst der mittlere Fortschritt der "
    "mitzählenden Übernahmen durch Gemeinden, sonst ihr gespeicherter Fortschritt. Der "
    "Fortschritt einer Forderung ist der nach Gewicht gemittelte Fortschritt ihrer "
    "mitzählenden Maßnahmen und der Unterforderungen, die einen Fortschritt haben (mit deren "
    "eigenem Gewicht); Maßnahmen mit einem nicht mitzählenden Status (verworfen) bleiben "
    "außen vor, und eine Forderung, in der nichts mitzählt, hat keinen. Ein Meilenstein ist "
    "überfällig, wenn er nicht erledigt ist und sein Datum vor dem Tag der Anfrage liegt."
)

LEISTUNGEN_RULE = (
    "Per linked OZG-Leistung, over the inhabited Gemeinden where it applies: online = current "
    "online level >= 2, OZG-konform >= 3 (the maturity rules), flaechendeckend = online in "
    "every one; mean back-office level over its assessed pairs; open findings = published "
    "research findings about it that are open or confirmed. Maßnahmen of the demand and of "
    "every demand below it."
)
LEISTUNGEN_RULE_DE = (
    "Je verknüpfter OZG-Leistung über die bewohnten Gemeinden, in denen sie anwendbar ist: "
    "online = aktuelle Online-Stufe ab 2, OZG-konform ab 3 (die Zählregeln des Reifegrads), "
    "flächendeckend = in jeder dieser Gemeinden online; Back-Office = mittlere Stufe der "
    "bewerteten Paare; offene Erkenntnisse = veröffentlichte Erkenntnisse der Nutzendenforschung "
    "zu ihr, offen oder bestätigt. Maßnahmen der Forderung und aller Forderungen darunter."
)


class LinkedFinding(BaseModel):
    id: int
    severity: int
    statement: str | None = Field(description="The published (redacted) text.")


class LeistungLink(BaseModel):
    """Which Maßnahme links the Leistung, how and why."""

    action: int
    action_title: dict[str, str]
    demand: str = Field(description="The demand the Maßnahme is under.")
    kind: LinkKind = Field(description="leistung (its OZG-ID) or leika (one of its LeiKa keys).")
    target: str
    reason: str


class LinkedLeistung(BaseModel):
    ozg_id: str
    name: str
    actions: list[int] = Field(description="The Maßnahmen that link it (directly or by LeiKa).")
    links: list[LeistungLink] = Field(description="Each link to it, with its reason.")
    online: dict[str, Any] = Field(
        description="Inhabited Gemeinden where it applies: assessed, online (level ≥ 2), "
        "OZG-konform (≥ 3), share online, flächendeckend, in mindestens einer Kommune."
    )
    mean_backoffice: float | None
    backoffice_assessed: int
    open_findings: int = Field(description="Published findings about it, open or confirmed.")
    findings_by_severity: dict[str, int] = Field(description="Severity 4 … 1 → open findings.")
    findings: list[LinkedFinding] = Field(description="The most severe open findings (up to 3).")


class DemandLeistungen(BaseModel):
    demand: str
    rule: str
    leistungen: list[LinkedLeistung]


class BacklogImportRead(BaseModel):
    source: str
    inserted: int
    updated: int
    unchanged: int = Field(description="Rows whose record is stored as it is.")
    skipped: list[str] = Field(description="Rows read but not imported (demands), with why.")


class DemandNode(BaseModel):
    key: str
    kind: str
    position: int
    title: dict[str, str]
    summary: dict[str, str] | None
    verification: str | None
    source: str | None
    source_date: date | None
    weight: float
    rollup: Rollup
    children: list[DemandNode]


AS_OF = "As of this moment, replayed from the history; null: now."


class DemandTree(BaseModel):
    catalogue: CatalogueRead
    at: UtcDatetime | None = Field(description=AS_OF)
    on: date = Field(description="The day overdue milestones are judged against.")
    rule: str
    demands: list[DemandNode]


class DemandRead(BaseModel):
    key: str
    catalogue: str
    parent: str | None
    kind: str
    title: dict[str, str]
    summary: dict[str, str] | None
    verification: str | None
    source: str | None
    source_date: date | None
    weight: float
    version: int
    at: UtcDatetime | None = Field(description=AS_OF)
    on: date
    rule: str
    rollup: Rollup
    children: list[DemandNode]


class ActionRead(BaseModel):
    id: int
    demand: str
    external_id: str | None
    title: dict[str, str]
    description: dict[str, str] | None
    responsible_level: str
    owner_ars: str | None
    owner_body: str | None
    status: str
    progress: float = Field(description="What counts: by hand, else the uptake mean, else stored.")
    stored_progress: int
    progress_manual: bool
    weight: float
    start_date: date | None
    due_date: date | None
    source: str | None
    uptake: int = Field(description="Gemeinden that took the Maßnahme up.")
    uptake_by_status: dict[str, int]
    overdue_milestones: int
    created_at: UtcDatetime
    created_by: str
    version: int


class UptakeRead(_Read):
    action_id: int
    ars: str
    status: str
    progress: int
    comment: str | None
    changed_at: UtcDatetime
    changed_by: str
    version: int


class MilestoneRead(BaseModel):
    id: int
    action_id: int
    external_id: str | None
    due_date: date
    title: dict[str, str]
    done_at: date | None
    source: str | None
    overdue: bool = Field(description="Not done and dated before the day of the request.")
    version: int


class LinkRead(_Read):
    id: int
    action_id: int
    kind: LinkKind
    target: str
    reason: str
    created_at: UtcDatetime
    created_by: str


class EventRead(_Read):
    id: int
    action_id: int
    ars: str | None = Field(description="The Gemeinde of an uptake change.")
    kind: str
    at: UtcDatetime
    author: str
    comment: str | None
    changes: dict[str, Any] = Field(description="Field → [old, new].")


# --- writes ------------------------------------------------------------------------------------


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Description | None = None
    responsible_level: ResponsibleLevel
    owner_ars: Ars | None = Field(default=None, description="A Gemeinde as owner …")
    owner_body: Line | None = Field(default=None, description="… or a named body.")
    status: StatusKey = "proposed"
    progress: Percent | None = Field(
        default=None, description="Set by hand; omitted, the status's default progress."
    )
    weight: Weight = 1.0
    start_date: PlanDate | None = None
    due_date: PlanDate | None = None
    external_id: ExternalId | None = None
    source: Line | None = None


class ActionPatch(BaseModel):
    """Only the fields sent change; `progress: null` hands progress back to the uptake mean.
    Status changes go through POST /actions/{id}/status."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    description: Description | None = None
    responsible_level: ResponsibleLevel | None = None
    owner_ars: Ars | None = None
    owner_body: Line | None = None
    progress: Percent | None = None
    weight: Weight | None = None
    start_date: PlanDate | None = None
    due_date: PlanDate | None = None
    comment: Note | None = Field(default=None, description="Kept in the history.")


class DemandPatch(BaseModel):
    """Only the fields sent change (the catalogue file stays the source on re-import)."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    summary: Description | None = None
    verification: Literal["V", "P", "U"] | None = None
    source: Line | None = None
    source_date: IsoDate | None = None
    weight: Weight | None = None


class StatusWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: StatusKey
    progress: Percent | None = Field(
        default=None, description="Set by hand; omitted, the status's default (if any)."
    )
    comment: Note | None = None


class UptakeWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: StatusKey
    progress: Percent | None = Field(
        default=None, description="Omitted: the status's default, else the stored one."
    )
    comment: Note | None = None


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_date: PlanDate
    title: Title
    done_at: PlanDate | None = None
    external_id: ExternalId | None = None
    source: Line | None = None


class MilestonePatch(BaseModel):
    """Only the fields sent change; `done_at: null` reopens the milestone."""

    model_config = ConfigDict(extra="forbid")
    due_date: PlanDate | None = None
    title: Title | None = None
    done_at: PlanDate | None = None


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: LinkKind
    target: Annotated[str, StringConstraints(pattern=TARGET_PATTERN)] = Field(
        description="OZG-ID, LeiKa key, ARS, or the research key of a finding/recommendation."
    )
    reason: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=3, max_length=2000)]
