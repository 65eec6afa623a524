"""The `tracker` command as a newcomer runs it, on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tracker.catalog.imports import LEBENSLAGEN_FILE, THEMENFELDER_FILE
from tracker.cli import proxy_options
from tracker.settings import Settings

TRACKER = [sys.executable, "-m", "tracker.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRACKER, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_upgrade_import_and_reimport(tmp_path: Path, data_dir: Path) -> None:
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    first = run("import", "all", env=env)
    assert first.returncode == 0, first.stderr
    assert (
        "leika_leistungen_ozg.csv: 5249 inserted, 0 updated, 0 unchanged, 0 rejected"
        in first.stdout
    )
    assert (
        "GV100AD_30112025.txt: Gemeinden: 10953 inserted, 0 updated, 0 unchanged, 0 rejected"
        in first.stdout
    )
    assert "62964 inserted, 0 updated, 0 unchanged, 0 rejected, 210 skipped" in first.stdout
    assert "  … and 110 more skipped" in first.stdout
    second = run("import", "all", env=env)
    assert second.returncode == 0
    assert "dresdner-forderungen-2021.json: 5 inserted" in first.stdout
    assert second.stdout.count("(nothing written)") == 12
    assert "0 inserted, 0 updated, 62964 unchanged, 0 rejected, 210 skipped" in second.stdout

    assessments = tmp_path / "bewertungen.csv"
    assessments.write_text(
        "external_id,ars,ozg_id,dimension,level,assessed_at\n"
        "essen:1,051130000000,10000,online,2,2026-01-15\n",
        encoding="utf-8",
    )
    loaded = run("import", "assessments", str(assessments), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "bewertungen.csv: 1 inserted, 0 updated, 0 unchanged, 0 rejected" in loaded.stdout
    more = tmp_path / "mehr.csv"
    more.write_text(
        "external_id,ars,ozg_id,dimension,level,assessed_at\n"
        "essen:2,051130000000,10001,online,3,2026-01-16\n",
        encoding="utf-8",
    )
    again = run("import", "assessments", str(assessments), str(more), env=env)
    assert again.returncode == 0, again.stderr
    assert "bewertungen.csv: 0 inserted, 0 updated, 1 unchanged" in again.stdout
    assert "mehr.csv: 1 inserted, 0 updated, 0 unchanged" in again.stdout
    pvog = tmp_path / "open-pvog.csv"
    pvog.write_text(
        "leika_key;ars;ozgid;url;online_status;aktiv;art_flaechendeckung;datenstand_pvog_import\n"
        "99041006000000;100000000000;10000;https://x.de;ok;ja;landesweit flächendeckend;"
        "2025-10-01\n",
        encoding="utf-8",
    )
    pvog_run = run("import", "pvog", str(pvog), env=env)
    assert pvog_run.returncode == 0, pvog_run.stderr
    assert "open-pvog.csv: 52 inserted" in pvog_run.stdout  # every Gemeinde of the Saarland
    definition = tmp_path / "rgm-2.1.json"
    definition.write_text(json.dumps({
        "key": "ozg-rgm-2.1", "dimension": "online", "name": "OZG-Reifegradmodell",
        "version": "2.1", "levels": [{"level": n, "name": f"Stufe {n}"} for n in range(8)],
        "criteria": [{"key": "kriterium_1", "name": "Kriterium 1"}],
        "mapping": {"ozg-rgm-1.1": {str(n): min(n, 4) for n in range(8)}},
    }), encoding="utf-8")  # fmt: skip
    added = run("model", "add", str(definition), env=env)
    assert added.returncode == 0, added.stderr
    assert "ozg-rgm-2.1" in added.stdout
    twice = run("model", "add", str(definition), env=env)
    assert twice.returncode == 1
    assert "exists already" in twice.stderr

    report = tmp_path / "vergleich.xlsx"
    made = run(
        "report", "comparison", "--set", "land:05;kreisfrei", "--since", "2024-10-31",
        "-o", str(report), env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"{report}: 22 Gemeinden" in made.stdout
    assert report.read_bytes().startswith(b"PK")  # a zip: the workbook
    unknown = run("report", "comparison", "--set", "land:99", "-o", str(report), env=env)
    assert unknown.returncode == 1
    assert "set: 'land:99': no such code 99" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (
        THEMENFELDER_FILE,
        LEBENSLAGEN_FILE,
        "ozg_leistungen.csv",
        "leika_leistungen_ozg.csv",
    ):
        shutil.copy(data_dir / name, broken / name)
    with (broken / LEBENSLAGEN_FILE).open("a", encoding="utf-8") as handle:
        handle.write("67,Neue Lage,99,Unbekannt\n")
    rejected = run("import", "catalog", str(broken), env=env)
    assert rejected.returncode == 1
    assert (
        "ozg_lebenslagen.csv:60: themenfeld_id 99 is not in ozg_themenfelder.csv" in rejected.stderr
    )
    skipped = run("import", "catalog", str(broken), "--skip-invalid", env=env)
    assert skipped.returncode == 0
    assert "rejected (invalid, left out): ozg_lebenslagen.csv:60" in skipped.stdout


def test_export_openapi_writes_the_spec(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = run("export-openapi", "--output", str(target), env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8").startswith("{")


def test_user_and_token_commands(tmp_path: Path) -> None:
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'access.db'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    added = subprocess.run(
        [*TRACKER, "user", "add", "Eva@Essen.de", "--name", "Eva", "--role", "editor",
         "--scope", "051130000000", "--password-stdin"],
        env=env, input="a long enough password\n", capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout == "user 1 eva@essen.de\n"
    again = run("user", "add", "eva@essen.de", "--name", "Eva", env=env)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    created = run("token", "create", "eva@essen.de", "--name", "dashboard", "--days", "7", env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.splitlines()[-1]
    assert secret.startswith("trk_")
    assert run("token", "revoke", "1", env=env).returncode == 0
    twice = run("token", "revoke", "1", env=env)
    assert twice.returncode == 1
    assert "revoked already" in twice.stderr
    assert run("token", "create", "nobody@x.de", "--name", "x", env=env).returncode == 1
    # a criterion with a stand-in name gets its official one (then the form offers it)
    named = run("model", "name-criterion", "ozg-rgm-2.0", "kriterium_1", "Information", env=env)
    assert named.returncode == 0, named.stderr
    assert named.stdout == "ozg-rgm-2.0 kriterium_1: Information\n"
    assert run("model", "name-criterion", "ozg-rgm-2.0", "nope", "X", env=env).returncode == 1


def test_forwarded_for_is_believed_only_from_configured_proxies() -> None:
    # uvicorn's default believes X-Forwarded-For from 127.0.0.1: any local client could then
    # pose as other addresses to the login rate limit
    assert proxy_options(Settings()) == {"proxy_headers": False}
    behind = Settings.from_env({"TRACKER_TRUSTED_PROXIES": "10.0.0.2, 10.0.0.3"})
    assert proxy_options(behind) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.2", "10.0.0.3"],
    }
