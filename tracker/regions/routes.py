"""JSON API of the region register: /api/v1/laender, kreise, gemeinden."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import PathParameter, QueryParameter

from tracker.concurrency import tagged
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import ARS_OR_AGS_PATTERN
from tracker.listing import (
    LIST_DESCRIPTION,
    CodeCursor,
    CsvExport,
    Limit,
    Page,
    RankedGemeindeCursor,
    SearchText,
    answer_list,
)
from tracker.regions import exports, queries
from tracker.regions.schemas import GemeindeDetail, GemeindeRead, KreisRead, LandRead

LandFilter = Annotated[
    str | None, QueryParameter(pattern=r"^[0-9]{2}$", description="2-digit Land code.")
]
IncludeInvalid = Annotated[
    bool, QueryParameter(description="Also list units a later GV100AD release no longer has.")
]


@get("/laender", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_laender(
    request: Request[Any, Any, Any],
    session: DbSession,
    limit: Limit = 50,
    cursor: CodeCursor = None,
) -> Page[LandRead]:
    return await answer_list(
        request,
        partial(queries.list_laender, session),
        limit=limit,
        cursor=cursor,
        item=lambda row: LandRead.model_validate({**row.Land.model_dump(), **row._mapping}),
        export=CsvExport("laender.csv", exports.LAND_COLUMNS, exports.land_rows),
    )


@get("/kreise", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_kreise(
    request: Request[Any, Any, Any],
    session: DbSession,
    land: LandFilter = None,
    include_invalid: IncludeInvalid = False,
    limit: Limit = 50,
    cursor: CodeCursor = None,
) -> Page[KreisRead]:
    filters = queries.KreisFilter(land=land, include_invalid=include_invalid)
    return await answer_list(
        request,
        partial(queries.list_kreise, session, filters),
        limit=limit,
        cursor=cursor,
        item=lambda row: KreisRead.model_validate({**row.Kreis.model_dump(), **row._mapping}),
        export=CsvExport("kreise.csv", exports.KREIS_COLUMNS, exports.kreis_rows),
    )


@get("/gemeinden", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_gemeinden(
    request: Request[Any, Any, Any],
    session: DbSession,
    land: LandFilter = None,
    kreis: Annotated[
        str | None, QueryParameter(pattern=r"^[0-9]{5}$", description="5-digit Kreis code.")
    ] = None,
    verband: Annotated[
        str | None,
        QueryParameter(pattern=r"^[0-9]{9}$", description="9-digit Gemeindeverband ARS."),
    ] = None,
    typ: Annotated[
        int | None, QueryParameter(ge=60, le=67, description="Gemeindetyp code (60-67).")
    ] = None,
    # gt=-1, not ge=0: Litestar leaves a minimum of 0 out of the spec (it tests truthiness).
    min_einwohner: Annotated[int | None, QueryParameter(gt=-1, le=2_147_483_647)] = None,
    q: SearchText = None,
    include_invalid: IncludeInvalid = False,
    limit: Limit = 50,
    cursor: RankedGemeindeCursor = None,
) -> Page[GemeindeRead]:
    filters = queries.GemeindeFilter(
        land=land, kreis=kreis, verband=verband, typ=typ, min_einwohner=min_einwohner, q=q,
        include_invalid=include_invalid,
    )  # fmt: skip
    return await answer_list(
        request,
        partial(queries.list_gemeinden, session, filters),
        limit=limit,
        cursor=cursor,
        item=lambda row: GemeindeRead.model_validate(row.Gemeinde),
        export=CsvExport("gemeinden.csv", exports.GEMEINDE_COLUMNS, exports.gemeinde_rows),
    )


@get("/gemeinden/{ars_or_ags:str}", responses=problem_responses(404))
async def get_gemeinde(
    request: Request[Any, Any, Any],
    ars_or_ags: Annotated[
        str, PathParameter(pattern=ARS_OR_AGS_PATTERN, description="12-digit ARS or 8-digit AGS.")
    ],
    session: DbSession,
) -> Response[GemeindeDetail]:
    row = await queries.get_gemeinde(session, ars_or_ags)
    body = GemeindeDetail.model_validate(
        {
            **row.Gemeinde.model_dump(),
            "land": row.Land,
            "regierungsbezirk": row.Regierungsbezirk,
            "kreis": row.Kreis,
            "verband": row.Gemeindeverband,
        }
    )
    return tagged(request, body)


router = Router(
    "/api/v1",
    route_handlers=[list_laender, list_kreise, list_gemeinden, get_gemeinde],
    tags=["Regionen"],
)
