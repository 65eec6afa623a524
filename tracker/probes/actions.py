"""A probe run: the URLs cited by current assessments (submitted or validated: their evidence,
WSP NRW portal paths on the portal, PVOG URLs), probed politely, recorded as dated results; a
URL's run of failures makes it broken, and a success clears it. Levels are never touched: a
broken URL flags the assessments citing it for review (`queries.flagged`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import Sessionmaker, as_utc, run, tuples
from tracker.maturity import queries as maturity_queries
from tracker.maturity.models import Assessment, Status
from tracker.outbound import Resolver, resolve_host
from tracker.probes.checks import Outcome, Prober
from tracker.probes.models import ProbeLink, ProbeResult, ProbeUrl
from tracker.settings import Settings

CURRENT = (Status.SUBMITTED.value, Status.VALIDATED.value)
URL_CHUNK = 500  # URLs per statement: bounds its bound parameters
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Citation:
    assessment_id: int
    ars: str


async def targets(
    session: AsyncSession, *, area: str = "", limit: int | None = None
) -> dict[str, list[Citation]]:
    """Every http(s) URL that current assessments in `area` (an ARS prefix) cite, with them."""
    statement = (
        select(col(Assessment.id), col(Assessment.ars), col(Assessment.source),
               col(Assessment.evidence))
        .where(col(Assessment.status).in_(CURRENT), col(Assessment.ars).startswith(area))
        .order_by(col(Assessment.id))
    )  # fmt: skip
    found: dict[str, list[Citation]] = defaultdict(list)
    for assessment_id, ars, source, evidence in await tuples(session, statement):
        for item in evidence or []:
            href = maturity_queries.evidence_href(source, str(item.get("ref", "")))
            if href is not None and (href in found or limit is None or len(found) < limit):
                found[href].append(Citation(assessment_id, ars))
    return dict(found)


def _is_broken(row: ProbeUrl, now: datetime, settings: Settings) -> bool:
    if row.failures_in_row < settings.probe_failures_to_flag or row.first_failed_at is None:
        return False
    days = (now.date() - as_utc(row.first_failed_at).date()).days + 1
    return days >= settings.probe_failure_days


async def record(
    session: AsyncSession,
    outcomes: list[Outcome],
    cited: dict[str, list[Citation]],
    settings: Settings,
) -> list[ProbeUrl]:
    """Store the results, update each URL's run of failures and its links to assessments."""
    rows = []
    for outcome in outcomes:
        row = (
            (await run(session, select(ProbeUrl).where(col(ProbeUrl.url) == outcome.url)))
            .scalars()
            .first()
        )
        if row is None:
            row = ProbeUrl(url=outcome.url, host=httpx.URL(outcome.url).host[:255])
            session.add(row)
        row.last_probed_at = outcome.probed_at
        if outcome.counted and outcome.ok:
            row.failures_in_row, row.first_failed_at, row.last_ok_at = 0, None, outcome.probed_at
            row.broken, row.broken_since = False, None
        elif outcome.counted:
            row.failures_in_row += 1
            row.first_failed_at = row.first_failed_at or outcome.probed_at
            if not row.broken and _is_broken(row, outcome.probed_at, settings):
                # broken since the run of failures began, not since the failure that tipped it
                row.broken, row.broken_since = True, row.first_failed_at
        await session.flush()
        assert row.id is not None  # noqa: S101  (flushed)
        session.add(ProbeResult(url_id=row.id, **{
            key: getattr(outcome, key) for key in (
                "probed_at", "ok", "status_code", "final_url", "latency_ms", "tls_valid",
                "tls_expires_at", "error_class", "error", "content_type",
            )
        }))  # fmt: skip
        await run(session, delete(ProbeLink).where(col(ProbeLink.url_id) == row.id))
        for citation in {c.assessment_id: c for c in cited.get(outcome.url, [])}.values():
            session.add(ProbeLink(url_id=row.id, assessment_id=citation.assessment_id,
                                  ars=citation.ars))  # fmt: skip
        rows.append(row)
    await session.flush()
    return rows


@dataclass
class RunReport:
    """What a run did: the URLs it probed and recorded now, and those it left because they
    had been probed since `since` (by this run before it was interrupted)."""

    probed: list[ProbeUrl] = field(default_factory=list)
    skipped: int = 0


def batches(urls: list[str], size: int) -> list[list[list[str]]]:
    """The URLs by host (in the order first cited), each host's cut into runs of `size`."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[httpx.URL(url).host].append(url)
    step = max(size, 1)
    return [
        [chunk[start : start + step] for start in range(0, len(chunk), step)]
        for chunk in by_host.values()
    ]


async def already_probed(session: AsyncSession, urls: list[str], since: datetime) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(urls), URL_CHUNK):
        statement = select(col(ProbeUrl.url)).where(
            col(ProbeUrl.url).in_(urls[start : start + URL_CHUNK]),
            col(ProbeUrl.last_probed_at) >= since,
        )
        found.update(str(url) for url in (await run(session, statement)).scalars())
    return found


async def run_probes(
    sessionmaker: Sessionmaker,
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    area: str = "",
    limit: int | None = None,
    since: datetime | None = None,
    resolve: Resolver = resolve_host,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> RunReport:
    """Probe and record, committing per host in batches of `probe_batch_urls`: a run killed
    midway keeps what it recorded and holds no transaction while it calls out. With `since`,
    URLs probed at or after it are left (a run resumed: give its start), so that running it
    again records nothing twice. `now` dates the results (tests fix it, the clock otherwise)."""
    async with sessionmaker() as session:  # read only
        cited = await targets(session, area=area, limit=limit)
        done = await already_probed(session, list(cited), since) if since is not None else set()
    todo = [url for url in cited if url not in done]
    report = RunReport(skipped=len(cited) - len(todo))
    prober = Prober(client, settings, resolve=resolve)
    hosts = asyncio.Semaphore(settings.probe_concurrency)
    writing = asyncio.Lock()  # one batch's transaction at a time (SQLite has one writer)
    finished = 0

    async def one(url: str) -> Outcome:
        nonlocal finished
        outcome = await prober.probe(url)
        if now is not None:
            outcome.probed_at = now
        finished += 1
        if progress is not None:
            progress(finished, len(todo))
        return outcome

    async def host(runs: list[list[str]]) -> None:
        async with hosts:
            for urls in runs:  # the prober keeps to the host's own limits within a run
                outcomes = list(await asyncio.gather(*(one(url) for url in urls)))
                async with writing, sessionmaker.begin() as session:
                    report.probed.extend(await record(session, outcomes, cited, settings))

    try:
        async with asyncio.TaskGroup() as group:  # a failure cancels the other hosts
            for runs in batches(todo, settings.probe_batch_urls):
                group.create_task(host(runs))
    except ExceptionGroup as failed:  # the job's last error names the first cause
        raise failed.exceptions[0] from failed
    return report
