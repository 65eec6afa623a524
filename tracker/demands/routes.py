"""JSON API of demands: catalogues and their trees with roll-ups, Maßnahmen, uptake per
Gemeinde, milestones, links, and the event feed. Reads are public; writes need a demand
manager (the uptake also a Gemeinde's editor), whose scope the actions check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import tabular
from tracker.access.guards import demand_contributor, demand_manager, principal_of
from tracker.concurrency import IfMatch, RequiredIfMatch, etag, tagged
from tracker.db import DbSession
from tracker.demands import actions, backlog, queries
from tracker.demands.models import ActionMilestone, DemandAction
from tracker.demands.schemas import (
    KEY_PATTERN,
    LEISTUNGEN_RULE,
    ROLLUP_RULE,
    ActionCreate,
    ActionPatch,
    ActionRead,
    BacklogImportRead,
    CatalogueDefinition,
    CatalogueRead,
    DemandLeistungen,
    DemandNode,
    DemandPatch,
    DemandRead,
    DemandTree,
    EventRead,
    LinkCreate,
    LinkRead,
    MilestoneCreate,
    MilestonePatch,
    MilestoneRead,
    Rollup,
    StatusRead,
    StatusWrite,
    UptakeRead,
    UptakeWrite,
)
from tracker.errors import InvalidInput, NotFound, UnsupportedMediaType, problem_responses
from tracker.fields import ISO_MOMENT_PATTERN, GemeindeArs, RowId, parse_moment
from tracker.importing import ImportRejected
from tracker.listing import IdCursor, Limit, Page
from tracker.settings import GERMAN_TIME, Settings

AnyRequest = Request[Any, Any, Any]
DemandKey = Annotated[str, PathParameter(pattern=KEY_PATTERN)]
WRITES = (401, 403, 404, 409, 415, 422)
At = Annotated[
    str | None,
    QueryParameter(
        pattern=ISO_MOMENT_PATTERN,
        description="As of this moment (ISO 8601), replayed from the history; default now.",
    ),
]


def today(state: State) -> date:
    settings: Settings = state.settings
    return settings.today()


def moment_and_day(state: State, at: str | None) -> tuple[datetime | None, date]:
    """The as-of moment, and the day that overdue is judged against (then, or today)."""
    moment = parse_moment(at)
    if moment is None:
        return None, today(state)
    return moment, moment.astimezone(GERMAN_TIME).date()


def node_read(node: queries.Node) -> DemandNode:
    demand = node.demand
    return DemandNode(
        key=demand.key, kind=demand.kind, position=demand.position, title=demand.title,
        summary=demand.summary, verification=demand.verification, source=demand.source,
        source_date=demand.source_date, weight=demand.weight, rollup=rollup_read(node),
        children=[node_read(child) for child in node.children],
    )  # fmt: skip


def rollup_read(node: queries.Node) -> Rollup:
    return Rollup(
        progress=None if node.progress is None else round(node.progress, 2),
        weight=node.weight, actions=node.actions, by_status=node.by_status,
        overdue_milestones=node.overdue,
    )  # fmt: skip


async def tree_read(
    session: AsyncSession, key: str, on: date, at: datetime | None = None
) -> DemandTree:
    catalogue = await queries.get_catalogue(session, key)
    assert catalogue.id is not None  # noqa: S101  (stored)
    tree = await queries.demand_tree(session, catalogue.id, on=on, at=at)
    return DemandTree(
        catalogue=CatalogueRead.model_validate(catalogue), at=at, on=on, rule=ROLLUP_RULE,
        demands=[node_read(node) for node in tree.roots],
    )  # fmt: skip


async def action_reads(
    session: AsyncSession, found: list[DemandAction], on: date
) -> list[ActionRead]:
    figures = await queries.action_figures(session, [a.id for a in found if a.id], on=on)
    reads = []
    for action in found:
        assert action.id is not None  # noqa: S101  (stored)
        numbers = figures[action.id]
        reads.append(
            ActionRead.model_validate({
                **action.model_dump(), "demand": await queries.demand_key_of(session, action),
                "progress": round(queries.effective_progress(action, numbers), 2),
                "stored_progress": action.progress, "uptake": numbers.uptake,
                "uptake_by_status": numbers.by_status, "overdue_milestones": numbers.overdue,
            })
        )  # fmt: skip
    return reads


async def action_response(
    session: AsyncSession, action: DemandAction, on: date, *, status_code: int = 200
) -> Response[ActionRead]:
    (body,) = await action_reads(session, [action], on)
    return Response(body, status_code=status_code, headers={"ETag": etag(action.version)})


def milestone_read(milestone: ActionMilestone, on: date) -> MilestoneRead:
    overdue = milestone.done_at is None and milestone.due_date < on
    return MilestoneRead.model_validate({**milestone.model_dump(), "overdue": overdue})


@get("/demand-statuses", responses=problem_responses())
async def list_statuses(session: DbSession) -> list[StatusRead]:
    """The status vocabulary (data): each status's default progress, and whether it counts."""
    return [StatusRead.model_validate(status) for status in await queries.list_statuses(session)]


