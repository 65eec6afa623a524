"""JSON API of maturity: models, assessments and their review, a Gemeinde's current Reifegrad."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import Annotated, Any, TypeAlias

from litestar import Request, Response, Router, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter

from tracker.access import actions as access_actions
from tracker.access.guards import editor, principal_of, role_by_path
from tracker.access.models import Role
from tracker.concurrency import IfMatch, etag, tagged
from tracker.db import DbSession
from tracker.errors import (
    InvalidInput,
    NotFound,
    UnsupportedMediaType,
    problem_responses,
)
from tracker.fields import (
    AREA_PATTERN,
    ARS_OR_AGS_PATTERN,
    ISO_MOMENT_PATTERN,
    LEIKA_KEY_PATTERN,
    OZG_ID_PATTERN,
    GemeindeArs,
    RowId,
    parse_moment,
)
from tracker.importing import ImportRejected
from tracker.listing import CSV_MEDIA_TYPE, IdCursor, Limit, Page, csv_response, upload_operation
from tracker.maturity import actions, applicability, bulk, queries
from tracker.maturity.models import Dimension, Status, Step
from tracker.maturity.schemas import (
    ApplicabilityRead,
    AssessmentCreate,
    AssessmentRead,
    ImportReport,
    MaturityModelRead,
    OverrideRead,
    OverrideWrite,
    StatusChange,
)
from tracker.regions import queries as regions_queries
from tracker.settings import Settings

AnyRequest = Request[Any, Any, Any]
EXPORTS = ["application/json", CSV_MEDIA_TYPE, bulk.XLSX_MEDIA_TYPE]
review_step = role_by_path("step", {step.value: actions.TRANSITIONS[step][2] for step in Step})
At = Annotated[
    str | None,
    QueryParameter(
        pattern=ISO_MOMENT_PATTERN, description="As of this moment (ISO 8601); default now."
    ),
]


# The link probes' review of evidence, from a layer above: `app.py` provides it.
EvidenceReviewers: TypeAlias = NamedDependency[queries.EvidenceReviewer]


def assessment_read(row: Any, reviewed: Mapping[int, Any] | None = None) -> AssessmentRead:
    review = (reviewed or {}).get(row.Assessment.id)
    return AssessmentRead.model_validate(
        {
            **row.Assessment.model_dump(),
            "leika_key": row.leika_key,
            "model": row.model_key,
            "level_name": row.level_name,
            **({} if review is None else review.model_dump()),
        }
    )


async def reviewed_read(
    session: DbSession, reviewer: queries.EvidenceReviewer, assessment_id: int
) -> tuple[AssessmentRead, str]:
    """One assessment as the API shows it, with its ETag: its version, and a variant while its
    evidence is broken (that changes without a write, and a cache must not keep it)."""
    row = await queries.get_assessment(session, assessment_id)
    body = assessment_read(row, await reviewer.review(session, [row.Assessment]))
    variant = None
    if body.evidence_broken:
        digest = hashlib.sha256(body.model_dump_json(include={"broken_evidence"}).encode())
        variant = "b" + digest.hexdigest()[:12]
    return body, etag(row.Assessment.version, variant)


@get("/maturity-models", responses=problem_responses())
async def list_models(session: DbSession) -> list[MaturityModelRead]:
    return [
        MaturityModelRead.model_validate(
            {**loaded.model.model_dump(), "levels": loaded.levels, "criteria": loaded.criteria}
        )
        for loaded in await queries.list_models(session)
    ]


@get("/assessments", responses=problem_responses(404))
async def list_assessments(
    request: AnyRequest,
    session: DbSession,
    evidence_reviewer: EvidenceReviewers,
    ars: Annotated[
        str | None,
        QueryParameter(
            pattern=ARS_OR_AGS_PATTERN,
            description="The Gemeinde's 12-digit ARS or 8-digit AGS (an unknown AGS: 404).",
        ),
    ] = None,
    leika: Annotated[str | None, QueryParameter(pattern=LEIKA_KEY_PATTERN)] = None,
    ozg_id: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    dimension: Annotated[Dimension | None, QueryParameter()] = None,
    status: Annotated[Status | None, QueryParameter()] = None,
    since: Annotated[
        str | None,
        QueryParameter(pattern=ISO_MOMENT_PATTERN, description="Assessed at or after (ISO 8601)."),
    ] = None,
    limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[AssessmentRead]:
    """Validated assessments are public; others only within the reader's editor/reviewer scope."""
    if ars is not None and len(ars) != len("053150000000"):
        ars = (await regions_queries.get_gemeinde(session, ars)).Gemeinde.ars
    where = queries.AssessmentFilter(
        ars=ars, leika=leika, ozg_id=ozg_id,
        dimension=None if dimension is None else dimension.value,
        status=None if status is None else status.value, since=parse_moment(since),
        unpublished_scopes=principal_of(request).scopes(Role.EDITOR, Role.REVIEWER),
    )  # fmt: skip
    wanted = request.accept.best_match(EXPORTS, default="application/json")
    if wanted != "application/json":
        rows, _ = await queries.list_assessments(session, where, limit=None, cursor=None)
        lines = [bulk.export_line(row) for row in rows]
        if wanted == CSV_MEDIA_TYPE:
            return csv_response("bewertungen.csv", bulk.COLUMNS, lines)  # type: ignore[return-value]
        return Response(  # type: ignore[return-value]
            bulk.xlsx_bytes(lines), media_type=bulk.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="bewertungen.xlsx"'},
        )  # fmt: skip
    rows, next_cursor = await queries.list_assessments(session, where, limit=limit, cursor=cursor)
    reviewed = await evidence_reviewer.review(session, [row.Assessment for row in rows])
    return Page(items=[assessment_read(row, reviewed) for row in rows], next_cursor=next_cursor)


