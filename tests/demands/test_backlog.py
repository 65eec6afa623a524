"""The backlog as CSV, German Excel CSV and XLSX, and back: round trips, changes, refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
from click.testing import CliRunner
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.demands.test_routes import ANY, LEIPZIG, add_action, people
from tracker.cli import main
from tracker.tabular import XLSX_MEDIA_TYPE

URL = "/api/v1/demand-catalogues/dresdner-forderungen-2021/backlog"
FORMULA = '=HYPERLINK("https://example.org","klick")'


async def backlog(client: Client, form: str = "csv") -> bytes:
    answer = await client.get(URL, params={"format": form})
    assert answer.status_code == 200, answer.text
    return answer.content


async def upload(client: Client, headers: dict[str, str], body: bytes, media: str = "text/csv"):
    return await client.post(URL, content=body, headers={**headers, "Content-Type": media})


def table(body: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


async def test_the_backlog_round_trips_in_every_format_and_neutralises_formulas(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    action = await add_action(client, who["dst"], "DF-3", title={"de": FORMULA}, weight=1.5,
                              external_id="kfz-anbindung", due_date="2027-03-31")  # fmt: skip
    uptake = f"/api/v1/actions/{action['id']}/gemeinden/{LEIPZIG}"
    taken = await client.put(
        uptake, json={"status": "in_progress", "progress": 40}, headers=who["dst"]
    )
    assert taken.status_code == 201, taken.text
    milestone = await client.post(
        f"/api/v1/actions/{action['id']}/milestones", headers=who["dst"],
        json={"due_date": "2026-12-31", "title": {"de": "Pilot"}},
    )  # fmt: skip
    assert milestone.status_code == 201, milestone.text

    plain = await backlog(client)
    rows = table(plain)
    assert [row["record"] for row in rows][:6] == ["demand"] * 3 + ["action", "uptake", "milestone"]
    mine = [row for row in rows if row["action"] == "kfz-anbindung"]
    assert [row["record"] for row in mine] == ["action", "uptake", "milestone"]
    assert mine[0]["title_de"] == "'" + FORMULA  # a spreadsheet shows it, never runs it
    assert (mine[0]["weight"], mine[0]["due_date"], mine[1]["ars"], mine[1]["progress"]) == (
        "1.5", "2027-03-31", LEIPZIG, "40",
    )  # fmt: skip
    german = await backlog(client, "csv-de")
    assert german.startswith("\ufeff".encode())
    assert next(r for r in table(german, ";") if r["action"] == "kfz-anbindung")["weight"] == "1,5"
    workbook = openpyxl.load_workbook(io.BytesIO(await backlog(client, "xlsx")), read_only=True)
    cells = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row]
    assert FORMULA in cells  # an explicit string cell, not a formula

    for body, media in ((plain, "text/csv"), (german, "text/csv"),
                        (await backlog(client, "xlsx"), XLSX_MEDIA_TYPE)):  # fmt: skip
        again = await upload(client, who["dst"], body, media)
        assert again.status_code == 200, again.text
        report = again.json()
        assert (report["inserted"], report["updated"]) == (0, 0), (media, report)
        assert report["unchanged"] == len([r for r in rows if r["record"] != "demand"])
        assert len(report["skipped"]) == len([r for r in rows if r["record"] == "demand"])
    assert await backlog(client) == plain  # nothing moved


async def test_an_import_creates_and_changes_by_external_id_and_refuses_whole_files(
    client: Client, session: AsyncSession
) -> None:
    who = await people(session)
    header = "record;demand;action;title_de;responsible_level;status;progress;weight;ars\r\n"
    new = (header + "action;DF-4;ozg-cockpit;Cockpit;bund;accepted;;2,5;\r\n"
           "uptake;;ozg-cockpit;;;in_progress;30;;" + LEIPZIG + "\r\n").encode()  # fmt: skip
    first = await upload(client, who["dst"], new)
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["updated"]) == (2, 0)
    stored = [r for r in table(await backlog(client)) if r["action"] == "ozg-cockpit"]
    assert (stored[0]["status"], stored[0]["weight"], stored[0]["progress"]) == (
        "accepted",
        "2.5",
        "10",
    )
    assert (stored[1]["status"], stored[1]["progress"]) == ("in_progress", "30")
    assert (await upload(client, who["dst"], new)).json()["inserted"] == 0  # idempotent
    moved = new.replace(b"accepted", b"blocked").replace(b";30;", b";55;")
    changed = await upload(client, who["dst"], moved)
    assert (changed.json()["inserted"], changed.json()["updated"]) == (0, 2), changed.text
    (cockpit,) = [r for r in table(await backlog(client)) if r["record"] == "action"
                  and r["action"] == "ozg-cockpit"]  # fmt: skip
    assert cockpit["status"] == "blocked"

    broken = (header + "action;DF-4;neu-1;Neu;bund;accepted;150;;\r\n"
              "action;DF-9;neu-2;Neu;bund;;;;\r\n"
              "uptake;;ozg-cockpit;;;vertagt;;;" + LEIPZIG + "\r\n").encode()  # fmt: skip
    before = await backlog(client)
    refused = await upload(client, who["dst"], broken)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [error.split(":")[:2] for error in errors] == [
        ["upload.csv", "2"],
        ["upload.csv", "3"],
        ["upload.csv", "4"],
    ]
    assert "Demand DF-9 does not exist" in errors[1]
    assert "vertagt is not in the vocabulary" in errors[2]
    assert await backlog(client) == before  # all or nothing
    foreign = await upload(client, who["leipzig"], moved)
    assert foreign.status_code == 403, foreign.text
    assert "upload.csv:2" in foreign.json()["detail"]
    wrong = await upload(client, who["dst"], b"PK\x03\x04junk", XLSX_MEDIA_TYPE)
    assert wrong.status_code == 422
    assert "not an XLSX workbook" in wrong.json()["errors"][0]
    assert (await upload(client, who["dst"], b"x", "text/plain")).status_code == 415
    assert (await client.post(URL, content=new, headers=ANY)).status_code == 401


def test_the_cli_imports_a_backlog_file_all_or_nothing(tmp_path: Path, database_url: str) -> None:
    """As the operator; a refused file names file:line and writes nothing."""
    bad = tmp_path / "backlog.csv"
    bad.write_text("record,action,demand,title_de,responsible_level\r\n"
                   "action,cli-1,DF-9,X,bund\r\n", encoding="utf-8")  # fmt: skip
    refused = CliRunner().invoke(
        main, ["import", "backlog", str(bad)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert refused.exit_code == 1
    assert "backlog.csv:2: Demand DF-9 does not exist." in refused.output
    only_demands = tmp_path / "demands.csv"
    only_demands.write_text("record,action,demand\r\ndemand,,DF-1\r\n", encoding="utf-8")
    done = CliRunner().invoke(
        main, ["import", "backlog", str(only_demands)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert done.exit_code == 0, done.output
    assert (
        "0 inserted, 0 updated, 0 unchanged, 0 rejected, 1 skipped (nothing written)" in done.output
    )
