"""The maturity benchmark (scripts/bench --maturity): a synthetic nationwide set loaded through
the product's bulk path, the summary by Land against a hand-written SQL GROUP BY, and a
Gemeinde's /reifegrad under 32 concurrent connections against a trivial endpoint.

The set is **synthetic** (external ids `synthetic:…`, assessed by `synthetic-benchmark`):
every inhabited Gemeinde × every applicable OZG-Leistung × both dimensions, one assessment at a
random day of the first half of the year and, for 30 %, a second one later in the year.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from tracker.app import create_app
from tracker.caching import Lru
from tracker.db import create_engine, create_sessionmaker
from tracker.maturity import applicability
from tracker.regions import queries as regions_queries
from tracker.reports import queries as reports_queries
from tracker.settings import Settings

TRACKER = [sys.executable, "-m", "tracker.cli"]
COLUMNS = ["external_id", "ars", "ozg_id", "dimension", "level", "assessed_at", "assessed_by",
           "status", "status_comment", "status_changed_at"]  # fmt: skip
YEAR_START = datetime(2025, 11, 1, tzinfo=UTC)
LEVELS = {"online": [0, 1, 2, 3, 4], "backoffice": [0, 1, 2, 3, 4, 5, 6]}
WEIGHTS = {"online": [10, 25, 30, 25, 10], "backoffice": [20, 25, 20, 15, 10, 6, 4]}
BIG_CITY = "053150000000"  # Köln: WSP rows and synthetic ones

# The baseline: the same rows, current per Gemeinde × Leistung × dimension, grouped by Land.
HAND_WRITTEN = """
WITH ranked AS (
  SELECT a.ars, COALESCE(a.ozg_id, l.ozg_id) AS ozg_id, a.dimension, a.level,
         ROW_NUMBER() OVER (PARTITION BY a.ars, a.leika_id, a.ozg_id, a.dimension
                            ORDER BY a.assessed_at DESC, a.id DESC) AS rn
  FROM assessment a LEFT JOIN leika_leistung l ON l.id = a.leika_id
  WHERE a.status = 'validated'
), pairs AS (
  SELECT ars, ozg_id, dimension, MAX(level) AS level
  FROM ranked WHERE rn = 1 AND level IS NOT NULL GROUP BY ars, ozg_id, dimension
)
SELECT g.land_code, p.dimension, COUNT(*) AS assessed, SUM(p.level) AS level_sum,
       SUM(CASE WHEN p.level >= 2 THEN 1 ELSE 0 END) AS online,
       SUM(CASE WHEN p.level >= 3 THEN 1 ELSE 0 END) AS ozg_konform
FROM pairs p JOIN gemeinde g ON g.ars = p.ars
WHERE g.bevoelkerung > 0 AND g.invalid_since IS NULL
GROUP BY g.land_code, p.dimension
"""


async def universe(url: str) -> tuple[list[Any], list[str]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            gemeinden = await regions_queries.inhabited_gemeinden(session)
            known = await applicability.catalogue(session)
    finally:
        await engine.dispose()
    return gemeinden, sorted(known.applicable_leika)


def write_synthetic(url: str, directory: Path, scale: float, seed: int) -> tuple[list[Path], int]:
    """One bulk CSV per Land; returns the files and the row count."""
    gemeinden, leistungen = asyncio.run(universe(url))
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not secrets)
    chosen = [g for g in gemeinden if scale >= 1 or rng.random() < scale]
    files: dict[str, Any] = {}
    writers: dict[str, Any] = {}
    rows = 0
    for gemeinde in chosen:
        land = gemeinde.land_code
        if land not in writers:
            handle = (directory / f"synthetic-land-{land}.csv").open("w", newline="")
            files[land], writers[land] = handle, csv.writer(handle)
            writers[land].writerow(COLUMNS)
        out = writers[land]
        for ozg_id in leistungen:
            for dimension in ("online", "backoffice"):
                day = rng.randrange(181)
                level = rng.choices(LEVELS[dimension], WEIGHTS[dimension])[0]
                history = [(day, level)]
                if rng.random() < 0.3:
                    history.append(
                        (rng.randrange(day + 1, 365), min(level + 1, max(LEVELS[dimension])))
                    )
                for number, (when, value) in enumerate(history, start=1):
                    moment = YEAR_START + timedelta(days=when, hours=9)
                    out.writerow([
                        f"synthetic:{gemeinde.ars}:{ozg_id}:{dimension}:{number}", gemeinde.ars,
                        ozg_id, dimension, value, moment.isoformat(), "synthetic-benchmark",
                        "validated", "synthetisch (Benchmark)",
                        (moment + timedelta(days=2)).isoformat(),
                    ])  # fmt: skip
                    rows += 1
    for handle in files.values():
        handle.close()
    return sorted(directory.glob("synthetic-land-*.csv")), rows


class ServerCpu:
    """CPU seconds that PostgreSQL's backends spend on one database while it runs: each
    backend's utime + stime read from /proc every 0.1 s, the last reading of each kept (a
    backend ends with its connection). Nothing on SQLite, or where /proc does not show them
    (a server on another machine)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        if self.url.startswith("postgresql"):
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def sample(self) -> None:
        admin = self.url.replace("+asyncpg", "").rsplit("/", 1)
        query = "SELECT pid, datname FROM pg_stat_activity"
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stop.wait(0.1):
            listed = subprocess.run(
                ["psql", f"{admin[0]}/postgres", "-AtF", " ", "-c", query],
                capture_output=True, text=True,
            ).stdout.splitlines()  # fmt: skip
            for pid in (int(line.split()[0]) for line in listed if line.endswith(f" {admin[1]}")):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seconds[pid] = (int(fields[11]) + int(fields[12])) / tick

    @property
    def total(self) -> float | None:
        return sum(self.seconds.values()) if self.seconds else None


