"""JSON API of research. Raw evidence needs the researcher role in scope; unpublished findings
and recommendations a researcher or reviewer; `/public/findings` gives anyone the published,
redacted ones, with no field for raw text, participants or observations. KPIs are public."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

from litestar import Request, Response, Router, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access.guards import principal_of, research_reviewer, researcher
from tracker.catalog import queries as catalog_queries
from tracker.concurrency import IfMatch, etag
from tracker.db import DbSession
from tracker.errors import InvalidInput, NotFound, UnsupportedMediaType, problem_responses
from tracker.fields import AREA_PATTERN, OZG_ID_PATTERN, RowId
from tracker.importing import ImportRejected, csv_rows
from tracker.listing import CSV_MEDIA_TYPE, IdCursor, Limit, Page, upload_operation
from tracker.research import actions, imports, queries
from tracker.research.models import (
    Confidence,
    Finding,
    FindingStatus,
    Kpi,
    KpiKind,
    Method,
    Observation,
    ObservationKind,
    Participant,
    Recommendation,
    Study,
    StudyStatus,
    SubjectKind,
)
from tracker.research.redaction import redact
from tracker.research.schemas import (
    ConsentRead,
    FindingCreate,
    FindingPatch,
    FindingRead,
    Frequency,
    HistoryRead,
    ImportReportRead,
    KpiCreate,
    KpiPatch,
    KpiRead,
    LeistungFindingsRead,
    ObservationCreate,
    ObservationPatch,
    ObservationRead,
    ParticipantCreate,
    ParticipantPatch,
    ParticipantRead,
    PublicFinding,
    RecommendationCreate,
    RecommendationPatch,
    RecommendationRead,
    RedactionPreview,
    RejectionWrite,
    RemovalRead,
    ResearchLinkRead,
    StudyCreate,
    StudyPatch,
    StudyRead,
    WithdrawalRead,
)
from tracker.settings import Settings
from tracker.tabular import XLSX_MEDIA_TYPE, csv_bytes, write_xlsx, xlsx_rows

AnyRequest = Request[Any, Any, Any]
B = TypeVar("B")
WRITES = (401, 403, 404, 409, 415, 422)
UPDATES = (*WRITES, 412, 428)
READS = (401, 403)
Area = Annotated[
    str | None, QueryParameter(pattern=AREA_PATTERN, description="Gemeinde by ARS prefix.")
]
LeistungFilter = Annotated[
    str | None, QueryParameter(pattern=OZG_ID_PATTERN, description="OZG-ID.")
]
TextFilter = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=100, pattern=r"^[^\x00]*$", description="Search text."),
]
StepFilter = Annotated[
    str | None, QueryParameter(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
]
GroupFilter = Annotated[
    str | None, QueryParameter(min_length=1, max_length=100, pattern=r"^[^\x00]*$")
]
TagFilter = Annotated[str | None, QueryParameter(pattern=r"^[^\x00,;]{1,60}$")]
SeverityFilter = Annotated[int | None, QueryParameter(ge=1, le=4)]
ThemenfeldFilter = Annotated[int | None, QueryParameter(ge=1, le=999)]
MethodFilter = Annotated[Method | None, QueryParameter()]
StudyStatusFilter = Annotated[StudyStatus | None, QueryParameter()]
KindFilter = Annotated[ObservationKind | None, QueryParameter()]
StatusFilter = Annotated[FindingStatus | None, QueryParameter()]
ConfidenceFilter = Annotated[Confidence | None, QueryParameter()]
KpiKindFilter = Annotated[KpiKind | None, QueryParameter()]
IdFilter = Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)]
DayFilter = Annotated[date | None, QueryParameter(description="YYYY-MM-DD.")]


def today(state: State) -> date:
    settings: Settings = state.settings
    return settings.today()


# --- reads ---------------------------------------------------------------------------------------


def versioned(body: B, version: int, *, status_code: int = 200) -> Response[B]:
    """The body with the ETag of the row's version (for If-Match)."""
    return Response(body, status_code=status_code, headers={"ETag": etag(version)})


async def history_page(
    session: AsyncSession, entity: str, entity_id: int, limit: int, cursor: str | None
) -> Page[HistoryRead]:
    rows, next_cursor = await queries.history(
        session, entity, entity_id, limit=limit, cursor=cursor
    )
    return Page(items=[HistoryRead.model_validate(r.ResearchEvent) for r in rows],
                next_cursor=next_cursor)  # fmt: skip


