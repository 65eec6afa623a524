"""One corpus of bad input against every importer (catalogue, GV100AD, WSP NRW, open-PVOG, bulk
assessments) and the bulk upload: each defect is refused with `file:line` and a reason, never
with a traceback or a 500. A clean variant of each file shows the line itself is readable, so a
refusal cannot come from a broken template."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client
from tests.maturity.test_routes import ELTERNGELD, ESSEN, people
from tracker.catalog.imports import import_themenfelder
from tracker.cli import main
from tracker.importing import MAX_FIELD_CHARS, ImportRejected
from tracker.maturity import bulk, pvog
from tracker.maturity.imports import import_wsp_nrw
from tracker.regions.imports import GV100AD_FILE, import_gv100ad

CLEAN = {"text": "Musterstadt", "number": "0", "date": "2025-10-01", "json": ""}
DEEP = "[" * 50_000 + "]" * 50_000


@dataclass(frozen=True)
class Defect:
    values: dict[str, str]
    says: str | None  # part of the message; None where each importer words it its own way
    encoding: str = "utf-8"


DEFECTS = {
    "windows-1252": Defect({"text": "Müllerstraße"}, "save the file as UTF-8", "cp1252"),
    "nul": Defect({"text": "Muster\x00stadt"}, "NUL character"),
    "long field": Defect({"text": "x" * (MAX_FIELD_CHARS + 10)}, None),
    "unicode digit": Defect({"number": "²"}, None),
    "far future": Defect({"date": "9999-12-31"}, "lies in the future"),
    "year 1": Defect({"date": "0001-01-01"}, "lies before 2000-01-01"),
    "deep json": Defect({"json": DEEP}, "nests deeper"),
}


@dataclass(frozen=True)
class Importer:
    filename: str
    line: int  # where the defect goes
    fields: frozenset[str]  # the kinds of value the format has: text, number, date, json
    build: Callable[[Path, dict[str, str]], str]
    run: Callable[[AsyncSession, Path], Awaitable[Any]]
    command: tuple[str, ...]
    says: dict[str, str] = field(default_factory=dict)  # its own words for a defect
    lines: dict[str, int] = field(default_factory=dict)  # where a defect shows before `line`


def themenfelder(_data: Path, v: dict[str, str]) -> str:
    return f"themenfeld_id,name\n9{v['number']},{v['text']}\n"


def gv100ad(data: Path, v: dict[str, str]) -> str:
    """The first four records of the real file (Land, Kreis, Verband, Gemeinde Flensburg)."""
    with (data / GV100AD_FILE).open(encoding="utf-8", newline="") as handle:
        lines = [handle.readline().rstrip("\r\n") for _ in range(4)]
    gemeinde = lines[3]
    lines[3] = gemeinde[:22] + v["text"].ljust(50) + gemeinde[72:138] + v["number"] + gemeinde[139:]
    return "\r\n".join(lines) + "\r\n"


def wsp(_data: Path, v: dict[str, str]) -> str:
    return (
        "Name,Nummer,Onlinedienst (übergeordnet),Live,Landingpage,"
        "Direktlink (nur ODs ohne Landingpage),Stelle\n"
        f"Versteigerer,9905003600500{v['number']},{v['text']},Ja,/antrag/x/,,Gemeinde\n"
    )


def open_pvog(_data: Path, v: dict[str, str]) -> str:
    return (
        "leika_key;ars;ozgid;ozg_bezeichnung;url;online_status;aktiv;art_flaechendeckung;"
        "datenstand_pvog_import\n"
        f"{ELTERNGELD};{ESSEN[:-1]}{v['number']};10000;{v['text']};https://x.de;ok;ja;"
        f"landesweit flächendeckend;{v['date']}\n"
    )


def assessment(v: dict[str, str]) -> dict[str, str]:
    return {
        "external_id": "corpus:1", "ars": ESSEN, "leika_key": ELTERNGELD, "dimension": "online",
        "level": v["number"], "status_comment": v["text"], "assessed_at": v["date"],
        "evidence": v["json"],
    }  # fmt: skip


def assessments(_data: Path, v: dict[str, str]) -> str:
    row = assessment(v)
    quoted = ['"' + row.get(name, "").replace('"', '""') + '"' for name in bulk.COLUMNS]
    return ",".join(bulk.COLUMNS) + "\n" + ",".join(quoted) + "\n"


async def gv100ad_import(session: AsyncSession, path: Path) -> Any:
    return await import_gv100ad(session, path)


LONG_CSV = {"long field": f"a field is longer than {MAX_FIELD_CHARS} characters"}
IMPORTERS = {
    "catalog": Importer(
        "ozg_themenfelder.csv", 2, frozenset({"text", "number"}), themenfelder,
        import_themenfelder, ("catalog",), LONG_CSV,
    ),
    "regions": Importer(
        "GV100AD_31032026.txt", 4, frozenset({"text", "number"}), gv100ad, gv100ad_import,
        ("regions",), {"long field": "characters, the layout has 220", "unicode digit": "Fläche"},
    ),
    "wsp-nrw": Importer(
        "wsp_2024-11-11.csv", 2, frozenset({"text", "number"}), wsp, import_wsp_nrw,
        ("wsp-nrw",), LONG_CSV, {"windows-1252": 1},  # its header has an ü
    ),
    "pvog": Importer(
        "open-pvog.csv", 2, frozenset({"text", "number", "date"}), open_pvog, pvog.import_pvog,
        ("pvog",), LONG_CSV,
    ),
    "assessments": Importer(
        "bewertungen.csv", 2, frozenset({"text", "number", "date", "json"}), assessments,
        bulk.import_file, ("assessments",), LONG_CSV,
    ),
}  # fmt: skip
CASES = [
    pytest.param(importer, defect, id=f"{name}-{defect}")
    for name, importer in IMPORTERS.items()
    for defect, spec in DEFECTS.items()
    if set(spec.values) <= importer.fields
]


def write(importer: Importer, data_dir: Path, folder: Path, defect: str | None) -> Path:
    spec = DEFECTS[defect] if defect else Defect({}, None)
    text = importer.build(data_dir, CLEAN | spec.values)
    path = folder / importer.filename
    path.write_bytes(text.encode(spec.encoding))
    return path


def expected(importer: Importer, defect: str) -> tuple[str, str | None]:
    line = importer.lines.get(defect, importer.line)
    return f"{importer.filename}:{line}: ", importer.says.get(defect, DEFECTS[defect].says)


@pytest.mark.parametrize("importer", IMPORTERS.values(), ids=IMPORTERS.keys())
async def test_clean_file_has_no_error_on_the_defects_line(
    session: AsyncSession, data_dir: Path, tmp_path: Path, importer: Importer
) -> None:
    clean = write(importer, data_dir, tmp_path, None)
    errors = await errors_of(importer, session, clean)
    line = f"{importer.filename}:{importer.line}:"
    assert not [error for error in errors if error.startswith(line)], errors


@pytest.mark.parametrize(("importer", "defect"), CASES)
async def test_importer_refuses_the_defect_with_its_line(
    session: AsyncSession, data_dir: Path, tmp_path: Path, importer: Importer, defect: str
) -> None:
    where, says = expected(importer, defect)
    with pytest.raises(ImportRejected) as rejected:
        await importer.run(session, write(importer, data_dir, tmp_path, defect))
    assert_named([str(error) for error in rejected.value.errors], where, says)


async def errors_of(importer: Importer, session: AsyncSession, path: Path) -> list[str]:
    """The errors of an import, whether it was refused (the slice of GV100AD would retire the
    rest of the register: refused at line 1) or went through."""
    try:
        await importer.run(session, path)
    except ImportRejected as rejected:
        return [str(error) for error in rejected.errors]
    return []


def assert_named(messages: list[str], where: str, says: str | None) -> None:
    found = [message for message in messages if message.strip().startswith(where)]
    assert found, messages
    assert says is None or says in found[0], found[0]


CLI_CASES = [case for case in CASES if case.values[1] in {"windows-1252", "nul", "long field"}]


@pytest.mark.parametrize(("importer", "defect"), CLI_CASES)
def test_command_lists_the_error_without_a_traceback(
    database_url: str, data_dir: Path, tmp_path: Path, importer: Importer, defect: str
) -> None:
    path = write(importer, data_dir, tmp_path, defect)
    if importer.command == ("catalog",):  # the later catalogue files are never reached
        for name in ("ozg_lebenslagen.csv", "ozg_leistungen.csv", "leika_leistungen_ozg.csv"):
            (tmp_path / name).symlink_to(data_dir / name)
        argument = tmp_path
    else:
        argument = path
    result = CliRunner().invoke(
        main, ["import", *importer.command, str(argument)],
        env={"TRACKER_DATABASE_URL": database_url},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    where, says = expected(importer, defect)
    assert f"{importer.filename}: rejected, nothing written (1 errors)" in result.stderr
    assert_named(result.stderr.splitlines(), where, says)


def xlsx(values: dict[str, str]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(bulk.COLUMNS))
    row = assessment(values)
    sheet.append([row.get(name, "") for name in bulk.COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


UPLOAD_CASES = [
    pytest.param(kind, defect, id=f"{kind}-{defect}")
    for kind in ("csv", "xlsx")
    for defect, spec in DEFECTS.items()
    if kind == "csv" or spec.encoding == "utf-8"
]


@pytest.mark.parametrize(("kind", "defect"), UPLOAD_CASES)
async def test_upload_refuses_the_defect_with_its_line(
    client: Client, session: AsyncSession, data_dir: Path, kind: str, defect: str
) -> None:
    who = await people(session)
    spec = DEFECTS[defect]
    values = CLEAN | spec.values
    if kind == "csv":
        media_type, line = "text/csv", "upload.csv:2: "
        body = assessments(data_dir, values).encode(spec.encoding)
    else:
        media_type, line = bulk.XLSX_MEDIA_TYPE, "upload.xlsx:2: "
        nul = "\x00" in values["text"]
        body = xlsx(values | {"text": "NULHERE"} if nul else values)
        if nul:  # openpyxl writes no NUL; put one in the sheet's XML as another program might
            body, line = with_nul(body), "upload.xlsx:1: "
    says = {"long field": "longer than", "unicode digit": "level"}.get(defect, spec.says)
    if kind == "xlsx" and defect == "long field":
        says = None  # openpyxl writes at most Excel's 32,767 characters: too long a comment
    if kind == "xlsx" and defect == "nul":
        says = "not an XLSX workbook"
    headers = {**who["editor"], "Content-Type": media_type}
    answer = await client.post("/api/v1/assessments/import", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["error_count"] == 1
    assert_named(problem["errors"], line, says)


def with_nul(workbook: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info).replace(b"NULHERE", b"NUL\x00HERE"))
    return buffer.getvalue()


def test_wsp_file_without_a_date_in_its_name_is_refused(
    database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wsp.csv"
    path.write_text(wsp(data_dir, CLEAN), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import", "wsp-nrw", str(path)], env={"TRACKER_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "wsp.csv:1: the file name carries no date (…_YYYY-MM-DD.csv)" in result.stderr
    assert "Traceback" not in result.output