def load(url: str, files: list[Path]) -> tuple[float, float, float | None, float]:
    """(wall-clock seconds, CPU seconds of the import process, CPU seconds of PostgreSQL's
    backends or None, the import process's peak RSS in MB) of one `tracker import
    assessments` of the files. On a shared machine
    the CPU seconds are the steadier figures; on SQLite the process's hold all the work."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    start = time.perf_counter()
    with ServerCpu(url) as server:
        command = [*TRACKER, "import", "assessments", *map(str, files)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        # this child's own usage (the sampler's psql calls are children too)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - start
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return took, usage.ru_utime + usage.ru_stime, server.total, usage.ru_maxrss / 1024


async def plain_copy(url: str, files: list[Path]) -> float | None:
    """Seconds for PostgreSQL's COPY of the same CSV files into a scratch table of text
    columns, in one transaction (None on SQLite): what the bulk path is measured against."""
    if not url.startswith("postgresql"):
        return None
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            columns = ", ".join(f"{name} text" for name in COLUMNS)
            await connection.exec_driver_sql(f"CREATE TEMPORARY TABLE plain_copy ({columns})")
            driver: Any = (await connection.get_raw_connection()).driver_connection
            start = time.perf_counter()
            for path in files:
                await driver.copy_to_table("plain_copy", source=path, format="csv", header=True)
            took = time.perf_counter() - start
            await connection.rollback()
    finally:
        await engine.dispose()
    return took


async def best(runs: int, work: Any) -> tuple[float, Any]:
    """(seconds of the fastest of `runs` calls, its result)."""
    found: tuple[float, Any] | None = None
    for _ in range(runs):
        start = time.perf_counter()
        result = await work()
        took = time.perf_counter() - start
        if found is None or took < found[0]:
            found = (took, result)
    assert found is not None  # noqa: S101  (runs >= 1)
    return found


async def time_summary(url: str, runs: int) -> dict[str, Any]:
    """Best of `runs` through the whole app, its caches emptied before each call: the summary
    by Land, twelve monthly points by Land, /health; a Gemeinde's roll-up computed (not
    cached); and the hand-written SQL over the assessments on the same engine."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        app = create_app(Settings.from_env(), sessionmaker=sessionmaker)
        transport = httpx.ASGITransport(app=app)

        async def through_app(path: str, **params: Any) -> Any:
            Lru.forget_all()  # every answer computed, as after a change
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=3600
            ) as client:
                response = await client.get(path, params=params)
                response.raise_for_status()
                return response.json()

        async def by_hand() -> Any:
            async with engine.connect() as connection:
                return (await connection.execute(text(HAND_WRITTEN))).all()

        async def rollup() -> Any:
            async with sessionmaker() as session:
                return await reports_queries.gemeinde_rollup(
                    session, BIG_CITY, at=None, stale_after_days=365
                )

        summary_s, summary = await best(
            runs, lambda: through_app("/api/v1/reifegrad/summary", group_by="land")
        )
        series_s, _ = await best(
            runs,
            lambda: through_app(
                "/api/v1/reifegrad/timeseries", group_by="land", period="month", count=12
            ),
        )
        health_s, _ = await best(runs, lambda: through_app("/health"))
        comparison_s, _ = await best(
            runs, lambda: through_app("/api/v1/reports/comparison", set="de")
        )
        cities_s, _ = await best(
            runs, lambda: through_app("/api/v1/reports/comparison", set="kreisfrei")
        )
        rollup_s, _ = await best(runs, rollup)
        sql_s, baseline = await best(runs, by_hand)
    finally:
        await engine.dispose()
    groups = summary["groups"]
    return {
        "summary": summary_s, "series": series_s, "rollup": rollup_s, "sql": sql_s,
        "health": health_s, "comparison": comparison_s, "cities": cities_s,
        "assessed_api": sum(g["assessed"] for g in groups),
        "assessed_sql": sum(row.assessed for row in baseline),
        "online_api": sum(g["online"] for g in groups if g["dimension"] == "online"),
        "online_sql": sum(row.online for row in baseline if row.dimension == "online"),
    }  # fmt: skip


