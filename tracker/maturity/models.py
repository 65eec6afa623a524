"""Maturity tables. A model is levels plus criteria (data, versioned); an assessment rates each
criterion and is never changed in place, only followed by a correction."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlmodel import Field

from tracker.db import TableModel


class Dimension(StrEnum):
    ONLINE = "online"
    BACKOFFICE = "backoffice"


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    REJECTED = "rejected"


class Step(StrEnum):
    """Review steps: submit (editor), then validate or reject (reviewer)."""

    SUBMIT = "submit"
    VALIDATE = "validate"
    REJECT = "reject"


class Source(StrEnum):
    SELF = "self"
    PVOG = "import:pvog"
    WSP_NRW = "import:wsp-nrw"
    PROBE = "probe"
    AUDIT = "audit"


# The portal on which a source's host-less evidence paths lie (the WSP NRW list gives paths such
# as /antrag/…; its host is not in the file: the portal's public address, unverified).
PORTALS: dict[str, str] = {Source.WSP_NRW: "https://service.wirtschaft.nrw"}
# Where assessments came from, as a report credits them (German; the API also gives the key).
SOURCE_NAMES: dict[str, str] = {
    Source.SELF: "Erfassung der Gemeinden in tracker",
    Source.PVOG: "Open-PVOG-Export des OZG-Dashboards",
    Source.WSP_NRW: ("Wirtschafts-Service-Portal.NRW, Liste der Live-Onlinedienste"),
    Source.PROBE: "Erreichbarkeitsprüfung von Onlinediensten",
    Source.AUDIT: "Prüfung (Audit)",
}


NOT_REQUIRED = (
    "n/a"  # the official „falls erforderlich“: neither lowers the level nor leaves it open
)


class MaturityModel(TableModel, table=True):
    __tablename__ = "maturity_model"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=40)
    dimension: str = Field(max_length=20)
    name: str
    version: str = Field(max_length=20)
    # False where levels or criteria are not officially confirmed (DOMAIN.md marks them [U])
    verified: bool
    source: str | None = None
    is_default: bool = False


class ModelLevel(TableModel, table=True):
    __tablename__ = "model_level"
    __table_args__ = (UniqueConstraint("model_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="maturity_model.id", index=True)
    level: int
    name: str
    definition: str


class ModelCriterion(TableModel, table=True):
    __tablename__ = "model_criterion"
    __table_args__ = (UniqueConstraint("model_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="maturity_model.id", index=True)
    key: str = Field(max_length=40)
    position: int
    name: str
    description: str | None = None
    optional: bool = False  # may be marked not required („falls erforderlich“)
    verified: bool = True
    # a stand-in name ("Kriterium 7 (Name ungeprüft)"): kept off the form until an admin names
    # it (`tracker criteria name`, audited)
    placeholder: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})


class LevelFlag(TableModel, table=True):
    """A flag a model's own scale defines, reached from a level on: "online" (2) and
    "OZG-konform" (3) on the OZG-Reifegradmodell, "digital bearbeitet" (B3) and "Once-Only" (B4)
    on the back-office scale. Data beside the levels, so that every scale says its own."""

    __tablename__ = "level_flag"
    __table_args__ = (UniqueConstraint("model_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="maturity_model.id", index=True)
    key: str = Field(max_length=40)
    name: str
    from_level: int


class Assessment(TableModel, table=True):
    """One rating of one Leistung (a LeiKa row, or the whole OZG-Leistung) in one Gemeinde."""

    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint("(leika_id IS NULL) != (ozg_id IS NULL)", name="one_leistung"),
        CheckConstraint("status IN ('draft', 'submitted', 'validated', 'rejected')", name="status"),
        # a Gemeinde's newest row and newest status change: the stamp of its cached roll-up
        Index("ix_assessment_ars_id", "ars", "id"),
        Index("ix_assessment_ars_status_changed_at", "ars", "status_changed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    ars: str = Field(foreign_key="gemeinde.ars", max_length=12)
    leika_id: int | None = Field(default=None, foreign_key="leika_leistung.id", index=True)
    ozg_id: str | None = Field(default=None, foreign_key="ozg_leistung.ozg_id", index=True)
    dimension: str = Field(max_length=20)
    model_id: int = Field(foreign_key="maturity_model.id")
    ratings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    level: int | None = None
    provisional: bool
    missing_criteria: list[str] = Field(sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=20)
    land_wide_portal: bool = False
    corrects_id: int | None = Field(default=None, foreign_key="assessment.id")
    assessed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    assessed_by: str = Field(max_length=100)
    status: str = Field(default=Status.DRAFT.value, max_length=20)
    status_comment: str | None = None
    comment: str | None = None  # the assessor's own note
    status_changed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    status_changed_by: str | None = Field(default=None, max_length=100)
    version: int = 1


class LevelMapping(TableModel, table=True):
    """How a level of one model version reads on another's scale, so that history stays
    comparable across versions. Data, not code: a new version brings its own rows."""

    __tablename__ = "level_mapping"
    __table_args__ = (UniqueConstraint("from_model_id", "from_level", "to_model_id"),)

    id: int | None = Field(default=None, primary_key=True)
    from_model_id: int = Field(foreign_key="maturity_model.id", index=True)
    from_level: int
    to_model_id: int = Field(foreign_key="maturity_model.id", index=True)
    to_level: int
    verified: bool = False
    note: str | None = None


class ApplicabilityOverride(TableModel, table=True):
    """A Gemeinde's own answer to whether an OZG-Leistung applies there, against the default
    from the LeiKa-Typ, with the reason. Not applicable: out of every denominator."""

    __tablename__ = "applicability_override"
    __table_args__ = (UniqueConstraint("ars", "ozg_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ars: str = Field(foreign_key="gemeinde.ars", max_length=12)
    ozg_id: str = Field(foreign_key="ozg_leistung.ozg_id", index=True, max_length=20)
    applicable: bool
    reason: str
    set_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    set_by: str = Field(max_length=100)
    version: int = 1


class MunicipalLeikaType(TableModel, table=True):
    """A LeiKa-Typ code whose services apply to Gemeinden: executed by Länder or Kommunen
    (DOMAIN.md 1.2; the sub-codes are unverified, hence data). Changed with `tracker
    applicability types`, audited; every change rebuilds the pair levels."""

    __tablename__ = "municipal_leika_type"

    code: str = Field(primary_key=True, max_length=10)
    added_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    added_by: str = Field(max_length=100)


class PairLevel(TableModel, table=True):
    """The current level of one pair: an inhabited Gemeinde × applicable OZG-Leistung ×
    dimension that has a level, on the dimension's default scale. Derived from the assessments
    by `maturity.pairs` alone, in the transaction of every change that can move it."""

    __tablename__ = "pair_level"
    __table_args__ = (Index("ix_pair_level_ozg_id_dimension", "ozg_id", "dimension"),)

    # No foreign keys: every row is read from the rows it would reference (`pairs.computed`
    # joins them), `tracker verify pairs` proves it, and checking four keys per row took three
    # quarters of a bulk import's pair refresh on PostgreSQL (15.4 s vs 4.0 s for 400,000 rows).
    ars: str = Field(primary_key=True, max_length=12)
    ozg_id: str = Field(primary_key=True, max_length=20)
    dimension: str = Field(primary_key=True, max_length=20)
    level: int  # the highest current level of the pair's counted services
    lowest: int
    services: int  # LeiKa services (or the whole Leistung) with a current level
    # what gave the level: a LeiKa service, or the whole Leistung (None), and its assessment
    leika_id: int | None = None
    assessment_id: int
    source: str = Field(max_length=20)  # the assessment's: what a report credits
    provisional: bool
    assessed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # the newest contributing assessment: the pair's age
    newest_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    land_wide_portal: bool


class GemeindeLevelCount(TableModel, table=True):
    """A Gemeinde's pairs at each level per dimension: now (`period_end` = `counts.LIVE`), and
    as of the end of each closed month. Derived from the pair levels by `maturity.counts`."""

    __tablename__ = "gemeinde_level_count"

    period_end: date = Field(primary_key=True)
    ars: str = Field(primary_key=True, max_length=12)
    dimension: str = Field(primary_key=True, max_length=20)
    level: int = Field(primary_key=True)
    pairs: int


class LandLevelCount(TableModel, table=True):
    """The same per Land (the ARS's first two digits): the sums of its Gemeinden's rows, so
    that roll-ups by Land and Bund read a few rows per month, not every Gemeinde's."""

    __tablename__ = "land_level_count"

    period_end: date = Field(primary_key=True)
    land: str = Field(primary_key=True, max_length=2)
    dimension: str = Field(primary_key=True, max_length=20)
    level: int = Field(primary_key=True)
    pairs: int


class LeistungKreisCount(TableModel, table=True):
    """One OZG-Leistung's assessed, online and OZG-konform pairs in one Kreis (the ARS's first
    five digits), per dimension: now and as of the end of each closed month."""

    __tablename__ = "leistung_kreis_count"

    period_end: date = Field(primary_key=True)
    ozg_id: str = Field(primary_key=True, max_length=20)
    kreis: str = Field(primary_key=True, max_length=5)
    dimension: str = Field(primary_key=True, max_length=20)
    assessed: int
    online: int
    ozg_konform: int


class LeistungLandCount(TableModel, table=True):
    """The same per Land (the ARS's first two digits): the sums of its Kreise' rows, so that
    roll-ups by Land and Bund read 16 rows per Leistung, not some 400."""

    __tablename__ = "leistung_land_count"

    period_end: date = Field(primary_key=True)
    ozg_id: str = Field(primary_key=True, max_length=20)
    land: str = Field(primary_key=True, max_length=2)
    dimension: str = Field(primary_key=True, max_length=20)
    assessed: int
    online: int
    ozg_konform: int


class PairRevision(TableModel, table=True):
    """One row: a number that every change of the pair levels raises, under the lock that
    serialises those changes, so that it grows in commit order. Answers cached by it cannot
    miss a change that committed after a later-numbered one (ids and clocks can)."""

    __tablename__ = "pair_revision"

    id: int = Field(primary_key=True)
    revision: int
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CountPeriod(TableModel, table=True):
    """A closed month whose counts are held: from the first one on, every month is."""

    __tablename__ = "count_period"

    period_end: date = Field(primary_key=True)
    # its last moment (what its counts are as of), for joins with the assessments' moments
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    taken_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
