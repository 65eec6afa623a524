"""Demand tables. A catalogue (versioned data) is a tree of demands of any depth; Maßnahmen
(actions) hang under demands, taken up by Gemeinden, with milestones and links. Every change of
an action's status, progress, owner or due date, and of an uptake, is a new event row: the
history is never rewritten."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field

from tracker.db import TableModel
from tracker.links import link_target

# A text in both languages: {"de": …, "en": …}; German is required, English may be empty.
Bilingual = dict[str, str]


class LinkKind(StrEnum):
    """What an action links to, by key: research adds findings and recommendations later."""

    LEISTUNG = "leistung"  # an OZG-Leistung by OZG-ID
    LEIKA = "leika"  # a LeiKa-Leistung by its 14-digit key
    GEMEINDE = "gemeinde"  # by ARS
    FINDING = "finding"
    RECOMMENDATION = "recommendation"


class DemandCatalogue(TableModel, table=True):
    """A catalogue of demands: the DST's Dresdner Forderungen (no scope: global managers edit
    it), or a city's own strategy scoped to its ARS (only its managers edit it)."""

    __tablename__ = "demand_catalogue"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=60)
    version: str = Field(max_length=20)
    title: Bilingual = Field(sa_column=Column(JSON, nullable=False))
    summary: Bilingual | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    publisher: str | None = None
    source: str | None = None
    source_date: date | None = None
    scope_ars: str = Field(default="", max_length=12)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Demand(TableModel, table=True):
    """One node of a catalogue's tree (a Forderung, a Handlungsfeld, a strategic goal …)."""

    __tablename__ = "demand"
    __table_args__ = (CheckConstraint("weight >= 0", name="weight"),)

    id: int | None = Field(default=None, primary_key=True)
    catalogue_id: int = Field(foreign_key="demand_catalogue.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="demand.id", index=True)
    key: str = Field(unique=True, max_length=60)
    kind: str = Field(default="demand", max_length=40)
    position: int = 0
    title: Bilingual = Field(sa_column=Column(JSON, nullable=False))
    summary: Bilingual | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # how far the wording is confirmed, with DOMAIN.md's marks: V verified, P partly, U not
    verification: str | None = Field(default=None, max_length=1)
    source: str | None = None
    source_date: date | None = None
    weight: float = 1.0
    version: int = 1


class ActionStatus(TableModel, table=True):
    """The status vocabulary, as data. Moving an action to a status sets its progress to the
    default when there is one; `counted` False takes the action out of every roll-up."""

    __tablename__ = "action_status"

    key: str = Field(primary_key=True, max_length=20)
    position: int
    label: Bilingual = Field(sa_column=Column(JSON, nullable=False))
    default_progress: int | None = None
    counted: bool = True


class DemandAction(TableModel, table=True):
    """A Maßnahme under a demand. Its progress is the mean of its uptake by Gemeinden unless
    set by hand (`progress_manual`); without uptake it is the stored value."""

    __tablename__ = "demand_action"
    __table_args__ = (
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("weight >= 0", name="weight"),
        CheckConstraint("NOT (owner_ars IS NOT NULL AND owner_body IS NOT NULL)", name="one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    demand_id: int = Field(foreign_key="demand.id", index=True)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    title: Bilingual = Field(sa_column=Column(JSON, nullable=False))
    description: Bilingual | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    responsible_level: str = Field(max_length=30)
    owner_ars: str | None = Field(default=None, foreign_key="gemeinde.ars", max_length=12)
    owner_body: str | None = Field(default=None, max_length=200)
    status: str = Field(foreign_key="action_status.key", max_length=20)
    progress: int = 0
    progress_manual: bool = False
    weight: float = 1.0
    start_date: date | None = None
    due_date: date | None = None
    source: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)
    version: int = 1


class ActionUptake(TableModel, table=True):
    """One Gemeinde's take-up of an action, with its own status and progress."""

    __tablename__ = "action_uptake"
    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),)

    action_id: int = Field(primary_key=True, foreign_key="demand_action.id")
    ars: str = Field(primary_key=True, foreign_key="gemeinde.ars", max_length=12)
    status: str = Field(foreign_key="action_status.key", max_length=20)
    progress: int = 0
    comment: str | None = None
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    changed_by: str = Field(max_length=100)
    version: int = 1


class ActionMilestone(TableModel, table=True):
    """A dated step of an action; overdue while not done after its date."""

    __tablename__ = "action_milestone"

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="demand_action.id", index=True)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    due_date: date
    title: Bilingual = Field(sa_column=Column(JSON, nullable=False))
    done_at: date | None = None
    source: str | None = None
    version: int = 1


class DemandEvent(TableModel, table=True):
    """Append-only history of actions and their uptake: `changes` maps each field to
    [old, new]; `ars` names the Gemeinde of an uptake change. Never updated or deleted."""

    __tablename__ = "demand_event"
    __table_args__ = (Index("ix_demand_event_action_id_id", "action_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="demand_action.id")
    ars: str | None = Field(default=None, max_length=12)
    kind: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    author: str = Field(max_length=100)
    comment: str | None = None
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class DemandLink(TableModel, table=True):
    """A link of an action to something by kind and key, with the reason. Generic on purpose:
    research links its findings and recommendations here without a new table."""

    __tablename__ = "demand_link"
    __table_args__ = (UniqueConstraint("action_id", "kind", "target", name="action_kind_target"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="demand_action.id", index=True)
    kind: str = Field(max_length=20)
    target: str = Field(max_length=100)
    reason: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=100)


# what research's generic recommendation links may name on this side (tracker/links.py)
link_target("demand", table=Demand.__tablename__, column="key", label="Demand")
link_target("action", table=DemandAction.__tablename__, column="id", label="Maßnahme", integer=True)