def verify_pairs(url: str, *options: str) -> tuple[str, float]:
    """`tracker verify pairs` with these options: (its output, seconds with the process)."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    start = time.perf_counter()
    command = [*TRACKER, "verify", "pairs", *options]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    # the rebuild's line, if any, and the verdict (the differences listed before it are not)
    shown = [line for line in lines[:-1] if line.startswith("rebuilt (")] + lines[-1:]
    return "; ".join(shown), time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


HELLO = """from litestar import Litestar, get

@get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}

app = Litestar([hello])
"""


ACCEPT_ENCODING = "Accept-Encoding: br, gzip"


def wrk(url: str, seconds: int) -> tuple[float, float]:
    """(requests/s, p99 ms) of 32 connections on two wrk threads, best of three; each request
    accepts brotli and gzip, as a browser or a poller's HTTP client does."""
    found: list[tuple[float, float]] = []
    for _ in range(3):
        output = subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", ACCEPT_ENCODING, url],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if errors:
            raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
        found.append((rate, float(value) * scale))
    return max(found)


def serve(
    arguments: list[str], env: dict[str, str], probe: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *arguments, "--port", str(port), "--log-level",
         "warning", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}{probe}", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return server, base


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def time_concurrency(url: str, seconds: int, tmp: Path) -> dict[str, float]:
    """A Litestar hello-world app under the same server first (the anchor), then /health and
    a Gemeinde's /reifegrad of the product; the product's RSS after the load."""
    (tmp / "hello_bench.py").write_text(HELLO)
    hello, base = serve(["--app-dir", str(tmp), "hello_bench:app"], dict(os.environ), "/")
    try:
        wrk(f"{base}/", 2)
        anchor, anchor_p99 = wrk(f"{base}/", seconds)
    finally:
        hello.terminate()
        hello.wait(timeout=10)
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    server, base = serve(["--factory", "tracker.app:create_app"], env, "/health")
    try:
        page_url = f"{base}/api/v1/gemeinden/{BIG_CITY}/reifegrad"
        start = time.perf_counter()
        httpx.get(page_url, timeout=120).raise_for_status()
        cold = time.perf_counter() - start  # computed, not yet cached
        wrk(f"{base}/health", 2)  # warm up both
        wrk(page_url, 2)
        trivial, trivial_p99 = wrk(f"{base}/health", seconds)
        page, page_p99 = wrk(page_url, seconds)
        board_url = f"{base}/api/v1/dashboards/gemeinden/{BIG_CITY}"
        start = time.perf_counter()
        httpx.get(board_url, timeout=600).raise_for_status()
        board_cold = time.perf_counter() - start  # its peer group's report computed
        wrk(board_url, 2)
        board, board_p99 = wrk(board_url, seconds)
        rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"anchor": anchor, "anchor_p99": anchor_p99, "trivial": trivial,
            "trivial_p99": trivial_p99, "page": page, "page_p99": page_p99, "cold": cold,
            "board": board, "board_p99": board_p99, "board_cold": board_cold,
            "rss": rss}  # fmt: skip


def say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", file=sys.stderr, flush=True)  # noqa: T201


def load_line(
    rows: int, scale: float, loaded: tuple[float, float, float | None, float], copied: float | None
) -> str:
    took, cpu, server, peak = loaded
    spent = f"{cpu:.1f} CPU s in the import process"
    if server is not None:
        spent += f", {server:.1f} in PostgreSQL's backends"
    return (
        f"- synthetic rows loaded through `tracker import assessments`: {rows:,} "
        f"(scale {scale}) in {took:.1f} s ({rows / took:,.0f} rows/s; {spent}: "
        f"{rows / (cpu + (server or 0)):,.0f} rows per CPU second; pair levels and counts "
        f"kept in the same transactions; the import's peak RSS {peak:.0f} MB)"
        + (
            ""
            if copied is None
            else f"; a plain COPY of the same files into a text table {copied:.1f} s "
            f"({rows / copied:,.0f} rows/s): the import takes {took / copied:.0f}× as long"
        )
    )


