"""German start page, search, and a Gemeinde's Reifegrad page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import fields
from tracker.access.guards import principal_of
from tracker.access.models import Role
from tracker.caching import Lru
from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.errors import TrackerError
from tracker.fields import OZG_ID_PATTERN, GemeindeKey
from tracker.i18n import language, render, translator
from tracker.maturity import queries as maturity_queries
from tracker.maturity.models import SOURCE_NAMES
from tracker.probes import queries as probes_queries
from tracker.regions import queries as regions_queries
from tracker.reports import charts, comparison, dashboard, documents, exports, files, queries, sets
from tracker.reports.figures import RULES
from tracker.research import queries as research_queries
from tracker.research.schemas import SEVERITY_NAMES
from tracker.settings import Settings
from tracker.watch import Watch

SEARCH_RESULTS = 20
# A Gemeinde's roll-up by its stamp and the day (see `routes.ROLLUPS`); read, never changed.
ROLLUPS: Lru[dict[str, Any]] = Lru(256)


@get("/")
async def start_page(request: Request[Any, Any, Any], session: DbSession) -> Template:
    """The catalogue and register in figures; for a signed-in user first the own work."""
    themenfelder, _ = await catalog_queries.list_themenfelder(session, limit=None, cursor=None)
    principal = principal_of(request)
    work = None
    if principal.user_id is not None:
        work = await maturity_queries.work_counts(
            session, principal.user_id, principal.scopes(Role.REVIEWER)
        )
    return render(
        request,
        "reports/start.html",
        catalog=await catalog_queries.count_catalog(session),
        regions=await regions_queries.count_regions(session),
        themenfelder=themenfelder,
        work=work,
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


def _by_ars(request: Request[Any, Any, Any], key: str, ars: str) -> Redirect | None:
    """A page asked for by AGS moves to the same page by ARS (the query kept)."""
    if key == ars:
        return None
    path = request.url.path.replace(f"/{key}/", f"/{ars}/", 1)
    query = request.url.query
    return Redirect(f"{path}?{query}" if query else path, status_code=301)


async def broken_links(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per assessment, its broken evidence URLs and since when (link probes)."""
    flags = await probes_queries.flagged(session, ids)
    return {
        number: {flag.url: flag.broken_since for flag in found} for number, found in flags.items()
    }


@get("/gemeinden/{ars:str}/reifegrad")
async def reifegrad_page(
    request: Request[Any, Any, Any],
    ars: GemeindeKey,
    session: DbSession,
    state: State,
    erfasst: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
    nur: Annotated[str | None, QueryParameter(pattern="^(bewertet|offen)?$")] = None,
) -> Template | Redirect:
    """Every applicable OZG-Leistung of the Gemeinde with its level on both dimensions, the
    level's name, whether it is provisional, its source, date and evidence; unassessed ones
    marked, each with a link to record it."""
    settings: Settings = state.settings
    watch: Watch = state.watch
    gemeinde = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    moved = _by_ars(request, ars, gemeinde.ars)
    if moved is not None:
        return moved
    ars = gemeinde.ars
    stamp = await watch.stamp(("gemeinde", ars), lambda: queries.gemeinde_stamp(session, ars))
    key = (ars, datetime.now(UTC).date(), stamp, settings.stale_after_days)
    rolled = ROLLUPS.get(key)
    if rolled is None:
        rolled = await queries.gemeinde_rollup(
            session, ars, at=None, stale_after_days=settings.stale_after_days
        )
        ROLLUPS.put(key, rolled)
    items = rolled["leistungen"]
    assessed = [item for item in items if item["online"] or item["backoffice"]]
    shown = {"bewertet": assessed, "offen": [item for item in items if not item["online"]]}
    listed = shown.get(nur or "", items)
    ids = [item[d]["assessment_id"] for item in listed for d in ("online", "backoffice") if item[d]]
    return render(
        request,
        "reports/reifegrad.html",
        gemeinde=gemeinde,
        summary=rolled["summary"],
        themenfelder=dashboard.by_themenfeld(items, rolled["flags"]),
        leistungen=listed,
        counts={"alle": len(items), "bewertet": len(assessed), "offen": len(shown["offen"])},
        nur=nur or "alle",
        provenance=await maturity_queries.provenance(session, ids),
        broken_links=await broken_links(session, ids),
        level_names={
            dimension: (await maturity_queries.model_for(session, dimension, None)).level_names
            for dimension in ("online", "backoffice")
        },
        source_names=SOURCE_NAMES,
        rules=comparison.labelled_rules(language(request), RULES),
        recorded=erfasst,
        recorded_status=next(
            (
                row.Assessment.status
                for row in await maturity_queries.assessments_by_ids(
                    session, [erfasst] if erfasst else []
                )
            ),
            None,
        ),
        flags=rolled["flags"],
    )


