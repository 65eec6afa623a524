"""Bulk import and export of assessments: one schema both ways, idempotent on external_id,
all-or-nothing per file with file:line errors, operator and upload trust levels."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, client_for, remove_assessments
from tests.maturity.test_routes import ELTERNGELD, ESSEN, FULL, people, record, step
from tracker.app import create_app
from tracker.catalog import queries as catalog_queries
from tracker.cli import main
from tracker.db import WRITE_OPTION, Sessionmaker, create_sessionmaker, run
from tracker.importing import ImportRejected, ImportResult
from tracker.maturity import queries
from tracker.maturity.bulk import (
    COLUMNS,
    XLSX_MEDIA_TYPE,
    csv_rows,
    import_assessments,
    import_file,
)
from tracker.maturity.imports import insert_assessments
from tracker.maturity.models import Assessment
from tracker.settings import Settings

RATINGS = "; ".join(f"{key}={value}" for key, value in FULL.items())


def bulk_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def row(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id, "ars": ESSEN, "leika_key": ELTERNGELD, "dimension": "online",
        "ratings": RATINGS, "assessed_at": "2026-03-01T10:00:00Z", "source": "self",
    } | fields  # fmt: skip


async def count(session: AsyncSession) -> int:
    return int((await run(session, select(func.count()).select_from(Assessment))).scalar_one())


async def import_text(session: AsyncSession, tmp_path: Path, text: str, **options: Any) -> Any:
    path = tmp_path / "bewertungen.csv"
    path.write_text(text, encoding="utf-8")
    return await import_file(session, path, **options)


async def test_operator_import_is_idempotent_and_rolls_up(
    client: Client, session: AsyncSession, tmp_path: Path
) -> None:
    rows = [
        row("stadt-essen:1"),
        row("stadt-essen:2", leika_key="", ozg_id="10000", ratings="", level="1",
            evidence="https://www.essen.de/a https://www.essen.de/b"),
        row("stadt-essen:3", dimension="backoffice", ratings="", level="3",
            assessed_at="2026-04-01", land_wide_portal="nein"),
        row("stadt-essen:4", ozg_id="10000", leika_key="", ratings="", level="2",
            corrects="stadt-essen:2", assessed_at="2026-05-01"),
    ]  # fmt: skip
    result = await import_text(session, tmp_path, bulk_csv(rows))
    assert (result.inserted, result.unchanged, result.rejected) == (4, 0, [])
    again = await import_text(session, tmp_path, bulk_csv(rows))
    assert (again.inserted, again.unchanged) == (0, 4)
    await session.commit()
    listed = (await client.get("/api/v1/assessments", params={"ars": ESSEN})).json()["items"]
    by_id = {item["external_id"]: item for item in listed}
    assert by_id["stadt-essen:1"]["level"] == 3
    assert by_id["stadt-essen:1"]["provisional"] is False
    assert (by_id["stadt-essen:2"]["level"], by_id["stadt-essen:2"]["provisional"]) == (1, True)
    assert [e["ref"] for e in by_id["stadt-essen:2"]["evidence"]] == [
        "https://www.essen.de/a", "https://www.essen.de/b",
    ]  # fmt: skip
    assert by_id["stadt-essen:4"]["corrects_id"] == by_id["stadt-essen:2"]["id"]
    assert by_id["stadt-essen:3"]["status"] == "validated"
    rollup = (await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad")).json()
    elterngeld = next(item for item in rollup["leistungen"] if item["ozg_id"] == "10000")
    assert (elterngeld["online"]["highest"], elterngeld["online"]["assessed"]) == (3, 2)
    assert elterngeld["backoffice"]["highest"] == 3


async def test_bad_rows_reject_the_file_with_their_lines(
    session: AsyncSession, tmp_path: Path
) -> None:
    await import_text(session, tmp_path, bulk_csv([row("e:1")]))
    before = await count(session)
    rows = [
        row("e:1", ratings=RATINGS.replace("nachweise=3", "nachweise=2")),  # changed content
        row("e:2", ars="059999999999"),
        row("e:3", leika_key="99999999999999"),
        row("e:4", ratings="leistungsbeschreibung=9"),
        row("e:5", ratings="", level=""),
        row("e:5"),
        row("e:6", assessed_at="gestern"),
        row("e:7", corrects="nirgends"),
        row("e:8", ozg_id="10000"),
        row("tracker:999999"),
        row("e:9", level="4"),
    ]
    with pytest.raises(ImportRejected) as rejected:
        await import_text(session, tmp_path, bulk_csv(rows))
    messages = [str(error) for error in rejected.value.errors]
    assert [message.split(":")[1] for message in messages] == [str(line) for line in range(2, 13)]
    assert "stored with other content" in messages[0]
    assert "Gemeinde 059999999999 does not exist" in messages[1]
    assert "not in the catalogue" in messages[2]
    assert "not a level of this model" in messages[3]
    assert "give ratings, or a level" in messages[4]
    assert "already given on line 6" in messages[5]
    assert "assessed_at" in messages[6]
    assert "no assessment has the external_id nirgends" in messages[7]
    assert "exactly one of leika_key and ozg_id" in messages[8]
    assert "names assessments stored here" in messages[9]
    assert "level: 4 given, the ratings give 3" in messages[10]
    assert await count(session) == before  # nothing written
    skipped = await import_text(
        session, tmp_path, bulk_csv([row("e:10"), row("e:11", ars="0")]), skip_invalid=True
    )
    assert (skipped.inserted, len(skipped.rejected)) == (1, 1)
    with pytest.raises(ImportRejected, match="missing columns: external_id"):
        await import_text(session, tmp_path, "ars,dimension\n051130000000,online\n")


async def test_export_is_what_import_reads_csv_and_xlsx(
    client: Client, session: AsyncSession, tmp_path: Path
) -> None:
    who = await people(session)
    first = await record(client, who["editor"], submit=True)
    await step(client, who["reviewer"], first, "validate")
    evidence = [{"kind": "url", "ref": "https://essen.de", "note": "Seite"}]
    await record(client, who["editor"], corrects=first["id"], submit=True, evidence=evidence)
    assert first["external_id"] == f"tracker:{first['id']}"
    exported = await client.get(
        "/api/v1/assessments", params={"ars": ESSEN}, headers={**who["editor"],
                                                              "Accept": "text/csv"}
    )  # fmt: skip
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(lines[0]) == list(COLUMNS)
    assert [line["status"] for line in lines] == ["validated", "submitted"]
    assert lines[1]["corrects"] == first["external_id"]
    assert '"note": "Seite"' in lines[1]["evidence"]
    result = await import_text(session, tmp_path, exported.text)
    assert (result.inserted, result.unchanged) == (0, 2)

    workbook = await client.get(
        "/api/v1/assessments", params={"ars": ESSEN},
        headers={**who["editor"], "Accept": XLSX_MEDIA_TYPE},
    )  # fmt: skip
    assert workbook.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    path = tmp_path / "bewertungen.xlsx"
    path.write_bytes(workbook.content)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    result = await import_file(session, path)
    assert (result.inserted, result.unchanged) == (0, 2)


async def test_upload_is_the_uploaders_own_and_awaits_review(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    url = "/api/v1/assessments/import"
    body = bulk_csv([row("essen:u1"), row("essen:u2", dimension="backoffice", ratings="",
                                          level="2")])  # fmt: skip
    csv_type = {"Content-Type": "text/csv"}
    assert (await client.post(url, content=body, headers=csv_type)).status_code == 401
    made = await client.post(url, content=body, headers={**who["editor"], **csv_type})
    assert made.status_code == 200, made.text
    assert made.json() == {
        "source": "upload.csv", "inserted": 2, "unchanged": 0, "rejected": [], "rejected_count": 0,
    }  # fmt: skip
    again = await client.post(url, content=body, headers={**who["editor"], **csv_type})
    assert again.json()["unchanged"] == 2
    listed = await client.get(url.replace("/import", ""), params={"ars": ESSEN},
                              headers=who["editor"])  # fmt: skip
    uploaded = [item for item in listed.json()["items"] if item["external_id"].startswith("essen:")]
    assert {item["status"] for item in uploaded} == {"submitted"}
    me = (await client.get("/api/v1/me", headers=who["editor"])).json()
    assert {item["assessed_by"].split("/")[0] for item in uploaded} == {f"user:{me['user_id']}"}
    bad = bulk_csv([
        row("essen:u3", status="validated"), row("essen:u4", ars="147130000000"),
        row("essen:u5", assessed_by="someone@else.de"), row("essen:u6", source="import:pvog"),
    ])  # fmt: skip
    refused = await client.post(url, content=bad, headers={**who["editor"], **csv_type})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["detail"] == "The file was not imported; nothing was written."
    assert [error.split(":")[1] for error in problem["errors"]] == ["2", "3", "4", "5"]
    assert "second person" in problem["errors"][0]
    assert "no editor for Gemeinde 147130000000" in problem["errors"][1]
    book = openpyxl.Workbook()
    book.active.append(list(COLUMNS))
    book.active.append([row("essen:x1").get(name, "") for name in COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = await client.post(
        url, content=buffer.getvalue(), headers={**who["editor"], "Content-Type": XLSX_MEDIA_TYPE}
    )
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.json()["inserted"] == 1
    broken = await client.post(
        url, content=b"PK\x03\x04nope", headers={**who["editor"], "Content-Type": XLSX_MEDIA_TYPE}
    )
    assert broken.status_code == 422
    assert "not an XLSX workbook" in broken.json()["errors"][0]
    latin = await client.post(url, content="ä".encode("latin-1"),
                              headers={**who["editor"], **csv_type})  # fmt: skip
    assert latin.status_code == 422
    assert latin.json()["errors"] == [
        "upload.csv:1: not UTF-8 (byte 0xe4 at position 1, 'ä' in Windows-1252); "
        "save the file as UTF-8"
    ]
    other = await client.post(
        url, content=b"{}", headers={**who["editor"], "Content-Type": "application/json"}
    )
    assert other.status_code == 415


def workbook(rows: list[dict[str, Any]]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(list(COLUMNS))
    for line in rows:
        book.active.append([line.get(name, "") for name in COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(xlsx: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its first sheet's XML changed, as another program might write it."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(info.filename, content)
    return buffer.getvalue()


def dimension(element: bytes, xml: bytes) -> bytes:
    return re.sub(rb"<dimension [^>]*/>", element, xml)


def pad(spaces: int, xml: bytes) -> bytes:
    """Blank space compresses to almost nothing: a small file that unpacks large."""
    return xml.replace(b"<sheetData>", b"<sheetData>" + b" " * spaces)


async def test_uploads_are_bounded_before_and_while_rows_are_read(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    who = await people(session)
    small = replace(settings, max_upload_rows=5, max_upload_xlsx_bytes=200_000)
    url = "/api/v1/assessments/import"
    editor = who["editor"]
    seven = [row(f"essen:b{number}") for number in range(7)]

    async with client_for(create_app(small, sessionmaker=sessionmaker)) as client:

        async def upload(body: bytes | str, media_type: str) -> list[str]:
            answer = await client.post(
                url, content=body, headers={**editor, "Content-Type": media_type}
            )
            assert answer.status_code == 422, answer.text
            assert answer.json()["error_count"] == 1
            errors: list[str] = answer.json()["errors"]
            return errors

        assert await upload(bulk_csv(seven), "text/csv") == [
            "upload.csv:7: more than 5 rows; split the file"
        ]
        book = workbook(seven)
        assert await upload(book, XLSX_MEDIA_TYPE) == [
            "upload.xlsx:1: the sheet has 7 rows, more than 5; split the file"
        ]
        # A dimension that claims two rows must not hide the others.
        liar = rewrite_sheet(book, partial(dimension, b'<dimension ref="A1:S2"/>'))
        assert await upload(liar, XLSX_MEDIA_TYPE) == [
            "upload.xlsx:7: more than 5 rows; split the file"
        ]
        padded = rewrite_sheet(book, partial(pad, 300_000))
        assert len(padded) < 50_000
        [unpacked] = await upload(padded, XLSX_MEDIA_TYPE)
        assert unpacked.startswith("upload.xlsx:1: the workbook unpacks to")
        assert unpacked.endswith("more than the 200000 taken; split the file")
        sizeless = rewrite_sheet(book, lambda xml: pad(5_000_000, dimension(b"", xml)))
        [unsized] = await upload(sizeless, XLSX_MEDIA_TYPE)
        assert unsized.startswith("upload.xlsx:1: the sheet states no dimension and unpacks to")
        wide = rewrite_sheet(book, partial(dimension, b'<dimension ref="A1:XFD2"/>'))
        assert await upload(wide, XLSX_MEDIA_TYPE) == [
            "upload.xlsx:1: the sheet has 16384 columns, more than 100"
        ]


BAD_150 = bulk_csv([row(f"essen:e{number}", ars="0") for number in range(150)])


async def test_errors_are_listed_up_to_100_and_counted(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    bad = BAD_150
    headers = {**who["editor"], "Content-Type": "text/csv"}
    url = "/api/v1/assessments/import"
    refused = await client.post(url, content=bad, headers=headers)
    assert refused.status_code == 422
    problem = refused.json()
    assert (len(problem["errors"]), problem["error_count"]) == (100, 150)
    assert problem["errors"][-1].startswith("upload.csv:101: ars:")
    skipped = await client.post(url, content=bad, headers=headers, params={"skip_invalid": "true"})
    assert skipped.status_code == 200
    report = skipped.json()
    assert (len(report["rejected"]), report["rejected_count"]) == (100, 150)


def test_command_lists_100_errors_and_counts_the_rest(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bewertungen.csv"
    path.write_text(BAD_150, encoding="utf-8")
    command = CliRunner().invoke(
        main, ["import", "assessments", str(path)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert command.exit_code == 1, (command.output, command.exception)
    lines = command.stderr.splitlines()
    assert lines[0] == "bewertungen.csv: rejected, nothing written (150 errors)"
    assert lines[100:] == [
        "  bewertungen.csv:101: ars: String should match pattern '^[0-9]{12}$' (got '0')",
        "  … and 50 more",
        "Fix the file, or pass --skip-invalid to import the valid rows.",
    ]


async def test_concurrent_overlapping_imports_store_each_row_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Eight files sharing external ids, in crossing orders, each in a transaction of its own
    at the same time: every file goes through, each row stored once, the rest unchanged.
    (SQLite serialises the writers; PostgreSQL runs them side by side.)"""
    files = []
    for number in range(8):
        ids = [f"concurrent:{(number * 3 + offset) % 24}" for offset in range(12)]
        rows = [row(external_id, ratings="", level=str(int(external_id[11:]) % 4))
                for external_id in (ids if number % 2 else ids[::-1])]  # fmt: skip
        files.append(bulk_csv(rows).encode())
    sessionmaker = create_sessionmaker(engine)

    async def upload(number: int) -> ImportResult:
        async with sessionmaker() as session, session.begin():
            await session.connection(execution_options={WRITE_OPTION: True})
            return await import_assessments(
                session, csv_rows(io.BytesIO(files[number]), f"f{number}.csv"), f"f{number}.csv"
            )

    try:
        results = await asyncio.gather(*(upload(number) for number in range(8)))
        assert [(result.inserted + result.unchanged, result.rejected) for result in results] == [
            (12, [])
        ] * 8
        assert sum(result.inserted for result in results) == 24
        async with sessionmaker() as session:
            stored = select(func.count()).where(col(Assessment.external_id).like("concurrent:%"))
            assert (await run(session, stored)).scalar_one() == 24
    finally:
        async with sessionmaker.begin() as session:
            await remove_assessments(session, col(Assessment.external_id).like("concurrent:%"))


