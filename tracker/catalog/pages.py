"""German pages of the catalogue."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from tracker.catalog import queries
from tracker.catalog.routes import SourceIdFilter
from tracker.db import DbSession
from tracker.i18n import render


@get("/leistungen")
async def leistungen_page(
    request: Request[Any, Any, Any], session: DbSession, themenfeld: SourceIdFilter = None
) -> Template:
    where = queries.LeistungFilter(themenfeld=themenfeld)
    leistungen, _ = await queries.list_leistungen(session, where, limit=None, cursor=None)
    themenfelder, _ = await queries.list_themenfelder(session, limit=None, cursor=None)
    chosen = next((row for row in themenfelder if row.id == themenfeld), None)
    return render(request, "catalog/leistungen.html", leistungen=leistungen, themenfeld=chosen)


# A Leistung's own page (`/leistungen/{ozg_id}`) shows its coverage too: it is a page of
# `reports` (which may read the catalogue), with this feature's template.
router = Router("/", route_handlers=[leistungen_page], include_in_schema=False)
