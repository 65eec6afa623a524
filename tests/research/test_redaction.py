"""The redactor on a synthetic German corpus generated here (no real personal data): every
planted item is removed with the right kind and span, and nothing else is touched."""

from __future__ import annotations

import random

from schwifty import IBAN
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10

from tracker.research.redaction import PLACEHOLDERS, redact

FIRST = ["Anna", "Jonas", "Leyla", "Mehmet", "Sophie", "Lukas", "Zoë", "Björn"]
LAST = ["Kowalczyk", "Brenner", "Öztürk", "Hansen-Weiß", "Lindqvist", "Dąbrowski", "Maier"]
TOWNS = ["Musterstadt", "Beispielhausen", "Neu Testdorf", "Bad Probeburg"]
STREETS = ["Lindenstraße", "Am-Werk-Weg", "Testallee", "Probegasse", "Schillerplatz"]
HONORIFICS = ["Herr", "Frau", "Frau Dr.", "Sachbearbeiterin", "Mitarbeiter", "Herrn Prof."]
PHONES = ["0341 1234567", "+49 30 901820", "0151 23456789", "+43 1 5894321", "(0221) 9876543"]
# sentences with numbers, dates and capitalised nouns that are no personal data
DECOYS = [
    "Der Antrag auf Elterngeld hat 7 Schritte und dauert 25 Minuten.",
    "Am 12.03.2024 wurde der Antrag eingereicht, Version 2.0 des Formulars.",
    "Die Straße zum Bürgeramt ist schlecht ausgeschildert.",
    "Nutzende scheitern beim Hochladen: 3 von 8 brechen ab (Aktenzeichen 2024-117).",
    "Die Wohnsitzanmeldung über das Nutzerkonto BundID klappt nur mit Ausweis-App.",
    "Größe der Datei: 12 MB; erlaubt sind 10 MB.",
]


def steuer_id(rng: random.Random) -> str:
    while True:  # the digit rules are idnr's: draw until one holds
        base = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(9))
        candidate = base + mod_11_10.calc_check_digit(base)
        if idnr.is_valid(candidate):
            return candidate


def plants(rng: random.Random, listed: str) -> list[tuple[str, str, str]]:
    """(text before, planted item, kind) parts of one document."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    account = f"{rng.randint(10**8, 10**9 - 1)}"
    iban = IBAN.generate("DE", bank_code="37040044", account_code=account).formatted
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2005)
    return [
        (f"{rng.choice(HONORIFICS)} ", f"{first} {last}", "name"),
        (" erzählte, sie wohne in der ", f"{rng.choice(STREETS)} {rng.randint(1, 120)}", "street"),
        (", ", f"{rng.randint(10000, 99999)} {rng.choice(TOWNS)}", "postal_code"),
        (". Erreichbar unter ", rng.choice(PHONES), "phone"),
        (" oder ", f"{first.lower()}.{rng.randint(1, 99)}@example.org", "email"),
        (". Geboren am ", f"{day:02d}.{month:02d}.{year}", "birth_date"),
        (", Überweisung an ", iban, "iban"),
        (", Steuer-ID ", steuer_id(rng), "steuer_id"),
        (", Steuernummer ", "181/815/08155", "steuernummer"),
        (". Ihr Nachbar ", listed, "listed_name"),
        (" sagte: ", "[[Frau aus dem dritten Stock]]", "manual"),
    ]


def test_every_planted_item_is_removed_and_nothing_else() -> None:
    rng = random.Random(12)  # noqa: S311  (a reproducible corpus, no secret)
    for _ in range(40):
        listed = f"{rng.choice(FIRST)}a"
        parts = plants(rng, listed)
        rng.shuffle(decoys := list(DECOYS))
        text, expected_text, spans = "", "", []
        for before, item, kind in parts:
            text += before
            expected_text += before
            spans.append((kind, len(text), len(text) + len(item)))
            text += item
            expected_text += PLACEHOLDERS[kind]
        tail = " " + " ".join(decoys[:3])
        text += tail
        expected_text += tail
        result = redact(text, [listed])
        assert [(r.kind, r.start, r.end) for r in result.removals] == spans, text
        assert result.text == expected_text
        for removal in result.removals:
            assert removal.reason


def test_clean_texts_stay_as_they_are() -> None:
    for sentence in DECOYS:
        assert redact(sentence, ["Kowalski"]).removals == []
        assert redact(sentence).text == sentence


def test_invalid_numbers_are_not_taken_for_identifiers() -> None:
    text = "IBAN DE00 1234 5678 9012 3456 78 und Steuer-ID 12345678901 sind ungültig."
    assert redact(text).removals == []