async def test_row_stored_meanwhile_by_another_writer_counts_as_unchanged(
    engine: AsyncEngine,
) -> None:
    """A writer outside the bulk import (the JSON API takes an external id too) stores a row
    while a file with the same row is being imported: the file counts it unchanged."""
    sessionmaker = create_sessionmaker(engine)
    line = row("race:1", ratings="", level="2")
    try:
        async with sessionmaker() as other, other.begin():
            model = await queries.model_for(other, "online", None)
            moment = datetime(2026, 3, 1, 10, tzinfo=UTC)
            leika_id = (await catalog_queries.leika_ids(other))[ELTERNGELD]
            await insert_assessments(other, [{
                "external_id": "race:1", "ars": ESSEN, "leika_id": leika_id, "ozg_id": None,
                "dimension": "online", "model_id": model.model_id, "ratings": {}, "level": 2,
                "provisional": True, "missing_criteria": list(model.criterion_keys),
                "evidence": [], "source": "self", "land_wide_portal": False,
                "corrects_id": None, "assessed_at": moment, "assessed_by": "race",
                "status": "validated", "status_comment": None, "status_changed_at": moment,
                "status_changed_by": "race", "version": 1,
            }])  # fmt: skip

            async def upload() -> ImportResult:
                async with sessionmaker() as session, session.begin():
                    await session.connection(execution_options={WRITE_OPTION: True})
                    rows = csv_rows(io.BytesIO(bulk_csv([line]).encode()), "race.csv")
                    return await import_assessments(session, rows, "race.csv")

            importing = asyncio.create_task(upload())
            await waiting_for_a_lock(engine)
        result = await importing
        assert (result.inserted, result.unchanged, result.rejected) == (0, 1, [])
    finally:
        async with sessionmaker.begin() as session:
            await remove_assessments(session, col(Assessment.external_id) == "race:1")


