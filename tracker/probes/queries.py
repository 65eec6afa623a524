"""Reads of the probes: URLs with their newest result, and the assessments flagged by them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import as_utc, run, tuples
from tracker.maturity import queries as maturity_queries
from tracker.maturity.models import Assessment
from tracker.maturity.schemas import BrokenEvidence, EvidenceReview
from tracker.probes.models import ProbeLink, ProbeResult, ProbeUrl


def state_of(row: ProbeUrl) -> str:
    if row.broken:
        return "broken"
    if row.failures_in_row:
        return "failing"
    return "ok" if row.last_ok_at is not None else "unchecked"


@dataclass(frozen=True)
class Probed:
    url: ProbeUrl
    last: ProbeResult | None
    assessments: int


async def list_probes(
    session: AsyncSession,
    *,
    url: str | None = None,
    status: str | None = None,
    area: str | None = None,
    limit: int = 100,
) -> list[Probed]:
    statement = select(ProbeUrl).order_by(col(ProbeUrl.url)).limit(limit)
    if url is not None:
        statement = statement.where(col(ProbeUrl.url) == url)
    if status == "broken":
        statement = statement.where(col(ProbeUrl.broken))
    elif status == "failing":
        statement = statement.where(~col(ProbeUrl.broken), col(ProbeUrl.failures_in_row) > 0)
    elif status == "ok":
        statement = statement.where(
            col(ProbeUrl.failures_in_row) == 0, col(ProbeUrl.last_ok_at).is_not(None)
        )
    elif status == "unchecked":
        statement = statement.where(
            col(ProbeUrl.failures_in_row) == 0, col(ProbeUrl.last_ok_at).is_(None)
        )
    if area:
        statement = statement.where(
            exists().where(
                col(ProbeLink.url_id) == col(ProbeUrl.id), col(ProbeLink.ars).startswith(area)
            )
        )
    rows = list((await run(session, statement)).scalars())
    ids = [row.id for row in rows]
    newest = (
        select(func.max(ProbeResult.id)).where(col(ProbeResult.url_id).in_(ids))
        .group_by(col(ProbeResult.url_id))
    )  # fmt: skip
    results = {
        result.url_id: result
        for result in (
            await run(session, select(ProbeResult).where(col(ProbeResult.id).in_(newest)))
        ).scalars()
    }
    counts = dict(
        await tuples(
            session,
            select(col(ProbeLink.url_id), func.count())
            .where(col(ProbeLink.url_id).in_(ids))
            .group_by(col(ProbeLink.url_id)),
        )
    )
    return [Probed(row, results.get(row.id or 0), int(counts.get(row.id, 0))) for row in rows]


NOT_CHECKED = {"robots": "robots.txt disallows it", "unsafe": "not a public address"}


async def describe_run(session: AsyncSession, rows: Sequence[ProbeUrl]) -> str:
    """A run's summary by each URL's newest result: ok, failing (by error class), broken, and
    not checked with why (robots.txt, not a public address): "56 URLs: 1 ok, 54 failing
    (dns 54), 0 broken, 1 not checked (robots.txt disallows it 1)"."""
    ids = [row.id for row in rows if row.id is not None]
    classes: dict[int, str | None] = {}
    for start in range(0, len(ids), URL_CHUNK):
        chunk = ids[start : start + URL_CHUNK]
        newest = (
            select(func.max(ProbeResult.id)).where(col(ProbeResult.url_id).in_(chunk))
            .group_by(col(ProbeResult.url_id))
        )  # fmt: skip
        statement = select(
            col(ProbeResult.url_id), col(ProbeResult.ok), col(ProbeResult.error_class)
        ).where(col(ProbeResult.id).in_(newest))
        for url_id, ok, error_class in await tuples(session, statement):
            classes[url_id] = None if ok else str(error_class or "error")
    ok, broken = 0, 0
    failing: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for row in rows:
        error_class = classes.get(row.id or 0, "error")
        if error_class in NOT_CHECKED:
            skipped[NOT_CHECKED[error_class]] += 1
        elif error_class is None:
            ok += 1
        elif row.broken:
            broken += 1
        else:
            failing[error_class] += 1

    def why(counts: Counter[str]) -> str:
        return f" ({', '.join(f'{k} {n}' for k, n in sorted(counts.items()))})" if counts else ""

    return (
        f"{len(rows)} URLs: {ok} ok, {failing.total()} failing{why(failing)}, {broken} broken, "
        f"{skipped.total()} not checked{why(skipped)}"
    )


