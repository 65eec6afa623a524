"""`tracker fetch`: a streamed download that resumes after an interruption, its checksum, a
parse of the whole file before the import, and the import itself; over httpx.MockTransport,
serving the real GV100AD file (nothing is called beyond the machine)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.regions.imports import GV100AD_FILE

URL = "https://www.destatis.de/static/GV100AD_30112025.txt"


class Release:
    """The file behind the URL; the first answer breaks off halfway."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.broken = True
        self.ranges: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        wanted = request.headers.get("range")
        self.ranges.append(wanted)
        if self.broken:
            self.broken = False
            half = self.content[: len(self.content) // 2]

            async def interrupted() -> AsyncIterator[bytes]:
                yield half
                raise httpx.ReadError("connection reset")

            return httpx.Response(
                200, headers={"Content-Length": str(len(self.content))}, content=interrupted()
            )
        if wanted:
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
            return httpx.Response(206, content=self.content[start:])
        return httpx.Response(200, content=self.content)


def test_fetch_gv100ad_resumes_checks_parses_and_imports(
    database_url: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    content = (data_dir / GV100AD_FILE).read_bytes()
    release = Release(content)
    args = ["fetch", "gv100ad", URL, "--dir", str(tmp_path)]
    obj = {"transport": httpx.MockTransport(release)}

    broken = CliRunner().invoke(main, args, obj=obj)
    assert broken.exit_code == 1
    assert "connection reset (kept what arrived; run again to resume)" in broken.output
    assert (tmp_path / "GV100AD_30112025.txt.part").stat().st_size == len(content) // 2

    done = CliRunner().invoke(
        main, [*args, "--sha256", hashlib.sha256(content).hexdigest()], obj=obj
    )
    assert done.exit_code == 0, done.output
    assert release.ranges == [None, f"bytes={len(content) // 2}-"]
    assert f"sha256 {hashlib.sha256(content).hexdigest()}, resumed after" in done.output
    assert "GV100AD_30112025.txt: parses, 10953 Gemeinden" in done.output
    assert "(nothing written)" in done.output  # the same release again: the importer's answer
    assert (tmp_path / "GV100AD_30112025.txt").read_bytes() == content


def test_fetch_refuses_a_wrong_checksum_and_a_file_that_does_not_parse(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    garbage = httpx.MockTransport(lambda _: httpx.Response(200, content=b"<html>Wartung</html>\n"))
    args = ["fetch", "gv100ad", URL, "--dir", str(tmp_path)]
    wrong = CliRunner().invoke(main, [*args, "--sha256", "0" * 64], obj={"transport": garbage})
    assert wrong.exit_code == 1
    assert "checksum mismatch" in wrong.output
    assert not (tmp_path / "GV100AD_30112025.txt").exists()
    refused = CliRunner().invoke(main, args, obj={"transport": garbage})
    assert refused.exit_code == 1
    assert "not imported: GV100AD_30112025.txt:1:" in refused.output
    missing = CliRunner().invoke(
        main, ["fetch", "catalog", "https://example.org/x.csv", "--dir", str(tmp_path)],
        obj={"transport": garbage},
    )  # fmt: skip
    assert "not a catalogue file" in missing.output
