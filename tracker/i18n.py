"""The pages speak German; `?lang=en` switches to English and is remembered in a cookie.

German text is the key; English renderings stand beside it. Official terms (Leistung, Gemeinde,
ARS, AGS, LeiKa, Reifegrad) stay German in both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

from tracker.regions.models import GEMEINDE_TYPEN, KREIS_TYPEN, VERBAND_TYPEN

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("de", "en")
EN = {
    "Start": "Home",
    "Erkenntnisse aus der Nutzendenforschung": "Findings from user research",
    "Erkenntnis": "Finding",
    "Forschungsfrage": "Research question",
    "Methode": "Method",
    "Code": "Code",
    "Nutzendengruppe": "User group",
    "Einwilligung": "Consent",
    "widerrufen": "withdrawn",
    "Beobachtung erfassen": "Record an observation",
    "Erkenntnis erfassen": "Record a finding",
    "Schwere (1–4)": "Severity (1–4)",
    "Belegende Beobachtungen": "Supporting observations",
    "Altersgruppe": "Age band",
    "Aufnahmen": "Recordings",
    "Der Redaktor entfernt nichts.": "The redactor removes nothing.",
    "Digitale Erfahrung": "Digital experience",
    "Einwilligung am": "Consent given on",
    "Einwilligung umfasst": "Consent covers",
    "Empfehlung": "Recommendation",
    "Entfernt": "Removed",
    "Freigabe": "Review",
    "Freigabe: Erkenntnisse und Empfehlungen": "Review: findings and recommendations",
    "Geschwärzt": "Redacted",
    "Grund": "Reason",
    "Grund der Zurückweisung": "Reason for rejecting",
    "Ihr eigener Entwurf.": "Your own draft.",
    "Keine belegende Beobachtung mehr: erst prüfen.": (
        "No supporting observation left: review it first."
    ),
    "Nichts wartet auf Freigabe.": "Nothing waits for review.",
    "Notizen": "Notes",
    "Nur ein pseudonymer Code: keine Namen, E-Mail-Adressen oder Telefonnummern.": (
        "A pseudonymous code only: no names, e-mail addresses or phone numbers."
    ),
    "Teilnehmende erfassen": "Add a participant",
    "Veröffentlichen": "Publish",
    "Veröffentlicht wird nur der geschwärzte Text. Eigene Entwürfe gibt eine andere Person frei.": (
        "Only the redacted text is published. Someone else publishes your own drafts."
    ),
    "Veröffentlichung": "Publication",
    "Zitate": "Quotes",
    "gering": "low",
    "hoch": "high",
    "mittel": "medium",
    "Öffentlicher Text": "Public text",
    "Art": "Kind",
    "Text": "Text",
    "Suche": "Search",
    "Suchen": "Search",
    "Leistung (OZG-ID)": "Leistung (OZG-ID)",
    "Gemeinde (ARS-Anfang)": "Gemeinde (start of the ARS)",
    "Keine veröffentlichten Erkenntnisse gefunden.": "No published findings found.",
    "Beobachtungen": "Observations",
    "Teilnehmende": "Participants",
    "Die ersten 100; die API liefert alle.": "The first 100; the API gives all.",
    "Belege": "Evidence",
    "gelöscht (Einwilligung widerrufen oder Frist abgelaufen)": (
        "erased (consent withdrawn or retention period over)"
    ),
    "Empfehlungen": "Recommendations",
    "Noch keine veröffentlichte Empfehlung.": "No published recommendation yet.",
    "Noch keine veröffentlichten Erkenntnisse zu dieser Leistung.": (
        "No published findings about this Leistung yet."
    ),
    "Veröffentlichte Erkenntnisse aus allen Gemeinden, nach Schwere": (
        "Published findings from every Gemeinde, by severity"
    ),
    "Schritt der Nutzendenreise": "Journey step",
    "Erkenntnisse": "Findings",
    "ohne Schritt": "no step",
    "kosmetisch": "cosmetic",
    "störend": "irritating",
    "schwerwiegend": "serious",
    "verhindert die Nutzung": "prevents use",
    "Forderungen": "Demands",
    "Unterforderungen": "Sub-demands",
    "Fortschritt": "Progress",
    "Maßnahmen": "Actions (Maßnahmen)",
    "Maßnahme": "Action",
    "überfällige Meilensteine": "overdue milestones",
    "überfälliger Meilenstein": "overdue milestone",
    "überfällig": "overdue",
    "noch kein Fortschritt": "no progress yet",
    "Noch kein Katalog geladen (tracker import demands).": (
        "No catalogue loaded yet (tracker import demands)."
    ),
    "Noch keine Maßnahmen.": "No actions yet.",
    "Belegt": "Verified",
    "belegt": "verified",
    "teilweise belegt": "partly verified",
    "nicht belegt": "not verified",
    "Zuständige Ebene": "Responsible level",
    "Verantwortlich": "Owner",
    "Fällig": "Due",
    "von Hand": "set by hand",
    "Meilensteine": "Milestones",
    "erledigt am": "done on",
    "Verlauf": "History",
    "Zeit": "Time",
    "Änderung": "Change",
    "Kommentar": "Comment",
    "Von": "By",
    "Deutscher Städtetag": "Deutscher Städtetag (Association of German Cities)",
    "andere": "other",
    "Status ändern": "Change status",
    "Vorgabe": "default",
    "Speichern": "Save",
    "Wählen Sie einen Status aus der Liste.": "Choose a status from the list.",
    "von Hand gesetzt": "set by hand",
    "verknüpft von": "linked by",
    "alle": "all",
    "nur überfällige": "overdue only",
    "Filtern": "Filter",
    "Filter zurücksetzen": "Reset filters",
    "Maßnahmen nach Status": "Actions by status",
    "Forderungen im Überblick": "Demands at a glance",
    "Keine Forderung passt zum Filter.": "No demand matches the filter.",
    "über LeiKa": "through LeiKa",
    "Verantwortliche Gemeinde": "Owning Gemeinde",
    "Meilenstein": "Milestone",
    "Import": "Import",
    "Kommandozeile": "command line",
    "ein Nutzerkonto": "a user account",
    "Der Fortschritt ist eine ganze Zahl von 0 bis 100 (leer: die Vorgabe des Status).": (
        "Progress is a whole number from 0 to 100 (empty: the status's default)."
    ),
    "Der Kommentar hat höchstens 2000 Zeichen und keine Steuerzeichen.": (
        "The comment has at most 2000 characters and no control characters."
    ),
    "Inzwischen hat jemand anderes diese Maßnahme geändert; oben steht ihr aktueller Stand. "
    "Ihre Eingabe ist erhalten: prüfen Sie sie und speichern Sie erneut.": (
        "Someone else has changed this action meanwhile; its current state is shown above. "
        "What you typed is kept: check it and save again."
    ),
    "Gemeinde oder Leistung suchen": "Search a Gemeinde or Leistung",
    "Katalog": "Catalogue",
    "Register": "Register",
    "Themenfelder": "Themenfelder (topic areas)",
    "Lebenslagen": "Lebenslagen (life situations)",
    "OZG-Leistungen": "OZG-Leistungen (OZG services)",
    "LeiKa-Leistungen": "LeiKa-Leistungen (LeiKa services)",
    "davon mit LeiKa-Schlüssel": "with a LeiKa key",
    "Länder": "Länder (states)",
    "Kreise": "Kreise (districts)",
    "Gemeindeverbände": "Gemeindeverbände (municipal associations)",
    "Gemeinden": "Gemeinden (municipalities)",
    "Einwohner": "Inhabitants",
    "Gebietsstand": "Territorial status",
    "Bevölkerungsstand": "Population as of",
    "Quelle": "Source",
    "Keine Treffer.": "No results.",
    "Typ": "Type",
    "Land": "Land (state)",
    "Kreis": "Kreis (district)",
    "Gemeindeverband": "Gemeindeverband",
    "Regierungsbezirk": "Regierungsbezirk",
    "Fläche": "Area",
    "Postleitzahl": "Postcode",
    "mehrere": "several",
    "nicht mehr gültig seit": "no longer valid since",
    "Lebenslage": "Lebenslage",
    "Themenfeld": "Themenfeld",
    "LeiKa-Schlüssel": "LeiKa key",
    "LeiKa-Typ": "LeiKa type",
    "Rechtsgrundlage": "Legal basis",
    "nicht im LeiKa": "not in LeiKa",
    "Leistungen": "Leistungen",
    "Leistungen je Themenfeld": "Leistungen per Themenfeld",
    "ohne Kreis (gemeindefreies Gebiet)": "no Kreis (unincorporated area)",
    "Zählregel": "Counting rule",
    "Lebenslagen ohne zugeordnete OZG-Leistung (Testzeilen der Quelle) sind nicht mitgezählt.": (
        "Lebenslagen with no OZG-Leistung (test rows of the source) are not counted."
    ),
    "Gemeinden inklusive gemeindefreier Gebiete; Einwohner nach Destatis.": (
        "Gemeinden including unincorporated areas; inhabitants per Destatis."
    ),
    "API-Dokumentation": "API documentation",
    "Alle OZG-Leistungen": "All OZG-Leistungen",
    "Zur Startseite": "Back to the start page",
    "Die Datei wird erstellt": "The file is being made",
    "Der Vergleich dieser Auswahl ist groß: die Datei wird im Hintergrund erstellt.": (
        "The comparison of this selection is large: the file is made in the background."
    ),
    "in der Warteschlange": "queued",
    "wird erstellt": "being made",
    "Format": "Format",
    "Angefordert": "Requested",
    "Diese Seite fragt alle {seconds} Sekunden nach.": (
        "This page asks again every {seconds} seconds."
    ),
    "Ist die Datei fertig, lädt der Browser sie herunter.": (
        "Once the file is ready, the browser downloads it."
    ),
    "Sie bleibt eine Woche abrufbar.": "It stays available for a week.",
    "Jetzt nachfragen": "Ask now",
    "Zurück zum Vergleich": "Back to the comparison",
    "Reifegrad": "Reifegrad (maturity)",
    "Reifegrad der Leistungen": "Reifegrad of the Leistungen",
    "zutreffende OZG-Leistungen": "applicable OZG-Leistungen",
    "OZG-konform (Reifegrad ≥ 3)": "OZG-compliant (Reifegrad ≥ 3)",
    "mit Back-Office-Bewertung": "with a back-office assessment",
    "Nach Themenfeld": "By Themenfeld",
    "zutreffend": "applicable",
    "bewertet": "assessed",
    "Bewertete Leistungen": "Assessed Leistungen",
    "Online-Zugang": "Online access",
    "Landesportal": "Land portal",
    "veraltet": "stale",
    "Zählregeln": "Counting rules",
    "Anmelden": "Sign in",
    "Abmelden": "Sign out",
    "E-Mail": "E-mail",
    "Passwort": "Password",
    "E-Mail oder Passwort stimmen nicht.": "E-mail or password is wrong.",
    "Sprache": "Language",
    "Bewertung erfassen": "Record an assessment",
    "Back-Office": "Back office",
    # the back-office scale's flags (`level_flag` names, data)
    "digital bearbeitet": "digitally processed",
    "Once-Only": "once-only",
    "vollautomatisch (§ 35a VwVfG)": "fully automated (§ 35a VwVfG)",
    "nicht amtlich bestätigt": "not officially confirmed",
    "Der Reifegrad ist das niedrigste bewertete Kriterium; „nicht erforderlich“ zählt nicht mit; "
    "nicht bewertete Pflichtkriterien machen ihn vorläufig.": (
        "The Reifegrad is the lowest rated criterion; “not required” does not count; unrated "
        "required criteria make it provisional."
    ),
    "Leistung (OZG-ID oder LeiKa-Schlüssel)": "Leistung (OZG-ID or LeiKa key)",
    "Kriterium": "Criterion",
    "Bewertung": "Rating",
    "ungeprüft": "unverified",
    "nicht bewertet": "not rated",
    "nicht erforderlich": "not required",
    "Nachweise (eine URL je Zeile)": "Evidence (one URL per line)",
    "Als Entwurf speichern": "Save as draft",
    "Zur Prüfung einreichen": "Submit for review",
    "Bewertung gespeichert": "Assessment saved",
    "Sie ist ein Entwurf und zählt noch nicht: Reichen Sie sie zur Prüfung ein (unter „Meine Entwürfe“); sie zählt, sobald eine zweite Person sie freigegeben hat.": (  # noqa: E501
        "It is a draft and does not count yet: submit it for review (under “My drafts”); it "
        "counts once a second person has validated it."
    ),
    "Sie ist zur Prüfung eingereicht und zählt, sobald eine zweite Person sie freigegeben hat.": (
        "It is submitted for review and counts once a second person has validated it."
    ),
    "Ungültige Anfrage": "Bad request",
    "Anmeldung erforderlich": "Sign-in required",
    "Zugriff verweigert": "Access denied",
    "Nicht gefunden": "Not found",
    "Methode nicht erlaubt": "Method not allowed",
    "Konflikt mit gespeicherten Daten": "Conflict with stored data",
    "Inzwischen geändert": "Changed in the meantime",
    "Anfrage zu groß": "Request too large",
    "Format nicht unterstützt": "Unsupported format",
    "Nicht verarbeitbar": "Unprocessable",
    "Zu viele Anfragen": "Too many requests",
    "Interner Fehler": "Internal error",
    "Vorübergehend nicht verfügbar": "Temporarily unavailable",
    # the comparison report
    "Aktualität": "Freshness",
    "Anteil OZG-konform": "Share OZG-compliant",
    "Anteil der anwendbaren Leistungen online": "Share of applicable Leistungen online",
    "Anteil online": "Share online",
    "Anteil online je Themenfeld": "Share online per Themenfeld",
    "Back-Office (Mittel)": "Back office (mean)",
    "Begriffe mit ; verbunden: land:05, rb:051, kreis:05315, kreisfrei, typ:61, "
    "band:grossstadt, dst, ars:…,…, peers:053150000000:land,typ,band": (
        "Terms joined by ;: land:05, rb:051, kreis:05315, kreisfrei, typ:61, "
        "band:grossstadt, dst, ars:…,…, peers:053150000000:land,typ,band"
    ),
    "Bei keiner Leistung liegt der Median der Vergleichsgruppe über der eigenen Stufe.": (
        "For no Leistung is the peer group's median above its own level."
    ),
    "Definition": "Definition",
    "Definition (für Fortgeschrittene)": "Definition (advanced)",
    "Die ersten 50 von": "The first 50 of",
    "Dimension": "Dimension",
    "Gemeinde": "Gemeinde",
    "Gemeinden im Vergleich": "Gemeinden compared",
    "Gemeindetyp": "Gemeinde type",
    "Großstädte (ab 100.000)": "Large cities (100,000 and more)",
    "Größenklassen": "Population bands",
    "Herunterladen": "Download",
    "die ersten": "the first",
    "Paaren": "pairs",
    "von": "of",
    "Bitte korrigieren": "Please correct",
    (
        "So wirken die Felder zusammen: Land, Kreis, ausgewählte Gemeinden und „Gemeinden“ "
        "gelten zugleich – verglichen werden die Gemeinden, auf die alle gewählten Angaben "
        "zutreffen (Schnittmenge). Eine Vergleichsgruppe ist eine eigene Auswahl und ersetzt die "
        "übrigen Felder. Eine eigene Definition gilt, wenn die Felder leer sind."
    ): (
        "How the fields combine: Land, Kreis, selected Gemeinden and “Gemeinden” all hold at "
        "once – compared are the Gemeinden that every choice fits (the intersection). A peer "
        "group is a selection of its own and replaces the other fields. A definition of your "
        "own applies when the fields are empty."
    ),
    "Die Vergleichsgruppe ersetzt die übrigen Felder; nicht berücksichtigt": (
        "The peer group replaces the other fields; left aside"
    ),
    "ausgewählte Gemeinden": "selected Gemeinden",
    "Keine Gemeinde erfüllt alle Begriffe zugleich.": "No Gemeinde fits all terms at once.",
    "trifft allein auf keine bewohnte Gemeinde zu": "fits no inhabited Gemeinde by itself",
    "schließen sich aus": "exclude each other",
    "allein": "alone",
    "bzw.": "and",
    "und": "and",
    "Diese Auswahl hat mehr als": "This selection has more than",
    (
        "Gemeinden; die Datei wird daher im Hintergrund erstellt (einige Minuten). Der erste "
        "Klick gibt den Auftrag und eine Statusmeldung; derselbe Link liefert die Datei, sobald "
        "sie fertig ist. CSV und JSON kommen sofort."
    ): (
        "Gemeinden, so the file is made in the background (a few minutes). The first click "
        "orders it and answers with its status; the same link gives the file once it is made. "
        "CSV and JSON come at once."
    ),
    "Kleinstädte (5.000–19.999)": "Small towns (5,000–19,999)",
    "Landgemeinden (unter 5.000)": "Rural municipalities (below 5,000)",
    "Leistung": "Leistung",
    "Leistungen flächendeckend online": "Leistungen online everywhere (flächendeckend)",
    "Leistungen in mindestens einer Kommune online": "Leistungen online in at least one Kommune",
    "Median Anteil online": "Median share online",
    "Median der Gruppe": "Peer median",
    "Mittelstädte (20.000–99.999)": "Medium-sized towns (20,000–99,999)",
    "Modelle": "Models",
    "Paare nur vorläufig": "pairs only provisional",
    "Permalink": "Permalink",
    "Quelle der Einwohnerzahlen": "Source of the population figures",
    "Rang": "Rank",
    "Rang Veränderung": "Rank of change",
    "Seite": "Page",
    "Stand": "As of",
    "Tage": "days",
    "Vergleich": "Comparison",
    "Vergleich anzeigen": "Show comparison",
    "Vergleich von Gemeinden": "Comparing Gemeinden",
    "Vergleichsdatum": "Compared with",
    "Vergleichsgruppe": "Peer group",
    "Verteilung: Gemeinden nach Anteil online": "Distribution: Gemeinden by share online",
    "Veränderung des Anteils online seit dem Vergleichsdatum": (
        "Change of the share online since the comparison date"
    ),
    "Veränderung online": "Change online",
    "Veränderung: in Prozentpunkten seit dem Vergleichsdatum.": (
        "Change: in percentage points since the comparison date."
    ),
    "Vorläufige Paare: ein Pflichtkriterium ist nicht bewertet.": (
        "Provisional pairs: a required criterion is not rated."
    ),
    "Wo die Gemeinde hinter ihrer Vergleichsgruppe liegt": (
        "Where the Gemeinde is behind its peer group"
    ),
    "Wählen Sie, welche Gemeinden verglichen werden: ein Land, eine Größenklasse, die"
    " kreisfreien Städte oder die Vergleichsgruppe einer Gemeinde.": (
        "Choose which Gemeinden to compare: a Land, a population band, the county-"
        "free cities or the peer group of a Gemeinde."
    ),
    "aktuell": "current",
    "alle Gemeinden": "all Gemeinden",
    "bewertete Paare": "assessed pairs",
    "bewertete Vergleichsgemeinden": "assessed peers",
    "der bewerteten Paare sind älter als": "of the assessed pairs are older than",
    "eigene Stufe": "own level",
    "ganz Deutschland": "all of Germany",
    "kreisfreie Städte": "county-free cities",
    "leer: aktuell": "empty: now",
    "leer: ein Jahr zuvor, Monatsende": "empty: a year before, at a month's end",
    "mittlere Hälfte (Quartile)": "middle half (quartiles)",
    "oder Vergleichsgruppe von (ARS oder AGS)": "or the peer group of (ARS or AGS)",
    "vorläufig": "provisional",
    "davon mit Daten": "with data",
    "Auswahl ändern": "Change the selection",
    "Maßnahmen, an denen die Gemeinde teilnimmt": "Maßnahmen the Gemeinde takes part in",
    "Forderung": "Demand",
    "Status": "Status",
    "eigener Stand": "own state",
    "fällig": "due",
    "verantwortlich": "responsible",
    "Abdeckung online": "Coverage online",
    "Keine LeiKa-Leistung dieser OZG-Leistung betrifft Gemeinden (LeiKa-Typ 1: Bundessache); sie "
    "zählt in keiner Gemeinde.": (
        "No LeiKa service of this OZG-Leistung concerns Gemeinden (LeiKa-Typ 1: federal); it "
        "counts in no Gemeinde."
    ),
    "Gemeinden mit der Leistung online (Stufe ≥ 2)": (
        "Gemeinden with the Leistung online (level ≥ 2)"
    ),
    "Anteil der Gemeinden, in denen sie anwendbar ist": "share of the Gemeinden where it applies",
    "ja": "yes",
    "nein": "no",
    "flächendeckend in Deutschland": "nationwide (flächendeckend)",
    "Gemeinden mit einer Bewertung": "Gemeinden with an assessment",
    "Gemeinde mit einer Bewertung": "Gemeinde with an assessment",
    "flächendeckend": "flächendeckend (everywhere)",
    "in mindestens einer Kommune": "in at least one Kommune",
    "Auswahl": "Selection",
    "alle anwendbaren": "all applicable",
    "bewertete": "assessed",
    "ohne Online-Bewertung": "without online assessment",
    "Die Stufe eines Paares ist die höchste aktuelle Stufe seiner LeiKa-Leistungen; eine Spanne "
    "„2–3“ sagt, dass die gezählten LeiKa-Leistungen zwischen Stufe 2 und 3 liegen.": (
        "A pair's level is the highest current level of its LeiKa services; a range “2–3” says "
        "that the counted LeiKa services lie between levels 2 and 3."
    ),
    "„vorläufig“: ein Pflichtkriterium der Bewertung ist nicht bewertet.": (
        "“provisional”: a required criterion of the assessment is unrated."
    ),
    "OZG-Leistung": "OZG-Leistung",
    "Quelle und Nachweis": "Source and evidence",
    "Spanne": "range",
    "erfassen": "record",
    "Online": "Online",
    "Nachweis": "Evidence",
    "nicht erreichbar seit": "unreachable since",
    "Nicht erreichbare Nachweise": "Unreachable evidence",
    "Diese Nachweise der aktuellen Bewertungen waren bei der Link-Prüfung wiederholt nicht "
    "erreichbar. Die Bewertungen sind zur Prüfung markiert; ihre Stufe bleibt, die angezeigte "
    "Sicherheit sinkt.": (
        "The link probes repeatedly failed to reach this evidence of current assessments. The "
        "assessments are flagged for review; their level stays, the confidence shown drops."
    ),
    "Sicherheit": "Confidence",
    "zur Prüfung: Nachweis nicht erreichbar, Angabe unsicher": (
        "to review: evidence unreachable, rating uncertain"
    ),
    "Back-Office bewertet": "back office assessed",
    "Daten als JSON": "Data as JSON",
    "Median": "median",
    "OZG-konform": "OZG-compliant",
    "Rang in der Vergleichsgruppe": "Rank in the peer group",
    "der anwendbaren Leistungen online": "of the applicable Leistungen online",
    "online": "online",
    "seit der neuesten Bewertung": "since the newest assessment",
    "online (Reifegrad ≥ 2)": "online (Reifegrad ≥ 2)",
    "Quellen der Bewertungen": "Sources of the assessments",
    "Spitze: höchster Anteil online": "Top: highest share online",
    "Am stärksten verbessert seit dem Vergleichsdatum": "Most improved since the comparison date",
    "Keine Gemeinde hat sich seit dem Vergleichsdatum verbessert (oder es fehlen Daten zu einem "
    "der beiden Daten).": (
        "No Gemeinde has improved since the comparison date (or data is missing at one of the "
        "two dates)."
    ),
    "Paare": "pairs",
    "keine bewerteten Paare": "no assessed pairs",
    "keine Daten": "no data",
    "„keine Daten“: kein Online-Paar bewertet; ohne Rang, nicht im Median.": (
        "“no data”: no online pair assessed; not ranked, not in the median."
    ),
    "Die Auswahl enthält keine bewohnte Gemeinde. Alle Begriffe der Definition müssen zugleich "
    "zutreffen; prüfen Sie, ob sie sich ausschließen (z. B. ein Kreis eines anderen Landes).": (
        "The selection holds no inhabited Gemeinde. Every term of the definition must hold at "
        "once; check whether they exclude each other (e.g. a Kreis of another Land)."
    ),
    "Kreis (Schlüssel)": "Kreis (key)",
    "z. B. 05315 für Köln, 09162 für München": "e.g. 05315 for Köln, 09162 for München",
    "ausgewählte Gemeinden (ARS oder AGS)": "selected Gemeinden (ARS or AGS)",
    "durch Kommas oder Leerzeichen getrennt": "separated by commas or spaces",
    "z. B. 05315000 für Köln: gleicher Gemeindetyp und gleiche Größenklasse": (
        "e.g. 05315000 for Köln: same Gemeinde type and population band"
    ),
    # the officer's and reviewer's pages (maturity.work)
    "Version": "version",
    "Neu erfassen": "Record anew",
    "(das Formular enthält Leistung, Kriterien, Nachweise und Kommentar dieser Bewertung)": (
        "(the form holds this assessment's Leistung, criteria, evidence and comment)"
    ),
    "API-Token": "API token",
    "Ausnahme zur Anwendbarkeit": "Applicability override",
    "Begründung": "Reason",
    "Beobachtung": "Observation",
    "Forderungskatalog": "Demand catalogue",
    "Kennzahl": "KPI",
    "LeiKa-Leistung": "LeiKa service",
    "LeiKa-Typen der Gemeinden": "Gemeinden's LeiKa types",
    "Name": "Name",
    "Reifegradmodell": "Maturity model",
    "Sitzungen beendet": "sessions ended",
    "Studie": "Study",
    "Umsetzung in der Gemeinde": "Uptake in the Gemeinde",
    "Verknüpfung": "Link",
    "Webhook": "Webhook",
    "Webhook-Zustellung": "Webhook delivery",
    "angemeldet": "signed in",
    "bewertet am": "assessed on",
    "erneut zugestellt": "redelivered",
    "gelöscht (Löschfrist)": "erased (retention period)",
    "importiert": "imported",
    "ARS beginnt mit": "ARS starts with",
    "Abgelehnt": "Rejected",
    "Administration": "Administration",
    "Angemeldet als": "Signed in as",
    "Bearbeitung": "Editing (editor)",
    "Begründung (bei Zurückweisung erforderlich)": "Reason (required to reject)",
    "Bereich": "Area",
    "Bewertet am": "Assessed on",
    "Bisher gibt es keine freigegebene Bewertung dieser Leistung.": (
        "There is no validated assessment of this Leistung yet."
    ),
    "Bisher gültige Bewertung": "Current assessment so far",
    "Gültige Bewertung dieser Leistung": "Current assessment of this Leistung",
    "Außer dieser zählt keine andere Bewertung für diese Leistung.": (
        "No other assessment counts for this Leistung besides this one."
    ),
    "ganze Leistung": "whole Leistung",
    "keiner": "none",
    "Diese Bewertung": "This assessment",
    "Ein Entwurf zählt nicht. Öffnen Sie ihn, um ihn zur Prüfung einzureichen.": (
        "A draft does not count. Open it to submit it for review."
    ),
    "Eine abgelehnte Bewertung erfassen Sie neu; die Begründung steht dabei.": (
        "Record a rejected assessment anew; the reason is shown with it."
    ),
    "Eingereicht": "Submitted",
    "Eingereicht, wartet auf Prüfung": "Submitted, waiting for review",
    "Eingereichte Bewertungen in Ihrem Prüfbereich, älteste zuerst. Eigene Bewertungen prüft eine "
    "zweite Person (Vier-Augen-Prinzip).": (
        "Submitted assessments in your review area, oldest first. Your own assessments are "
        "reviewed by a second person (four eyes)."
    ),
    "Entwurf": "draft",
    "Entwürfe": "Drafts",
    "Forderungen und Maßnahmen": "Demands and actions",
    "Freigeben": "Validate",
    "Gemeinden, die Sie bearbeiten dürfen": "Gemeinden you may edit",
    "Konto": "Account",
    "Konto: Rollen und Gemeinden": "Account: roles and Gemeinden",
    "Mein Verlauf": "My history",
    "Meine Arbeit": "My work",
    "Meine Entwürfe": "My drafts",
    "Nach der Anmeldung geht es zurück zur aufgerufenen Seite.": (
        "After signing in you return to the page you asked for."
    ),
    "Nachweise": "Evidence",
    "Nicht gespeichert": "Not saved",
    "Noch nichts.": "Nothing yet.",
    "Nr.": "No.",
    "Nutzerforschung": "User research",
    "Prüfen dürfen Sie in": "You may review in",
    "Prüfung": "Review (reviewer)",
    "Rolle": "Role",
    "Rollen": "Roles",
    "Sie haben keine Prüferrolle; Prüfungen sehen hier nur Prüferinnen und Prüfer.": (
        "You hold no reviewer role; only reviewers see reviews here."
    ),
    "Sie haben noch keine Rolle; eine Administratorin oder ein Administrator vergibt sie.": (
        "You hold no role yet; an administrator grants it."
    ),
    "Superadmin": "Superadmin",
    "Vier-Augen-Prinzip: Diese Bewertung prüft eine zweite Person.": (
        "Four eyes: a second person reviews this assessment."
    ),
    "Was": "What",
    "Zur Prüfung": "To review",
    "Zurückweisen": "Reject",
    "abgelehnt": "rejected",
    "alle Gemeinden in": "all Gemeinden in",
    "angelegt": "created",
    "eingereicht": "submitted",
    "eingereicht, wartet auf Prüfung": "submitted, waiting for review",
    "freigegeben": "validated",
    "gelöscht": "deleted",
    "geändert": "changed",
    "keine": "none",
    "Verknüpfte Leistungen: Reifegrad und offene Erkenntnisse": (
        "Linked Leistungen: maturity and open findings"
    ),
    "Gemeinden, in denen sie anwendbar ist": "Gemeinden where it applies",
    "online (ab Stufe 2)": "online (level 2 and up)",
    "OZG-konform (ab Stufe 3)": "OZG-konform (level 3 and up)",
    "Offene Erkenntnisse": "Open findings",
    "Erkenntnisse und Maßnahmen": "Findings and Maßnahmen",
    "Offene Erkenntnisse aus der Nutzendenforschung": "Open findings from user research",
    "veröffentlichte Erkenntnisse über": "published findings about",
    "nach Schweregrad": "by severity",
    "Schweregrad": "Severity",
    "Maßnahmen der Forderungskataloge": "Maßnahmen of the demand catalogues",
    "Gemeinden beteiligt an": "Gemeinden take part in",
    "nach Status": "by status",
    "veröffentlichte Erkenntnisse": "published findings",
    "Schwere": "severity",
    "zu prüfen": "to review",
    # the form and the error pages (maturity.pages, errors.PAGE_EXPLANATIONS)
    "Bitte melden Sie sich an.": "Please sign in.",
    "Bitte prüfen": "Please check",
    "Dafür fehlt Ihnen die Berechtigung, oder das Formular ist abgelaufen: laden Sie die Seite "
    "neu.": ("You lack the permission for this, or the form has expired: reload the page."),
    "Der Dienst ist überlastet; versuchen Sie es später noch einmal.": (
        "The service is overloaded; try again later."
    ),
    "Der Reifegrad ist das niedrigste bewertete Kriterium. „Nicht erforderlich“ und nicht "
    "bewertete Kriterien „falls erforderlich“ zählen nicht mit; ein nicht bewertetes "
    "Pflichtkriterium macht ihn vorläufig.": (
        "The Reifegrad is the lowest rated criterion. “Not required” and unrated criteria “falls "
        "erforderlich” (if required) do not count; an unrated required criterion makes it "
        "provisional."
    ),
    "Die Adresse oder das Formular enthält einen ungültigen Wert.": (
        "The address or the form holds an invalid value."
    ),
    "Die Anfrage ist zu groß.": "The request is too large.",
    "Die Eingabe verstößt gegen eine Regel.": "The input breaks a rule.",
    "Noch nicht erfassbar": "Cannot be recorded yet",
    "noch nicht erfassbar: Kriterien nicht benannt": "cannot be recorded yet: criteria unnamed",
    "Keine Kriterien zum Bewerten: siehe oben.": "No criteria to rate: see above.",
    "Zum Standardmodell": "To the default model",
    "Die LeiKa-Leistungen (14-stelliger Schlüssel) erscheinen unter ihrer OZG-Leistung, wenn Sie "
    "deren Namen oder Nummer tippen; ohne JavaScript nach „Vorschau“.": (
        "The LeiKa services (14-digit key) appear under their OZG-Leistung as you type its name "
        "or number; without JavaScript after “Preview”."
    ),
    "Nicht benannte Pflichtkriterien lassen den Reifegrad vorläufig, bis sie benannt sind": (
        "Unnamed required criteria leave the level provisional until they are named"
    ),
    "Die Änderung widerspricht bereits gespeicherten Daten.": (
        "The change conflicts with data already stored."
    ),
    "Diese Aktion ist hier nicht möglich.": "This action is not possible here.",
    "Diese Seite gibt es nicht. Prüfen Sie die Adresse oder suchen Sie oben.": (
        "This page does not exist. Check the address or search above."
    ),
    "Ein unerwarteter Fehler ist aufgetreten; er ist protokolliert.": (
        "An unexpected error occurred; it has been logged."
    ),
    "Fehler": "Error",
    "ab": "from",
    "Ihre Gemeinden": "Your Gemeinden",
    "Kriterien": "Criteria",
    "Kriterien ohne amtlichen Namen sind ausgeblendet; sie zählen, wenn „falls erforderlich“, als"
    " nicht erforderlich.": (
        "criteria without an official name are hidden; where “falls erforderlich” they count as "
        "not required."
    ),
    "Leistung (aus der Liste der hier anwendbaren: OZG-ID und Name, oder ein LeiKa-Schlüssel)": (
        "Leistung (from the list of those applicable here: OZG ID and name, or a LeiKa key)"
    ),
    "Leistung und Stand": "Leistung and date",
    "Modell": "Model",
    "Nachweise (eine URL oder Fundstelle je Zeile)": "Evidence (one URL or reference per line)",
    "Nachweise und Kommentar": "Evidence and comment",
    "Noch nicht gespeichert.": "Not saved yet.",
    "Nur lesen": "Read only",
    "Sie dürfen für diese Gemeinde keine Bewertungen erfassen. Das Formular zeigt, was erfasst "
    "würde; Speichern ist nicht möglich.": (
        "You may not record assessments for this Gemeinde. The form shows what would be recorded;"
        " saving is not possible."
    ),
    "Technische Meldung": "Technical message",
    "Trotzdem speichern: mir ist bewusst, dass die Bewertung nicht mitzählt.": (
        "Save anyway: I know the assessment will not count."
    ),
    "Vorschau": "Preview",
    "Was die Stufen bedeuten": "What the levels mean",
    "Zu viele Anfragen in kurzer Zeit; versuchen Sie es gleich noch einmal.": (
        "Too many requests in a short time; try again in a moment."
    ),
    "anwendbare OZG-Leistungen; tippen Sie Nummer oder Namen.": (
        "applicable OZG-Leistungen; type a number or name."
    ),
    "keine amtliche Definition hinterlegt": "no official definition stored",
    "leer: heute": "empty: today",
    "nicht vorläufig": "not provisional",
    "Noch kein Kriterium bewertet: bewerten Sie mindestens eines.": (
        "No criterion rated yet: rate at least one."
    ),
    "Ergebnis nach den gewählten Bewertungen": "Result of the ratings chosen",
    "zählt über die Zuordnung zur Standardskala": "counts through its mapping to the default scale",
    # research vocabulary (research.schemas.LABELS) and redaction (research.redaction)
    "Usability-Test": "usability test",
    "Umfrage": "survey",
    "Nutzungsdaten": "analytics",
    "Sekundärrecherche": "desk research",
    "geplant": "planned",
    "läuft": "running",
    "ausgewertet": "analysed",
    "abgeschlossen": "closed",
    "Notiz": "note",
    "Zitat": "quote",
    "Messwert": "metric",
    "Medienverweis": "media reference",
    "offen": "open",
    "bestätigt": "confirmed",
    "behoben": "resolved",
    "ersetzt": "superseded",
    "Kommune": "Kommune",
    "IT-Dienstleister": "IT service provider",
    "Markierung": "manual mark",
    "Telefon": "phone",
    "Geburtsdatum": "date of birth",
    "Adresse": "address",
    "PLZ und Ort": "PLZ and Ort",
    "gelisteter Name": "listed name",
    "Steuernummer": "Steuernummer",
    "von Hand mit [[…]] markiert": "marked by hand with [[…]]",
    "E-Mail-Adresse": "e-mail address",
    "IBAN (gültige Prüfziffern, schwifty)": "IBAN (valid check digits, schwifty)",
    "Telefonnummer (phonenumbers)": "phone number (phonenumbers)",
    "Straße und Hausnummer": "street and house number",
    "auf der Liste der zu schwärzenden Namen der Studie": "on the study's list of names to redact",
    "Name nach Anrede oder Funktion": "name after an honorific or role",
    "Wert": "Value",
    "Einheit": "Unit",
    "Medien-URI": "Media URI",
    "Zeitmarke": "Time code",
    "Teilnehmende:r": "Participant",
    "ohne": "none",
    "Schlagwort": "Tag",
}


def language(request: Request[Any, Any, Any]) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    remembered = request.cookies.get("lang")
    return str(remembered) if remembered in LANGUAGES else "de"


def translator(lang: str) -> Callable[[str], str]:
    if lang == "en":
        return lambda text: EN.get(text, text)
    return lambda text: text


def page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What base.html reads on every page: language, translator, the page in each language
    (its query kept: a report's permalink holds all of it), who is signed in."""
    lang = language(request)
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    return {
        "_": translator(lang),
        "lang": lang,
        "path": request.url.path,
        "in_language": {
            code: f"{request.url.path}?{urlencode([*kept, ('lang', code)])}" for code in LANGUAGES
        },
        # set by the access feature's middleware; shared code reads it without importing it
        "signed_in": getattr(request.scope.get("user"), "authenticated", False),
    }