@dataclass(frozen=True)
class Flag:
    """An assessment to review: a URL it cites is broken (its level stays as it is)."""

    url: str
    broken_since: datetime | None


# How much broken evidence lowers the confidence shown beside a level: all of it, by half.
BROKEN_EVIDENCE_WEIGHT = 0.5
URL_CHUNK = 500  # URLs per statement: bounds its bound parameters


def shown_confidence(cited: int, broken: int) -> float:
    """The one rule of the confidence shown with an assessment: 1, lowered by half the share of
    the URLs it cites that are broken (every one broken: 0.5; nothing cited: 1). It is shown
    only: a level never changes by a probe."""
    if cited <= 0 or broken <= 0:
        return 1.0
    return round(1.0 - BROKEN_EVIDENCE_WEIGHT * min(broken, cited) / cited, 4)


def cited_urls(source: str, evidence: list[dict[str, Any]] | None) -> list[str]:
    """The http(s) URLs an assessment cites, each once, as the probes see them."""
    found = (
        maturity_queries.evidence_href(source, str(item.get("ref", ""))) for item in evidence or []
    )
    return list(dict.fromkeys(href for href in found if href is not None))


async def broken_urls(session: AsyncSession, urls: Collection[str]) -> dict[str, datetime | None]:
    """Which of these URLs are broken, and since when."""
    wanted, found = sorted(set(urls)), {}
    for start in range(0, len(wanted), URL_CHUNK):
        statement = select(col(ProbeUrl.url), col(ProbeUrl.broken_since)).where(
            col(ProbeUrl.url).in_(wanted[start : start + URL_CHUNK]), col(ProbeUrl.broken)
        )
        found.update(
            {
                url: as_utc(since) if since else None
                for url, since in await tuples(session, statement)
            }
        )
    return found


async def _flags_of(session: AsyncSession, cited: Mapping[int, list[str]]) -> dict[int, list[Flag]]:
    broken = await broken_urls(session, {url for urls in cited.values() for url in urls})
    found: dict[int, list[Flag]] = {}
    for number, urls in cited.items():
        flags = [Flag(url, broken[url]) for url in sorted(urls) if url in broken]
        if flags:
            found[number] = flags
    return found


async def flagged(session: AsyncSession, assessment_ids: list[int]) -> dict[int, list[Flag]]:
    """Per assessment with broken evidence, its broken URLs: read by URL, so that an assessment
    recorded since the last run that cites a broken URL is flagged too."""
    if not assessment_ids:
        return {}
    statement = select(col(Assessment.id), col(Assessment.source), col(Assessment.evidence)).where(
        col(Assessment.id).in_(sorted(set(assessment_ids)))
    )
    cited = {
        number: cited_urls(source, evidence)
        for number, source, evidence in await tuples(session, statement)
    }
    return await _flags_of(session, cited)


async def review(
    session: AsyncSession, assessments: Sequence[Assessment]
) -> dict[int, EvidenceReview]:
    """maturity's `EvidenceReviewer`: the flag, the broken URLs and the shown confidence of
    each assessment with broken evidence (the others keep the defaults)."""
    cited = {
        row.id: cited_urls(row.source, row.evidence) for row in assessments if row.id is not None
    }
    found = {}
    for number, flags in (await _flags_of(session, cited)).items():
        found[number] = EvidenceReview(
            evidence_broken=True,
            broken_evidence=[BrokenEvidence(url=f.url, broken_since=f.broken_since) for f in flags],
            shown_confidence=shown_confidence(len(cited[number]), len(flags)),
        )
    return found


REVIEWER = maturity_queries.EvidenceReviewer(review)
