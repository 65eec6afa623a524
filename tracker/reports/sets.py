"""Which Gemeinden a comparison report compares: a set definition as one permalink string.

Terms, separated by `;`, each narrowing the set (all must hold):

    de                     every inhabited Gemeinde in Germany
    land:05                a Land
    rb:051                 a Regierungsbezirk (Statistische Region in Niedersachsen)
    kreis:05315            a Kreis or kreisfreie Stadt
    kreisfrei              kreisfreie Städte and Stadtkreise (Gemeindetyp 61, 62)
    typ:61,63              Gemeindetypen (GV100AD Textkennzeichen)
    band:grossstadt        a population band (`Settings.population_bands`)
    dst                    the Deutscher Städtetag's member cities (`Settings.dst_members_file`)
    ars:053150000000,…     a hand-picked list (ARS or AGS)
    peers:053150000000     a Gemeinde's peer group (itself included): by default the same
                           population band and Gemeindetyp;
    peers:05315000:land,typ,band   or by the criteria named

So `land:05;kreisfrei` is the kreisfreien Städte of NRW, `land:09;band:mittelstadt` Bavaria's
Mittelstädte. Every set holds only inhabited, valid Gemeinden (`regions.queries.inhabited`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run, tuples
from tracker.errors import InvalidInput
from tracker.regions.models import GEMEINDE_TYPEN, Gemeinde, Kreis, Land, Regierungsbezirk
from tracker.regions.queries import inhabited
from tracker.settings import Settings

KREISFREI = (61, 62)  # Kreisfreie Stadt, Stadtkreis
PEER_CRITERIA = ("land", "typ", "band")
DEFAULT_PEERS = ("typ", "band")
BAND_NAMES = {
    "grossstadt": ("Großstadt", "large city"),
    "mittelstadt": ("Mittelstadt", "medium-sized town"),
    "kleinstadt": ("Kleinstadt", "small town"),
    "landgemeinde": ("Landgemeinde", "rural municipality"),
}
_TERM = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<value>.*))?$")
_CODE = {"land": r"\d{2}", "rb": r"\d{3}", "kreis": r"\d{5}"}
_GEMEINDE = re.compile(r"^\d{8}$|^\d{12}$")
MAX_LISTED = 1000
# names of Regierungsbezirke and Kreise that already say what they are („Reg.-Bez. Köln“,
# „Statistische Region Hannover“, „Mettmann, Kreis“): not prefixed a second time
_SAYS_WHAT = re.compile(
    r"^(Reg\.-Bez\.|Regierungsbezirk|Statistische Region|Kreis|Landkreis|Stadtkreis|Region|"
    r"Städteregion|Regionalverband)\s|, (Kreis|Landkreis|Stadt|Stadtkreis|Kreisfreie Stadt)$"
)
_NO_KEY_DE = "kein ARS (12 Ziffern) und kein AGS (8 Ziffern)"


@dataclass(frozen=True)
class Band:
    key: str
    lowest: int  # inhabitants, inclusive
    highest: int | None  # exclusive; None: no upper bound

    def holds(self, population: int) -> bool:
        return population >= self.lowest and (self.highest is None or population < self.highest)

    def name(self, language: str = "de") -> str:
        german, english = BAND_NAMES.get(self.key, (self.key, self.key))
        return german if language == "de" else english

    def label(self, language: str = "de") -> str:
        if self.highest is None:
            span = f"≥ {_number(self.lowest)}"
        elif self.lowest == 0:
            span = f"< {_number(self.highest)}"
        else:
            span = f"{_number(self.lowest)}–{_number(self.highest - 1)}"
        return f"{self.name(language)} ({span})"


def _number(count: int) -> str:
    return f"{count:,}".replace(",", ".")


def bands(settings: Settings) -> list[Band]:
    """The population bands, largest first, from their lower bounds."""
    ordered = sorted(settings.population_bands, key=lambda band: -band[1])
    return [
        Band(key, lowest, None if index == 0 else ordered[index - 1][1])
        for index, (key, lowest) in enumerate(ordered)
    ]


def band_of(population: int, known: list[Band]) -> Band | None:
    return next((band for band in known if band.holds(population)), None)


@dataclass(frozen=True)
class GemeindeSet:
    """A resolved set definition: its canonical permalink form, what it says in words, the
    conditions on `gemeinde` that select it, and the Gemeinde whose peers it is (if any)."""

    definition: str
    description: dict[str, str]
    conditions: tuple[ColumnElement[bool], ...]
    focus: str | None = None
    listed: tuple[str, ...] = ()  # the DST members read from the configured file

    async def count(self, session: AsyncSession) -> int:
        statement = select(func.count()).select_from(Gemeinde).where(*self.conditions)
        return int((await run(session, statement)).scalar_one())

    async def members(self, session: AsyncSession) -> list[Any]:
        statement = (
            select(
                col(Gemeinde.ars), col(Gemeinde.ags), col(Gemeinde.display_name),
                col(Gemeinde.typ_code), col(Gemeinde.bevoelkerung), col(Gemeinde.land_code),
                col(Gemeinde.kreis_code),
            )
            .where(*self.conditions)
            .order_by(col(Gemeinde.ars))
        )  # fmt: skip
        return list((await run(session, statement)).all())


def _bad(term: str, why: str, warum: str) -> InvalidInput:
    """A term that cannot be read: in English for the API, in German for the page."""
    return InvalidInput(f"set: {term!r}: {why}", german=f"Definition „{term}“: {warum}")


async def _name(session: AsyncSession, model: Any, code: str, term: str) -> str:
    found = (await run(session, select(col(model.name)).where(col(model.code) == code))).first()
    if found is None:
        raise _bad(term, f"no such code {code}", f"den Schlüssel {code} gibt es nicht")
    return str(found[0])


async def _gemeinde(session: AsyncSession, key: str, term: str) -> Any:
    if not _GEMEINDE.match(key):
        raise _bad(term, f"{key!r} is no ARS (12 digits) or AGS (8 digits)", _NO_KEY_DE)
    column = Gemeinde.ars if len(key) == 12 else Gemeinde.ags
    found = (await run(session, select(Gemeinde).where(col(column) == key))).scalars().first()
    if found is None:
        raise _bad(
            term, f"no Gemeinde has the key {key}", f"keine Gemeinde hat den Schlüssel {key}"
        )
    return found


async def _gemeinden(session: AsyncSession, keys: list[str], term: str) -> list[str]:
    """The ARS of these ARS or AGS, in one query; the first unknown one is a clear error."""
    for key in keys:
        if not _GEMEINDE.match(key):
            raise _bad(term, f"{key!r} is no ARS (12 digits) or AGS (8 digits)", _NO_KEY_DE)
    statement = select(col(Gemeinde.ars), col(Gemeinde.ags)).where(
        col(Gemeinde.ars).in_(keys) | col(Gemeinde.ags).in_(keys)
    )
    found = {key: ars for ars, ags in await tuples(session, statement) for key in (ars, ags)}
    for key in keys:
        if key not in found:
            raise _bad(
                term, f"no Gemeinde has the key {key}", f"keine Gemeinde hat den Schlüssel {key}"
            )
    return sorted({found[key] for key in keys})


def dst_members(settings: Settings) -> list[str]:
    """The DST member cities' ARS: one per line (or the first column of a CSV), `#` comments."""
    path: Path | None = settings.dst_members_file
    if path is None:
        raise InvalidInput(
            "set: 'dst': no list of the Deutscher Städtetag's member cities is configured "
            "(TRACKER_DST_MEMBERS_FILE).",
            german="„dst“: Es ist keine Liste der Mitgliedsstädte des Deutschen Städtetages "
            "eingerichtet (TRACKER_DST_MEMBERS_FILE, eine ARS je Zeile).",
        )
    found: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise InvalidInput(
            f"set: 'dst': the member list {path} cannot be read ({error}).",
            german=f"„dst“: Die Liste der Mitgliedsstädte {path} ist nicht lesbar ({error}).",
        ) from error
    for number, line in enumerate(lines, start=1):
        cell = line.split("#", 1)[0].split(";")[0].split(",")[0].strip().strip('"')
        if not cell or cell.lower() == "ars":
            continue
        if not re.fullmatch(r"\d{12}", cell):
            raise InvalidInput(
                f"{path.name}:{number}: {cell!r} is no ARS (12 digits).",
                german=f"{path.name}:{number}: „{cell}“ ist kein ARS (12 Ziffern).",
            )
        found.append(cell)
    return found


