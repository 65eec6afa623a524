"""German start page, search, and a Gemeinde's Reifegrad page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from tracker.caching import Lru
from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.fields import ARS_PATTERN
from tracker.i18n import render
from tracker.regions import queries as regions_queries
from tracker.reports import queries
from tracker.reports.figures import RULES
from tracker.settings import Settings
from tracker.watch import Watch

SEARCH_RESULTS = 20
# A Gemeinde's roll-up by its stamp and the day (see `routes.ROLLUPS`); read, never changed.
ROLLUPS: Lru[dict[str, Any]] = Lru(256)


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


def by_themenfeld(leistungen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for item in leistungen:
        group = groups.setdefault(
            item["themenfeld"],
            {"themenfeld": item["themenfeld"], "applicable": 0, "assessed": 0, "online": 0,
             "ozg_konform": 0, "backoffice": 0},
        )  # fmt: skip
        group["applicable"] += 1
        if item["online"]:
            group["assessed"] += 1
            group["online"] += item["online"]["online"]
            group["ozg_konform"] += item["online"]["ozg_konform"]
        if item["backoffice"]:
            group["backoffice"] += 1
    return sorted(groups.values(), key=lambda group: group["themenfeld"])


@get("/gemeinden/{ars:str}/reifegrad")
async def reifegrad_page(
    request: Request[Any, Any, Any],
    ars: Annotated[str, PathParameter(pattern=ARS_PATTERN)],
    session: DbSession,
    state: State,
    erfasst: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
) -> Template:
    settings: Settings = state.settings
    watch: Watch = state.watch
    gemeinde = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    stamp = await watch.stamp(("gemeinde", ars), lambda: queries.gemeinde_stamp(session, ars))
    key = (ars, datetime.now(UTC).date(), stamp, settings.stale_after_days)
    rolled = ROLLUPS.get(key)
    if rolled is None:
        rolled = await queries.gemeinde_rollup(
            session, ars, at=None, stale_after_days=settings.stale_after_days
        )
        ROLLUPS.put(key, rolled)
    return render(
        request,
        "reports/reifegrad.html",
        gemeinde=gemeinde,
        summary=rolled["summary"],
        themenfelder=by_themenfeld(rolled["leistungen"]),
        leistungen=[item for item in rolled["leistungen"] if item["online"] or item["backoffice"]],
        rules=RULES,
        recorded=erfasst,
    )


router = Router(
    "/", route_handlers=[start_page, search_page, reifegrad_page], include_in_schema=False
)
