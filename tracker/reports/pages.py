"""German start page and search."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.params import QueryParameter
from litestar.response import Template

from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.i18n import render
from tracker.regions import queries as regions_queries

SEARCH_RESULTS = 20


@get("/")
async def start_page(request: Request[Any, Any, Any], session: DbSession) -> Template:
    themenfelder, _ = await catalog_queries.list_themenfelder(session, limit=None, cursor=None)
    return render(
        request,
        "reports/start.html",
        catalog=await catalog_queries.count_catalog(session),
        regions=await regions_queries.count_regions(session),
        themenfelder=themenfelder,
    )


@get("/suche")
async def search_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    q: Annotated[str, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = "",
) -> Template:
    gemeinden: list[Any] = []
    leistungen: list[Any] = []
    if q.strip():
        gemeinden, _ = await regions_queries.list_gemeinden(
            session, regions_queries.GemeindeFilter(q=q), limit=SEARCH_RESULTS, cursor=None
        )
        leistungen, _ = await catalog_queries.list_leistungen(
            session, catalog_queries.LeistungFilter(q=q), limit=SEARCH_RESULTS, cursor=None
        )
    return render(request, "reports/search.html", q=q, gemeinden=gemeinden, leistungen=leistungen)


router = Router("/", route_handlers=[start_page, search_page], include_in_schema=False)