async def resolve(session: AsyncSession, definition: str, settings: Settings) -> GemeindeSet:
    """The set a definition names; a clear 422 naming the term that cannot be read."""
    terms = [term.strip() for term in definition.strip().lower().split(";") if term.strip()]
    if not terms:
        raise InvalidInput(
            "set: empty; e.g. land:05, kreisfrei, peers:053150000000.",
            german="Die Definition ist leer; z. B. land:05, kreisfrei, peers:053150000000.",
        )
    conditions: list[ColumnElement[bool]] = list(inhabited())
    canonical: list[str] = []
    german: list[str] = []
    english: list[str] = []
    focus: str | None = None
    listed: tuple[str, ...] = ()
    known_bands = bands(settings)
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise _bad(term, "a term is kind or kind:value", "ein Begriff ist Art oder Art:Wert")
        kind, value = match["kind"], (match["value"] or "").strip()
        if kind == "de" and not value:
            canonical.append("de")
            german.append("Deutschland")
            english.append("Germany")
        elif kind in _CODE:
            if not re.fullmatch(_CODE[kind], value):
                digits = len(_CODE[kind]) - 4
                raise _bad(
                    term, f"{kind} takes a code of {digits} digits",
                    f"{kind} braucht einen Schlüssel aus {digits} Ziffern",
                )  # fmt: skip
            model, column, what = {
                "land": (Land, Gemeinde.land_code, ("Land", "Land")),
                "rb": (Regierungsbezirk, Gemeinde.regbez_code, ("Regierungsbezirk", "district")),
                "kreis": (Kreis, Gemeinde.kreis_code, ("Kreis", "Kreis")),
            }[kind]
            name = await _name(session, model, value, term)
            conditions.append(col(column) == value)
            canonical.append(f"{kind}:{value}")
            # a name that already says what it is („Reg.-Bez. Köln“) is not prefixed again
            said = kind != "land" and _SAYS_WHAT.search(name) is not None
            german.append(name.replace("Reg.-Bez. ", "Regierungsbezirk ") if said
                          else f"{what[0]} {name}")  # fmt: skip
            english.append(f"{what[1]} {name.removeprefix('Reg.-Bez. ')}")
        elif kind == "kreisfrei" and not value:
            conditions.append(col(Gemeinde.typ_code).in_(KREISFREI))
            canonical.append("kreisfrei")
            german.append("kreisfreie Städte")
            english.append("county-free cities")
        elif kind == "typ":
            codes = sorted({int(code) for code in re.findall(r"\d+", value)})
            if not codes or any(code not in GEMEINDE_TYPEN for code in codes):
                known = ", ".join(map(str, GEMEINDE_TYPEN))
                raise _bad(term, f"Gemeindetypen are {known}", f"Gemeindetypen sind {known}")
            conditions.append(col(Gemeinde.typ_code).in_(codes))
            canonical.append("typ:" + ",".join(map(str, codes)))
            names = ", ".join(GEMEINDE_TYPEN[code] for code in codes)
            german.append(f"Gemeindetyp {names}")
            english.append(f"municipality type {names}")
        elif kind == "band":
            band = next((band for band in known_bands if band.key == value), None)
            if band is None:
                named = ", ".join(band.key for band in known_bands)
                raise _bad(term, f"bands are {named}", f"Größenklassen sind {named}")
            conditions.append(_in_band(band))
            canonical.append(f"band:{band.key}")
            german.append(band.label("de"))
            english.append(band.label("en"))
        elif kind == "dst" and not value:
            listed = tuple(dst_members(settings))
            conditions.append(col(Gemeinde.ars).in_(listed))
            canonical.append("dst")
            german.append("Mitgliedsstädte des Deutschen Städtetages")
            english.append("member cities of the Deutscher Städtetag")
        elif kind == "ars":
            keys = sorted({key.strip() for key in value.split(",") if key.strip()})
            if not keys or len(keys) > MAX_LISTED:
                raise _bad(
                    term, f"list 1 to {MAX_LISTED} ARS or AGS, separated by commas",
                    f"1 bis {MAX_LISTED} ARS oder AGS, durch Kommas getrennt",
                )  # fmt: skip
            picked = await _gemeinden(session, keys, term)
            conditions.append(col(Gemeinde.ars).in_(picked))
            canonical.append("ars:" + ",".join(picked))
            one = len(picked) == 1
            german.append(f"{len(picked)} ausgewählte Gemeinde{'' if one else 'n'}")
            english.append(f"{len(picked)} selected municipalit{'y' if one else 'ies'}")
        elif kind == "peers":
            key, _, criteria_text = value.partition(":")
            gemeinde = await _gemeinde(session, key.strip(), term)
            criteria = tuple(c.strip() for c in criteria_text.split(",") if c.strip())
            criteria = criteria or DEFAULT_PEERS
            unknown = sorted(set(criteria) - set(PEER_CRITERIA))
            if unknown:
                known = ", ".join(PEER_CRITERIA)
                raise _bad(
                    term,
                    f"peer criteria are {known}",
                    f"Merkmale der Vergleichsgruppe sind {known}",
                )
            criteria = tuple(c for c in PEER_CRITERIA if c in criteria)
            focus = gemeinde.ars
            found_de, found_en = [], []
            if "land" in criteria:
                conditions.append(col(Gemeinde.land_code) == gemeinde.land_code)
                land = await _name(session, Land, gemeinde.land_code, term)
                found_de.append(f"im Land {land}")
                found_en.append(f"in {land}")
            if "typ" in criteria:
                conditions.append(col(Gemeinde.typ_code) == gemeinde.typ_code)
                typ = GEMEINDE_TYPEN.get(gemeinde.typ_code, str(gemeinde.typ_code))
                found_de.append(f"vom Gemeindetyp {typ}")
                found_en.append(f"of type {typ}")
            if "band" in criteria:
                band = band_of(gemeinde.bevoelkerung, known_bands)
                if band is not None:
                    conditions.append(_in_band(band))
                    found_de.append(f"der Größenklasse {band.label('de')}")
                    found_en.append(f"in the band {band.label('en')}")
            canonical.append(f"peers:{gemeinde.ars}:{','.join(criteria)}")
            german.append(f"Vergleichsgruppe von {gemeinde.display_name}: " + ", ".join(found_de))
            english.append(f"peer group of {gemeinde.display_name}: " + ", ".join(found_en))
        else:
            kinds = "de, land, rb, kreis, kreisfrei, typ, band, dst, ars, peers"
            raise _bad(term, f"kinds are {kinds}", f"Arten sind {kinds}")
    if sum(term.startswith("peers:") for term in canonical) > 1:
        raise InvalidInput(
            "set: name at most one peer group.",
            german="Die Definition darf höchstens eine Vergleichsgruppe nennen.",
        )
    return GemeindeSet(
        ";".join(canonical),
        {"de": "; ".join(german), "en": "; ".join(english)},
        tuple(conditions),
        focus,
        listed,
    )


def _in_band(band: Band) -> ColumnElement[bool]:
    population = col(Gemeinde.bevoelkerung)
    if band.highest is None:
        return population >= band.lowest
    return (population >= band.lowest) & (population < band.highest)


async def population_sources(session: AsyncSession) -> str:
    """The Destatis source credit for the population figures the set shows."""
    stand = await tuples(session, select(col(Land.gebietsstand)).limit(1))
    when = f" (Gebietsstand {stand[0][0]:%d.%m.%Y})" if stand else ""
    return f"Statistisches Bundesamt (Destatis), Gemeindeverzeichnis GV100AD{when}"