@get("/demand-catalogues", responses=problem_responses())
async def list_catalogues(session: DbSession) -> list[CatalogueRead]:
    return [CatalogueRead.model_validate(c) for c in await queries.list_catalogues(session)]


@post("/demand-catalogues", guards=[demand_manager], responses=problem_responses(*WRITES))
async def create_catalogue(
    request: AnyRequest, data: JSONBody[CatalogueDefinition], session: DbSession, state: State
) -> Response[DemandTree]:
    """A catalogue with its tree of demands, in the shape of the catalogue files. `scope_ars`
    '' needs a global demand manager; an ARS prefix a manager of that scope."""
    await actions.create_catalogue(session, data, actor=principal_of(request))
    return Response(await tree_read(session, data.key, today(state)), status_code=201)


BACKLOG_FORMATS = {"csv": "text/csv", "csv-de": "text/csv", "xlsx": tabular.XLSX_MEDIA_TYPE}


@get(
    "/demand-catalogues/{key:str}/backlog",
    responses=problem_responses(404),
    media_type="application/octet-stream",
)
async def export_backlog(
    key: DemandKey,
    session: DbSession,
    state: State,
    format: Annotated[
        str,
        QueryParameter(pattern="^(csv|csv-de|xlsx)$", description="csv, csv-de (Excel-DE), xlsx"),
    ] = "csv",
) -> Response[bytes]:
    """The catalogue's backlog as one table (`record`: demand, action, uptake, milestone), in
    the columns `POST` reads back; cells a spreadsheet would run are neutralised."""
    catalogue = await queries.get_catalogue(session, key)
    lines = await backlog.backlog_rows(session, catalogue, on=today(state))
    if format == "xlsx":
        body = tabular.write_xlsx("backlog", backlog.COLUMNS, lines)
    else:
        body = tabular.csv_bytes(backlog.COLUMNS, lines, german=format == "csv-de")
    name = f"{key}-backlog.{'xlsx' if format == 'xlsx' else 'csv'}"
    return Response(
        body, media_type=BACKLOG_FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@dataclass
class BacklogUpload(Operation):
    """The import reads its body itself (CSV or XLSX), so the spec learns of it here."""

    def __post_init__(self) -> None:
        text = Schema(type=OpenAPIType.STRING, description="The backlog's columns as UTF-8 CSV.")
        workbook = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            required=True,
            content={
                "text/csv": OpenAPIMediaType(schema=text),
                tabular.XLSX_MEDIA_TYPE: OpenAPIMediaType(schema=workbook),
            },
        )


@post(
    "/demand-catalogues/{key:str}/backlog",
    guards=[demand_contributor],
    operation_class=BacklogUpload,
    status_code=200,
    responses=problem_responses(401, 403, 404, 413, 415, 422),
)
async def import_backlog(
    request: AnyRequest, key: DemandKey, session: DbSession, state: State
) -> BacklogImportRead:
    """Maßnahmen, uptake and milestones of this catalogue from a `text/csv` (`,` or `;`,
    decimal comma) or XLSX body in the export's columns: all or nothing, idempotent on the
    external ids; a bad row rejects the file (422, `file:line: why` in `errors`), a row
    outside your scope with 403 naming its line. Demand rows are skipped."""
    media = request.content_type[0]
    if media not in ("text/csv", tabular.XLSX_MEDIA_TYPE):
        raise UnsupportedMediaType("Send text/csv or an XLSX workbook.")
    catalogue = await queries.get_catalogue(session, key)
    settings: Settings = state.settings
    name = "upload.xlsx" if media == tabular.XLSX_MEDIA_TYPE else "upload.csv"
    body = await request.body()
    if (media == tabular.XLSX_MEDIA_TYPE) != body.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            f"The body is not {'an XLSX workbook' if media != 'text/csv' else 'CSV'}."
        )
    try:
        rows = backlog.rows_of(
            body, name, max_rows=settings.max_upload_rows,
            max_unpacked_bytes=settings.max_upload_xlsx_bytes,
        )  # fmt: skip
        result = await backlog.import_backlog(
            session, rows, name, actor=principal_of(request), catalogue=catalogue
        )
    except ImportRejected as rejected:
        raise InvalidInput(
            "The file was not imported; nothing was written.",
            extra={"errors": [str(e) for e in rejected.errors], "error_count": rejected.total},
        ) from None
    return BacklogImportRead(
        source=name, inserted=result.inserted, updated=result.updated,
        unchanged=result.unchanged, skipped=[str(skip) for skip in result.skipped],
    )  # fmt: skip


