"""JSON API of the catalogue: /api/v1/themenfelder, lebenslagen, leistungen, leika."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import PathParameter, QueryParameter
from sqlalchemy import Row
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog import exports, queries
from tracker.catalog.schemas import (
    LebenslageRead,
    LeikaDetail,
    LeikaRead,
    LeistungDetail,
    LeistungRead,
    ThemenfeldRead,
)
from tracker.concurrency import tagged
from tracker.db import DbSession
from tracker.errors import problem_responses
from tracker.fields import LEIKA_KEY_PATTERN, OZG_ID_PATTERN
from tracker.listing import (
    LIST_DESCRIPTION,
    CsvExport,
    IdCursor,
    Limit,
    Page,
    RankedCodeCursor,
    SearchText,
    answer_list,
)

SourceIdFilter = Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)]
OzgIdPath = Annotated[str, PathParameter(pattern=OZG_ID_PATTERN, description="OZG-ID, e.g. 10000.")]
LeikaKeyPath = Annotated[
    str, PathParameter(pattern=LEIKA_KEY_PATTERN, description="14-digit LeiKa key.")
]


@get("/themenfelder", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_themenfelder(
    request: Request[Any, Any, Any], session: DbSession, limit: Limit = 50, cursor: IdCursor = None
) -> Page[ThemenfeldRead]:
    return await answer_list(
        request,
        partial(queries.list_themenfelder, session),
        limit=limit,
        cursor=cursor,
        item=ThemenfeldRead.model_validate,
        export=CsvExport("themenfelder.csv", exports.THEMENFELD_COLUMNS, exports.themenfeld_rows),
    )


@get("/lebenslagen", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_lebenslagen(
    request: Request[Any, Any, Any],
    session: DbSession,
    themenfeld: SourceIdFilter = None,
    include_unused: Annotated[
        bool,
        QueryParameter(
            description="Also list Lagen no OZG-Leistung uses (the source's test rows)."
        ),
    ] = False,
    limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[LebenslageRead]:
    filters = queries.LebenslageFilter(themenfeld=themenfeld, include_unused=include_unused)
    return await answer_list(
        request,
        partial(queries.list_lebenslagen, session, filters),
        limit=limit,
        cursor=cursor,
        item=LebenslageRead.model_validate,
        export=CsvExport("lebenslagen.csv", exports.LEBENSLAGE_COLUMNS, exports.lebenslage_rows),
    )


async def leistung_rows(session: AsyncSession, rows: list[Row[Any]]) -> Iterator[list[Any]]:
    return exports.leistung_rows(rows, await queries.leika_keys_by_leistung(session))


@get("/leistungen", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_leistungen(
    request: Request[Any, Any, Any],
    session: DbSession,
    themenfeld: SourceIdFilter = None,
    lebenslage: SourceIdFilter = None,
    q: SearchText = None,
    limit: Limit = 50,
    cursor: RankedCodeCursor = None,
) -> Page[LeistungRead]:
    filters = queries.LeistungFilter(themenfeld=themenfeld, lebenslage=lebenslage, q=q)
    return await answer_list(
        request,
        partial(queries.list_leistungen, session, filters),
        limit=limit,
        cursor=cursor,
        item=LeistungRead.model_validate,
        export=CsvExport(
            "ozg_leistungen.csv", exports.LEISTUNG_COLUMNS, partial(leistung_rows, session)
        ),
    )


@get("/leistungen/{ozg_id:str}", responses=problem_responses(404))
async def get_leistung(
    request: Request[Any, Any, Any], ozg_id: OzgIdPath, session: DbSession
) -> Response[LeistungDetail]:
    row = await queries.get_leistung(session, ozg_id)
    leika = await queries.list_leika_of(session, ozg_id)
    body = LeistungDetail.model_validate(
        {**row._mapping, "leika": [LeikaRead.from_row(item) for item in leika]}
    )
    return tagged(request, body)


@get("/leika", description=LIST_DESCRIPTION, responses=problem_responses())
async def list_leika(
    request: Request[Any, Any, Any],
    session: DbSession,
    ozg_id: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    typ: Annotated[
        str | None, QueryParameter(pattern=r"^[0-9](/[0-9])?[a-z]?$", description="LeiKa-Typ code")
    ] = None,
    in_leika: Annotated[
        bool | None, QueryParameter(description="false: rows „nicht im LeiKa“")
    ] = None,
    q: SearchText = None,
    limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[LeikaRead]:
    filters = queries.LeikaFilter(ozg_id=ozg_id, typ=typ, in_leika=in_leika, q=q)
    return await answer_list(
        request,
        partial(queries.list_leika, session, filters),
        limit=limit,
        cursor=cursor,
        item=lambda row: LeikaRead.from_row(row.LeikaLeistung),
        export=CsvExport("leika_leistungen_ozg.csv", exports.LEIKA_COLUMNS, exports.leika_rows),
    )


@get("/leika/{leika_key:str}", responses=problem_responses(404))
async def get_leika(
    request: Request[Any, Any, Any], leika_key: LeikaKeyPath, session: DbSession
) -> Response[LeikaDetail]:
    leika = await queries.get_leika(session, leika_key)
    leistung = None
    if leika.ozg_id is not None:
        leistung = LeistungRead.model_validate(await queries.get_leistung(session, leika.ozg_id))
    body = LeikaDetail.model_validate(
        {**LeikaRead.from_row(leika).model_dump(), "ozg_leistung": leistung}
    )
    return tagged(request, body)


router = Router(
    "/api/v1",
    route_handlers=[
        list_themenfelder,
        list_lebenslagen,
        list_leistungen,
        get_leistung,
        list_leika,
        get_leika,
    ],
    tags=["Katalog"],
)
