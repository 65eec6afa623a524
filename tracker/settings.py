"""Settings, read once at the edge (create_app, the CLI, Alembic's env.py) and passed inward."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tracker.db"
# The reference data lives beside the project, never inside it (../shared/data).
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"

GERMAN_TIME = ZoneInfo("Europe/Berlin")

_ASYNC_DRIVERS = {
    "postgres://": "postgresql+asyncpg://",
    "postgresql://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}


def to_async_url(url: str) -> str:
    """Give a plain `postgresql://` or `sqlite://` URL the async driver the app runs on."""
    for plain, asynchronous in _ASYNC_DRIVERS.items():
        if url.startswith(plain):
            return asynchronous + url.removeprefix(plain)
    return url


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # A replica for requests that only read (GET, HEAD): their handlers' queries. Writes and the
    # token and session checks stay on the primary, so that a revocation counts at once.
    read_database_url: str | None = None
    # Connections per worker and engine on PostgreSQL: pool_size kept open, max_overflow more at
    # peaks. Workers × engines × (pool_size + max_overflow) must stay below max_connections.
    db_pool_size: int = 5
    db_max_overflow: int = 10
    # PostgreSQL cancels a read request's statement after this long (503); 0: never.
    read_statement_timeout_ms: int = 30_000
    data_dir: Path = field(default=DEFAULT_DATA_DIR)
    debug: bool = False
    # Signs session cookies and CSRF tokens. Unset, each process draws its own: sessions then end
    # with a restart and are not shared between workers, so production sets TRACKER_SECRET_KEY.
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    secure_cookies: bool = False
    max_body_bytes: int = 1_048_576
    # Addresses of reverse proxies whose X-Forwarded-For names the client (the login rate limit
    # counts per client). Empty: the header is ignored, since any client can send it.
    trusted_proxies: tuple[str, ...] = ()
    # A token's last use is written at most this often (a read request then writes nothing).
    token_touch_seconds: int = 300
    # Bounds of one bulk upload (POST /assessments/import): rows, and an XLSX body unpacked.
    max_upload_rows: int = 50_000
    max_upload_xlsx_bytes: int = 64 * 1024 * 1024
    # A GV100AD release that would mark more than this share of a level's units no longer valid
    # is refused unless the operator allows it (`tracker import regions --allow-retire`).
    max_retire_share: float = 0.05
    # A current score older than this is flagged stale.
    stale_after_days: int = 365
    # Population bands of the comparison's peer groups: (key, lowest population), each band
    # up to the next one's lowest (BBSR's Stadt- und Gemeindetypen by size).
    population_bands: tuple[tuple[str, int], ...] = (
        ("grossstadt", 100_000), ("mittelstadt", 20_000), ("kleinstadt", 5_000),
        ("landgemeinde", 0),
    )  # fmt: skip
    # The Deutscher Städtetag's member cities (one ARS a line) for the comparison set `dst`.
    dst_members_file: Path | None = None
    # The day that "overdue" is judged against; None: today in Germany. Tests fix it.
    fixed_today: date | None = None
    # Background jobs (tracker.jobs): a claimed job is another worker's after the lease; a
    # failed one waits backoff × 2^(attempt-1); SQLite's in-process worker polls this often.
    job_lease_seconds: float = 300.0
    job_backoff_seconds: float = 30.0
    job_poll_seconds: float = 1.0
    worker_concurrency: int = 2
    # Start the in-process worker with the server (SQLite only; PostgreSQL runs `tracker worker`).
    embedded_worker: bool = True
    # Calls out (tracker.outbound): the user agent names this contact; every call is bounded.
    contact_email: str = "betrieb@example.org"
    http_timeout_seconds: float = 10.0
    http_max_redirects: int = 5
    # Networks that calls out may reach although not public (e.g. "127.0.0.1/32" in tests, an
    # intranet's receiver): every other private, loopback or link-local address is refused.
    outbound_allowed_networks: tuple[str, ...] = ()
    # Link probes: per host at most `probe_per_host` requests at once, `probe_host_delay_seconds`
    # apart; a URL failing `probe_failures_to_flag` probes in a row on at least
    # `probe_failure_days` days is broken. `probe_concurrency` hosts are probed at once.
    probe_per_host: int = 1
    # Webhooks: a delivery is tried this often, waiting backoff × 2^(try-1) (at most 6 h) in
    # between: 12 tries from 60 s span about a day; then it is dead (redeliver sends it again).
    webhook_max_attempts: int = 12
    webhook_backoff_seconds: float = 60.0
    probe_host_delay_seconds: float = 1.0
    probe_concurrency: int = 8
    probe_every_hours: float = 24.0  # the scheduled run through the job layer
    probe_failures_to_flag: int = 3
    probe_failure_days: int = 2
    # A run commits its results per host, at most this many URLs in one transaction.
    probe_batch_urls: int = 50
    # A comparison report's PDF, HTML or XLSX file of a set of more Gemeinden is made by a job.
    report_job_above_gemeinden: int = 500

    def today(self) -> date:
        """The day of a request, for deadlines (milestones, due dates)."""
        return self.fixed_today or datetime.now(GERMAN_TIME).date()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """TRACKER_DATABASE_URL (or DATABASE_URL), TRACKER_READ_DATABASE_URL, TRACKER_DATA_DIR,
        TRACKER_SECRET_KEY, TRACKER_SECURE_COOKIES, TRACKER_MAX_BODY_BYTES, TRACKER_DEBUG,
        TRACKER_MAX_UPLOAD_ROWS, TRACKER_MAX_UPLOAD_XLSX_BYTES, TRACKER_MAX_RETIRE_SHARE,
        TRACKER_TRUSTED_PROXIES (comma-separated addresses), TRACKER_TOKEN_TOUCH_SECONDS,
        TRACKER_DB_POOL_SIZE, TRACKER_DB_MAX_OVERFLOW, TRACKER_READ_STATEMENT_TIMEOUT_MS,
        TRACKER_POPULATION_BANDS (`grossstadt:100000,mittelstadt:20000,…`),
        TRACKER_DST_MEMBERS_FILE, TRACKER_JOB_LEASE_SECONDS, TRACKER_JOB_BACKOFF_SECONDS,
        TRACKER_JOB_POLL_SECONDS, TRACKER_WORKER_CONCURRENCY, TRACKER_EMBEDDED_WORKER,
        TRACKER_CONTACT_EMAIL,
        TRACKER_HTTP_TIMEOUT_SECONDS, TRACKER_OUTBOUND_ALLOWED_NETWORKS (comma-separated),
        TRACKER_PROBE_FAILURES_TO_FLAG, TRACKER_PROBE_FAILURE_DAYS,
        TRACKER_PROBE_HOST_DELAY_SECONDS, TRACKER_PROBE_EVERY_HOURS, TRACKER_WEBHOOK_MAX_ATTEMPTS,
        TRACKER_WEBHOOK_BACKOFF_SECONDS."""
        env = os.environ if environ is None else environ
        url = env.get("TRACKER_DATABASE_URL") or env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        data_dir = env.get("TRACKER_DATA_DIR")
        optional: dict[str, Any] = {}
        if secret_key := env.get("TRACKER_SECRET_KEY"):
            optional["secret_key"] = secret_key
        if proxies := env.get("TRACKER_TRUSTED_PROXIES"):
            optional["trusted_proxies"] = tuple(
                address.strip() for address in proxies.split(",") if address.strip()
            )
        if bands := env.get("TRACKER_POPULATION_BANDS"):
            optional["population_bands"] = parse_bands(bands)
        if members := env.get("TRACKER_DST_MEMBERS_FILE"):
            optional["dst_members_file"] = Path(members)
        if networks := env.get("TRACKER_OUTBOUND_ALLOWED_NETWORKS"):
            optional["outbound_allowed_networks"] = tuple(
                item.strip() for item in networks.split(",") if item.strip()
            )
        if read_url := env.get("TRACKER_READ_DATABASE_URL"):
            optional["read_database_url"] = to_async_url(read_url)
        return cls(
            database_url=to_async_url(url),
            data_dir=Path(data_dir) if data_dir else DEFAULT_DATA_DIR,
            debug=_flag(env.get("TRACKER_DEBUG")),
            secure_cookies=_flag(env.get("TRACKER_SECURE_COOKIES")),
            max_body_bytes=int(env.get("TRACKER_MAX_BODY_BYTES", "1048576")),
            stale_after_days=int(env.get("TRACKER_STALE_AFTER_DAYS", "365")),
            max_upload_rows=int(env.get("TRACKER_MAX_UPLOAD_ROWS", "50000")),
            max_upload_xlsx_bytes=int(env.get("TRACKER_MAX_UPLOAD_XLSX_BYTES", "67108864")),
            max_retire_share=float(env.get("TRACKER_MAX_RETIRE_SHARE", "0.05")),
            token_touch_seconds=int(env.get("TRACKER_TOKEN_TOUCH_SECONDS", "300")),
            db_pool_size=int(env.get("TRACKER_DB_POOL_SIZE", "5")),
            db_max_overflow=int(env.get("TRACKER_DB_MAX_OVERFLOW", "10")),
            read_statement_timeout_ms=int(env.get("TRACKER_READ_STATEMENT_TIMEOUT_MS", "30000")),
            job_lease_seconds=float(env.get("TRACKER_JOB_LEASE_SECONDS", "300")),
            job_backoff_seconds=float(env.get("TRACKER_JOB_BACKOFF_SECONDS", "30")),
            job_poll_seconds=float(env.get("TRACKER_JOB_POLL_SECONDS", "1")),
            worker_concurrency=int(env.get("TRACKER_WORKER_CONCURRENCY", "2")),
            embedded_worker=_flag(env.get("TRACKER_EMBEDDED_WORKER", "1")),
            contact_email=env.get("TRACKER_CONTACT_EMAIL", "betrieb@example.org"),
            http_timeout_seconds=float(env.get("TRACKER_HTTP_TIMEOUT_SECONDS", "10")),
            webhook_max_attempts=int(env.get("TRACKER_WEBHOOK_MAX_ATTEMPTS", "12")),
            webhook_backoff_seconds=float(env.get("TRACKER_WEBHOOK_BACKOFF_SECONDS", "60")),
            probe_failures_to_flag=int(env.get("TRACKER_PROBE_FAILURES_TO_FLAG", "3")),
            probe_failure_days=int(env.get("TRACKER_PROBE_FAILURE_DAYS", "2")),
            probe_host_delay_seconds=float(env.get("TRACKER_PROBE_HOST_DELAY_SECONDS", "1")),
            probe_every_hours=float(env.get("TRACKER_PROBE_EVERY_HOURS", "24")),
            probe_batch_urls=int(env.get("TRACKER_PROBE_BATCH_URLS", "50")),
            report_job_above_gemeinden=int(env.get("TRACKER_REPORT_JOB_ABOVE_GEMEINDEN", "500")),
            **optional,
        )


def parse_bands(text: str) -> tuple[tuple[str, int], ...]:
    """`key:lowest,…` with one band from 0, so that every population falls in one."""
    found = []
    for item in text.split(","):
        key, _, lowest = item.strip().partition(":")
        if not key or not lowest.strip().isdigit():
            raise ValueError(f"TRACKER_POPULATION_BANDS: {item!r} is not key:lowest")
        found.append((key.strip().lower(), int(lowest)))
    if not any(lowest == 0 for _, lowest in found):
        raise ValueError("TRACKER_POPULATION_BANDS: one band must start at 0")
    return tuple(found)


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}