def bench(
    url: str,
    tmp: Path,
    *,
    scale: float,
    runs: int,
    seconds: int,
    only_bulk: bool = False,
    rebuild: bool = True,
) -> list[str]:
    """The whole maturity benchmark; `only_bulk`: the bulk load and `tracker verify pairs`;
    `rebuild`: with `tracker verify pairs --rebuild` (every pair and count anew)."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    subprocess.run([*TRACKER, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*TRACKER, "import", "all"], env=env, check=True, capture_output=True)
    files, rows = write_synthetic(url, tmp, scale, seed=2026)
    say(f"{rows:,} synthetic rows written; loading")
    copied = asyncio.run(plain_copy(url, files))
    loaded = load(url, files)
    say(f"loaded in {loaded[0]:.0f} s (a plain COPY: {copied} s); verifying the pairs")
    verified, verify_s = verify_pairs(url)
    say(f"verify pairs: {verified}")
    lines = [
        load_line(rows, scale, loaded, copied),
        f"- `tracker verify pairs`: {verified}, {verify_s:.1f} s with the process start",
    ]
    if rebuild:
        rebuilt, rebuild_s = verify_pairs(url, "--rebuild")
        say(f"rebuilt and verified: {rebuilt}")
        lines.append(
            f"- `tracker verify pairs --rebuild` (every pair and count anew from the assessments, "
            f"then verified): {rebuilt}, {rebuild_s:.1f} s with the process start"
        )
    for path in files:
        path.unlink()
    if only_bulk:
        return lines
    return [*lines, *reads(url, tmp, runs=runs, seconds=seconds)]


def reads(url: str, tmp: Path, *, runs: int, seconds: int) -> list[str]:
    """The read figures on a loaded database: roll-ups through the app, then under wrk."""
    summary = asyncio.run(time_summary(url, runs))
    say(f"summary {summary}; load test")
    load_test = time_concurrency(url, seconds, tmp)
    say(f"load test {load_test}")
    return [
        f"- summary by Land (API, whole app, caches emptied): {summary['summary'] * 1000:.0f} ms "
        f"(goal ≤ 1 s PG, ≤ 2 s SQLite); hand-written SQL over the assessments: "
        f"{summary['sql']:.2f} s; ratio {summary['summary'] / summary['sql']:.3f}×",
        f"- 12 monthly points by Land (caches emptied): {summary['series'] * 1000:.0f} ms "
        "(goal ≤ 2 s)",
        f"- Köln's roll-up computed (not cached): {summary['rollup'] * 1000:.1f} ms (goal ≤ 20 ms)",
        f"- pairs assessed: API {summary['assessed_api']:,} vs SQL {summary['assessed_sql']:,}; "
        f"online: API {summary['online_api']:,} vs SQL {summary['online_sql']:,} (the API "
        "counts only LeiKa services that apply to Gemeinden; the SQL counts all)",
        f"- wrk -t2 -c32 -d{seconds}s ({ACCEPT_ENCODING}), best of three, one uvicorn "
        f"worker: a Litestar hello-world {load_test['anchor']:,.0f} req/s "
        f"(p99 {load_test['anchor_p99']:.1f} ms); "
        f"/health {load_test['trivial']:,.0f} req/s (p99 {load_test['trivial_p99']:.1f} ms, "
        f"{load_test['trivial'] / load_test['anchor']:.2f}×); "
        f"/api/v1/gemeinden/{BIG_CITY}/reifegrad "
        f"{load_test['page']:,.0f} req/s (p99 {load_test['page_p99']:.1f} ms), "
        f"**{load_test['page'] / load_test['anchor']:.2f}× the hello-world** (goal ≥ 0.5×, "
        f"p99 ≤ 25 ms); the summary took {summary['summary'] / summary['health']:.0f}× a "
        f"/health request through the same app ({summary['health'] * 1000:.1f} ms); "
        f"first, computed answer {load_test['cold'] * 1000:.0f} ms; server RSS after the load "
        f"{load_test['rss']:.0f} MB (goal ≤ 250 MB)",
        f"- Köln's city dashboard (/api/v1/dashboards/gemeinden/{BIG_CITY}, same wrk): "
        f"{load_test['board']:,.0f} req/s (p99 {load_test['board_p99']:.1f} ms), "
        f"{load_test['board'] / load_test['anchor']:.2f}× the hello-world; first answer (its "
        f"peer group's report computed) {load_test['board_cold'] * 1000:.0f} ms",
        f"- nationwide comparison report (set=de, JSON, caches emptied): "
        f"{summary['comparison'] * 1000:.0f} ms, {summary['comparison'] / summary['summary']:.1f}× "
        "the summary by Land (goal ≤ 1 s PG)",
        f"- the kreisfreie Städte compared (set=kreisfrei, JSON, caches emptied): "
        f"{summary['cities'] * 1000:.0f} ms",
    ]