def render(
    request: Request[Any, Any, Any], template_name: str, *, status_code: int = 200, **context: Any
) -> Template:
    shared = page_context(request)
    cookies = (
        [Cookie(key="lang", value=shared["lang"], httponly=True, samesite="lax",
                max_age=31_536_000)]
        if "lang" in request.query_params
        else []
    )  # fmt: skip
    return Template(
        template_name, context={**context, **shared}, cookies=cookies, status_code=status_code
    )


def number(value: int | float | None, lang: str = "de") -> str:
    if value is None:
        return ""
    text = f"{value:,}"
    return (
        text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") if lang == "de" else text
    )


def percent(value: float | None, lang: str = "de", *, signed: bool = False) -> str:
    """A share of 1 as per cent with one decimal: 4,7 % (de), 4.7% (en); a change signed."""
    if value is None:
        return "–"
    text = f"{value * 100:{'+' if signed else ''}.1f}"
    # never round to 100 % or 0 % what is not: 8,711 of 8,713 is „> 99,9 %“, not „100,0 %“
    if not signed and 0 < value < 1 and text in ("0.0", "100.0"):
        text = "< 0.1" if text == "0.0" else "> 99.9"
    return f"{text.replace('.', ',')} %" if lang == "de" else f"{text}%"


def points(value: float | None, lang: str = "de") -> str:
    """A change of a share (of 1) in percentage points, signed: +4,7 Pp. (de), +4.7 pp (en)."""
    if value is None:
        return "–"
    text = f"{value * 100:+.1f}"
    return f"{text.replace('.', ',')} Pp." if lang == "de" else f"{text} pp"


def decimal(value: float | None, lang: str = "de", digits: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "de" else text


def day(value: date | None, lang: str = "de") -> str:
    """A day (of a moment, its UTC day): 30.11.2026 (de), 2026-11-30 (en)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()


def configure(environment: jinja2.Environment) -> None:
    """The filters and names every template may use: the app's engine and the documents'."""
    environment.filters.update(
        number=number, date=day, percent=percent, points=points, decimal=decimal
    )
    environment.globals.update(
        gemeinde_typen=GEMEINDE_TYPEN, kreis_typen=KREIS_TYPEN, verband_typen=VERBAND_TYPEN
    )
