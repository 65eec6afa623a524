"""German pages of the region register."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.params import PathParameter
from litestar.response import Template

from tracker.db import DbSession
from tracker.fields import ARS_OR_AGS_PATTERN
from tracker.i18n import render
from tracker.regions import queries


@get("/gemeinden/{ars_or_ags:str}")
async def gemeinde_page(
    request: Request[Any, Any, Any],
    ars_or_ags: Annotated[str, PathParameter(pattern=ARS_OR_AGS_PATTERN)],
    session: DbSession,
) -> Template:
    row = await queries.get_gemeinde(session, ars_or_ags)
    return render(request, "regions/gemeinde.html", row=row)


router = Router("/", route_handlers=[gemeinde_page], include_in_schema=False)
