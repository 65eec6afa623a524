"""JSON API of the roll-ups: a Gemeinde's Reifegrad, a Leistung's coverage, the summary by
group and its course over time. Every figure is read from the pair levels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import fields
from tracker.caching import Answer, Lru
from tracker.concurrency import client_holds, not_modified, stamp_etag
from tracker.db import DbSession, as_utc
from tracker.errors import NotFound, Unavailable, problem_responses
from tracker.fields import (
    AREA_PATTERN,
    ARS_OR_AGS_PATTERN,
    ISO_MOMENT_PATTERN,
    OZG_ID_PATTERN,
    report_moment,
)
from tracker.i18n import render
from tracker.maturity.models import Dimension
from tracker.regions import queries as regions_queries
from tracker.reports import comparison, dashboard, exports, files, queries, summary
from tracker.reports.documents import permalink
from tracker.reports.figures import RULES
from tracker.reports.schemas import (
    AreaCoverage,
    Comparison,
    Coverage,
    Dashboard,
    GemeindeReifegrad,
    LeistungCoverage,
    ReifegradSummary,
    ReifegradTimeseries,
    ReportFileStatus,
)
from tracker.settings import Settings
from tracker.watch import Watch

AnyRequest = Request[Any, Any, Any]
At = Annotated[
    str | None,
    QueryParameter(
        pattern=ISO_MOMENT_PATTERN,
        description=(
            "As of this moment (ISO 8601); default now. A bare day means its end (UTC); a "
            "day the calendar lacks or a moment after today is refused (422 naming `at`)."
        ),
    ),
]
Area = Annotated[
    str | None,
    QueryParameter(
        pattern=AREA_PATTERN,
        description="Only Gemeinden whose ARS starts with this: Land 05, Kreis 05113, …",
    ),
]


GemeindeKey = Annotated[
    str,
    PathParameter(
        pattern=ARS_OR_AGS_PATTERN,
        description="The Gemeinde's 12-digit ARS, or its 8-digit AGS (answered 301 to the ARS).",
    ),
]
BY_ARS_OR_AGS = {
    301: ResponseSpec(
        data_container=None, description="Asked by AGS: the same resource by ARS (Location)."
    ),
    **problem_responses(404),
}
# `at` (`fields.report_moment`): a day the calendar lacks or a future one is a 422
AT_REFUSED = problem_responses(422)


async def to_ars(request: AnyRequest, session: AsyncSession, key: str) -> Redirect | None:
    """A Gemeinde's resource asked for by AGS moves to the same one by ARS (the query kept), as
    the pages do; an unknown AGS is a 404 naming it."""
    if len(key) != len("05315000"):
        return None
    ars = (await regions_queries.get_gemeinde(session, key)).Gemeinde.ars
    path = "/".join(ars if part == key else part for part in request.url.path.split("/"))
    query = request.url.query
    return Redirect(f"{path}?{query}" if query else path, status_code=301)


# Computed answers by the stamps of what they read (the data, the reference, the day), so that
# they are correct in every worker process: a change anywhere makes a new key.
ROLLUPS: Lru[Answer] = Lru(512)
SUMMARIES: Lru[Answer] = Lru(64)
# Pollers revalidate every time; the ETag makes an unchanged answer a 304 without a body.
POLLED = {"Cache-Control": "public, no-cache"}


class Fields(StrEnum):
    ALL = "all"
    SUMMARY = "summary"


async def polled(
    request: AnyRequest,
    key: tuple[Any, ...],
    cache: Lru[Answer],
    compute: Callable[[], Awaitable[BaseModel]],
) -> Response[Any]:
    """Answer from the stamp: 304 when the client holds it, else the cached or computed body,
    compressed once for all who accept the same encoding."""
    answer = cache.get(key)
    tag = stamp_etag(key) if answer is None else answer.tag
    if client_holds(request, tag):
        return not_modified(tag, POLLED)
    if answer is None:
        answer = Answer((await compute()).model_dump_json().encode(), tag)
        cache.put(key, answer)
    body, headers = answer.encoded(request.headers.get("accept-encoding", ""))
    return Response(body, media_type=MediaType.JSON, headers={**headers, **POLLED})


@get("/gemeinden/{ars:str}/reifegrad", responses={**BY_ARS_OR_AGS, **AT_REFUSED})
async def gemeinde_reifegrad(
    request: AnyRequest,
    ars: GemeindeKey,
    session: DbSession,
    state: State,
    at: At = None,
    fields: Annotated[
        Fields,
        QueryParameter(description="summary: the counts without the list of Leistungen."),
    ] = Fields.ALL,
) -> Response[GemeindeReifegrad] | Redirect:
    """Every applicable OZG-Leistung with its current level on both dimensions, the flags and
    their age, and a summary; `rules` states how each figure is counted. Sent with a strong
    ETag of the data it reads: If-None-Match gives 304. An AGS moves (301) to its ARS."""
    moved = await to_ars(request, session, ars)
    if moved is not None:
        return moved
    settings: Settings = state.settings
    moment = report_moment(at)
    watch: Watch = state.watch
    stamp = await watch.stamp(("gemeinde", ars), lambda: queries.gemeinde_stamp(session, ars))
    key = (ars, moment, datetime.now(UTC).date(), stamp, settings.stale_after_days, fields)

    async def compute() -> GemeindeReifegrad:
        rolled = await queries.gemeinde_rollup(
            session, ars, at=moment, stale_after_days=settings.stale_after_days
        )
        if fields is Fields.SUMMARY:
            rolled["leistungen"] = rolled["not_applicable"] = None
        return GemeindeReifegrad.model_validate(
            {"ars": ars, "name": stamp[1], "at": moment, **rolled}
        )

    return await polled(request, key, ROLLUPS, compute)


@get("/leistungen/{ozg_id:str}/reifegrad", responses=problem_responses(404, 422))
async def leistung_reifegrad(
    ozg_id: Annotated[str, PathParameter(pattern=OZG_ID_PATTERN)],
    session: DbSession,
    state: State,
    dimension: Annotated[Dimension, QueryParameter()] = Dimension.ONLINE,
    at: At = None,
) -> LeistungCoverage:
    """Coverage of one OZG-Leistung across the inhabited Gemeinden, for Bund, Länder and Kreise."""
    moment = report_moment(at)
    found = await queries.leistung_coverage(session, ozg_id, dimension=dimension.value, at=moment)
    laender, _ = await regions_queries.list_laender(session, limit=None, cursor=None)
    kreise, _ = await regions_queries.list_kreise(
        session, regions_queries.KreisFilter(), limit=None, cursor=None
    )
    coverage = found.pop("coverage")

    def areas(kind: str, rows: list[Any], model: str) -> list[AreaCoverage]:
        named = {getattr(row, model).code: getattr(row, model).name for row in rows}
        return [
            AreaCoverage(code=code, name=named.get(code, code), **figures.as_dict())
            for (level, code), figures in sorted(coverage.items())
            if level == kind
        ]

    return LeistungCoverage(
        **found, at=moment, rules=RULES, bund=Coverage(**coverage[("bund", "DE")].as_dict()),
        laender=areas("land", laender, "Land"), kreise=areas("kreis", kreise, "Kreis"),
    )  # fmt: skip


Group = Annotated[summary.GroupBy, QueryParameter(description="What to group the pairs by.")]


@get("/reifegrad/summary", responses=AT_REFUSED)
async def reifegrad_summary(
    request: AnyRequest,
    session: DbSession,
    state: State,
    group_by: Group = summary.GroupBy.LAND,
    dimension: Annotated[Dimension | None, QueryParameter()] = None,
    at: At = None,
    area: Area = None,
) -> Response[ReifegradSummary]:
    """Per group: applicable Gemeinde × Leistung pairs, pairs at each level or above, shares,
    mean and median level, Leistungen flächendeckend and in at least one Kommune. Sent with a
    strong ETag of the data it reads: If-None-Match gives 304."""
    moment = report_moment(at)
    watch: Watch = state.watch
    stamp = await watch.stamp(("data",), lambda: queries.data_stamp(session))
    key = (stamp, group_by, dimension, moment, area)

    async def compute() -> ReifegradSummary:
        found = await summary.summary(
            session, group_by=group_by, dimension=None if dimension is None else dimension.value,
            at=moment, area=area,
        )  # fmt: skip
        return ReifegradSummary.model_validate(
            {"group_by": group_by.value, "dimension": dimension, "area": area, "at": moment,
             **found}
        )  # fmt: skip

    return await polled(request, key, SUMMARIES, compute)


@get("/reifegrad/timeseries", responses=problem_responses(422))
async def reifegrad_timeseries(
    session: DbSession,
    state: State,
    group_by: Group = summary.GroupBy.BUND,
    dimension: Annotated[Dimension | None, QueryParameter()] = None,
    period: Annotated[summary.Period, QueryParameter()] = summary.Period.MONTH,
    count: Annotated[int, QueryParameter(ge=1, le=60, description="How many periods.")] = 12,
    until: Annotated[
        str | None,
        QueryParameter(
            pattern=ISO_MOMENT_PATTERN,
            description="Last moment (ISO 8601; a day means its end, UTC); none: now.",
        ),
    ] = None,
    area: Area = None,
) -> ReifegradTimeseries:
    """The summary figures at the end of each period, with the change against the one before."""
    found = await summary.timeseries(
        session, group_by=group_by, dimension=None if dimension is None else dimension.value,
        period=period, count=count, until=report_moment(until, "until"), area=area,
    )  # fmt: skip
    return ReifegradTimeseries.model_validate(
        {"group_by": group_by.value, "dimension": dimension, "area": area,
         "period": period.value, **found}
    )  # fmt: skip


ReportDate = Annotated[
    str | None,
    QueryParameter(
        pattern=ISO_MOMENT_PATTERN,
        description="ISO 8601; a day means its end (UTC), so 2026-11-30 reads November's counts.",
    ),
]


# The set grammar (`sets.resolve`) is ASCII. Percent-encoded, a character takes up to 3 bytes,
# and uvicorn's HTTP parser (h11) takes a request head of at most 16 KiB: 4,000 characters leave
# room for the path, the other parameters and the headers.
SET_PATTERN = r"^[A-Za-z0-9:;,_ -]*$"
SET_MAX_LENGTH = 4_000
SetDefinition = Annotated[
    str,
    QueryParameter(
        name="set",
        min_length=1,
        max_length=SET_MAX_LENGTH,
        pattern=SET_PATTERN,
        description=(
            "The Gemeinden compared, terms joined by `;`: de, land:05, rb:051, kreis:05315, "
            "kreisfrei, typ:61,62, band:grossstadt, dst, ars:…,…, peers:053150000000[:land,typ,"
            f"band]. ASCII letters, digits and `:;,_- ` only, at most {SET_MAX_LENGTH:,} "
            "characters, so that the request line holds it even percent-encoded (about 300 "
            "ARS; longer lists: `tracker report comparison --set`)."
        ),
    ),
]
FileFormat = Annotated[
    exports.Format | None,
    QueryParameter(
        description=(
            "json, csv, csv-de (German Excel), xlsx, pdf or html; else by Accept. An xlsx, pdf "
            "or html file of a large set is made in the background (202 with its URL)."
        )
    ),
]


@get(
    "/reports/comparison",
    responses={
        202: ResponseSpec(
            ReportFileStatus,
            generate_examples=False,
            description="A PDF, HTML or XLSX file of a large set is made in the background: "
            "fetch `url` (the Location) until it is ready.",
        ),
        **problem_responses(422, 503),
    },
)
async def comparison_report(
    request: AnyRequest,
    session: DbSession,
    state: State,
    set_: SetDefinition,
    at: ReportDate = None,
    since: ReportDate = None,
    format: FileFormat = None,
    lang: Annotated[
        str, QueryParameter(pattern="^(de|en)$", description="Language of PDF and HTML.")
    ] = "de",
) -> Response[Comparison]:
    """A fair comparison of a set of Gemeinden: per Gemeinde the shares online and OZG-konform,
    the mean back-office level, stale and provisional pairs, rank, and the change since an
    earlier date (default a year); per set the spread, histogram, Leistungen flächendeckend, a
    Themenfeld heat map and, for a peer group, where its Gemeinde is behind. The files are
    formats of this one result. Strong ETag of the data it reads: If-None-Match gives 304."""
    chosen = exports.negotiated(request.accept.best_match, format)
    settings: Settings = state.settings
    moments = fields.report_moment(at), fields.report_moment(since, "since")
    key, members = await comparison.report_key(
        session, set_, at=moments[0], since=moments[1], settings=settings
    )
    if chosen in files.BACKGROUND and files.in_background(
        await members.count(session), chosen, settings
    ):
        digest = files.digest_of(key, chosen, lang)
        found = await files.state_of(session, digest)
        if found is None:
            args = {"set": members.definition, "at": at, "since": since,
                    "format": chosen.value, "lang": lang}  # fmt: skip
            found = await files.queue(state.sessionmaker, digest, args)
        return file_answer(request, found)
    result = await comparison.kept_report(
        session, key, members, at=moments[0], since=moments[1], settings=settings
    )
    return delivered(request, key, result, chosen, lang)


# A report file's state as a browser page shows it (German; `i18n.EN` has the English).
FILE_STATES = {"queued": "in der Warteschlange", "running": "wird erstellt"}
RETRY_AFTER = 10  # seconds


def file_answer(request: AnyRequest, found: files.FileState | None) -> Response[Any]:
    """A report file made in the background: the file once made, else 202 with its state (to
    a browser, which clicked a download link, a page that asks again until the file comes)."""
    if found is None:
        raise NotFound("No such report file (it is kept a week).")
    row = found.row
    if found.status == "failed":
        why = found.job.last_error if found.job is not None else "its job is gone"
        raise Unavailable(
            f"The report file could not be made ({why}); an admin may retry job "
            f"{row.job_id}, or ask again tomorrow."
        )
    if found.status == "ready":
        assert row.content is not None  # noqa: S101  (ready)
        chosen = exports.Format(row.format)
        headers = {"Content-Disposition": f'attachment; filename="{row.filename}"'}
        return Response(row.content, media_type=exports.MEDIA_TYPES[chosen], headers=headers)
    url = f"/api/v1/report-files/{row.digest}"
    headers = {"Location": url, "Retry-After": str(RETRY_AFTER)}
    if request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML:
        page = render(
            request, "reports/datei.html", status_code=202, url=url, format=row.format,
            definition=row.definition, retry_after=RETRY_AFTER,
            state_label=FILE_STATES.get(found.status, found.status),
            created_at=as_utc(row.created_at).strftime("%Y-%m-%d %H:%M UTC"),
            comparison=permalink("/vergleich", {"set": row.definition}),
        )  # fmt: skip
        page.headers.update(headers)
        return page
    body = ReportFileStatus(
        digest=row.digest, status=found.status, format=row.format, set=row.definition,
        url=url, job_id=row.job_id, created_at=as_utc(row.created_at),
    )  # fmt: skip
    return Response(body, status_code=202, headers=headers)


@get(
    "/report-files/{digest:str}",
    responses={
        202: ResponseSpec(
            ReportFileStatus, description="Not made yet: ask again later.", generate_examples=False
        ),
        **problem_responses(404, 503),
    },
)
async def report_file(
    request: AnyRequest,
    digest: Annotated[str, PathParameter(pattern="^[0-9a-f]{64}$")],
    session: DbSession,
) -> Response[bytes]:
    """A comparison report file of a large set, made in the background: 202 with its state
    until its job has made it, then the file (kept a week)."""
    return file_answer(request, await files.state_of(session, digest))


def delivered(
    request: AnyRequest,
    key: tuple[Any, ...],
    result: dict[str, Any],
    chosen: exports.Format,
    lang: str,
) -> Response[Any]:
    """The report in the chosen format, or 304 when the client holds it."""
    exports.check_size(result, chosen)
    tag = stamp_etag((*key, chosen, lang))
    if client_holds(request, tag):
        return not_modified(tag, POLLED)
    headers = {"ETag": tag, **POLLED}
    if chosen is not exports.Format.JSON:
        name = exports.filename(result, chosen)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    body = exports.kept(key, result, chosen, lang)
    return Response(body, media_type=exports.MEDIA_TYPES[chosen], headers=headers)


DASHBOARDS: Lru[Answer] = Lru(512)


@get("/dashboards/gemeinden/{ars:str}", responses=BY_ARS_OR_AGS)
async def gemeinde_dashboard(
    request: AnyRequest,
    ars: GemeindeKey,
    session: DbSession,
    state: State,
) -> Response[Dashboard] | Redirect:
    """A city's dashboard for external dashboards: both dimensions by Themenfeld, the last 24
    months, the age of the data, its rank in its peer group (same Gemeindetyp and population
    band) and the Leistungen furthest behind that group. Compact; strong ETag of the data it
    reads: If-None-Match gives 304. An AGS moves (301) to its ARS."""
    moved = await to_ars(request, session, ars)
    if moved is not None:
        return moved
    settings: Settings = state.settings
    watch: Watch = state.watch
    stamp = await watch.stamp(("data",), lambda: queries.data_stamp(session))
    key = (stamp, ars, datetime.now(UTC).date(), settings.stale_after_days,
           settings.population_bands)  # fmt: skip

    async def compute() -> Dashboard:
        return Dashboard.model_validate(await dashboard.dashboard(session, ars, settings))

    return await polled(request, key, DASHBOARDS, compute)


router = Router(
    "/api/v1",
    route_handlers=[
        leistung_reifegrad,
        gemeinde_reifegrad,
        reifegrad_summary,
        reifegrad_timeseries,
        comparison_report,
        report_file,
        gemeinde_dashboard,
    ],
    tags=["Reifegrad"],
)