async def study_read(session: AsyncSession, study: Study) -> StudyRead:
    assert study.id is not None  # noqa: S101  (stored)
    about = (await queries.subjects(session, "study", [study.id]))[study.id]
    figures = await queries.study_figures(session, study.id)
    return StudyRead.model_validate({
        **study.model_dump(), "gemeinden": about[SubjectKind.GEMEINDE],
        "leistungen": about[SubjectKind.LEISTUNG], "participants": figures.participants,
        "observations": figures.observations, "erased_observations": figures.erased,
    })  # fmt: skip


def participant_read(participant: Participant) -> ParticipantRead:
    consent = ConsentRead(
        given_on=participant.consent_on, notes=participant.consent_notes,
        quotes=participant.consent_quotes, recordings=participant.consent_recordings,
        publication=participant.consent_publication, withdrawn_at=participant.withdrawn_at,
    )  # fmt: skip
    return ParticipantRead.model_validate({**participant.model_dump(), "consent": consent})


def observation_read(observation: Observation, code: str | None) -> ObservationRead:
    return ObservationRead.model_validate({
        **observation.model_dump(), "participant_code": code,
        "erased": observation.erased_at is not None,
    })  # fmt: skip


async def observation_response(
    session: AsyncSession, observation: Observation, *, status_code: int = 200
) -> Response[ObservationRead]:
    code = None
    if observation.participant_id is not None:
        code = (await queries.get_participant(session, observation.participant_id)).code
    return versioned(observation_read(observation, code), observation.version,
                     status_code=status_code)  # fmt: skip


async def finding_reads(session: AsyncSession, findings: list[Finding]) -> list[FindingRead]:
    ids = [f.id for f in findings if f.id is not None]
    about = await queries.subjects(session, "finding", ids)
    support = await queries.supporting(session, ids)
    frequency = await queries.frequencies(session, ids)
    reads = []
    for finding in findings:
        assert finding.id is not None  # noqa: S101  (stored)
        counted = frequency[finding.id]
        reads.append(FindingRead.model_validate({
            **finding.model_dump(), "gemeinden": about[finding.id][SubjectKind.GEMEINDE],
            "leistungen": about[finding.id][SubjectKind.LEISTUNG],
            "observations": support[finding.id],
            "frequency": Frequency(observations=counted.observations,
                                   participants=counted.participants, erased=counted.erased),
            "published": finding.published_at is not None,
        }))  # fmt: skip
    return reads


async def finding_response(
    session: AsyncSession, finding: Finding, *, status_code: int = 200
) -> Response[FindingRead]:
    (body,) = await finding_reads(session, [finding])
    return versioned(body, finding.version, status_code=status_code)


async def recommendation_reads(
    session: AsyncSession, found: list[Recommendation]
) -> list[RecommendationRead]:
    ids = [r.id for r in found if r.id is not None]
    findings = await queries.findings_of(session, ids)
    links = await queries.links_of(session, ids)
    return [
        RecommendationRead.model_validate({
            **r.model_dump(), "findings": findings[r.id or 0],
            "links": [ResearchLinkRead.model_validate(link) for link in links[r.id or 0]],
            "published": r.published_at is not None,
        })
        for r in found
    ]  # fmt: skip


async def recommendation_response(
    session: AsyncSession, recommendation: Recommendation, *, status_code: int = 200
) -> Response[RecommendationRead]:
    (body,) = await recommendation_reads(session, [recommendation])
    return versioned(body, recommendation.version, status_code=status_code)


def kpi_response(kpi: Kpi, *, status_code: int = 200) -> Response[KpiRead]:
    return versioned(KpiRead.model_validate(kpi), kpi.version, status_code=status_code)


# --- studies -------------------------------------------------------------------------------------


