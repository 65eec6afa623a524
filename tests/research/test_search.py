"""German search over findings and observations: the same hits on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm and the `german` configuration) for this corpus: compounds, umlauts, ß."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.research.test_routes import ANY, created, people, study_with_evidence

CORPUS = [
    "Die Wohnsitzanmeldung scheitert am fehlenden Termin.",  # 0
    "Gebühren für die Meldebescheinigung sind unklar.",  # 1
    "Die Straße im Formular wird abgeschnitten, Hausnummern fehlen.",  # 2
    "Bei der Anmeldung des Gewerbes fehlt die Übersicht über Nachweise.",  # 3
    "Der Antrag wird nach 30 Minuten ohne Warnung verworfen.",  # 4
    "Ältere Menschen finden den Knopf für das Hochladen nicht.",  # 5
]
QUERIES = {
    "anmeldung": {0, 3},  # within the compound Wohnsitzanmeldung
    "ANMELDUNG": {0, 3},
    "strasse": {2},  # ß = ss
    "Straße": {2},
    "gebuehren": {1},  # ü = ue
    "Gebühren": {1},
    "übersicht": {3},
    "aeltere": {5},
    "hochladen nicht": {5},
    "nummer": {2},
    "Bürgeramt": set(),
}


async def test_the_same_query_finds_the_same_findings(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    evidence = await study_with_evidence(client, who)
    ids = []
    for statement in CORPUS:
        body = {"statement": statement, "severity": 2, "gemeinden": ["147130000000"],
                "observations": [evidence["note"]["id"]], "journey_step": "Antrag"}  # fmt: skip
        finding = await created(client, "/api/v1/findings", body, who["researcher"])
        answer = await client.post(
            f"/api/v1/findings/{finding['id']}/publish", headers={**who["reviewer"], **ANY}
        )
        assert answer.status_code == 200
        ids.append(finding["id"])
    for query, expected in QUERIES.items():
        wanted = sorted(ids[i] for i in expected)
        public = await client.get("/api/v1/public/findings", params={"q": query})
        assert [f["id"] for f in public.json()["items"]] == wanted, query
        raw = await client.get("/api/v1/findings", params={"q": query}, headers=who["reviewer"])
        assert [f["id"] for f in raw.json()["items"]] == wanted, query
    severe = await client.get("/api/v1/public/findings", params={"q": "anmeldung", "severity": 4})
    assert severe.json()["items"] == []
    step = await client.get(
        "/api/v1/public/findings", params={"q": "anmeldung", "journey_step": "Antrag"}
    )
    assert len(step.json()["items"]) == 2
    # the redacted public text is what is searched: a redacted name is found nowhere
    hidden = await client.get("/api/v1/public/findings", params={"q": "Kowalski"})
    assert hidden.json()["items"] == []
    notes = await client.get(
        "/api/v1/observations", params={"q": "bricht"}, headers=who["researcher"]
    )
    assert [o["id"] for o in notes.json()["items"]] == [evidence["note"]["id"]]
    # only PostgreSQL knows German word forms; the trigram search on SQLite does not
    forms = await client.get("/api/v1/public/findings", params={"q": "Anträge"})
    dialect = (await session.connection()).dialect.name
    assert [f["id"] for f in forms.json()["items"]] == ([ids[4]] if dialect == "postgresql" else [])
