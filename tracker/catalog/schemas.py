"""API shapes of the catalogue (whitelists of what is published)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ThemenfeldRead(_Read):
    id: int
    name: str
    leistungen_count: int = Field(description="OZG-Leistungen in this Themenfeld.")


class LebenslageRead(_Read):
    id: int
    name: str
    themenfeld_id: int
    themenfeld: str
    leistungen_count: int = Field(
        description="OZG-Leistungen of this Lage; 0 for the source's test rows."
    )


class LeistungRead(_Read):
    ozg_id: str
    name: str
    lebenslage_id: int
    lebenslage: str
    themenfeld_id: int
    themenfeld: str
    leika_count: int = Field(
        description="LeiKa rows mapped to this OZG-Leistung, „nicht im LeiKa“ included."
    )


class LeikaRead(_Read):
    id: int
    leika_key: str | None = Field(
        description="14 digits; null where the source says „nicht im LeiKa“."
    )
    in_leika: bool
    federal_key: bool | None = Field(
        description="Key starts with 99 (nation-wide); other prefixes are probably Land keys."
    )
    name: str
    leika_typ: list[str] = Field(description="LeiKa-Typ codes (1, 2/3, 4, 5 …); several or none.")
    ozg_id: str | None
    gesetz_kurz: str | None
    gesetze: str | None
    rechtsgrundlage: str | None
    sdg1_relevant: bool
    sdg2_relevant: bool
    kdn_id: int

    @classmethod
    def from_row(cls, row: Any) -> LeikaRead:
        key = row.leika_key
        return cls.model_validate(
            {
                **{name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)},
                "in_leika": key is not None,
                "federal_key": None if key is None else key.startswith("99"),
            }
        )


class LeistungDetail(LeistungRead):
    leika: list[LeikaRead]


class LeikaDetail(LeikaRead):
    ozg_leistung: LeistungRead | None
