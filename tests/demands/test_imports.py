"""Loading demand catalogues: idempotent, all-or-nothing, and a bad file names file:line:field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tracker.cli import main
from tracker.db import run
from tracker.demands import imports
from tracker.demands.models import ActionMilestone, Demand, DemandAction, DemandCatalogue
from tracker.importing import ImportRejected

DRESDEN = imports.CATALOGUES / "dresdner-forderungen-2021.json"


async def count(session: AsyncSession, table: type) -> int:
    return int((await run(session, select(func.count()).select_from(table))).scalar_one())


async def test_catalogue_and_positions_load_once_and_again_change_nothing(
    client: Client, session: AsyncSession
) -> None:
    first = await imports.import_catalogue(session, DRESDEN)
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    again = await imports.import_catalogue(session, DRESDEN)
    assert (again.inserted, again.updated, again.unchanged, again.wrote_nothing) == (0, 0, 5, True)
    (positions,) = imports.position_files()
    seeded = await imports.import_positions(session, positions)
    assert seeded.inserted == 5
    milestones = await count(session, ActionMilestone)
    reseeded = await imports.import_positions(session, positions)
    assert (reseeded.inserted, reseeded.unchanged) == (0, 5)
    assert await count(session, ActionMilestone) == milestones == 7
    await session.commit()

    tree = (await client.get("/api/v1/demands", params={"catalogue": DRESDEN.stem})).json()
    assert tree["catalogue"]["source_date"] == "2021-06-30"
    assert tree["catalogue"]["scope_ars"] == ""
    assert [d["key"] for d in tree["demands"]] == ["DF-1", "DF-2", "DF-3", "DF-4", "DF-5"]
    df3 = tree["demands"][2]
    assert df3["title"]["de"] == "Zentrale IT-Verfahren und Prozesse für zentrale Aufgaben"
    assert df3["title"]["en"] == "Central IT for central tasks"
    assert df3["source"].startswith("https://")
    # DF-3 holds three seeded positions: two done, the (Neu)Start KfZ initiative proposed
    assert df3["rollup"]["by_status"] == {"done": 2, "proposed": 1}
    assert df3["rollup"]["progress"] == pytest.approx(200 / 3, abs=0.01)
    assert tree["demands"][0]["rollup"] == {
        "progress": None, "weight": 0, "actions": 0, "by_status": {}, "overdue_milestones": 0,
    }  # fmt: skip
    actions = (await client.get("/api/v1/demands/DF-3/actions")).json()["items"]
    kfz = next(a for a in actions if a["external_id"] == "dst-position:neustart-kfz")
    assert kfz["description"]["de"].startswith("[Seed: Initiative]")
    assert kfz["due_date"] == "2030-12-31"


def write(path: Path, body: object) -> Path:
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


async def test_a_bad_file_names_line_and_field_and_writes_nothing(
    session: AsyncSession, tmp_data: Path
) -> None:
    good = json.loads(DRESDEN.read_text(encoding="utf-8"))
    bad = {**good, "demands": [*good["demands"][:2], {**good["demands"][2], "weight": "2"}]}
    with pytest.raises(ImportRejected) as rejected:
        await imports.import_catalogue(session, write(tmp_data / "bad.json", bad))
    (error,) = rejected.value.errors
    lines = (tmp_data / "bad.json").read_text(encoding="utf-8").splitlines()
    assert '"weight": "2"' in lines[error.line - 1]
    assert (
        str(error) == f"bad.json:{error.line}: demands.2.weight: Value error, must be a JSON number"
    )

    (tmp_data / "broken.json").write_text('{"key": "x",\n  "version": }', encoding="utf-8")
    with pytest.raises(ImportRejected) as broken:
        await imports.import_catalogue(session, tmp_data / "broken.json")
    assert str(broken.value.errors[0]).startswith("broken.json:2: not valid JSON")

    twice = {**good, "demands": [*good["demands"], good["demands"][0]]}
    with pytest.raises(ImportRejected, match="demand keys must be distinct"):
        await imports.import_catalogue(session, write(tmp_data / "twice.json", twice))
    assert await count(session, DemandCatalogue) == await count(session, Demand) == 0


def test_the_command_reports_a_bad_file_without_a_traceback(
    database_url: str, tmp_data: Path
) -> None:
    bad = write(tmp_data / "stadt.json", {"key": "stadt", "version": "1", "title": {"de": "S"},
                                         "demands": [{"key": "S-1", "title": {}}]})  # fmt: skip
    result = CliRunner().invoke(
        main, ["import", "demands", str(bad)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = bad.read_text(encoding="utf-8").splitlines().index('      "title": {}') + 1
    assert f"stadt.json:{line}: demands.0.title.de: Field required" in result.output


async def test_positions_need_their_catalogue(session: AsyncSession) -> None:
    (positions,) = imports.position_files()
    with pytest.raises(ImportRejected, match="dresdner-forderungen-2021 is not loaded"):
        await imports.import_positions(session, positions)
    assert await count(session, DemandAction) == 0
