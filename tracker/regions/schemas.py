"""API shapes of the region register."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, computed_field

from tracker.regions.models import GEMEINDE_TYPEN, KREIS_TYPEN, VERBAND_TYPEN

VALIDITY = (
    "Gebietsstand of the GV100AD release this row comes from; "
    "invalid_since is set once a later release no longer lists it."
)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LandRead(_Read):
    code: str = Field(description="2-digit Land code (01 Schleswig-Holstein … 16 Thüringen).")
    name: str
    sitz: str | None = Field(description="Sitz der Landesregierung.")
    gemeinden_count: int = Field(
        description="Gemeinden currently valid, gemeindefreie Gebiete included."
    )
    bevoelkerung: int = Field(
        description="Sum of the Gemeinden's population (Destatis, 31.12.2024)."
    )
    gebietsstand: date = Field(description=VALIDITY)
    invalid_since: date | None


class KreisRead(_Read):
    code: str = Field(description="5-digit Kreis code (Land, RB, Kreis).")
    name: str
    typ_code: int
    land_code: str
    land: str
    regbez_code: str | None
    sitz: str | None
    gemeinden_count: int
    bevoelkerung: int
    gebietsstand: date
    invalid_since: date | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def typ(self) -> str:
        return KREIS_TYPEN.get(self.typ_code, "")


class GemeindeRead(_Read):
    ars: str = Field(description="12-digit Amtlicher Regionalschlüssel.")
    ags: str = Field(description="8-digit Amtlicher Gemeindeschlüssel = ARS[0:5] + ARS[9:12].")
    name: str = Field(description="Official name with suffixes such as ', Stadt'.")
    display_name: str
    typ_code: int
    land_code: str
    kreis_code: str | None = Field(
        description="null for gemeindefreie Gebiete directly under a Land."
    )
    verband_ars: str
    flaeche_ha: int
    bevoelkerung: int
    bevoelkerung_maennlich: int
    plz: str | None = Field(
        description="The (first) PLZ; plz_eindeutig is false when there are several."
    )
    plz_eindeutig: bool
    gebietsstand: date = Field(description=VALIDITY)
    invalid_since: date | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def typ(self) -> str:
        return GEMEINDE_TYPEN.get(self.typ_code, "")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bevoelkerung_weiblich(self) -> int:
        return self.bevoelkerung - self.bevoelkerung_maennlich


class LandRef(_Read):
    code: str
    name: str


class RegierungsbezirkRef(_Read):
    code: str
    name: str


class KreisRef(_Read):
    code: str
    name: str
    typ_code: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def typ(self) -> str:
        return KREIS_TYPEN.get(self.typ_code, "")


class VerbandRef(_Read):
    ars: str
    name: str
    typ_code: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def typ(self) -> str:
        return VERBAND_TYPEN.get(self.typ_code, "")


class GemeindeDetail(GemeindeRead):
    land: LandRef
    regierungsbezirk: RegierungsbezirkRef | None
    kreis: KreisRef | None
    verband: VerbandRef
    finanzamtsbezirk: str | None
    oberlandesgericht: str | None
    landgericht: str | None
    amtsgericht: str | None
    arbeitsagentur: str | None
    btwk_von: str | None
    btwk_bis: str | None