@post(
    "/assessments/import",
    guards=[editor],
    status_code=200,
    responses=problem_responses(401, 403, 413, 415, 422),
    operation_class=upload_operation("The bulk schema as UTF-8 CSV."),
)
async def import_assessments(
    request: AnyRequest,
    session: DbSession,
    state: State,
    skip_invalid: Annotated[
        bool, QueryParameter(description="Import the valid rows, list the others.")
    ] = False,
) -> ImportReport:
    """Rows in the bulk schema (`text/csv` in UTF-8, or XLSX body), as the uploader's own,
    `submitted` for review; idempotent on `external_id`. Any bad row rejects the file (422, the
    first 100 errors listed in `errors`, all counted in `error_count`); so does a file of more
    rows than the server takes (50,000 by default)."""
    settings: Settings = state.settings
    body = await request.body()
    media_type = request.content_type[0]
    actor = principal_of(request)
    if media_type == CSV_MEDIA_TYPE:
        name = "upload.csv"
        rows = bulk.csv_rows(io.BytesIO(body), name)
    elif media_type == bulk.XLSX_MEDIA_TYPE:
        name = "upload.xlsx"
        rows = bulk.xlsx_rows(
            io.BytesIO(body), name, max_rows=settings.max_upload_rows,
            max_unpacked_bytes=settings.max_upload_xlsx_bytes,
        )  # fmt: skip
    else:
        raise UnsupportedMediaType(f"Send text/csv or {bulk.XLSX_MEDIA_TYPE}.")
    try:
        result = await bulk.import_assessments(
            session, rows, name, upload_by=actor, skip_invalid=skip_invalid,
            max_rows=settings.max_upload_rows,
        )  # fmt: skip
    except ImportRejected as rejected:
        raise InvalidInput(
            "The file was not imported; nothing was written.",
            extra={
                "errors": [str(error) for error in rejected.errors],
                "error_count": rejected.total,
            },
        ) from None
    await access_actions.record_audit(
        session, actor=actor, entity="import", entity_id=name, action="import",
        changes={"inserted": result.inserted, "unchanged": result.unchanged,
                 "rejected": result.rejected_count},
    )  # fmt: skip
    return ImportReport(
        source=name, inserted=result.inserted, unchanged=result.unchanged,
        rejected=[str(error) for error in result.rejected],
        rejected_count=result.rejected_count,
    )  # fmt: skip


@post("/assessments", guards=[editor], responses=problem_responses(401, 403, 404, 409, 415, 422))
async def create_assessment(
    request: AnyRequest,
    data: JSONBody[AssessmentCreate],
    session: DbSession,
    evidence_reviewer: EvidenceReviewers,
) -> Response[AssessmentRead]:
    assessment = await actions.record_assessment(session, data, actor=principal_of(request))
    assert assessment.id is not None  # noqa: S101  (flushed)
    body, tag = await reviewed_read(session, evidence_reviewer, assessment.id)
    return Response(body, status_code=201, headers={"ETag": tag})


