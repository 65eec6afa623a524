"""Benchmarks, run by scripts/bench; never part of the test suite.

imports: `tracker import all` on a fresh database (cold) and again on the filled one (warm),
on SQLite and, when TRACKER_BENCH_POSTGRES names a server, on PostgreSQL. Best of N runs,
wall-clock seconds of the whole command (process start included).

--maturity adds scripts/bench_maturity.py on each backend: a synthetic nationwide set through
the bulk import, the summary by Land against hand-written SQL, and a Gemeinde's /reifegrad under
32 concurrent connections against /health (wrk). --scale takes a share of the Gemeinden;
--only bulk runs just the bulk load (beside a plain COPY) and `tracker verify pairs`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
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


def backends(
    only: str | None = None, *, keep: bool = False
) -> Iterator[tuple[str, str, Callable[[], None]]]:
    """(name, URL, drop) of a fresh database per backend: SQLite, and PostgreSQL when
    TRACKER_BENCH_POSTGRES names a server; `only` one of them; `keep`: the SQLite file stays."""
    if only in (None, "sqlite"):
        if keep:
            yield "SQLite", f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db", lambda: None
        else:
            with tempfile.TemporaryDirectory() as tmp:
                yield "SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", lambda: None
    server = os.environ.get("TRACKER_BENCH_POSTGRES")
    if server and only in (None, "postgresql"):
        url, name = postgres_database(server)
        admin = server.replace("+asyncpg", "")
        yield (
            "PostgreSQL",
            url,
            lambda: (
                subprocess.run(["psql", admin, "-qc", f'DROP DATABASE "{name}"'], check=True)
                and None
            ),
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--maturity", action="store_true", help="add the maturity benchmark")
    parser.add_argument("--scale", type=float, default=1.0, help="share of Gemeinden (maturity)")
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration (maturity)")
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument(
        "--reads-on", metavar="URL", help="maturity: only the read figures, on this loaded database"
    )
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="maturity: no `tracker verify pairs --rebuild`"
    )
    parser.add_argument(
        "--only", choices=["bulk"], help="maturity: only the bulk load and verify pairs"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], help="only this one")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (to profile on them)"
    )
    args = parser.parse_args()
    lines = [
        "# tracker benchmark",
        "",
        f"machine: {os.cpu_count()} cores; best of {args.runs} warm runs",
        "",
    ]
    if not args.skip_imports:
        lines += ["| backend | import all, cold (s) | import all, warm (s) |", "|---|---|---|"]
        for backend, url, drop in backends(args.backend):
            try:
                cold, warm = bench_imports(url, args.runs)
                lines.append(f"| {backend} | {cold:.2f} | {warm:.2f} |")
            finally:
                drop()
    if args.maturity and args.reads_on:
        from bench_maturity import reads

        with tempfile.TemporaryDirectory() as tmp:
            lines += ["", "## Maturity, reads on a loaded database", ""]
            lines += reads(args.reads_on, Path(tmp), runs=args.runs, seconds=args.seconds)
    elif args.maturity:
        from bench_maturity import bench

        for backend, url, drop in backends(args.backend, keep=args.keep):
            lines += ["", f"## Maturity, {backend} (synthetic data)", ""]
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    lines += bench(url, Path(tmp), scale=args.scale, runs=args.runs,
                                   seconds=args.seconds, only_bulk=args.only == "bulk",
                                   rebuild=not args.skip_rebuild)  # fmt: skip
            finally:
                if args.keep:
                    print(f"kept: {url}", file=sys.stderr)  # noqa: T201
                else:
                    drop()
    report = "\n".join(lines) + "\n"
    (ROOT / "bench-report").mkdir(exist_ok=True)
    (ROOT / "bench-report" / "report.md").write_text(report, encoding="utf-8")
    print(report)  # noqa: T201


if __name__ == "__main__":
    main()
