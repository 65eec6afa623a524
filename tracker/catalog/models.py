"""Catalogue tables. Keys are the source's own: Themenfeld and Lebenslage ids, the OZG-ID."""

from __future__ import annotations

from sqlalchemy import JSON, Column
from sqlmodel import Field

from tracker.db import TableModel


class Themenfeld(TableModel, table=True):
    id: int = Field(primary_key=True)
    name: str


class Lebenslage(TableModel, table=True):
    """Lebens- or Geschäftslage. Rows no OZG-Leistung uses (the source's test rows) are kept."""

    id: int = Field(primary_key=True)
    name: str
    themenfeld_id: int = Field(foreign_key="themenfeld.id", index=True)


class OzgLeistung(TableModel, table=True):
    __tablename__ = "ozg_leistung"

    ozg_id: str = Field(primary_key=True, max_length=20)
    name: str
    search_name: str = Field(index=True)
    lebenslage_id: int = Field(foreign_key="lebenslage.id", index=True)
    themenfeld_id: int = Field(foreign_key="themenfeld.id", index=True)
    kdn_id: int | None = None


class LeikaLeistung(TableModel, table=True):
    """One row of the LeiKa map. `leika_key` is NULL where the source says „nicht im LeiKa“.

    Rows are identified by the source's own row id (`kdn_id`), since a key may be missing.
    """

    __tablename__ = "leika_leistung"

    id: int | None = Field(default=None, primary_key=True)
    kdn_id: int = Field(unique=True)
    leika_key: str | None = Field(default=None, unique=True, max_length=14)
    name: str
    search_name: str = Field(index=True)
    leika_typ: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ozg_id: str | None = Field(default=None, foreign_key="ozg_leistung.ozg_id", index=True)
    gesetz_kurz: str | None = None
    gesetze: str | None = None
    rechtsgrundlage: str | None = None
    sdg1_relevant: bool
    sdg2_relevant: bool
