"""Catalogue importers on the real files and on copies of them with one thing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, rewrite
from tracker.catalog.imports import (
    LEIKA_FILE,
    LEISTUNGEN_FILE,
    THEMENFELDER_FILE,
    import_leika,
    import_leistungen,
    import_themenfelder,
)
from tracker.catalog.models import LeikaLeistung, Themenfeld
from tracker.db import run
from tracker.importing import ImportRejected


async def themenfeld_name(session: AsyncSession, themenfeld_id: int) -> str:
    statement = select(col(Themenfeld.name)).where(col(Themenfeld.id) == themenfeld_id)
    name: str = (await run(session, statement)).scalar_one()
    return name


async def test_second_import_of_the_real_files_writes_nothing(
    session: AsyncSession, data_dir: Path
) -> None:
    for importer, name, rows in (
        (import_themenfelder, THEMENFELDER_FILE, 14),
        (import_leistungen, LEISTUNGEN_FILE, 557),
        (import_leika, LEIKA_FILE, 5249),
    ):
        result = await importer(session, data_dir / name)
        assert (result.inserted, result.updated, result.unchanged, result.rejected) == (
            0,
            0,
            rows,
            [],
        )
        assert result.wrote_nothing
        assert result.summary().endswith("(nothing written)")


async def test_changed_row_updates_its_record(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = rewrite(
        data_dir / THEMENFELDER_FILE,
        tmp_data / THEMENFELDER_FILE,
        {0: {"name": "Arbeit und Rente"}},
    )
    result = await import_themenfelder(session, path)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 13)
    assert await themenfeld_name(session, 1) == "Arbeit und Rente"


async def test_bad_row_rejects_the_file_and_names_its_line(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = rewrite(
        data_dir / THEMENFELDER_FILE,
        tmp_data / THEMENFELDER_FILE,
        {0: {"name": "Arbeit und Rente"}, 2: {"themenfeld_id": "drei"}},
    )
    with pytest.raises(ImportRejected) as rejected:
        await import_themenfelder(session, path)
    assert [str(error) for error in rejected.value.errors] == [
        "ozg_themenfelder.csv:4: themenfeld_id: Input should be a valid integer, "
        "unable to parse string as an integer (got 'drei')"
    ]
    assert await themenfeld_name(session, 1) == "Arbeit & Ruhestand"


async def test_skip_invalid_imports_the_valid_rows_and_lists_the_others(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = rewrite(
        data_dir / THEMENFELDER_FILE,
        tmp_data / THEMENFELDER_FILE,
        {0: {"name": "Arbeit und Rente"}, 2: {"name": ""}},
        extra=[{"themenfeld_id": "1", "name": "doppelt"}],
    )
    result = await import_themenfelder(session, path, skip_invalid=True)
    assert [str(error) for error in result.rejected] == [
        "ozg_themenfelder.csv:4: name: String should have at least 1 character (got '')",
        "ozg_themenfelder.csv:16: themenfeld_id 1 already given on line 2",
    ]
    assert (result.updated, result.unchanged) == (1, 12)
    assert await themenfeld_name(session, 1) == "Arbeit und Rente"


async def test_missing_column_rejects_the_file_at_its_header(
    session: AsyncSession, tmp_data: Path
) -> None:
    path = tmp_data / THEMENFELDER_FILE
    path.write_text("id,name\n1,Arbeit\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        await import_themenfelder(session, path)
    assert str(rejected.value) == "ozg_themenfelder.csv:1: missing columns: themenfeld_id"


async def test_leika_rows_keep_keyless_rows_and_check_references(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    keyless = (
        await run(session, select(func.count()).where(col(LeikaLeistung.leika_key).is_(None)))
    ).scalar_one()
    assert keyless == 436
    path = rewrite(
        data_dir / LEIKA_FILE,
        tmp_data / LEIKA_FILE,
        {
            0: {"ozg_id": "77777"},
            1: {"leika_key": "99001001000000"},
            2: {"leika_typ": "1, zwei"},
            3: {"sdg1_relevant": "vielleicht"},
            4: {"leika_key": "9900100100000"},
        },
    )
    with pytest.raises(ImportRejected) as rejected:
        await import_leika(session, path)
    messages = [str(error) for error in rejected.value.errors]
    assert messages[0] == "leika_leistungen_ozg.csv:2: ozg_id 77777 is not in ozg_leistungen.csv"
    assert messages[1].startswith(
        "leika_leistungen_ozg.csv:3: leika_key 99001001000000 already given"
    )
    assert messages[2].startswith(
        "leika_leistungen_ozg.csv:4: leika_typ.1: String should match pattern"
    )
    assert messages[3].startswith(
        "leika_leistungen_ozg.csv:5: sdg1_relevant: Input should be a valid boolean"
    )
    assert messages[4].startswith(
        "leika_leistungen_ozg.csv:6: leika_key: String should match pattern"
    )
    assert len(messages) == 5


async def test_leistung_must_agree_with_its_lebenslage(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = rewrite(
        data_dir / LEISTUNGEN_FILE,
        tmp_data / LEISTUNGEN_FILE,
        {0: {"themenfeld_id": "3"}, 1: {"lebenslage_id": "99"}},
    )
    with pytest.raises(ImportRejected) as rejected:
        await import_leistungen(session, path)
    assert [str(error) for error in rejected.value.errors] == [
        "ozg_leistungen.csv:2: themenfeld_id 3 differs from Lebenslage 26's Themenfeld 6",
        "ozg_leistungen.csv:3: lebenslage_id 99 is not in ozg_lebenslagen.csv",
    ]


@pytest.mark.parametrize(
    ("url", "name", "importer"),
    [
        ("/api/v1/themenfelder", THEMENFELDER_FILE, import_themenfelder),
        ("/api/v1/leistungen", LEISTUNGEN_FILE, import_leistungen),
        ("/api/v1/leika", LEIKA_FILE, import_leika),
    ],
)
async def test_csv_export_reimports_unchanged(
    client: Client, session: AsyncSession, tmp_data: Path, url: str, name: str, importer: object
) -> None:
    response = await client.get(url, headers={"Accept": "text/csv"})
    path = tmp_data / name
    path.write_text(response.text, encoding="utf-8")
    result = await importer(session, path)  # type: ignore[operator]
    assert (result.inserted, result.updated, result.rejected) == (0, 0, [])
    assert result.unchanged > 0
