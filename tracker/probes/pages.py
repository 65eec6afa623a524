"""What the link probes add to pages of features below them: the Gemeinde page's broken
evidence (a section through `regions.pages.GemeindeSections`, wired by `app.py`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run
from tracker.maturity import queries as maturity_queries
from tracker.maturity.models import Assessment
from tracker.probes import queries
from tracker.regions.models import Gemeinde
from tracker.regions.pages import GemeindeSection


async def broken_evidence(session: AsyncSession, gemeinde: Gemeinde) -> GemeindeSection | None:
    """The broken evidence URLs of the assessments that give the Gemeinde's current levels,
    with each assessment's shown confidence; None when none is broken."""
    ids = await maturity_queries.current_assessment_ids(session, gemeinde.ars)
    statement = select(Assessment).where(col(Assessment.id).in_(ids))
    current = list((await run(session, statement)).scalars()) if ids else []
    reviewed = await queries.review(session, current)
    if not reviewed:
        return None
    assessments = [assessment for assessment in current if assessment.id in reviewed]
    names = await maturity_queries.names_of(session, assessments)
    broken: list[dict[str, Any]] = []
    for assessment in assessments:
        assert assessment.id is not None  # noqa: S101  (stored)
        review, named = reviewed[assessment.id], names[assessment.id]
        broken.extend(
            {
                "assessment_id": assessment.id,
                "ozg_id": named.ozg_id,
                "leistung": named.leistung,
                "leika_name": named.leika_name,
                "dimension": assessment.dimension,
                "url": item.url,
                "broken_since": item.broken_since,
                "confidence": review.shown_confidence,
            }
            for item in review.broken_evidence
        )
    broken.sort(key=lambda item: (item["ozg_id"], item["dimension"], item["url"]))
    return GemeindeSection("probes/gemeinde.html", {"broken": broken})
