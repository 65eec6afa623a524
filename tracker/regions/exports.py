"""CSV rows of the region register, in the columns of the converted Destatis CSVs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tracker.regions.models import GEMEINDE_TYPEN, KREIS_TYPEN, VERBAND_TYPEN

LAND_COLUMNS = [
    "land_code",
    "name",
    "sitz_landesregierung",
    "anzahl_gemeinden",
    "bevoelkerung",
    "gebietsstand",
]
KREIS_COLUMNS = [
    "kreis_code", "name", "kreis_typ_code", "kreis_typ", "sitz", "land_code", "land_name",
    "regbez_code", "anzahl_gemeinden", "bevoelkerung", "gebietsstand",
]  # fmt: skip
GEMEINDE_COLUMNS = [
    "ars", "ags", "name", "gemeinde_typ_code", "gemeinde_typ", "land_code", "land_name",
    "kreis_code", "kreis_name", "verband_ars", "verband_name", "verband_typ", "flaeche_ha",
    "bevoelkerung",
    "bevoelkerung_maennlich", "bevoelkerung_weiblich", "plz", "plz_eindeutig", "finanzamtsbezirk",
    "oberlandesgericht", "landgericht", "amtsgericht", "arbeitsagentur", "btwk_von", "btwk_bis",
    "gebietsstand",
]  # fmt: skip


def land_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    for row in rows:
        land = row.Land
        yield [
            land.code,
            land.name,
            land.sitz,
            row.gemeinden_count,
            row.bevoelkerung,
            land.gebietsstand,
        ]


def kreis_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    for row in rows:
        kreis = row.Kreis
        yield [
            kreis.code, kreis.name, kreis.typ_code, KREIS_TYPEN.get(kreis.typ_code, ""), kreis.sitz,
            kreis.land_code, row.land, kreis.regbez_code, row.gemeinden_count, row.bevoelkerung,
            kreis.gebietsstand,
        ]  # fmt: skip


def gemeinde_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    for row in rows:
        g = row.Gemeinde
        yield [
            g.ars, g.ags, g.name, g.typ_code, GEMEINDE_TYPEN.get(g.typ_code, ""), g.land_code,
            row.land_name, g.kreis_code, row.kreis_name, g.verband_ars, row.verband_name,
            VERBAND_TYPEN.get(row.verband_typ_code, ""), g.flaeche_ha, g.bevoelkerung,
            g.bevoelkerung_maennlich, g.bevoelkerung - g.bevoelkerung_maennlich, g.plz,
            "ja" if g.plz_eindeutig else "nein", g.finanzamtsbezirk, g.oberlandesgericht,
            g.landgericht, g.amtsgericht, g.arbeitsagentur, g.btwk_von, g.btwk_bis, g.gebietsstand,
        ]  # fmt: skip