@get("/studies", guards=[researcher], responses=problem_responses(*READS))
async def list_studies(
    request: AnyRequest, session: DbSession, method: MethodFilter = None,
    status: StudyStatusFilter = None, gemeinde: Area = None, leistung: LeistungFilter = None,
    limit: Limit = 50, cursor: IdCursor = None,
) -> Page[StudyRead]:  # fmt: skip
    """The studies in the researcher's scope."""
    rows, next_cursor = await queries.list_studies(
        session, actions.scopes_of(principal_of(request)),
        method=None if method is None else method.value,
        status=None if status is None else status.value, gemeinde=gemeinde, leistung=leistung,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    return Page(
        items=[await study_read(session, row.Study) for row in rows], next_cursor=next_cursor
    )


@post("/studies", guards=[researcher], responses=problem_responses(*WRITES))
async def create_study(
    request: AnyRequest, data: JSONBody[StudyCreate], session: DbSession
) -> Response[StudyRead]:
    study = await actions.create_study(session, data, actor=principal_of(request))
    return versioned(await study_read(session, study), study.version, status_code=201)


@get("/studies/{study_id:int}", guards=[researcher], responses=problem_responses(*READS, 404))
async def get_study(
    request: AnyRequest, study_id: RowId, session: DbSession
) -> Response[StudyRead]:
    study = await actions.study_in_reach(session, study_id, principal_of(request))
    return versioned(await study_read(session, study), study.version)


@patch("/studies/{study_id:int}", guards=[researcher], responses=problem_responses(*UPDATES))
async def update_study(
    request: AnyRequest, study_id: RowId, data: JSONBody[StudyPatch], session: DbSession,
    if_match: IfMatch = None,
) -> Response[StudyRead]:  # fmt: skip
    study = await actions.update_study(
        session, study_id, data, if_match=if_match, actor=principal_of(request)
    )
    return versioned(await study_read(session, study), study.version)


# --- participants --------------------------------------------------------------------------------


@get(
    "/studies/{study_id:int}/participants",
    guards=[researcher],
    responses=problem_responses(*READS, 404),
)
async def list_participants(
    request: AnyRequest, study_id: RowId, session: DbSession, limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[ParticipantRead]:  # fmt: skip
    """The study's participants: pseudonymous codes, group and consent, nothing else."""
    await actions.study_in_reach(session, study_id, principal_of(request))
    rows, next_cursor = await queries.list_participants(
        session, study_id, limit=limit, cursor=cursor
    )
    return Page(items=[participant_read(r.Participant) for r in rows], next_cursor=next_cursor)


@post(
    "/studies/{study_id:int}/participants",
    guards=[researcher],
    responses=problem_responses(*WRITES),
)
async def add_participant(
    request: AnyRequest, study_id: RowId, data: JSONBody[ParticipantCreate], session: DbSession
) -> Response[ParticipantRead]:
    """Refuses (422, naming the field) values that look like names, e-mail addresses, phone
    numbers or other identifiers."""
    found = await actions.add_participant(session, study_id, data, actor=principal_of(request))
    return versioned(participant_read(found), found.version, status_code=201)


@get(
    "/participants/{participant_id:int}",
    guards=[researcher],
    responses=problem_responses(*READS, 404),
)
async def get_participant(
    request: AnyRequest, participant_id: RowId, session: DbSession
) -> Response[ParticipantRead]:
    found = await actions.participant_in_reach(session, participant_id, principal_of(request))
    return versioned(participant_read(found), found.version)


@patch(
    "/participants/{participant_id:int}",
    guards=[researcher],
    responses=problem_responses(*UPDATES),
)
async def update_participant(
    request: AnyRequest, participant_id: RowId, data: JSONBody[ParticipantPatch],
    session: DbSession, if_match: IfMatch = None,
) -> Response[ParticipantRead]:  # fmt: skip
    found = await actions.update_participant(
        session, participant_id, data, if_match=if_match, actor=principal_of(request)
    )
    return versioned(participant_read(found), found.version)


@post(
    "/participants/{participant_id:int}/withdraw-consent",
    guards=[researcher],
    status_code=200,
    responses=problem_responses(*WRITES),
)
async def withdraw_consent(
    request: AnyRequest, participant_id: RowId, session: DbSession
) -> WithdrawalRead:
    """DSGVO Art. 17: the content of the participant's observations is erased (tombstones keep
    study, step and date); findings they supported are recounted, and those left without
    evidence flagged for review. Idempotent."""
    found, erased, flagged = await actions.withdraw_consent(
        session, participant_id, actor=principal_of(request)
    )
    return WithdrawalRead(
        participant=participant_read(found), erased_observations=erased,
        findings_to_review=flagged,
    )  # fmt: skip


# --- observations --------------------------------------------------------------------------------


@get("/observations", guards=[researcher], responses=problem_responses(*READS))
async def list_observations(
    request: AnyRequest, session: DbSession, study_id: IdFilter = None,
    participant_id: IdFilter = None,
    kind: KindFilter = None, journey_step: StepFilter = None,
    user_group: GroupFilter = None, tag: TagFilter = None, since: DayFilter = None,
    until: DayFilter = None, q: TextFilter = None, limit: Limit = 50, cursor: IdCursor = None,
) -> Page[ObservationRead]:  # fmt: skip
    """Observations in the researcher's scope, erased ones as tombstones."""
    where = queries.ObservationFilter(
        study_id=study_id, participant_id=participant_id,
        kind=None if kind is None else kind.value, journey_step=journey_step,
        user_group=user_group, tag=tag, since=since, until=until, text=q,
    )  # fmt: skip
    rows, next_cursor = await queries.list_observations(
        session, actions.scopes_of(principal_of(request)), where, limit=limit, cursor=cursor
    )
    return Page(
        items=[observation_read(row.Observation, row.code) for row in rows],
        next_cursor=next_cursor,
    )


@post("/observations", guards=[researcher], responses=problem_responses(*WRITES))
async def record_observation(
    request: AnyRequest, data: JSONBody[ObservationCreate], session: DbSession, state: State
) -> Response[ObservationRead]:
    observation = await actions.record_observation(
        session, data, actor=principal_of(request), today=today(state)
    )
    return await observation_response(session, observation, status_code=201)


@get(
    "/observations/{observation_id:int}",
    guards=[researcher],
    responses=problem_responses(*READS, 404),
)
async def get_observation(
    request: AnyRequest, observation_id: RowId, session: DbSession
) -> Response[ObservationRead]:
    found = await actions.observation_in_reach(session, observation_id, principal_of(request))
    return await observation_response(session, found)


@patch(
    "/observations/{observation_id:int}",
    guards=[researcher],
    responses=problem_responses(*UPDATES),
)
async def update_observation(
    request: AnyRequest, observation_id: RowId, data: JSONBody[ObservationPatch],
    session: DbSession, if_match: IfMatch = None,
) -> Response[ObservationRead]:  # fmt: skip
    found = await actions.update_observation(
        session, observation_id, data, if_match=if_match, actor=principal_of(request)
    )
    return await observation_response(session, found)


@post(
    "/studies/{study_id:int}/observations/import",
    guards=[researcher],
    status_code=200,
    responses=problem_responses(401, 403, 404, 415, 422),
    operation_class=upload_operation("The observation schema as UTF-8 CSV."),
)
async def import_observations(
    request: AnyRequest, study_id: RowId, session: DbSession, state: State
) -> ImportReportRead:
    """Observations from a `text/csv` body (UTF-8) or an XLSX workbook (its first sheet) in
    the documented schema (external_id, participant, kind, text, metric_value, metric_unit,
    media_uri, media_timecode, journey_step, tags, recorded_on): all or nothing, idempotent on
    external_id; a bad row rejects the file (422, `file:row: why` in `errors`)."""
    settings: Settings = state.settings
    body = io.BytesIO(await request.body())
    media_type = request.content_type[0]
    if media_type not in (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE):
        raise UnsupportedMediaType(f"Send text/csv or {XLSX_MEDIA_TYPE}.")
    name = "upload.csv" if media_type == CSV_MEDIA_TYPE else "upload.xlsx"
    try:
        if media_type == CSV_MEDIA_TYPE:
            rows = csv_rows(body, name, imports.REQUIRED)
        else:
            rows = xlsx_rows(
                body, name, imports.REQUIRED, max_rows=settings.max_upload_rows,
                max_unpacked_bytes=settings.max_upload_xlsx_bytes,
            )  # fmt: skip
        result = await imports.import_observations(
            session, rows, name, study_id=study_id, actor=principal_of(request),
            today=today(state),
        )  # fmt: skip
    except ImportRejected as rejected:
        raise InvalidInput(
            "The file was not imported; nothing was written.",
            extra={"errors": [str(e) for e in rejected.errors], "error_count": rejected.total},
        ) from None
    return ImportReportRead(source=name, inserted=result.inserted, unchanged=result.unchanged)


EXPORT_FORMATS = {"csv": "text/csv", "csv-de": "text/csv",  # the charset is added once
                  "xlsx": XLSX_MEDIA_TYPE}  # fmt: skip
FINDING_COLUMNS = (
    "id", "statement", "severity", "confidence", "status", "superseded_by", "criterion",
    "journey_step", "gemeinden", "leistungen", "observations", "participants", "published_at",
)  # fmt: skip
KPI_COLUMNS = ("id", "ozg_id", "ars", "kind", "value", "unit", "measured_on", "source", "study_id")
ExportFormat = Annotated[
    str, QueryParameter(pattern="^(csv|csv-de|xlsx)$", description="csv, csv-de (Excel-DE), xlsx")
]


def export_response(
    name: str, form: str, header: Sequence[str], rows: list[list[Any]]
) -> Response[bytes]:
    if form == "xlsx":
        body = write_xlsx(name, header, rows)
    else:
        body = csv_bytes(header, rows, german=form == "csv-de")
    extension = "xlsx" if form == "xlsx" else "csv"
    return Response(
        body, media_type=EXPORT_FORMATS[form],
        headers={"Content-Disposition": f'attachment; filename="{name}.{extension}"'},
    )  # fmt: skip


@get(
    "/public/findings/export", responses=problem_responses(), media_type="application/octet-stream"
)
async def export_public_findings(
    session: DbSession,
    format: ExportFormat = "csv",
    leistung: LeistungFilter = None,
    gemeinde: Area = None,
) -> Response[bytes]:
    """Published findings (redacted text) as CSV, CSV for German Excel, or XLSX, same columns."""
    rows, _ = await queries.list_findings(
        session, queries.FindingFilter(leistung=leistung, gemeinde=gemeinde), scopes=None,
        limit=None, cursor=None,
    )  # fmt: skip
    found = await queries.public_findings(session, [row.Finding for row in rows])
    lines = [
        [f.id, f.statement, f.severity, f.confidence, f.status, f.superseded_by, f.criterion,
         f.journey_step, " ".join(f.gemeinden), " ".join(f.leistungen), f.frequency.observations,
         f.frequency.participants, f.published_at.isoformat()]
        for f in found
    ]  # fmt: skip
    return export_response("erkenntnisse", format, FINDING_COLUMNS, lines)


@get("/kpis/export", responses=problem_responses(), media_type="application/octet-stream")
async def export_kpis(
    session: DbSession,
    format: ExportFormat = "csv",
    leistung: LeistungFilter = None,
    gemeinde: Area = None,
) -> Response[bytes]:
    """KPI measurements as CSV, CSV for German Excel, or XLSX, in the same columns."""
    rows, _ = await queries.list_kpis(
        session, ozg_id=leistung, gemeinde=gemeinde, kind=None, limit=None, cursor=None
    )
    lines = [[getattr(row.Kpi, name) for name in KPI_COLUMNS] for row in rows]
    return export_response("kpis", format, KPI_COLUMNS, lines)


# --- findings ------------------------------------------------------------------------------------


def finding_filter(
    leistung: str | None, themenfeld: int | None, gemeinde: str | None, severity: int | None,
    status: FindingStatus | None, confidence: Confidence | None, journey_step: str | None,
    method: Method | None, user_group: str | None, tag: str | None, since: date | None,
    until: date | None, q: str | None,
) -> queries.FindingFilter:  # fmt: skip
    return queries.FindingFilter(
        leistung=leistung, themenfeld=themenfeld, gemeinde=gemeinde, severity=severity,
        status=None if status is None else status.value,
        confidence=None if confidence is None else confidence.value, journey_step=journey_step,
        method=None if method is None else method.value, user_group=user_group, tag=tag,
        since=since, until=until, text=q,
    )  # fmt: skip


@get("/findings", guards=[research_reviewer], responses=problem_responses(*READS))
async def list_findings(
    request: AnyRequest, session: DbSession, leistung: LeistungFilter = None,
    themenfeld: ThemenfeldFilter = None, gemeinde: Area = None, severity: SeverityFilter = None,
    status: StatusFilter = None, confidence: ConfidenceFilter = None,
    journey_step: StepFilter = None, method: MethodFilter = None, user_group: GroupFilter = None,
    tag: TagFilter = None, since: DayFilter = None, until: DayFilter = None, q: TextFilter = None,
    limit: Limit = 50, cursor: IdCursor = None,
) -> Page[FindingRead]:  # fmt: skip
    """Findings in scope, published or not; `q` searches the statements."""
    where = finding_filter(leistung, themenfeld, gemeinde, severity, status, confidence,
                           journey_step, method, user_group, tag, since, until, q)  # fmt: skip
    rows, next_cursor = await queries.list_findings(
        session, where, scopes=actions.reader_scopes(principal_of(request)), limit=limit,
        cursor=cursor,
    )  # fmt: skip
    items = await finding_reads(session, [row.Finding for row in rows])
    return Page(items=items, next_cursor=next_cursor)


@post("/findings", guards=[researcher], responses=problem_responses(*WRITES))
async def create_finding(
    request: AnyRequest, data: JSONBody[FindingCreate], session: DbSession
) -> Response[FindingRead]:
    """A finding needs at least one supporting observation; its frequency is computed."""
    finding = await actions.create_finding(session, data, actor=principal_of(request))
    return await finding_response(session, finding, status_code=201)


@get(
    "/findings/{finding_id:int}",
    guards=[research_reviewer],
    responses=problem_responses(*READS, 404),
)
async def get_finding(
    request: AnyRequest, finding_id: RowId, session: DbSession
) -> Response[FindingRead]:
    finding = await actions.finding_in_reach(session, finding_id, principal_of(request))
    return await finding_response(session, finding)


@patch("/findings/{finding_id:int}", guards=[researcher], responses=problem_responses(*UPDATES))
async def update_finding(
    request: AnyRequest, finding_id: RowId, data: JSONBody[FindingPatch], session: DbSession,
    if_match: IfMatch = None,
) -> Response[FindingRead]:  # fmt: skip
    """Change what was sent (If-Match); every change enters the history. A changed statement
    withdraws the publication until a reviewer publishes it again."""
    finding = await actions.update_finding(
        session, finding_id, data, if_match=if_match, actor=principal_of(request)
    )
    return await finding_response(session, finding)


@get(
    "/findings/{finding_id:int}/history",
    guards=[research_reviewer],
    responses=problem_responses(*READS, 404),
)
async def finding_history(
    request: AnyRequest, finding_id: RowId, session: DbSession, limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[HistoryRead]:  # fmt: skip
    """Every change of the finding, oldest first: who, when, old → new."""
    await actions.finding_in_reach(session, finding_id, principal_of(request))
    return await history_page(session, "finding", finding_id, limit, cursor)


@get(
    "/findings/{finding_id:int}/redaction",
    guards=[research_reviewer],
    responses=problem_responses(*READS, 404),
)
async def preview_redaction(
    request: AnyRequest, finding_id: RowId, session: DbSession
) -> RedactionPreview:
    """What publishing would make public, and each removal (kind, reason, span)."""
    finding = await actions.finding_in_reach(session, finding_id, principal_of(request))
    redacted = redact(finding.statement, await actions.names_to_redact(session, [finding_id]))
    return RedactionPreview(
        text=redacted.text,
        removals=[RemovalRead(kind=r.kind, reason=r.reason, start=r.start, end=r.end)
                  for r in redacted.removals],
    )  # fmt: skip


@post(
    "/findings/{finding_id:int}/publish",
    guards=[research_reviewer],
    status_code=200,
    responses=problem_responses(*UPDATES),
)
async def publish_finding(
    request: AnyRequest, finding_id: RowId, session: DbSession, if_match: IfMatch = None
) -> Response[FindingRead]:
    """A reviewer who is not the author publishes (If-Match): the redacted statement becomes
    public, with the list of removals kept for the record."""
    finding = await actions.publish_finding(
        session, finding_id, if_match=if_match, actor=principal_of(request)
    )
    return await finding_response(session, finding)


@post(
    "/findings/{finding_id:int}/reject",
    guards=[research_reviewer],
    status_code=200,
    responses=problem_responses(*UPDATES),
)
async def reject_finding(
    request: AnyRequest, finding_id: RowId, data: JSONBody[RejectionWrite], session: DbSession,
    if_match: IfMatch = None,
) -> Response[FindingRead]:  # fmt: skip
    """A reviewer who is not the author sends an unpublished finding back with the reason
    (If-Match; kept in its history): it leaves the review queue until its author changes it."""
    finding = await actions.reject(
        session, "finding", finding_id, data.reason, if_match=if_match,
        actor=principal_of(request),
    )  # fmt: skip
    assert isinstance(finding, Finding)  # noqa: S101  (the entity asked for)
    return await finding_response(session, finding)


# --- recommendations -----------------------------------------------------------------------------


@get("/recommendations", guards=[research_reviewer], responses=problem_responses(*READS))
async def list_recommendations(
    request: AnyRequest, session: DbSession,
    finding: IdFilter = None,
    limit: Limit = 50, cursor: IdCursor = None,
) -> Page[RecommendationRead]:  # fmt: skip
    rows, next_cursor = await queries.list_recommendations(
        session, actions.reader_scopes(principal_of(request)), finding_id=finding, limit=limit,
        cursor=cursor,
    )  # fmt: skip
    items = await recommendation_reads(session, [row.Recommendation for row in rows])
    return Page(items=items, next_cursor=next_cursor)


@post("/recommendations", guards=[researcher], responses=problem_responses(*WRITES))
async def create_recommendation(
    request: AnyRequest, data: JSONBody[RecommendationCreate], session: DbSession
) -> Response[RecommendationRead]:
    """What to change, the findings it answers, the responsible level, and links by (kind,
    key) to demands or Maßnahmen."""
    found = await actions.create_recommendation(session, data, actor=principal_of(request))
    return await recommendation_response(session, found, status_code=201)


@get(
    "/recommendations/{recommendation_id:int}",
    guards=[research_reviewer],
    responses=problem_responses(*READS, 404),
)
async def get_recommendation(
    request: AnyRequest, recommendation_id: RowId, session: DbSession
) -> Response[RecommendationRead]:
    found = await actions.recommendation_in_reach(session, recommendation_id, principal_of(request))
    return await recommendation_response(session, found)


@patch(
    "/recommendations/{recommendation_id:int}",
    guards=[researcher],
    responses=problem_responses(*UPDATES),
)
async def update_recommendation(
    request: AnyRequest, recommendation_id: RowId, data: JSONBody[RecommendationPatch],
    session: DbSession, if_match: IfMatch = None,
) -> Response[RecommendationRead]:  # fmt: skip
    found = await actions.update_recommendation(
        session, recommendation_id, data, if_match=if_match, actor=principal_of(request)
    )
    return await recommendation_response(session, found)


@get(
    "/recommendations/{recommendation_id:int}/history",
    guards=[research_reviewer],
    responses=problem_responses(*READS, 404),
)
async def recommendation_history(
    request: AnyRequest, recommendation_id: RowId, session: DbSession, limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[HistoryRead]:  # fmt: skip
    await actions.recommendation_in_reach(session, recommendation_id, principal_of(request))
    return await history_page(session, "recommendation", recommendation_id, limit, cursor)


@post(
    "/recommendations/{recommendation_id:int}/publish",
    guards=[research_reviewer],
    status_code=200,
    responses=problem_responses(*UPDATES),
)
async def publish_recommendation(
    request: AnyRequest, recommendation_id: RowId, session: DbSession, if_match: IfMatch = None
) -> Response[RecommendationRead]:
    """A reviewer who is not the author publishes the redacted text (If-Match)."""
    found = await actions.publish_recommendation(
        session, recommendation_id, if_match=if_match, actor=principal_of(request)
    )
    return await recommendation_response(session, found)


@post(
    "/recommendations/{recommendation_id:int}/reject",
    guards=[research_reviewer],
    status_code=200,
    responses=problem_responses(*UPDATES),
)
async def reject_recommendation(
    request: AnyRequest, recommendation_id: RowId, data: JSONBody[RejectionWrite],
    session: DbSession, if_match: IfMatch = None,
) -> Response[RecommendationRead]:  # fmt: skip
    """As for a finding: back to its author with the reason (If-Match)."""
    found = await actions.reject(
        session, "recommendation", recommendation_id, data.reason, if_match=if_match,
        actor=principal_of(request),
    )  # fmt: skip
    assert isinstance(found, Recommendation)  # noqa: S101  (the entity asked for)
    return await recommendation_response(session, found)


# --- KPIs ----------------------------------------------------------------------------------------


@get("/kpis", responses=problem_responses())
async def list_kpis(
    session: DbSession, leistung: LeistungFilter = None, gemeinde: Area = None,
    kind: KpiKindFilter = None, limit: Limit = 50, cursor: IdCursor = None,
) -> Page[KpiRead]:  # fmt: skip
    """Service-standard KPIs, dated, with their source (public)."""
    rows, next_cursor = await queries.list_kpis(
        session, ozg_id=leistung, gemeinde=gemeinde, kind=None if kind is None else kind.value,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    return Page(items=[KpiRead.model_validate(row.Kpi) for row in rows], next_cursor=next_cursor)


@post("/kpis", guards=[researcher], responses=problem_responses(*WRITES))
async def record_kpi(
    request: AnyRequest, data: JSONBody[KpiCreate], session: DbSession
) -> Response[KpiRead]:
    return kpi_response(
        await actions.record_kpi(session, data, actor=principal_of(request)), status_code=201
    )


@get("/kpis/{kpi_id:int}", responses=problem_responses(404))
async def get_kpi(kpi_id: RowId, session: DbSession) -> Response[KpiRead]:
    return kpi_response(await queries.get_kpi(session, kpi_id))


@patch("/kpis/{kpi_id:int}", guards=[researcher], responses=problem_responses(*UPDATES))
async def update_kpi(
    request: AnyRequest, kpi_id: RowId, data: JSONBody[KpiPatch], session: DbSession,
    if_match: IfMatch = None,
) -> Response[KpiRead]:  # fmt: skip
    kpi = await actions.update_kpi(
        session, kpi_id, data, if_match=if_match, actor=principal_of(request)
    )
    return kpi_response(kpi)


# --- public --------------------------------------------------------------------------------------


@get("/public/findings", responses=problem_responses())
async def list_public_findings(
    session: DbSession, leistung: LeistungFilter = None, themenfeld: ThemenfeldFilter = None,
    gemeinde: Area = None, severity: SeverityFilter = None, status: StatusFilter = None,
    confidence: ConfidenceFilter = None, journey_step: StepFilter = None,
    method: MethodFilter = None, user_group: GroupFilter = None, tag: TagFilter = None,
    since: DayFilter = None, until: DayFilter = None, q: TextFilter = None, limit: Limit = 50,
    cursor: IdCursor = None,
) -> Page[PublicFinding]:  # fmt: skip
    """Published findings from every Gemeinde, by their redacted text only; `q` searches it."""
    where = finding_filter(leistung, themenfeld, gemeinde, severity, status, confidence,
                           journey_step, method, user_group, tag, since, until, q)  # fmt: skip
    rows, next_cursor = await queries.list_findings(
        session, where, scopes=None, limit=limit, cursor=cursor
    )
    items = await queries.public_findings(session, [row.Finding for row in rows])
    return Page(items=items, next_cursor=next_cursor)


@get("/public/findings/{finding_id:int}", responses=problem_responses(404))
async def get_public_finding(finding_id: RowId, session: DbSession) -> PublicFinding:
    finding = await session.get(Finding, finding_id)
    found = [] if finding is None else await queries.public_findings(session, [finding])
    if not found:
        raise NotFound(f"No finding {finding_id} is published.")
    return found[0]


@get("/leistungen/{ozg_id:str}/findings", responses=problem_responses(404))
async def leistung_findings(
    ozg_id: Annotated[str, PathParameter(pattern=OZG_ID_PATTERN)], session: DbSession
) -> LeistungFindingsRead:
    """The published findings about a Leistung from every Gemeinde (redacted text), most
    severe first, with counts by severity and by journey step."""
    await catalog_queries.get_leistung(session, ozg_id)
    found = await queries.leistung_findings(session, ozg_id)
    return LeistungFindingsRead(
        ozg_id=ozg_id, total=len(found.findings),
        by_severity={str(k): v for k, v in found.by_severity.items()},
        by_journey_step={step: {str(k): v for k, v in counts.items()}
                         for step, counts in found.by_journey_step.items()},
        findings=await queries.public_findings(session, found.findings),
    )  # fmt: skip


router = Router(
    "/api/v1",
    route_handlers=[
        list_studies, create_study, get_study, update_study, list_participants,
        add_participant, get_participant, update_participant, withdraw_consent,
        list_observations, record_observation, get_observation, update_observation,
        list_findings, create_finding, get_finding, update_finding, finding_history,
        preview_redaction, publish_finding, reject_finding, list_recommendations,
        create_recommendation, get_recommendation, update_recommendation, recommendation_history,
        publish_recommendation, reject_recommendation, list_kpis, record_kpi, get_kpi,
        update_kpi,
        list_public_findings, get_public_finding, leistung_findings, import_observations,
        export_public_findings, export_kpis,
    ],
    tags=["Nutzendenforschung"],
)  # fmt: skip
