"""A probe run: the URLs cited by current assessments (submitted or validated: their evidence,
WSP NRW portal paths on the portal, PVOG URLs), probed politely, recorded as dated results; a
URL's run of failures makes it broken, and a success clears it. Levels are never touched: a
broken URL flags the assessments citing it for review (`queries.flagged`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import as_utc, run, tuples
from tracker.maturity import queries as maturity_queries
from tracker.maturity.models import Assessment, Status
from tracker.outbound import Resolver, resolve_host
from tracker.probes.checks import Outcome, Prober
from tracker.probes.models import ProbeLink, ProbeResult, ProbeUrl
from tracker.settings import Settings

CURRENT = (Status.SUBMITTED.value, Status.VALIDATED.value)
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


async def probe_all(
    urls: list[str],
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    resolve: Resolver = resolve_host,
    progress: ProgressFn | None = None,
) -> list[Outcome]:
    """Probe the URLs, `probe_concurrency` at once (the prober keeps to each host's limits)."""
    prober = Prober(client, settings, resolve=resolve)
    limit = asyncio.Semaphore(settings.probe_concurrency)
    done = 0

    async def one(url: str) -> Outcome:
        nonlocal done
        async with limit:
            outcome = await prober.probe(url)
        done += 1
        if progress is not None:
            progress(done, len(urls))
        return outcome

    return list(await asyncio.gather(*(one(url) for url in urls)))


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


async def run_probes(
    session: AsyncSession,
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    area: str = "",
    limit: int | None = None,
    resolve: Resolver = resolve_host,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> list[ProbeUrl]:
    """Probe and record; `now` dates the results (tests fix it, the clock otherwise)."""
    cited = await targets(session, area=area, limit=limit)
    outcomes = await probe_all(list(cited), client, settings, resolve=resolve, progress=progress)
    if now is not None:
        for outcome in outcomes:
            outcome.probed_at = now
    return await record(session, outcomes, cited, settings)