async def waiting_for_a_lock(engine: AsyncEngine) -> None:
    """Until some transaction waits for a lock (PostgreSQL); SQLite's writer waits at BEGIN."""
    if engine.dialect.name != "postgresql":
        await asyncio.sleep(0.2)
        return
    async with engine.connect() as connection:
        for _ in range(200):
            statement = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if (await connection.execute(statement)).scalar_one():
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the import never waited for the other writer")


ODD_VALUES = [
    {"evidence": "[1]"}, {"evidence": '[{"kind": "url", "ref": "x", "more": 1}]'},
    {"evidence": "["}, {"evidence": "[" + "9" * 5000 + "]"}, {"evidence": '{"kind": "url"}'},
    {"evidence": " ".join(f"https://essen.de/{n}" for n in range(51))},
    {"evidence": '["' + '\\"[' * 100 + '"]'}, {"ratings": "a=1; a=2"},
    {"ratings": "leistungsbeschreibung=" + "9" * 5000}, {"ratings": "=3"}, {"level": "1e5"},
    {"level": "٣"}, {"ratings": "leistungsbeschreibung=٣"}, {"assessed_at": "2020-13-45"},
    {"assessed_at": "2999-01-01"}, {"status_changed_at": "1999-12-31"}, {"external_id": " "},
    {"ars": "٠٥١١٣٠٠٠٠٠٠٠"}, {"status": "bogus"}, {"model": "x" * 50}, {"corrects": "y" * 500},
    {"land_wide_portal": "vielleicht"}, {"dimension": "Online"}, {"source": "\u202e"},
]  # fmt: skip


