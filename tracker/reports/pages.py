"""German start page, search, and a Gemeinde's Reifegrad page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from tracker.caching import Lru
from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.errors import TrackerError
from tracker.fields import ISO_MOMENT_PATTERN, GemeindeArs
from tracker.i18n import language, render, translator
from tracker.regions import queries as regions_queries
from tracker.reports import charts, comparison, dashboard, documents, queries, sets
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


@get("/gemeinden/{ars:str}/reifegrad")
async def reifegrad_page(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
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
        themenfelder=dashboard.by_themenfeld(rolled["leistungen"]),
        leistungen=[item for item in rolled["leistungen"] if item["online"] or item["backoffice"]],
        rules=RULES,
        recorded=erfasst,
    )


@get("/gemeinden/{ars:str}/dashboard")
async def dashboard_page(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
    session: DbSession,
    state: State,
) -> Template:
    """A city's dashboard: the same figures as GET /api/v1/dashboards/gemeinden/{ars}."""
    board = await dashboard.dashboard(session, ars, state.settings)
    lang = language(request)
    translate = translator(lang)
    return render(
        request,
        "reports/dashboard.html",
        board=board,
        charts=[charts.course(board["history"], translate, lang)],
        peers_link=documents.permalink("/vergleich", {"set": board["peers"]["definition"]}),
        dimension_names=documents.DIMENSION_NAMES,
    )


GRUPPEN = [
    ("alle", "alle Gemeinden"), ("kreisfrei", "kreisfreie Städte"),
    ("grossstadt", "Großstädte (ab 100.000)"), ("mittelstadt", "Mittelstädte (20.000–99.999)"),
    ("kleinstadt", "Kleinstädte (5.000–19.999)"), ("landgemeinde", "Landgemeinden (unter 5.000)"),
]  # fmt: skip
DOWNLOADS = [("pdf", "PDF"), ("xlsx", "Excel (XLSX)"), ("csv-de", "CSV (Excel, deutsch)"),
             ("csv", "CSV"), ("json", "JSON")]  # fmt: skip
DayParameter = Annotated[str | None, QueryParameter(pattern=r"^$|" + ISO_MOMENT_PATTERN)]


def composed(land: str | None, gruppe: str | None, peers: str | None) -> str:
    """The set definition the form's fields choose."""
    if peers:
        return f"peers:{peers.strip()}"
    terms = [f"land:{land}"] if land else []
    if gruppe == "kreisfrei":
        terms.append("kreisfrei")
    elif gruppe and gruppe != "alle":
        terms.append(f"band:{gruppe}")
    return ";".join(terms) or "de"


@get("/vergleich")
async def comparison_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    state: State,
    set_: Annotated[str | None, QueryParameter(name="set", max_length=14_000)] = None,
    at: DayParameter = None,
    since: DayParameter = None,
    land: Annotated[str | None, QueryParameter(pattern=r"^([0-9]{2})?$")] = None,
    gruppe: Annotated[str | None, QueryParameter(pattern=r"^[a-z]{0,20}$")] = None,
    peers: Annotated[str | None, QueryParameter(pattern=r"^([0-9]{8}|[0-9]{12})?$")] = None,
    sort: Annotated[str, QueryParameter(pattern="^(" + "|".join(documents.SORTS) + ")$")] = "rank",
    order: Annotated[str, QueryParameter(pattern="^(asc|desc)$")] = "asc",
) -> Template | Redirect:
    """The comparison report as a page: the form chooses the set, the URL holds the whole
    report (a permalink); the table sorts by any column, the files are one click away."""
    at, since = at or None, since or None
    form = {"set": set_, "at": at, "since": since, "land": land, "gruppe": gruppe, "peers": peers}
    laender, _ = await regions_queries.list_laender(session, limit=None, cursor=None)
    page: dict[str, Any] = {
        "form": form, "laender": [(row.Land.code, row.Land.name) for row in laender],
        "gruppen": GRUPPEN, "downloads": DOWNLOADS, "result": None, "error": None,
    }  # fmt: skip
    lang = language(request)
    try:
        if not set_ and (land or gruppe or peers):
            chosen = await sets.resolve(session, composed(land, gruppe, peers), state.settings)
            link = documents.permalink("/vergleich", {"set": chosen.definition, "at": at,
                                                      "since": since})  # fmt: skip
            return Redirect(link, status_code=303)
        if set_:
            _, result = await comparison.report(
                session, set_, at=comparison.report_moment(at),
                since=comparison.report_moment(since), settings=state.settings,
            )  # fmt: skip
            params = {"set": result["set"]["definition"], "at": at, "since": since}

            def sort_link(key: str, direction: str) -> str:
                return documents.permalink(
                    "/vergleich", {**params, "sort": key, "order": direction}
                )

            page |= documents.context(
                result, lang, sort=sort, order=order, sort_link=sort_link, links=True
            )
            page["permalink"] = documents.permalink("/vergleich", params)
            page["download_links"] = {
                key: documents.permalink("/api/v1/reports/comparison", {**params, "format": key})
                for key, _ in DOWNLOADS
            }
    except TrackerError as error:
        page["error"] = error.detail
        return render(request, "reports/vergleich.html", status_code=error.status, **page)
    return render(request, "reports/vergleich.html", **page)


router = Router(
    "/",
    route_handlers=[start_page, search_page, reifegrad_page, comparison_page, dashboard_page],
    include_in_schema=False,
)
