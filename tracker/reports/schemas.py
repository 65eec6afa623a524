"""API shapes of the roll-ups: a Gemeinde's Reifegrad, a Leistung's coverage, the summary and
its time series."""

from __future__ import annotations

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


class NamedLeistung(BaseModel):
    ozg_id: str
    name: str


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


class ReifegradSummary(BaseModel):
    group_by: str
    dimension: Dimension | None
    area: str | None
    at: UtcDatetime | None
    rules: dict[str, str]
    groups: list[GroupFigures]


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