@get("/assessments/{assessment_id:int}", responses=problem_responses(404))
async def get_assessment(
    request: AnyRequest,
    assessment_id: RowId,
    session: DbSession,
    evidence_reviewer: EvidenceReviewers,
) -> Response[AssessmentRead]:
    body, tag = await reviewed_read(session, evidence_reviewer, assessment_id)
    scopes = principal_of(request).scopes(Role.EDITOR, Role.REVIEWER)
    if body.status != Status.VALIDATED and not any(body.ars.startswith(s) for s in scopes):
        raise NotFound(f"Assessment {assessment_id} does not exist.")
    return tagged(request, body, tag)


@post(
    "/assessments/{assessment_id:int}/{step:str}",
    guards=[review_step],
    status_code=200,
    responses=problem_responses(401, 403, 404, 409, 412, 415, 422, 428),
)
async def change_status(
    request: AnyRequest,
    assessment_id: RowId,
    step: Annotated[
        Step, PathParameter(description="submit (editor), validate or reject (reviewer)")
    ],
    data: JSONBody[StatusChange],
    session: DbSession,
    evidence_reviewer: EvidenceReviewers,
    if_match: IfMatch = None,
) -> Response[AssessmentRead]:
    await actions.change_status(
        session, assessment_id, step.value, comment=data.comment, if_match=if_match,
        actor=principal_of(request),
    )  # fmt: skip
    body, tag = await reviewed_read(session, evidence_reviewer, assessment_id)
    return Response(body, headers={"ETag": tag})


Area = Annotated[
    str | None,
    QueryParameter(
        pattern=AREA_PATTERN,
        description="Only Gemeinden whose ARS starts with this: Land 05, Kreis 05113, …",
    ),
]


Ozg = Annotated[str, PathParameter(pattern=OZG_ID_PATTERN)]
APPLICABILITY = "/gemeinden/{ars:str}/leistungen/{ozg_id:str}/applicability"


async def applicability_read(
    session: DbSession, ars: str, ozg_id: str
) -> tuple[ApplicabilityRead, int]:
    found = await applicability.effective(session, ars, ozg_id)
    return ApplicabilityRead.model_validate(found, from_attributes=True), found["version"]


@get(APPLICABILITY, responses=problem_responses(404))
async def get_applicability(
    request: AnyRequest, ars: GemeindeArs, ozg_id: Ozg, session: DbSession, state: State
) -> Response[ApplicabilityRead]:
    """Whether the Leistung applies in the Gemeinde: the default, the override and its reason."""
    body, version = await applicability_read(session, ars, ozg_id)
    return tagged(request, body, etag(version))


@put(
    APPLICABILITY,
    guards=[editor],
    responses={
        201: ResponseSpec(data_container=ApplicabilityRead, description="Override created"),
        **problem_responses(401, 403, 404, 412, 415, 428),
    },
)
async def put_applicability(
    request: AnyRequest,
    ars: GemeindeArs,
    ozg_id: Ozg,
    data: JSONBody[OverrideWrite],
    session: DbSession,
    state: State,
    if_match: IfMatch = None,
) -> Response[ApplicabilityRead]:
    """Override the default with a reason: created without If-Match (201), changed with it."""
    _, created = await actions.set_override(
        session, ars, ozg_id, applicable=data.applicable, reason=data.reason,
        if_match=if_match, actor=principal_of(request),
    )  # fmt: skip
    body, version = await applicability_read(session, ars, ozg_id)
    return Response(body, status_code=201 if created else 200, headers={"ETag": etag(version)})


@delete(APPLICABILITY, guards=[editor], responses=problem_responses(401, 403, 404, 412, 428))
async def delete_applicability(
    request: AnyRequest,
    ars: GemeindeArs,
    ozg_id: Ozg,
    session: DbSession,
    if_match: IfMatch = None,
) -> None:
    """Back to the default (the audit keeps the override and its reason)."""
    await actions.clear_override(
        session, ars, ozg_id, if_match=if_match, actor=principal_of(request)
    )


@get("/applicability-overrides", responses=problem_responses())
async def list_overrides(
    session: DbSession,
    area: Area = None,
    ozg_id: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[OverrideRead]:
    """Every Gemeinde's overrides of the default applicability, with their reasons."""
    rows, next_cursor = await applicability.list_overrides(
        session, area=area, ozg_id=ozg_id, limit=limit, cursor=cursor
    )
    items = [OverrideRead.model_validate(row.ApplicabilityOverride) for row in rows]
    return Page(items=items, next_cursor=next_cursor)


router = Router(
    "/api/v1",
    route_handlers=[
        list_models, list_assessments, import_assessments, create_assessment, get_assessment,
        change_status,
        get_applicability, put_applicability, delete_applicability, list_overrides,
    ],
    tags=["Reifegrad"],
)  # fmt: skip
