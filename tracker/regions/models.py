"""Region tables, keyed by the official codes. A unit missing from a later GV100AD release keeps
its row; `invalid_since` then holds that release's Gebietsstand."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field

from tracker.db import TableModel


class RegisterUnit(TableModel):
    """What every level of the register has: its name, seat and validity."""

    name: str
    sitz: str | None = None
    gebietsstand: date
    invalid_since: date | None = None


class Land(RegisterUnit, table=True):
    code: str = Field(primary_key=True, max_length=2)


class Regierungsbezirk(RegisterUnit, table=True):
    """Regierungsbezirk, or Statistische Region in Niedersachsen (code: Land + 1 digit)."""

    code: str = Field(primary_key=True, max_length=3)
    land_code: str = Field(foreign_key="land.code", index=True)


class Region(RegisterUnit, table=True):
    """Region of Baden-Württemberg (Satzart 30); its digit is the first digit of its Kreise."""

    code: str = Field(primary_key=True, max_length=4)
    land_code: str = Field(foreign_key="land.code", index=True)


class Kreis(RegisterUnit, table=True):
    code: str = Field(primary_key=True, max_length=5)
    land_code: str = Field(foreign_key="land.code", index=True)
    regbez_code: str | None = Field(default=None, foreign_key="regierungsbezirk.code", index=True)
    typ_code: int


class Gemeindeverband(RegisterUnit, table=True):
    """`kreis_code` is NULL for areas directly under the Land (Kreis digits 000 in GV100AD)."""

    ars: str = Field(primary_key=True, max_length=9)
    kreis_code: str | None = Field(default=None, foreign_key="kreis.code", index=True)
    land_code: str = Field(foreign_key="land.code", index=True)
    typ_code: int


class Gemeinde(TableModel, table=True):
    """`kreis_code` is NULL for the few gemeindefreie Gebiete directly under a Land."""

    ars: str = Field(primary_key=True, max_length=12)
    ags: str = Field(unique=True, max_length=8)
    name: str
    display_name: str
    search_name: str = Field(index=True)
    typ_code: int = Field(index=True)
    land_code: str = Field(foreign_key="land.code", index=True)
    regbez_code: str | None = Field(default=None, foreign_key="regierungsbezirk.code")
    kreis_code: str | None = Field(default=None, foreign_key="kreis.code", index=True)
    verband_ars: str = Field(foreign_key="gemeindeverband.ars", index=True)
    flaeche_ha: int
    bevoelkerung: int = Field(index=True)
    bevoelkerung_maennlich: int
    plz: str | None = None
    plz_eindeutig: bool
    finanzamtsbezirk: str | None = None
    oberlandesgericht: str | None = None
    landgericht: str | None = None
    amtsgericht: str | None = None
    arbeitsagentur: str | None = None
    btwk_von: str | None = None
    btwk_bis: str | None = None
    gebietsstand: date
    invalid_since: date | None = None


# Textkennzeichen of the GV100AD record layout.
KREIS_TYPEN = {
    41: "Kreisfreie Stadt",
    42: "Stadtkreis",
    43: "Kreis",
    44: "Landkreis",
    45: "Regionalverband",
}
VERBAND_TYPEN = {
    50: "verbandsfreie Gemeinde",
    51: "Amt",
    52: "Samtgemeinde",
    53: "Verbandsgemeinde",
    54: "Verwaltungsgemeinschaft",
    55: "Kirchspielslandgemeinde",
    56: "Verwaltungsverband",
    57: "VG Trägermodell",
    58: "Erfüllende Gemeinde",
}
GEMEINDE_TYPEN = {
    60: "Markt",
    61: "Kreisfreie Stadt",
    62: "Stadtkreis",
    63: "Stadt",
    64: "Kreisangehörige Gemeinde",
    65: "gemeindefreies Gebiet, bewohnt",
    66: "gemeindefreies Gebiet, unbewohnt",
    67: "Große Kreisstadt",
}
