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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from tracker.app import create_app
from tracker.db import create_engine, create_sessionmaker
from tracker.maturity import applicability
from tracker.regions import queries as regions_queries
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


def load(url: str, files: list[Path]) -> float:
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    start = time.perf_counter()
    for path in files:
        subprocess.run([*TRACKER, "import", "assessments", str(path)], env=env, check=True,
                       capture_output=True)  # fmt: skip
    return time.perf_counter() - start


async def time_summary(url: str, runs: int) -> dict[str, Any]:
    """Best of `runs`: GET /api/v1/reifegrad/summary?group_by=land through the whole app, and
    the hand-written SQL on the same engine."""
    engine = create_engine(url)
    app = create_app(Settings.from_env(), sessionmaker=create_sessionmaker(engine))
    transport = httpx.ASGITransport(app=app)
    summary_times, sql_times = [], []
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=3600
        ) as client:
            for _ in range(runs):
                start = time.perf_counter()
                response = await client.get(
                    "/api/v1/reifegrad/summary", params={"group_by": "land"}
                )
                summary_times.append(time.perf_counter() - start)
                response.raise_for_status()
                async with engine.connect() as connection:
                    start = time.perf_counter()
                    baseline = (await connection.execute(text(HAND_WRITTEN))).all()
                    sql_times.append(time.perf_counter() - start)
    finally:
        await engine.dispose()
    groups = response.json()["groups"]
    return {
        "summary": min(summary_times), "sql": min(sql_times),
        "assessed_api": sum(g["assessed"] for g in groups),
        "assessed_sql": sum(row.assessed for row in baseline),
        "online_api": sum(g["online"] for g in groups if g["dimension"] == "online"),
        "online_sql": sum(row.online for row in baseline if row.dimension == "online"),
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wrk(url: str, seconds: int) -> tuple[float, float]:
    """(requests/s, p99 ms) of 32 connections on one wrk thread."""
    output = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
    return rate, float(value) * scale


def time_concurrency(url: str, seconds: int) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tracker.app:create_app", "--port",
         str(port), "--log-level", "warning", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        page_url = f"{base}/api/v1/gemeinden/{BIG_CITY}/reifegrad"
        start = time.perf_counter()
        httpx.get(page_url, timeout=120).raise_for_status()
        cold = time.perf_counter() - start  # computed, not yet cached
        wrk(f"{base}/health", 2)  # warm up both
        wrk(page_url, 2)
        trivial, trivial_p99 = wrk(f"{base}/health", seconds)
        page, page_p99 = wrk(page_url, seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"trivial": trivial, "trivial_p99": trivial_p99, "page": page, "page_p99": page_p99,
            "cold": cold}  # fmt: skip


def say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", file=sys.stderr, flush=True)  # noqa: T201


def bench(url: str, tmp: Path, *, scale: float, runs: int, seconds: int) -> list[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    subprocess.run([*TRACKER, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*TRACKER, "import", "all"], env=env, check=True, capture_output=True)
    files, rows = write_synthetic(url, tmp, scale, seed=2026)
    say(f"{rows:,} synthetic rows written; loading")
    loaded = load(url, files)
    say(f"loaded in {loaded:.0f} s; timing the summary")
    summary = asyncio.run(time_summary(url, runs))
    say(f"summary {summary}; load test")
    load_test = time_concurrency(url, seconds)
    say(f"load test {load_test}")
    for path in files:
        path.unlink()
    return [
        f"- synthetic rows loaded through `tracker import assessments`: {rows:,} "
        f"(scale {scale}) in {loaded:.0f} s ({rows / loaded:,.0f} rows/s)",
        f"- summary by Land (API, whole app): {summary['summary']:.2f} s; hand-written SQL "
        f"GROUP BY: {summary['sql']:.2f} s; **ratio {summary['summary'] / summary['sql']:.2f}×** "
        "(goal ≤ 2×)",
        f"- pairs assessed: API {summary['assessed_api']:,} vs SQL {summary['assessed_sql']:,}; "
        f"online: API {summary['online_api']:,} vs SQL {summary['online_sql']:,} (the API "
        "counts only LeiKa services that apply to Gemeinden; the SQL counts all)",
        f"- 32 connections, {seconds} s, wrk: /health {load_test['trivial']:,.0f} req/s "
        f"(p99 {load_test['trivial_p99']:.1f} ms); /gemeinden/{BIG_CITY}/reifegrad "
        f"{load_test['page']:,.0f} req/s (p99 {load_test['page_p99']:.1f} ms); "
        f"**ratio {load_test['page'] / load_test['trivial']:.2f}×** (goal ≥ 0.5×); the page is "
        "served from the per-process cache keyed by the Gemeinde's data stamp; its first, "
        f"computed answer took {load_test['cold'] * 1000:.0f} ms",
    ]
