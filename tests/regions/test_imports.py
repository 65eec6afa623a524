"""GV100AD importer: the real file, a synthetic later release made from it, and broken records."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tracker.access.models import AuditEntry
from tracker.cli import main
from tracker.db import run
from tracker.importing import ImportRejected
from tracker.regions.gv100ad import RecordError, parse_record
from tracker.regions.imports import GV100AD_FILE, import_gv100ad
from tracker.regions.models import Gemeinde

LATER = "20260331"


def release(
    data_dir: Path,
    target: Path,
    *,
    drop_ars: frozenset[str] = frozenset(),
    gebietsstand: str = LATER,
    edit: dict[int, tuple[int, str]] | None = None,
) -> Path:
    """A copy of the real file with another Gebietsstand, some Gemeinden left out and some
    characters replaced (line → (1-based position, text))."""
    lines = (data_dir / GV100AD_FILE).read_text(encoding="utf-8").splitlines()
    kept = []
    for number, line in enumerate(lines, start=1):
        ars = line[10:15] + line[18:22] + line[15:18]
        if line.startswith("60") and ars in drop_ars:
            continue
        line = line[:2] + gebietsstand + line[10:]
        if edit and number in edit:
            position, text = edit[number]
            line = line[: position - 1] + text + line[position - 1 + len(text) :]
        kept.append(line)
    target.write_text("\r\n".join(kept) + "\r\n", encoding="utf-8")
    return target


async def gemeinde(session: AsyncSession, ars: str) -> Gemeinde:
    row: Gemeinde = (
        (await run(session, select(Gemeinde).where(col(Gemeinde.ars) == ars))).scalars().one()
    )
    return row


async def test_reimport_of_the_real_file_writes_nothing(
    session: AsyncSession, data_dir: Path
) -> None:
    results = await import_gv100ad(session, data_dir / GV100AD_FILE)
    assert [(r.source.split(": ")[1], r.unchanged) for r in results] == [
        ("Länder", 16), ("Regierungsbezirke", 29), ("Regionen", 12), ("Kreise", 400),
        ("Gemeindeverbände", 4590), ("Gemeinden", 10953),
    ]  # fmt: skip
    assert all(result.wrote_nothing for result in results)


async def test_later_release_marks_a_vanished_gemeinde_and_keeps_it(
    session: AsyncSession, client: Client, data_dir: Path, tmp_data: Path
) -> None:
    flensburg = "010010000000"
    path = release(data_dir, tmp_data / "GV100AD_31032026.txt", drop_ars=frozenset({flensburg}))
    results = await import_gv100ad(session, path)
    gemeinden = results[-1]
    # every remaining row changes its Gebietsstand; the vanished one only gets invalid_since
    assert (gemeinden.updated, gemeinden.retired, gemeinden.inserted) == (10952, 1, 0)
    stored = await gemeinde(session, flensburg)
    assert stored.invalid_since == date(2026, 3, 31)
    audited = (
        (
            await run(
                session,
                select(AuditEntry).where(
                    col(AuditEntry.entity) == "gemeinde", col(AuditEntry.entity_id) == flensburg
                ),
            )
        )
        .scalars()
        .all()
    )
    assert [(entry.actor, entry.action, entry.changes) for entry in audited][-1] == (
        "import",
        "retire",
        {"invalid_since": [None, "2026-03-31"]},
    )
    run_entry = (
        (
            await run(
                session,
                select(AuditEntry).where(col(AuditEntry.entity_id) == f"{path.name}: Gemeinden"),
            )
        )
        .scalars()
        .one()
    )
    assert run_entry.changes == {
        "inserted": 0,
        "updated": 10952,
        "unchanged": 0,
        "retired": 1,
        "rejected": 0,
    }
    assert stored.gebietsstand == date(2025, 11, 30)
    await session.commit()
    listed = await client.get("/api/v1/gemeinden", params={"kreis": "01001"})
    assert listed.json()["items"] == []
    everything = await client.get(
        "/api/v1/gemeinden", params={"kreis": "01001", "include_invalid": "true"}
    )
    assert [item["invalid_since"] for item in everything.json()["items"]] == ["2026-03-31"]
    detail = await client.get(f"/api/v1/gemeinden/{flensburg}")
    assert detail.json()["invalid_since"] == "2026-03-31"

    again = release(data_dir, tmp_data / "GV100AD_30062026.txt", gebietsstand="20260630")
    revived = await import_gv100ad(session, again)
    assert revived[-1].updated == 10953
    assert (await gemeinde(session, flensburg)).invalid_since is None


async def test_older_release_is_refused(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = release(data_dir, tmp_data / "old.txt", gebietsstand="20231130")
    with pytest.raises(ImportRejected) as rejected:
        await import_gv100ad(session, path)
    assert str(rejected.value) == (
        "old.txt:1: Gebietsstand 2023-11-30 is older than the stored 2025-11-30; "
        "refusing to go back"
    )


async def test_broken_records_reject_the_file_with_their_lines(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = release(
        data_dir,
        tmp_data / "broken.txt",
        gebietsstand="20251130",
        edit={4: (140, "00000abc123"), 7: (123, "69"), 10: (1, "70")},
    )
    with pytest.raises(ImportRejected) as rejected:
        await import_gv100ad(session, path)
    assert [str(error) for error in rejected.value.errors] == [
        "broken.txt:4: Bevölkerung (positions 140-150) must be a number, got '00000abc123'",
        "broken.txt:7: Textkennzeichen '69' (positions 123-124) "
        "is not one of [60, 61, 62, 63, 64, 65, 66, 67]",
        "broken.txt:10: unknown Satzart '70' (positions 1-2)",
    ]
    assert (await gemeinde(session, "010010000000")).invalid_since is None


async def test_skip_invalid_keeps_the_good_records(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    path = release(data_dir, tmp_data / "partly.txt", gebietsstand="20251130", edit={4: (140, "x")})
    results = await import_gv100ad(session, path, skip_invalid=True)
    assert [str(error) for error in results[-1].rejected] == [
        "partly.txt:4: Bevölkerung (positions 140-150) must be a number, got 'x0000096326'"
    ]
    assert results[-1].retired == 1


def test_parser_reads_the_official_layout(data_dir: Path) -> None:
    line = next(
        text for text in (data_dir / GV100AD_FILE).read_text(encoding="utf-8").splitlines()
        if text.startswith("60") and "Bautzen" in text
    )  # fmt: skip
    record = parse_record(1, line)
    assert record.name == "Bautzen / Budyšin, Stadt, Hochschulstadt / Wysokoš"  # cut by Destatis
    # The Destatis release note prints this ARS as 146250200020; the record itself says:
    assert (
        record.land + record.rb + record.kreis + record.verband + record.gemeinde == "146250020020"
    )
    with pytest.raises(RecordError, match="record has 10 characters"):
        parse_record(1, line[:10])


async def test_release_retiring_too_much_is_refused_unless_allowed(
    session: AsyncSession, data_dir: Path, tmp_data: Path
) -> None:
    """A file cut off after Bayern (the Länder 10-16 missing) is refused with what it would
    retire; the operator may allow it."""
    lines = (data_dir / GV100AD_FILE).read_bytes().splitlines(keepends=True)
    path = tmp_data / "GV100AD_cut.txt"
    path.write_bytes(b"".join(line for line in lines if line[10:12] < b"10"))
    with pytest.raises(ImportRejected) as rejected:
        await import_gv100ad(session, path)
    messages = [str(error) for error in rejected.value.errors]
    assert messages[0] == (
        "GV100AD_cut.txt:1: would mark 7 of 16 Länder no longer valid (43.8%, more than 5%): "
        "Saarland; Berlin; Brandenburg; Mecklenburg-Vorpommern; Sachsen; …"
    )
    assert messages[-1] == (
        "GV100AD_cut.txt:1: would mark 2434 of 10953 Gemeinden no longer valid (22.2%, more "
        "than 5%): Saarbrücken, Landeshauptstadt; Friedrichsthal, Stadt; Großrosseln; "
        "Heusweiler; Kleinblittersdorf; …"
    )
    assert [message.split(" ")[3:6] for message in messages[1:]] == [
        ["3", "of", "29"], ["82", "of", "400"], ["984", "of", "4590"], ["2434", "of", "10953"],
    ]  # fmt: skip
    assert "--allow-retire" in (rejected.value.hint or "")
    assert (await gemeinde(session, "100410100100")).invalid_since is None
    results = await import_gv100ad(session, path, allow_retire=True)
    assert [result.retired for result in results][-1] == 2434
    assert (await gemeinde(session, "100410100100")).invalid_since == date(2025, 11, 30)


def test_command_names_what_a_release_would_retire(
    database_url: str, data_dir: Path, tmp_data: Path
) -> None:
    lines = (data_dir / GV100AD_FILE).read_bytes().splitlines(keepends=True)
    path = tmp_data / "GV100AD_cut.txt"
    path.write_bytes(b"".join(line for line in lines if line[10:12] < b"10"))
    result = CliRunner().invoke(
        main, ["import", "regions", str(path)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "would mark 2434 of 10953 Gemeinden no longer valid" in result.stderr
    assert result.stderr.endswith(
        "A truncated or wrong file? If the release really dissolves them, run again with "
        "--allow-retire.\n"
    )