@get("/demands", responses=problem_responses(404))
async def get_tree(
    session: DbSession,
    state: State,
    catalogue: Annotated[str, QueryParameter(pattern=KEY_PATTERN, description="Its key.")],
    at: At = None,
) -> DemandTree:
    """A catalogue's tree of demands with each one's roll-up; `rule` states how it is made."""
    moment, on = moment_and_day(state, at)
    return await tree_read(session, catalogue, on, moment)


@get("/demands/events", responses=problem_responses())
async def list_events(
    session: DbSession,
    since: Annotated[
        str | None,
        QueryParameter(pattern=ISO_MOMENT_PATTERN, description="At or after (ISO 8601)."),
    ] = None,
    limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[EventRead]:
    """Every change of a Maßnahme, an uptake or a milestone across all demands, oldest first:
    follow `next_cursor`, then poll again with the last cursor."""
    rows, next_cursor = await queries.list_events(
        session, since=parse_moment(since), limit=limit, cursor=cursor
    )
    return Page(items=[EventRead.model_validate(row.DemandEvent) for row in rows],
                next_cursor=next_cursor)  # fmt: skip


async def demand_read(
    session: AsyncSession, key: str, on: date, at: datetime | None = None
) -> tuple[DemandRead, int]:
    demand = await queries.get_demand(session, key)
    tree = await queries.demand_tree(session, demand.catalogue_id, on=on, at=at)
    assert demand.id is not None  # noqa: S101  (stored)
    node = tree.by_id[demand.id]
    catalogue = await queries.catalogue_by_id(session, demand.catalogue_id)
    parent = None if demand.parent_id is None else tree.by_id[demand.parent_id].demand.key
    body = DemandRead(
        key=demand.key, catalogue=catalogue.key, parent=parent, kind=demand.kind,
        title=demand.title, summary=demand.summary, verification=demand.verification,
        source=demand.source, source_date=demand.source_date, weight=demand.weight,
        version=demand.version, at=at, on=on, rule=ROLLUP_RULE, rollup=rollup_read(node),
        children=[node_read(child) for child in node.children],
    )  # fmt: skip
    return body, demand.version


@get("/demands/{key:str}", responses=problem_responses(404))
async def get_demand(
    request: AnyRequest, key: DemandKey, session: DbSession, state: State, at: At = None
) -> Response[DemandRead]:
    """A demand with its roll-up and child demands, now or as of `at`."""
    moment, on = moment_and_day(state, at)
    body, version = await demand_read(session, key, on, moment)
    # the ETag names the version for If-Match; the roll-up moves without it, so no 304 here
    return Response(body, headers={} if moment else {"ETag": etag(version)})


@get("/demands/{key:str}/leistungen", responses=problem_responses(404))
async def demand_leistungen(key: DemandKey, session: DbSession, state: State) -> DemandLeistungen:
    """Why a demand matters, in numbers: the Leistungen its Maßnahmen link, with their current
    maturity and the open findings about them."""
    demand = await queries.get_demand(session, key)
    tree = await queries.demand_tree(session, demand.catalogue_id, on=today(state))
    assert demand.id is not None  # noqa: S101  (stored)
    found = await queries.linked_leistungen(session, tree.by_id[demand.id].actions_under())
    return DemandLeistungen(demand=key, rule=LEISTUNGEN_RULE, leistungen=found)


@patch(
    "/demands/{key:str}", guards=[demand_manager], responses=problem_responses(*WRITES, 412, 428)
)
async def update_demand(
    request: AnyRequest,
    key: DemandKey,
    data: JSONBody[DemandPatch],
    session: DbSession,
    state: State,
    if_match: RequiredIfMatch = None,
) -> Response[DemandRead]:
    """Change a demand's texts, source or weight (If-Match): its catalogue's managers."""
    await actions.update_demand(session, key, data, if_match=if_match, actor=principal_of(request))
    body, version = await demand_read(session, key, today(state))
    return Response(body, headers={"ETag": etag(version)})


@get("/demands/{key:str}/actions", responses=problem_responses(404))
async def list_actions(
    key: DemandKey, session: DbSession, state: State, limit: Limit = 50, cursor: IdCursor = None
) -> Page[ActionRead]:
    """The Maßnahmen directly under a demand."""
    demand = await queries.get_demand(session, key)
    assert demand.id is not None  # noqa: S101  (stored)
    rows, next_cursor = await queries.list_actions(session, demand.id, limit=limit, cursor=cursor)
    items = await action_reads(session, [row.DemandAction for row in rows], today(state))
    return Page(items=items, next_cursor=next_cursor)


@post("/demands/{key:str}/actions", guards=[demand_manager], responses=problem_responses(*WRITES))
async def create_action(
    request: AnyRequest,
    key: DemandKey,
    data: JSONBody[ActionCreate],
    session: DbSession,
    state: State,
) -> Response[ActionRead]:
    action = await actions.create_action(session, key, data, actor=principal_of(request))
    return await action_response(session, action, today(state), status_code=201)


@get("/actions/{action_id:int}", responses=problem_responses(404))
async def get_action(
    request: AnyRequest, action_id: RowId, session: DbSession, state: State
) -> Response[ActionRead]:
    action = await queries.get_action(session, action_id)
    return await action_response(session, action, today(state))


@patch(
    "/actions/{action_id:int}",
    guards=[demand_manager],
    responses=problem_responses(*WRITES, 412, 428),
)
async def update_action(
    request: AnyRequest,
    action_id: RowId,
    data: JSONBody[ActionPatch],
    session: DbSession,
    state: State,
    if_match: RequiredIfMatch = None,
) -> Response[ActionRead]:
    """Change what was sent (If-Match); owner, progress and due date changes enter the
    history with the comment."""
    action = await actions.update_action(
        session, action_id, data, if_match=if_match, actor=principal_of(request)
    )
    return await action_response(session, action, today(state))


@post(
    "/actions/{action_id:int}/status",
    guards=[demand_manager],
    status_code=200,
    responses=problem_responses(*WRITES, 412, 428),
)
async def change_status(
    request: AnyRequest,
    action_id: RowId,
    data: JSONBody[StatusWrite],
    session: DbSession,
    state: State,
    if_match: RequiredIfMatch = None,
) -> Response[ActionRead]:
    """A new status (If-Match) with a comment; its default progress unless one is given."""
    action = await actions.change_action_status(
        session, action_id, data, if_match=if_match, actor=principal_of(request)
    )
    return await action_response(session, action, today(state))


@get("/actions/{action_id:int}/history", responses=problem_responses(404))
async def action_history(
    action_id: RowId, session: DbSession, limit: Limit = 50, cursor: IdCursor = None
) -> Page[EventRead]:
    """The Maßnahme's append-only history, oldest first."""
    await queries.get_action(session, action_id)
    rows, next_cursor = await queries.list_events(
        session, action_id=action_id, limit=limit, cursor=cursor
    )
    return Page(items=[EventRead.model_validate(row.DemandEvent) for row in rows],
                next_cursor=next_cursor)  # fmt: skip


@get("/actions/{action_id:int}/milestones", responses=problem_responses(404))
async def list_milestones(
    action_id: RowId, session: DbSession, state: State
) -> list[MilestoneRead]:
    """Oldest date first; `overdue` against the day of the request."""
    await queries.get_action(session, action_id)
    on = today(state)
    return [milestone_read(m, on) for m in await queries.list_milestones(session, action_id)]


@post(
    "/actions/{action_id:int}/milestones",
    guards=[demand_manager],
    responses=problem_responses(*WRITES),
)
async def add_milestone(
    request: AnyRequest,
    action_id: RowId,
    data: JSONBody[MilestoneCreate],
    session: DbSession,
    state: State,
) -> Response[MilestoneRead]:
    milestone = await actions.add_milestone(session, action_id, data, actor=principal_of(request))
    body = milestone_read(milestone, today(state))
    return Response(body, status_code=201, headers={"ETag": etag(milestone.version)})


@patch(
    "/milestones/{milestone_id:int}",
    guards=[demand_manager],
    responses=problem_responses(*WRITES, 412, 428),
)
async def update_milestone(
    request: AnyRequest,
    milestone_id: RowId,
    data: JSONBody[MilestonePatch],
    session: DbSession,
    state: State,
    if_match: RequiredIfMatch = None,
) -> Response[MilestoneRead]:
    """Mark done (`done_at`), reopen (`done_at: null`), move or retitle (If-Match)."""
    milestone = await actions.update_milestone(
        session, milestone_id, data, if_match=if_match, actor=principal_of(request)
    )
    body = milestone_read(milestone, today(state))
    return Response(body, headers={"ETag": etag(milestone.version)})


UPTAKE = "/actions/{action_id:int}/gemeinden/{ars:str}"


@get("/actions/{action_id:int}/gemeinden", responses=problem_responses(404))
async def list_uptake(action_id: RowId, session: DbSession) -> list[UptakeRead]:
    """The Gemeinden that took the Maßnahme up, with their status and progress."""
    await queries.get_action(session, action_id)
    return [UptakeRead.model_validate(u) for u in await queries.list_uptake(session, action_id)]


@get(UPTAKE, responses=problem_responses(404))
async def get_uptake(
    request: AnyRequest, action_id: RowId, ars: GemeindeArs, session: DbSession
) -> Response[UptakeRead]:
    await queries.get_action(session, action_id)
    found = await queries.get_uptake(session, action_id, ars)
    if found is None:
        raise NotFound(f"Gemeinde {ars} has not taken up Maßnahme {action_id}.")
    return tagged(request, UptakeRead.model_validate(found), etag(found.version))


@put(
    UPTAKE,
    guards=[demand_contributor],
    responses={
        201: ResponseSpec(data_container=UptakeRead, description="Taken up"),
        **problem_responses(*WRITES, 412, 428),
    },
)
async def put_uptake(
    request: AnyRequest,
    action_id: RowId,
    ars: GemeindeArs,
    data: JSONBody[UptakeWrite],
    session: DbSession,
    if_match: IfMatch = None,
) -> Response[UptakeRead]:
    """Take the Maßnahme up (without If-Match: 201) or report on it (If-Match): the
    catalogue's managers, or the Gemeinde's demand managers and editors."""
    found, created = await actions.set_uptake(
        session, action_id, ars, data, if_match=if_match, actor=principal_of(request)
    )
    return Response(
        UptakeRead.model_validate(found), status_code=201 if created else 200,
        headers={"ETag": etag(found.version)},
    )  # fmt: skip


@get("/actions/{action_id:int}/links", responses=problem_responses(404))
async def list_links(action_id: RowId, session: DbSession) -> list[LinkRead]:
    await queries.get_action(session, action_id)
    return [LinkRead.model_validate(link) for link in await queries.list_links(session, action_id)]


@post(
    "/actions/{action_id:int}/links",
    guards=[demand_manager],
    responses=problem_responses(*WRITES),
)
async def add_link(
    request: AnyRequest, action_id: RowId, data: JSONBody[LinkCreate], session: DbSession
) -> Response[LinkRead]:
    """Link a Leistung (OZG-ID or LeiKa key), a Gemeinde, or a research finding or
    recommendation, with the reason; a target that does not exist is a 422 naming it."""
    link = await actions.add_link(session, action_id, data, actor=principal_of(request))
    return Response(LinkRead.model_validate(link), status_code=201)


@delete(
    "/actions/{action_id:int}/links/{link_id:int}",
    guards=[demand_manager],
    responses=problem_responses(401, 403, 404),
)
async def remove_link(
    request: AnyRequest, action_id: RowId, link_id: RowId, session: DbSession
) -> None:
    await actions.remove_link(session, action_id, link_id, actor=principal_of(request))


router = Router(
    "/api/v1",
    route_handlers=[
        list_statuses, list_catalogues, create_catalogue, export_backlog, import_backlog,
        get_tree, list_events, get_demand, demand_leistungen,
        update_demand, list_actions, create_action, get_action, update_action, change_status,
        action_history, list_milestones, add_milestone, update_milestone, list_uptake,
        get_uptake, put_uptake, list_links, add_link, remove_link,
    ],
    tags=["Forderungen"],
)  # fmt: skip
