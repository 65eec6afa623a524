"""The deterministic redactor: removes personal data from a text before it is published and
says what it removed, why, and where. Validators come from maintained libraries where they
exist: `phonenumbers` (German and international numbers), `schwifty` (IBAN), `python-stdnum`
(Steuer-ID `de.idnr`, Steuernummer `de.stnr`; it has no Personalausweis validator, so ID-card
numbers are not recognised). Patterns cover e-mail addresses, PLZ + Ort, Straße + Hausnummer,
dates of birth, names after honorifics and roles, a study's names-to-redact list and manual
marks `[[…]]`. Detectors run in a fixed order; a later one never takes text an earlier one took."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.de import idnr, stnr


@dataclass(frozen=True)
class Removal:
    kind: str
    reason: str
    start: int  # span in the original text, end exclusive
    end: int


@dataclass(frozen=True)
class Redacted:
    text: str
    removals: list[Removal]


PLACEHOLDERS = {
    "manual": "[entfernt]",
    "email": "[E-Mail]",
    "iban": "[IBAN]",
    "steuer_id": "[Steuer-ID]",
    "steuernummer": "[Steuernummer]",
    "phone": "[Telefon]",
    "birth_date": "[Geburtsdatum]",
    "street": "[Adresse]",
    "postal_code": "[Adresse]",
    "listed_name": "[Name]",
    "name": "[Name]",
}
REASONS = {
    "manual": "marked by hand with [[…]]",
    "email": "e-mail address",
    "iban": "IBAN (valid check digits, schwifty)",
    "steuer_id": "Steuer-ID (stdnum de.idnr)",
    "steuernummer": "Steuernummer (stdnum de.stnr)",
    "phone": "phone number (phonenumbers)",
    "birth_date": "date of birth",
    "street": "street and house number",
    "postal_code": "PLZ and Ort",
    "listed_name": "on the study's list of names to redact",
    "name": "name after an honorific or role",
}
# The same, for the German pages (the i18n table renders them back in English)
GERMAN_REASONS = {
    "manual": "von Hand mit [[…]] markiert",
    "email": "E-Mail-Adresse",
    "iban": "IBAN (gültige Prüfziffern, schwifty)",
    "steuer_id": "Steuer-ID (stdnum de.idnr)",
    "steuernummer": "Steuernummer (stdnum de.stnr)",
    "phone": "Telefonnummer (phonenumbers)",
    "birth_date": "Geburtsdatum",
    "street": "Straße und Hausnummer",
    "postal_code": "PLZ und Ort",
    "listed_name": "auf der Liste der zu schwärzenden Namen der Studie",
    "name": "Name nach Anrede oder Funktion",
}
KIND_LABELS = {
    "manual": "Markierung", "email": "E-Mail", "iban": "IBAN", "steuer_id": "Steuer-ID",
    "steuernummer": "Steuernummer", "phone": "Telefon", "birth_date": "Geburtsdatum",
    "street": "Adresse", "postal_code": "PLZ und Ort", "listed_name": "gelisteter Name",
    "name": "Name",
}  # fmt: skip

Span = tuple[int, int]
_UPPER = "A-ZÄÖÜ"
_LOWER = "a-zäöüß"
_WORD = rf"[{_UPPER}][{_LOWER}]+"
_MANUAL = re.compile(r"\[\[[^\[\]]*\]\]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b")
_IDNR = re.compile(r"(?<![0-9])[0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}(?![0-9])")
_STNR = re.compile(r"(?<![0-9/])(?:[0-9]{2,3}/[0-9]{3,4}/[0-9]{4,5}|[0-9]{13})(?![0-9/])")
_BIRTH = re.compile(
    r"(?:geb\.|geboren(?: am)?|Geburtsdatum:?|Geburtstag:?)\s*"
    r"([0-9]{1,2}\.\s?[0-9]{1,2}\.\s?(?:[0-9]{4}|[0-9]{2})\b)",
    re.IGNORECASE,
)
_SUFFIXES = ("straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "ring", "damm", "ufer")
_SUFFIX = "|".join(re.escape(suffix) for suffix in _SUFFIXES)
_CAPITAL_SUFFIX = "|".join(re.escape(suffix.capitalize()) for suffix in _SUFFIXES)
_PART = rf"[{_UPPER}][{_LOWER}]*"
# "Lindenstraße 4", "Am-Werk-Weg 12a", "Karl-Marx-Str. 3"
_STREET = re.compile(
    rf"\b(?:{_PART}-)*(?:{_PART}(?:{_SUFFIX})|(?<=-)(?:{_CAPITAL_SUFFIX}))"
    r"\s+[0-9]{1,4}(?:\s?[a-z])?\b"
)
_POSTAL = re.compile(rf"(?<![0-9])[0-9]{{5}}\s+{_WORD}(?:[- ]{_WORD})*")
_NAME = r"[^\W\d_]+(?:-[^\W\d_]+)*"  # letters of any script, hyphenated parts
_HONORIFIC = re.compile(
    r"\b(?:Herrn?|Frau|Dr\.|Prof\.|Sachbearbeiter(?:in)?|Mitarbeiter(?:in)?|Bürgermeister(?:in)?"
    r"|Kolleg(?:e|in)|Nachbar(?:in)?)\s+(?:(?:Dr\.|Prof\.)\s+)*"
    rf"({_NAME})(?:\s+({_NAME}))?"
)


def _matches(pattern: re.Pattern[str], text: str, group: int = 0) -> Iterator[Span]:
    for match in pattern.finditer(text):
        yield match.start(group), match.end(group)


def _emails(text: str) -> Iterator[Span]:
    return _matches(_EMAIL, text)


def _ibans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        candidate = match.group(0)
        # the pattern may run into a following word: try shorter tails until one is valid
        for end in range(len(candidate), 14, -1):
            try:
                IBAN(candidate[:end].replace(" ", ""))
            except SchwiftyException:
                continue
            yield match.start(), match.start() + len(candidate[:end].rstrip())
            break


def _checked(
    pattern: re.Pattern[str], valid: Callable[[str], bool]
) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for match in pattern.finditer(text):
            if valid(match.group(0).replace(" ", "")):
                yield match.start(), match.end()

    return find


def _phones(text: str) -> Iterator[Span]:
    leniency = phonenumbers.Leniency.VALID
    for match in phonenumbers.PhoneNumberMatcher(text, "DE", leniency=leniency):
        if sum(ch.isdigit() for ch in match.raw_string) >= 6:  # "16932" is a PLZ, not a number
            yield match.start, match.end


def _names(text: str) -> Iterator[Span]:
    """A capitalised name after an honorific or role, with a second capitalised part."""
    for match in _HONORIFIC.finditer(text):
        if not match.group(1)[0].isupper():
            continue
        end = match.end(2) if match.group(2) and match.group(2)[0].isupper() else match.end(1)
        yield match.start(1), end


def _listed(names: Iterable[str]) -> Callable[[str], Iterator[Span]]:
    patterns = [
        re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)", re.IGNORECASE)
        for name in sorted(names, key=len, reverse=True)
        if name.strip()
    ]

    def find(text: str) -> Iterator[Span]:
        for pattern in patterns:
            yield from _matches(pattern, text)

    return find


def _detectors(names: Iterable[str]) -> list[tuple[str, Callable[[str], Iterable[Span]]]]:
    return [
        ("manual", lambda text: _matches(_MANUAL, text)),
        ("email", _emails),
        ("iban", _ibans),
        ("steuer_id", _checked(_IDNR, idnr.is_valid)),
        ("steuernummer", _checked(_STNR, stnr.is_valid)),
        ("birth_date", lambda text: _matches(_BIRTH, text, 1)),
        ("street", lambda text: _matches(_STREET, text)),
        ("postal_code", lambda text: _matches(_POSTAL, text)),
        ("phone", _phones),
        ("listed_name", _listed(names)),
        ("name", _names),
    ]


def find_personal_data(text: str, names: Iterable[str] = ()) -> list[Removal]:
    """Every span of personal data in `text`, in text order, none overlapping."""
    taken: list[Removal] = []
    for kind, detect in _detectors(names):
        for start, end in detect(text):
            if start < end and not any(start < r.end and r.start < end for r in taken):
                taken.append(Removal(kind, REASONS[kind], start, end))
    return sorted(taken, key=lambda removal: removal.start)


def redact(text: str, names: Iterable[str] = ()) -> Redacted:
    """The public text (each removal replaced by its placeholder) and the list of removals."""
    removals = find_personal_data(text, names)
    parts: list[str] = []
    position = 0
    for removal in removals:
        parts += [text[position : removal.start], PLACEHOLDERS[removal.kind]]
        position = removal.end
    parts.append(text[position:])
    return Redacted("".join(parts), removals)
