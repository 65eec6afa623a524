"""Benchmarks, run by scripts/bench; never part of the test suite.

imports: `tracker import all` on a fresh database (cold) and again on the filled one (warm),
on SQLite and, when TRACKER_BENCH_POSTGRES names a server, on PostgreSQL. Best of N runs,
wall-clock seconds of the whole command (process start included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKER = [sys.executable, "-m", "tracker.cli"]


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*TRACKER, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def postgres_database(server: str) -> tuple[str, str]:
    name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["psql", server.replace("+asyncpg", ""), "-qc", f'CREATE DATABASE "{name}"'], check=True
    )
    return server.rsplit("/", 1)[0] + "/" + name, name


def bench_imports(url: str, runs: int) -> tuple[float, float]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    subprocess.run([*TRACKER, "db", "upgrade"], env=env, check=True, capture_output=True)
    cold = timed(["import", "all"], env)
    warm = min(timed(["import", "all"], env) for _ in range(runs))
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lines = [
        "# tracker benchmark",
        "",
        f"machine: {os.cpu_count()} cores; best of {args.runs} warm runs",
        "",
    ]
    lines += ["| backend | import all, cold (s) | import all, warm (s) |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        cold, warm = bench_imports(f"sqlite+aiosqlite:///{tmp}/bench.db", args.runs)
        lines.append(f"| SQLite | {cold:.2f} | {warm:.2f} |")
    server = os.environ.get("TRACKER_BENCH_POSTGRES")
    if server:
        url, name = postgres_database(server)
        try:
            cold, warm = bench_imports(url, args.runs)
            lines.append(f"| PostgreSQL | {cold:.2f} | {warm:.2f} |")
        finally:
            subprocess.run(
                ["psql", server.replace("+asyncpg", ""), "-qc", f'DROP DATABASE "{name}"'],
                check=True,
            )
    report = "\n".join(lines) + "\n"
    (ROOT / "bench-report").mkdir(exist_ok=True)
    (ROOT / "bench-report" / "report.md").write_text(report, encoding="utf-8")
    print(report)  # noqa: T201


if __name__ == "__main__":
    main()