async def test_odd_values_are_row_errors_never_a_500(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    headers = {**who["editor"], "Content-Type": "text/csv"}
    for number, odd in enumerate(ODD_VALUES):
        body = bulk_csv([row(f"essen:odd{number}", ratings="", level="2") | odd])
        answer = await client.post("/api/v1/assessments/import", content=body, headers=headers)
        assert answer.status_code == 422, (odd, answer.text)
        assert answer.json()["errors"][0].startswith("upload.csv:2: "), odd
    book = workbook([row("essen:x1"), row("essen:x2")])
    cut = rewrite_sheet(book, lambda xml: xml[: xml.index(b"</sheetData>") - 30])
    headers["Content-Type"] = XLSX_MEDIA_TYPE
    answer = await client.post("/api/v1/assessments/import", content=cut, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0].startswith("upload.xlsx:3: not readable as XLSX")


async def test_stored_ratings_in_another_order_are_the_same_content(
    session: AsyncSession, tmp_path: Path
) -> None:
    """The stored row's JSON reads differently as text (its keys in another order, as the JSON
    API may store them): compared as data, the row is unchanged; another value is an error."""
    first = await import_text(session, tmp_path, bulk_csv([row("order:1")]))
    assert first.inserted == 1
    backwards = "; ".join(f"{key}={value}" for key, value in reversed(FULL.items()))
    again = await import_text(session, tmp_path, bulk_csv([row("order:1", ratings=backwards)]))
    assert (again.inserted, again.unchanged) == (0, 1)
    changed = backwards.replace("nutzerkonto=4", "nutzerkonto=3")
    with pytest.raises(ImportRejected, match="order:1 is stored with other content"):
        await import_text(session, tmp_path, bulk_csv([row("order:1", ratings=changed)]))


async def test_skipped_rows_take_their_corrections_along(
    session: AsyncSession, tmp_path: Path
) -> None:
    """With --skip-invalid, a row correcting an invalid row (or one correcting that) is left
    out too, naming what it corrects; a correction must come after what it corrects."""
    rows = [
        row("chain:1", ars="059999999999"),
        row("chain:2", corrects="chain:1"),
        row("chain:3", corrects="chain:2"),
        row("chain:4", corrects="chain:5"),
        row("chain:5"),
        row("chain:6", corrects="chain:5"),
    ]
    result = await import_text(session, tmp_path, bulk_csv(rows), skip_invalid=True)
    assert result.inserted == 2
    assert [str(error).split(": ", 1)[1] for error in result.rejected] == [
        "ars: Gemeinde 059999999999 does not exist",
        "corrects: no assessment has the external_id chain:1",
        "corrects: no assessment has the external_id chain:2",
        "corrects: no assessment has the external_id chain:5",
    ]
    stored = await run(
        session,
        select(col(Assessment.external_id), col(Assessment.corrects_id), col(Assessment.id))
        .where(col(Assessment.external_id).like("chain:%"))
        .order_by(col(Assessment.external_id)),
    )
    found = [tuple(item) for item in stored.all()]
    assert [(name, corrects) for name, corrects, _ in found] == [
        ("chain:5", None), ("chain:6", found[0][2]),
    ]  # fmt: skip
