"""German pages of the region register."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeAlias

from litestar import Request, Router, get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import DbSession
from tracker.fields import ARS_OR_AGS_PATTERN
from tracker.i18n import render
from tracker.regions import queries
from tracker.regions.models import Gemeinde


@dataclass(frozen=True)
class GemeindeSection:
    """A part of the Gemeinde page rendered by a feature above regions: its template (a
    fragment, given `section` as its context) and that context."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


SectionFn = Callable[[AsyncSession, Gemeinde], Awaitable[GemeindeSection | None]]


@dataclass(frozen=True)
class GemeindeSections:
    """The Gemeinde page's extension point: the features above regions that add to it (the link
    probes' broken evidence), handed over by `app.py`, so that regions imports none of them.
    Each gives a section or None (nothing to say), in this order."""

    sections: tuple[SectionFn, ...] = ()


GemeindeSectionsDep: TypeAlias = NamedDependency[GemeindeSections]


@get("/gemeinden/{ars_or_ags:str}")
async def gemeinde_page(
    request: Request[Any, Any, Any],
    ars_or_ags: Annotated[str, PathParameter(pattern=ARS_OR_AGS_PATTERN)],
    session: DbSession,
    gemeinde_sections: GemeindeSectionsDep,
) -> Template:
    row = await queries.get_gemeinde(session, ars_or_ags)
    sections = [await make(session, row.Gemeinde) for make in gemeinde_sections.sections]
    return render(
        request, "regions/gemeinde.html", row=row, sections=[s for s in sections if s is not None]
    )


router = Router("/", route_handlers=[gemeinde_page], include_in_schema=False)
