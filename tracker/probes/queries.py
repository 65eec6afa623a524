"""Reads of the probes: URLs with their newest result, and the assessments flagged by them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run, tuples
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


@dataclass(frozen=True)
class Flag:
    """An assessment to review: a URL it cites is broken (its level stays as it is)."""

    url: str
    broken_since: datetime | None


async def flagged(session: AsyncSession, assessment_ids: list[int]) -> dict[int, list[Flag]]:
    if not assessment_ids:
        return {}
    statement = (
        select(col(ProbeLink.assessment_id), col(ProbeUrl.url), col(ProbeUrl.broken_since))
        .join(ProbeUrl, col(ProbeUrl.id) == col(ProbeLink.url_id))
        .where(col(ProbeLink.assessment_id).in_(assessment_ids), col(ProbeUrl.broken))
        .order_by(col(ProbeUrl.url))
    )
    found: dict[int, list[Flag]] = {}
    for assessment_id, url, since in await tuples(session, statement):
        found.setdefault(assessment_id, []).append(Flag(url, since))
    return found
