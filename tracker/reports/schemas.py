"""API shapes of the roll-ups: a Gemeinde's Reifegrad, a Leistung's coverage, the summary and
its time series."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from tracker.fields import UtcDatetime
from tracker.maturity.models import Dimension


class Figures(BaseModel):
    highest: int
    lowest: int
    assessed: int = Field(
        description="Current assessments rolled up (LeiKa services and the whole Leistung)."
    )
    online: bool
    ozg_konform: bool
    provisional: bool = Field(
        description="The assessment that gave the level left required criteria unrated."
    )
    land_wide_portal: bool
    age_days: int
    stale: bool
    assessment_id: int = Field(description="The assessment that gave the level.")
    assessed_at: UtcDatetime = Field(description="When that assessment was assessed.")
    flags: list[str] = Field(
        description="The flags the dimension's own scale defines that the level reaches "
        "(see `flags` of the answer): online and ozg_konform on the OZG-Reifegradmodell, "
        "digital_bearbeitet, once_only, vollautomatisch on the back-office scale."
    )


class LeistungReifegrad(BaseModel):
    ozg_id: str
    name: str
    themenfeld: str
    applicable_leika: int
    overridden: bool = Field(description="Applicability set by the Gemeinde, not the default.")
    online: Figures | None = Field(description="Online access; null when nothing is assessed.")
    backoffice: Figures | None


class Summary(BaseModel):
    applicable: int
    assessed: int
    online: int
    ozg_konform: int
    share_online: float | None
    share_ozg_konform: float | None
    by_highest_level: dict[str, int]
    stale: int
    flags: dict[str, int] = Field(
        description="Leistungen reaching each flag of the dimension's own scale. On the "
        "back-office scale `online` and `ozg_konform` mean nothing: read these."
    )


class NamedLeistung(BaseModel):
    ozg_id: str
    name: str


class LevelFlagRead(BaseModel):
    key: str
    name: str
    from_level: int


class GemeindeReifegrad(BaseModel):
    ars: str
    name: str
    at: UtcDatetime | None = Field(description="The moment asked about; null means now.")
    rules: dict[str, str] = Field(description="The counting rules behind every figure.")
    summary: dict[Dimension, Summary]
    leistungen: list[LeistungReifegrad] | None = Field(
        description="Every applicable OZG-Leistung; null with fields=summary."
    )
    not_applicable: list[NamedLeistung] | None = Field(
        description=(
            "Leistungen the Gemeinde marked not applicable (out of every denominator); null "
            "with fields=summary."
        )
    )
    flags: dict[Dimension, list[LevelFlagRead]] = Field(
        description="Per dimension the flags its default scale defines from a level on (data)."
    )


class Coverage(BaseModel):
    gemeinden: int = Field(description="Inhabited Gemeinden of the area.")
    assessed: int
    online: int
    ozg_konform: int
    share_online: float | None
    flaechendeckend: bool = Field(description="Every inhabited Gemeinde of the area is online.")
    mindestens_eine_kommune: bool = Field(
        description="At least one Gemeinde of the area is online."
    )


class AreaCoverage(Coverage):
    code: str
    name: str


class LeistungCoverage(BaseModel):
    ozg_id: str
    name: str
    dimension: Dimension
    at: UtcDatetime | None
    applicable: bool = Field(description="False when no LeiKa service of it applies to Gemeinden.")
    rules: dict[str, str]
    bund: Coverage
    laender: list[AreaCoverage]
    kreise: list[AreaCoverage]


class GroupFigures(BaseModel):
    code: str
    name: str
    typ: str | None = Field(description="Kreis or Gemeinde type (GV100AD); null for others.")
    population: int = Field(description="Inhabitants of the group's inhabited Gemeinden.")
    dimension: Dimension
    gemeinden: int = Field(description="Inhabited Gemeinden of the group (of the area asked).")
    leistungen: int = Field(description="OZG-Leistungen that apply somewhere in the group.")
    applicable: int = Field(description="Applicable Gemeinde × Leistung pairs: the denominator.")
    assessed: int
    at_least: dict[str, int] = Field(description="Pairs at each level or above.")
    share_at_least: dict[str, float | None]
    online: int
    share_online: float | None
    ozg_konform: int
    share_ozg_konform: float | None
    mean_level: float | None = Field(description="Of assessed pairs; unassessed are not 0.")
    median_level: float | None
    leistungen_flaechendeckend: int
    leistungen_mindestens_eine_kommune: int
    flags: dict[str, int] = Field(
        description="Pairs reaching each flag of the dimension's own scale (`flags` of the "
        "answer). On the back-office scale `online` and `ozg_konform` mean nothing: read these."
    )
    share_flags: dict[str, float | None] = Field(description="The same, of applicable pairs.")


class ReifegradSummary(BaseModel):
    group_by: str
    dimension: Dimension | None
    area: str | None
    at: UtcDatetime | None
    rules: dict[str, str]
    groups: list[GroupFigures]
    flags: dict[Dimension, list[LevelFlagRead]] = Field(
        description="Per dimension the flags its default scale defines from a level on (data)."
    )


class Change(BaseModel):
    applicable: float | None
    assessed: float | None
    online: float | None
    ozg_konform: float | None
    share_online: float | None
    share_ozg_konform: float | None
    mean_level: float | None
    median_level: float | None


class SeriesPoint(BaseModel):
    period: str = Field(description="2026-03, 2026-Q1 or 2026.")
    at: UtcDatetime = Field(description="Read as of the period's last moment (or `until`).")
    applicable: int
    assessed: int
    online: int
    ozg_konform: int
    share_online: float | None
    share_ozg_konform: float | None
    mean_level: float | None
    median_level: float | None
    flags: dict[str, int] = Field(
        description="Pairs reaching each flag of the dimension's own scale (`flags`)."
    )
    share_flags: dict[str, float | None]
    change: Change = Field(description="Against the previous period.")


class Series(BaseModel):
    code: str
    name: str
    dimension: Dimension
    points: list[SeriesPoint]


class ReifegradTimeseries(BaseModel):
    group_by: str
    dimension: Dimension | None
    area: str | None
    period: str
    rules: dict[str, str]
    series: list[Series]
    flags: dict[Dimension, list[LevelFlagRead]] = Field(
        description="Per dimension the flags its default scale defines from a level on (data)."
    )


# --- the comparison report -------------------------------------------------------------------


class ComparedFigures(BaseModel):
    share_online: float | None
    share_ozg_konform: float | None
    mean_backoffice: float | None


class ComparedGemeinde(BaseModel):
    ars: str
    ags: str
    name: str
    typ: int = Field(description="Gemeindetyp (GV100AD Textkennzeichen).")
    typ_name: str
    population: int = Field(description="Inhabitants (Destatis GV100AD).")
    band: str | None = Field(description="Population band (`sources.bands`).")
    band_name: str | None
    land: str
    kreis: str | None
    applicable: int = Field(description="Applicable OZG-Leistungen: the denominator of shares.")
    assessed_online: int
    online: int
    ozg_konform: int
    share_online: float | None
    share_ozg_konform: float | None
    mean_online: float | None
    assessed_backoffice: int
    mean_backoffice: float | None
    flags: dict[Dimension, dict[str, int]] = Field(
        description="Per dimension the pairs reaching each flag of its own scale (`flags` of "
        "the report): digital_bearbeitet, once_only, vollautomatisch on the back-office scale."
    )
    share_flags: dict[Dimension, dict[str, float | None]] = Field(
        description="The same, of the applicable OZG-Leistungen; null without an assessed pair "
        "of the dimension."
    )
    stale: int = Field(description="Assessed pairs (both dimensions) older than the stale age.")
    provisional: int = Field(description="Pairs whose level is only provisional.")
    then: ComparedFigures = Field(description="The same figures at the comparison date.")
    change: ComparedFigures = Field(description="Now minus then.")
    rank: int | None = Field(description="By share online in the set; ties share a rank.")
    rank_change: int | None = Field(description="By change of the share online: most improved 1.")
    findings_open: int = Field(description="Open or confirmed published findings about it.")
    massnahmen: int = Field(description="Maßnahmen it takes part in.")


class Spread(BaseModel):
    count: int
    min: float | None
    q1: float | None
    median: float | None
    q3: float | None
    max: float | None


class Bin(BaseModel):
    lower: float = Field(description="Share online from (inclusive).")
    upper: float = Field(description="Up to (exclusive; the last bin holds 1.0).")
    gemeinden: int


class SetCoverage(BaseModel):
    applicable: int = Field(description="OZG-Leistungen applicable in at least one member.")
    flaechendeckend: int
    mindestens_eine_kommune: int


class HeatmapRow(BaseModel):
    ars: str
    shares: list[float | None] = Field(
        description=(
            "Share online per Themenfeld, in order; null where none of its Leistungen applies, "
            "and in every Themenfeld of a Gemeinde with no data (no assessed online pair: no "
            "data is no 0 %)."
        )
    )


class Heatmap(BaseModel):
    themenfelder: list[str]
    rows: list[HeatmapRow]


class Behind(BaseModel):
    ozg_id: str
    name: str
    themenfeld: str
    dimension: Dimension
    level: int | None = Field(description="The Gemeinde's own level; null: not assessed.")
    peer_median: float
    peers_assessed: int
    gap: float


class ComparedSet(BaseModel):
    definition: str = Field(description="Canonical form: the `set` of the permalink.")
    description: dict[str, str] = Field(description="In words, German (de) and English (en).")
    gemeinden: int
    with_data: int = Field(
        description="Members with an assessed online pair; the others are not ranked (no data)."
    )
    focus: str | None = Field(description="The Gemeinde whose peer group this is.")


class ModelVersion(BaseModel):
    dimension: Dimension
    key: str
    name: str
    version: str
    verified: bool


class Band(BaseModel):
    key: str
    label: str
    lowest: int
    highest: int | None = Field(description="Exclusive; null: no upper bound.")


class AssessmentSource(BaseModel):
    source: str = Field(description="The assessments' source key (self, import:wsp-nrw, …).")
    name: str
    pairs: int = Field(description="Pairs of the set whose level it gave.")
    earliest: UtcDatetime = Field(description="The earliest of their assessment dates.")
    latest: UtcDatetime


class Sources(BaseModel):
    population: str
    assessments: list[AssessmentSource] = Field(description="Where the counted levels came from.")
    bands: list[Band]


class Freshness(BaseModel):
    assessed: int
    stale: int
    share_stale: float | None
    stale_after_days: int
    provisional: int


class SetFinding(BaseModel):
    id: int
    severity: int = Field(description="1 kosmetisch … 4 verhindert die Nutzung.")
    statement: str = Field(description="The published (redacted) text.")
    gemeinden: list[str] = Field(description="ARS of the members it is about.")


class SetFindings(BaseModel):
    findings: int = Field(description="Open or confirmed published findings about members.")
    gemeinden: int = Field(description="Members with at least one.")
    by_severity: dict[str, int] = Field(description="Severity 4 … 1 → findings.")
    most_severe: list[SetFinding]


class StatusCount(BaseModel):
    status: str
    label: dict[str, str]
    massnahmen: int


class SetAction(BaseModel):
    id: int
    title: dict[str, str]
    demand: str
    status: str
    gemeinden: int = Field(description="Members taking part.")


class SetActions(BaseModel):
    massnahmen: int = Field(description="Maßnahmen that members take part in.")
    gemeinden: int = Field(description="Members taking part in at least one.")
    by_status: list[StatusCount]
    most_taken: list[SetAction]


class Comparison(BaseModel):
    set: ComparedSet
    at: UtcDatetime | None = Field(description="The report date; null means now.")
    since: UtcDatetime = Field(description="The comparison date.")
    since_from: str = Field(description="counts: a closed month's counts; pairs: computed.")
    computed_at: UtcDatetime
    rules: dict[str, str]
    models: list[ModelVersion]
    flags: dict[Dimension, list[LevelFlagRead]] = Field(
        description="Per dimension the flags its default scale defines from a level on (data)."
    )
    sources: Sources
    freshness: Freshness
    members: list[ComparedGemeinde]
    spread: dict[str, Spread]
    histogram: list[Bin]
    leistungen: SetCoverage
    heatmap: Heatmap | None = Field(description="Null for sets of more than 200 Gemeinden.")
    behind_peers: list[Behind] | None = Field(
        description="For a peer group: where its Gemeinde is behind the peers' median."
    )
    findings: SetFindings | None = Field(description="Null when no published finding is open.")
    massnahmen: SetActions | None = Field(description="Null when no member takes part in any.")


# --- a city's dashboard ----------------------------------------------------------------------


class ThemenfeldDimension(BaseModel):
    assessed: int
    online: int
    ozg_konform: int
    share_online: float | None = Field(
        description="online / applicable; null when nothing is assessed (no data is no 0 %)."
    )
    mean_level: float | None
    flags: dict[str, int] = Field(
        default_factory=dict,
        description="Leistungen reaching each flag of the dimension's own scale. On the "
        "back-office scale `online`, `ozg_konform` and `share_online` mean nothing: read these.",
    )
    share_flags: dict[str, float | None] = Field(
        default_factory=dict,
        description="Each flag's Leistungen / applicable; null when nothing is assessed.",
    )


class ThemenfeldFigures(BaseModel):
    themenfeld: str
    applicable: int
    online: ThemenfeldDimension = Field(description="Online access.")
    backoffice: ThemenfeldDimension


class DataAge(BaseModel):
    newest_days: int | None = Field(description="Days since the newest contributing assessment.")
    oldest_days: int | None
    assessed: int = Field(description="Assessed pairs, both dimensions.")
    stale: int
    share_stale: float | None


class HistoryPoint(BaseModel):
    period: str
    share_online: float | None = None
    share_ozg_konform: float | None = None
    mean_backoffice: float | None = None


class PeerStanding(BaseModel):
    definition: str = Field(description="The peer group: `set` of the comparison report.")
    description: dict[str, str]
    gemeinden: int
    rank: int | None = Field(description="By share online; ties share a rank.")
    rank_change: int | None
    change_share_online: float | None
    since: UtcDatetime
    median_share_online: float | None


class UptakeState(BaseModel):
    status: str
    progress: int


class TakenPart(BaseModel):
    """A Maßnahme of the demand catalogues the Gemeinde takes part in."""

    id: int
    title: dict[str, str] = Field(description="German (de) and English (en).")
    demand: str = Field(description="The demand's key, e.g. DF-3.")
    demand_title: dict[str, str]
    status: str
    progress: int
    due_date: date | None
    owner: bool = Field(description="The Gemeinde owns the Maßnahme.")
    uptake: UptakeState | None = Field(description="The Gemeinde's own status, if it took it up.")


class Dashboard(BaseModel):
    ars: str
    ags: str
    name: str
    typ: str
    population: int
    band: str | None
    computed_at: UtcDatetime
    summary: dict[Dimension, Summary]
    themenfelder: list[ThemenfeldFigures]
    age: DataAge
    history: list[HistoryPoint] = Field(description="The last 24 months, at each month's end.")
    peers: PeerStanding
    behind_peers: list[Behind] = Field(description="Furthest behind the peer median first.")
    massnahmen: list[TakenPart] = Field(
        description="Maßnahmen (Dresdner Forderungen and other catalogues) it takes part in."
    )
    findings: SetFindings | None = Field(
        description="Open or confirmed published findings about it; null when there are none."
    )
    rules: dict[str, str]
    online_from: int


class ReportFileStatus(BaseModel):
    """A report file made in the background: fetch `url` (202 with this until it is ready)."""

    digest: str
    status: Literal["queued", "running", "ready", "failed"]
    format: str
    set: str
    url: str
    job_id: int | None
    created_at: UtcDatetime
