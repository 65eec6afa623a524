"""German pages of research (English switch): the public findings with search, and a finding
with its chain evidence → finding → recommendation. Anyone sees published findings by their
redacted text and the counts of their evidence; a researcher in scope also sees the supporting
observations (erased ones as tombstones)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from tracker.access.guards import principal_of, researcher
from tracker.access.models import Role
from tracker.db import DbSession
from tracker.errors import NotFound, TrackerError
from tracker.fields import AREA_PATTERN, OZG_ID_PATTERN, RowId
from tracker.i18n import render
from tracker.importing import describe
from tracker.research import actions, queries
from tracker.research.models import Finding, Observation, ObservationKind, SubjectKind
from tracker.research.schemas import SEVERITY_NAMES, FindingCreate, ObservationCreate
from tracker.settings import Settings

PAGE_SIZE = 100


@get("/erkenntnisse")
async def findings_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
    leistung: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    gemeinde: Annotated[str | None, QueryParameter(pattern=AREA_PATTERN)] = None,
    severity: Annotated[int | None, QueryParameter(ge=1, le=4)] = None,
) -> Template:
    """The published findings from every Gemeinde, searchable, most recent first."""
    where = queries.FindingFilter(
        text=q or None, leistung=leistung, gemeinde=gemeinde, severity=severity
    )
    rows, more = await queries.list_findings(
        session, where, scopes=None, limit=PAGE_SIZE, cursor=None
    )
    found = await queries.public_findings(session, [row.Finding for row in rows])
    return render(
        request, "research/erkenntnisse.html", findings=found, q=q or "", leistung=leistung or "",
        gemeinde=gemeinde or "", severity=severity, severity_names=SEVERITY_NAMES,
        more=more is not None,
    )  # fmt: skip


@get("/erkenntnisse/{finding_id:int}")
async def finding_page(
    request: Request[Any, Any, Any], finding_id: RowId, session: DbSession
) -> Template:
    """A published finding: its evidence (counts; for researchers in scope the observations),
    the finding, and the recommendations that answer it."""
    finding = await session.get(Finding, finding_id)
    found = [] if finding is None else await queries.public_findings(session, [finding])
    if not found or finding is None:
        raise NotFound(
            f"No finding {finding_id} is published.",
            german=f"Keine Erkenntnis {finding_id} ist veröffentlicht.",
        )
    principal = principal_of(request)
    about = (await queries.subjects(session, "finding", [finding_id]))[finding_id]
    observations: list[Observation] = []
    if about[SubjectKind.GEMEINDE] and all(
        principal.may(Role.RESEARCHER, ars) for ars in about[SubjectKind.GEMEINDE]
    ):
        ids = (await queries.supporting(session, [finding_id]))[finding_id]
        observations = [await queries.get_observation(session, i) for i in ids]
    return render(
        request, "research/erkenntnis.html", finding=found[0], observations=observations,
        severity_names=SEVERITY_NAMES,
    )  # fmt: skip


OBSERVATION_FORM = "/studien/{study_id:int}/beobachtungen"


@get("/studien/{study_id:int}", guards=[researcher])
async def study_page(
    request: Request[Any, Any, Any], study_id: RowId, session: DbSession, state: State
) -> Template:
    """A study for researchers in scope: its participants (codes only), its observations and
    a form to record one."""
    return await study_view(request, session, study_id, error=None)


async def study_view(
    request: Request[Any, Any, Any], session: DbSession, study_id: int, *, error: str | None
) -> Template:
    study = await actions.study_in_reach(session, study_id, principal_of(request))
    about = (await queries.subjects(session, "study", [study_id]))[study_id]
    participants, _ = await queries.list_participants(session, study_id, limit=None, cursor=None)
    observations, _ = await queries.list_observations(
        session, ("",), queries.ObservationFilter(study_id=study_id), limit=None, cursor=None
    )
    page = render(
        request, "research/studie.html", study=study, about=about, error=error,
        participants=[row.Participant for row in participants],
        observations=[(row.Observation, row.code) for row in observations],
        kinds=[kind.value for kind in ObservationKind],
    )  # fmt: skip
    if error is not None:
        page.status_code = 422
    return page


@post(OBSERVATION_FORM, guards=[researcher], status_code=303)
async def observation_from_form(
    request: Request[Any, Any, Any], study_id: RowId, session: DbSession, state: State
) -> Template | Redirect:
    """The study page's form: a note or quote of a participant (CSRF)."""
    form = {name: str(value).strip() for name, value in (await request.form()).items()}
    settings: Settings = state.settings
    try:
        participant_id = None
        if form.get("participant"):
            found = await queries.find_participant(session, study_id, form["participant"])
            if found is None:
                return await study_view(request, session, study_id, error="participant?")
            participant_id = found.id
        data = ObservationCreate.model_validate({
            "study_id": study_id, "participant_id": participant_id,
            "kind": form.get("kind", ""), "text": form.get("text") or None,
            "journey_step": form.get("journey_step") or None,
        })  # fmt: skip
        async with session.begin_nested():
            await actions.record_observation(
                session, data, actor=principal_of(request), today=settings.today()
            )
    except ValidationError as exc:
        return await study_view(request, session, study_id, error=describe(exc))
    except TrackerError as exc:
        return await study_view(request, session, study_id, error=exc.detail)
    return Redirect(f"/studien/{study_id}#beobachtungen", status_code=303)


@post("/studien/{study_id:int}/erkenntnisse", guards=[researcher], status_code=303)
async def finding_from_form(
    request: Request[Any, Any, Any], study_id: RowId, session: DbSession
) -> Template | Redirect:
    """The study page's form: a finding about the study's Gemeinden and Leistungen, supported
    by the observations ticked (CSRF)."""
    form = await request.form()
    ticked = [int(str(v)) for v in form.getall("observation", []) if str(v).isdigit()]
    await actions.study_in_reach(session, study_id, principal_of(request))
    about = (await queries.subjects(session, "study", [study_id]))[study_id]
    try:
        data = FindingCreate.model_validate({
            "statement": str(form.get("statement", "")).strip(),
            "severity": int(str(form.get("severity", "0")) or 0),
            "journey_step": str(form.get("journey_step", "")).strip() or None,
            "gemeinden": about[SubjectKind.GEMEINDE], "leistungen": about[SubjectKind.LEISTUNG],
            "observations": ticked,
        })  # fmt: skip
        async with session.begin_nested():
            finding = await actions.create_finding(session, data, actor=principal_of(request))
    except ValidationError as exc:
        return await study_view(request, session, study_id, error=describe(exc))
    except ValueError:
        return await study_view(request, session, study_id, error="severity: 1-4")
    except TrackerError as exc:
        return await study_view(request, session, study_id, error=exc.detail)
    return Redirect(f"/studien/{study_id}#erkenntnis-{finding.id}", status_code=303)


router = Router(
    "/",
    route_handlers=[
        findings_page, finding_page, study_page, observation_from_form, finding_from_form,
    ],
    include_in_schema=False,
)  # fmt: skip