@get("/leistungen/{ozg_id:str}")
async def leistung_page(
    request: Request[Any, Any, Any],
    ozg_id: Annotated[str, PathParameter(pattern=OZG_ID_PATTERN)],
    session: DbSession,
) -> Template:
    """A Leistung: its LeiKa services and its coverage online, in Germany and by Land."""
    leistung = await catalog_queries.get_leistung(session, ozg_id)
    leika = await catalog_queries.list_leika_of(session, ozg_id)
    found = await queries.leistung_coverage(session, ozg_id, dimension="online", at=None)
    laender, _ = await regions_queries.list_laender(session, limit=None, cursor=None)
    names = {row.Land.code: row.Land.name for row in laender}
    coverage = found["coverage"]
    research = await research_queries.leistung_findings(session, ozg_id)
    return render(
        request, "catalog/leistung.html", leistung=leistung, leika=leika, research=research,
        severity_names=SEVERITY_NAMES,
        applicable=found["applicable"], bund=coverage[("bund", "DE")].as_dict(),
        laender=[(names.get(code, code), figures.as_dict())
                 for (kind, code), figures in sorted(coverage.items()) if kind == "land"],
        rules=comparison.rules_in(language(request), RULES),
    )  # fmt: skip


@get("/gemeinden/{ars:str}/dashboard")
async def dashboard_page(
    request: Request[Any, Any, Any],
    ars: GemeindeKey,
    session: DbSession,
    state: State,
) -> Template | Redirect:
    """A city's dashboard: the same figures as GET /api/v1/dashboards/gemeinden/{ars}."""
    found = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    moved = _by_ars(request, ars, found.ars)
    if moved is not None:
        return moved
    board = await dashboard.dashboard(session, found.ars, state.settings)
    lang = language(request)
    translate = translator(lang)
    return render(
        request,
        "reports/dashboard.html",
        board=board,
        rules=comparison.labelled_rules(lang, board["rules"]),
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
# The form's fields are read by the handler, not by patterns, so that a mistyped date or key
# is shown on the form in German instead of a bare 400 page.
FormText = Annotated[str | None, QueryParameter(max_length=200, pattern=r"^[^\x00]*$")]


def composed(form: dict[str, Any]) -> str:
    """The set definition the form's fields choose: a peer group, or Land, Kreis, a list of
    Gemeinden and a group, each narrowing the set."""
    if form["peers"]:
        return f"peers:{form['peers'].strip()}"
    terms = [f"land:{form['land'].strip()}"] if form["land"] else []
    if form["kreis"]:
        terms.append(f"kreis:{form['kreis'].strip()}")
    if form["ars"]:
        terms.append("ars:" + ",".join(re.findall(r"[0-9]+", form["ars"])))
    gruppe = form["gruppe"]
    if gruppe == "kreisfrei":
        terms.append("kreisfrei")
    elif gruppe and gruppe != "alle":
        terms.append(f"band:{gruppe}")
    return ";".join(terms) or "de"


FIELD_NAMES = {"land": "Land", "kreis": "Kreis (Schlüssel)", "ars": "ausgewählte Gemeinden",
               "gruppe": "Gemeinden"}  # fmt: skip


def dropped_by_peers(form: dict[str, Any]) -> list[str]:
    """The fields a peer group leaves aside (it is a set of its own: it replaces them)."""
    if not form["peers"]:
        return []
    return [
        key for key in FIELD_NAMES if form[key] and not (key == "gruppe" and form[key] == "alle")
    ]


async def exclusions(
    session: AsyncSession, definition: str, settings: Settings
) -> list[dict[str, Any]]:
    """Why a set is empty: each term that holds no Gemeinde alone, else each pair of terms that
    exclude each other (each holds Gemeinden, the two together none)."""
    terms = [term for term in definition.split(";") if term]
    if len(terms) < 2:  # a single term is empty by itself
        return []
    alone = {term: await (await sets.resolve(session, term, settings)).count(session)
             for term in terms}  # fmt: skip
    empty = [{"terms": [term], "counts": [0]} for term in terms if not alone[term]]
    if empty:
        return empty
    found = []
    for index, first in enumerate(terms):
        for second in terms[index + 1 :]:
            both = await sets.resolve(session, f"{first};{second}", settings)
            if not await both.count(session):
                found.append({"terms": [first, second], "counts": [alone[first], alone[second]]})
    return found


TERM_FIELDS = {"land": "land", "kreis": "kreis", "ars": "ars", "peers": "peers",
               "band": "gruppe", "kreisfrei": "gruppe"}  # fmt: skip


def error_field(error: TrackerError, by_fields: bool) -> str:
    """The form field an error is about (its message is shown there): a date, else the field
    that gave the term named, else the definition."""
    detail = error.detail or ""
    for field in ("at", "since"):
        if detail.startswith(f"{field}:"):
            return field
    term = re.match(r"set: '([a-z]+)", detail)
    if by_fields and term is not None:
        return TERM_FIELDS.get(term[1], "set")
    return "set"


def _fields_chosen(form: dict[str, Any], shown: str | None) -> bool:
    """Whether the form's fields choose the set: when the definition field is empty, or still
    holds the report shown (`shown`) and the fields can express it."""
    if not any(form[key] for key in ("land", "kreis", "ars", "gruppe", "peers")):
        return False
    if not form["set"]:
        return True
    if shown is None or form["set"] != shown:
        return False
    return composed({**EMPTY_FORM, **fields_of(shown)}) == shown


EMPTY_FORM = dict.fromkeys(("set", "land", "kreis", "ars", "gruppe", "peers"))


def fields_of(definition: str) -> dict[str, str]:
    """The form's fields that show a canonical definition (those the form can express)."""
    found: dict[str, str] = {}
    for term in definition.split(";"):
        kind, _, value = term.partition(":")
        if kind in ("land", "kreis", "ars") and kind not in found:
            found[kind] = value
        elif kind == "kreisfrei":
            found["gruppe"] = "kreisfrei"
        elif kind == "band":
            found["gruppe"] = value
        elif kind == "peers":
            found["peers"] = value.partition(":")[0]
    return found


@get("/vergleich")
async def comparison_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    state: State,
    set_: Annotated[
        str | None, QueryParameter(name="set", max_length=14_000, pattern=r"^[^\x00]*$")
    ] = None,
    at: FormText = None,
    since: FormText = None,
    land: FormText = None,
    kreis: FormText = None,
    ars: Annotated[str | None, QueryParameter(max_length=14_000, pattern=r"^[^\x00]*$")] = None,
    gruppe: FormText = None,
    peers: FormText = None,
    shown: Annotated[str | None, QueryParameter(max_length=14_000, pattern=r"^[^\x00]*$")] = None,
    sort: Annotated[
        str, QueryParameter(pattern="^(" + "|".join([*documents.SORTS, documents.FLAG_SORT]) + ")$")
    ] = "rank",
    order: Annotated[str, QueryParameter(pattern="^(asc|desc)$")] = "asc",
    ohne: Annotated[str | None, QueryParameter(max_length=100, pattern="^[a-z,]*$")] = None,
) -> Template | Redirect:
    """The comparison report as a page: the form chooses the set, the URL holds the whole
    report (a permalink); the table sorts by any column, the files are one click away."""
    at, since = (at or "").strip() or None, (since or "").strip() or None
    form = {"set": set_, "at": at, "since": since, "land": land, "kreis": kreis, "ars": ars,
            "gruppe": gruppe, "peers": peers}  # fmt: skip
    laender, _ = await regions_queries.list_laender(session, limit=None, cursor=None)
    page: dict[str, Any] = {
        "form": form, "laender": [(row.Land.code, row.Land.name) for row in laender],
        "gruppen": GRUPPEN, "downloads": DOWNLOADS, "result": None, "error": None,
        "dropped": [], "exclusions": [], "error_field": None,
    }  # fmt: skip
    lang = language(request)
    try:
        moments = fields.report_moment(at), fields.report_moment(since, "since")
        if _fields_chosen(form, shown):
            chosen = await sets.resolve(session, composed(form), state.settings)
            link = documents.permalink("/vergleich", {
                "set": chosen.definition, "at": at, "since": since,
                "ohne": ",".join(dropped_by_peers(form)),
            })  # fmt: skip
            return Redirect(link, status_code=303)
        if set_:
            _, result = await comparison.report(
                session, set_, at=moments[0], since=moments[1], settings=state.settings,
            )  # fmt: skip
            params = {"set": result["set"]["definition"], "at": at, "since": since}
            form |= fields_of(result["set"]["definition"])

            def sort_link(key: str, direction: str) -> str:
                return documents.permalink(
                    "/vergleich", {**params, "sort": key, "order": direction}
                )

            page |= documents.context(
                result, lang, sort=sort, order=order, sort_link=sort_link, links=True
            )
            page["permalink"] = documents.permalink("/vergleich", params)
            page["dropped"] = [FIELD_NAMES[key] for key in (ohne or "").split(",")
                               if key in FIELD_NAMES]  # fmt: skip
            if not result["members"]:
                page["exclusions"] = await exclusions(
                    session, result["set"]["definition"], state.settings
                )
            page["download_links"] = {
                key: documents.permalink("/api/v1/reports/comparison", {**params, "format": key})
                for key, _ in DOWNLOADS
            }
            # a large set's PDF, HTML or XLSX is made by a job: the page says so beside the link
            count = len(result["members"])
            page["download_later"] = [
                label for key, label in DOWNLOADS
                if files.in_background(count, exports.Format(key), state.settings)
            ]  # fmt: skip
            page["download_above"] = state.settings.report_job_above_gemeinden
    except TrackerError as error:
        page["error"] = error.in_language(lang)
        page["error_field"] = error_field(error, _fields_chosen(form, shown))
        return render(request, "reports/vergleich.html", status_code=error.status, **page)
    return render(request, "reports/vergleich.html", **page)


router = Router(
    "/",
    route_handlers=[
        start_page,
        search_page,
        reifegrad_page,
        leistung_page,
        comparison_page,
        dashboard_page,
    ],
    include_in_schema=False,
)
