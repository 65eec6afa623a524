"""German pages of research (English switch): the public findings with search, and a finding
with its chain evidence → finding → recommendation. Anyone sees published findings by their
redacted text and the counts of their evidence; a researcher in scope also sees the supporting
observations (erased ones as tombstones). Reviewers publish or reject what waits, on
`/freigabe`, with the redaction preview beside each text."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from tracker.access.guards import principal_of, research_reviewer, researcher
from tracker.access.models import Role
from tracker.catalog import queries as catalog_queries
from tracker.concurrency import etag
from tracker.db import DbSession
from tracker.errors import NotFound, TrackerError
from tracker.fields import AREA_PATTERN, OZG_ID_PATTERN, RowId
from tracker.i18n import language, render, translator
from tracker.importing import describe
from tracker.research import actions, queries
from tracker.research.models import (
    PARTICIPANT_FIELDS_DE,
    USER_GROUPS,
    Finding,
    FindingStatus,
    Observation,
    ObservationKind,
    Recommendation,
    SubjectKind,
)
from tracker.research.redaction import GERMAN_REASONS, KIND_LABELS, Redacted, redact
from tracker.research.schemas import (
    LABELS,
    SEVERITY_NAMES,
    FindingCreate,
    ObservationCreate,
    ParticipantCreate,
)
from tracker.settings import Settings

PAGE_SIZE = 100
STATUS_PATTERN = f"^({'|'.join(value.value for value in FindingStatus)})?$"


@get("/erkenntnisse")
async def findings_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
    leistung: Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)] = None,
    gemeinde: Annotated[str | None, QueryParameter(pattern=AREA_PATTERN)] = None,
    severity: Annotated[str | None, QueryParameter(pattern=r"^[1-4]?$")] = None,
    status: Annotated[str | None, QueryParameter(pattern=STATUS_PATTERN)] = None,
    themenfeld: Annotated[str | None, QueryParameter(pattern=r"^([1-9][0-9]{0,2})?$")] = None,
    tag: Annotated[str | None, QueryParameter(pattern=r"^[^\x00,;]{0,60}$")] = None,
) -> Template:
    """The published findings from every Gemeinde, searchable and filtered as the API's list
    (Leistung, Gemeinde, severity, status, Themenfeld, tag), most recent first; the form's
    empty choices mean "all"."""
    where = queries.FindingFilter(
        text=q or None, leistung=leistung or None, gemeinde=gemeinde or None,
        severity=int(severity) if severity else None, status=status or None,
        themenfeld=int(themenfeld) if themenfeld else None, tag=tag or None,
    )  # fmt: skip
    rows, more = await queries.list_findings(
        session, where, scopes=None, limit=PAGE_SIZE, cursor=None
    )
    found = await queries.public_findings(session, [row.Finding for row in rows])
    themenfelder = (await catalog_queries.list_themenfelder(session, limit=None, cursor=None))[0]
    return render(
        request, "research/erkenntnisse.html", findings=found, q=q or "", leistung=leistung or "",
        gemeinde=gemeinde or "", severity=where.severity, severity_names=SEVERITY_NAMES,
        status=where.status, themenfeld=where.themenfeld, tag=tag or "",
        statuses=[value.value for value in FindingStatus], labels=LABELS,
        themenfelder=[(row.id, row.name) for row in themenfelder], more=more is not None,
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
        severity_names=SEVERITY_NAMES, labels=LABELS,
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
        kinds=[kind.value for kind in ObservationKind], user_groups=USER_GROUPS, labels=LABELS,
    )  # fmt: skip
    if error is not None:
        page.status_code = 422
    return page


@post(OBSERVATION_FORM, guards=[researcher], status_code=303)
async def observation_from_form(
    request: Request[Any, Any, Any], study_id: RowId, session: DbSession, state: State
) -> Template | Redirect:
    """The study page's form: a note, quote, metric (value and unit) or media reference (URI
    and time code), of a participant chosen from the study's (CSRF)."""
    form = {name: str(value).strip() for name, value in (await request.form()).items()}
    settings: Settings = state.settings
    lang = language(request)
    try:
        participant_id = None
        if form.get("participant"):
            found = await queries.find_participant(session, study_id, form["participant"])
            if found is None:
                unknown = translator(lang)("Die Studie hat keine Teilnehmenden mit diesem Code.")
                return await study_view(request, session, study_id, error=unknown)
            participant_id = found.id
        value = form.get("metric_value", "").replace(",", ".")
        data = ObservationCreate.model_validate({
            "study_id": study_id, "participant_id": participant_id,
            "kind": form.get("kind", ""), "text": form.get("text") or None,
            "metric_value": float(value) if value else None,
            "metric_unit": form.get("metric_unit") or None,
            "media_uri": form.get("media_uri") or None,
            "media_timecode": form.get("media_timecode") or None,
            "journey_step": form.get("journey_step") or None,
        })  # fmt: skip
        async with session.begin_nested():
            await actions.record_observation(
                session, data, actor=principal_of(request), today=settings.today()
            )
    except ValueError as exc:  # pydantic's ValidationError is one, as is float("x")
        detail = describe(exc) if isinstance(exc, ValidationError) else None
        german = "Bitte prüfen Sie Wert, Einheit, URI und Zeitmarke (z. B. 7,5 · 01:23)."
        text = detail if lang == "en" and detail else translator(lang)(german)
        return await study_view(request, session, study_id, error=text)
    except TrackerError as exc:
        return await study_view(request, session, study_id, error=exc.in_language(lang))
    return Redirect(f"/studien/{study_id}#beobachtungen", status_code=303)


CONSENTS = ("notes", "quotes", "recordings", "publication")


FORM_FIELDS_DE = {**PARTICIPANT_FIELDS_DE, "consent": "Einwilligung am"}


def _form_error(request: Request[Any, Any, Any], exc: ValidationError) -> str:
    """Pydantic's sentence on the English page; on the German one the fields to check, by
    their German labels ("Bitte prüfen Sie: Altersgruppe")."""
    if language(request) == "en":
        return describe(exc)
    fields = dict.fromkeys(
        FORM_FIELDS_DE.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else "?"
        for error in exc.errors(include_url=False)
    )
    return f"Bitte prüfen Sie: {', '.join(fields)}."


@post("/studien/{study_id:int}/teilnehmende", guards=[researcher], status_code=303)
async def participant_from_form(
    request: Request[Any, Any, Any], study_id: RowId, session: DbSession, state: State
) -> Template | Redirect:
    """The study page's form: a participant by pseudonymous code, with the consent given
    (CSRF); what looks like personal data is refused, naming the field."""
    form = await request.form()
    settings: Settings = state.settings
    text = {name: str(form.get(name, "")).strip() for name in
            ("code", "user_group", "age_band", "digital_experience", "given_on")}  # fmt: skip
    try:
        data = ParticipantCreate.model_validate({
            "code": text["code"], "user_group": text["user_group"],
            "age_band": text["age_band"] or None,
            "digital_experience": text["digital_experience"] or None,
            "consent": {"given_on": text["given_on"] or settings.today().isoformat(),
                        **{name: form.get(name) == "on" for name in CONSENTS}},
        })  # fmt: skip
        async with session.begin_nested():
            await actions.add_participant(session, study_id, data, actor=principal_of(request))
    except ValidationError as exc:
        return await study_view(request, session, study_id, error=_form_error(request, exc))
    except TrackerError as exc:
        return await study_view(
            request, session, study_id, error=exc.in_language(language(request))
        )
    return Redirect(f"/studien/{study_id}#teilnehmende", status_code=303)


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
        lang = language(request)
        german = "Erkenntnis, Schwere (1–4) und mindestens eine belegende Beobachtung angeben."
        error = describe(exc) if lang == "en" else german
        return await study_view(request, session, study_id, error=error)
    except ValueError:
        return await study_view(request, session, study_id, error="Schwere: 1–4")
    except TrackerError as exc:
        return await study_view(
            request, session, study_id, error=exc.in_language(language(request))
        )
    return Redirect(f"/studien/{study_id}#erkenntnis-{finding.id}", status_code=303)


# --- review --------------------------------------------------------------------------------------


@get("/freigabe", guards=[research_reviewer])
async def review_page(request: Request[Any, Any, Any], session: DbSession) -> Template:
    """What waits for a reviewer in scope: unpublished findings and recommendations, each with
    the redaction preview (the public text and every removal) and the publish or reject form."""
    return await review_view(request, session, error=None)


async def review_view(
    request: Request[Any, Any, Any], session: DbSession, *, error: str | None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    principal = principal_of(request)
    findings, recommendations = await queries.awaiting_review(
        session, actions.reader_scopes(principal), limit=PAGE_SIZE
    )
    waiting: list[tuple[str, Finding | Recommendation, str, Redacted]] = []
    for finding in findings:
        assert finding.id is not None  # noqa: S101  (stored)
        names = await actions.names_to_redact(session, [finding.id])
        waiting.append(
            ("erkenntnisse", finding, finding.statement, redact(finding.statement, names))
        )
    answered = await queries.findings_of(session, [r.id for r in recommendations if r.id])
    for recommendation in recommendations:
        assert recommendation.id is not None  # noqa: S101  (stored)
        names = await actions.names_to_redact(session, answered[recommendation.id])
        waiting.append(("empfehlungen", recommendation, recommendation.text,
                        redact(recommendation.text, names)))  # fmt: skip
    page = render(
        request, "research/freigabe.html", waiting=waiting, error=error,
        severity_names=SEVERITY_NAMES, me=principal.actor.split("/", 1)[0],
        removal_kinds=KIND_LABELS, removal_reasons=GERMAN_REASONS,
    )  # fmt: skip
    page.status_code = status_code
    return page


REVIEWED = {"erkenntnisse": "finding", "empfehlungen": "recommendation"}


@post("/freigabe/{kind:str}/{row_id:int}", guards=[research_reviewer], status_code=303)
async def review_decision(
    request: Request[Any, Any, Any],
    kind: Annotated[str, PathParameter(pattern="^(erkenntnisse|empfehlungen)$")],
    row_id: RowId,
    session: DbSession,
) -> Template | Redirect:
    """Publish (the redacted text) or reject (with the reason) one waiting finding or
    recommendation (CSRF); the version read guards against a change in between."""
    entity = REVIEWED[kind]
    form = await request.form()
    version = str(form.get("version", ""))
    if_match = etag(int(version)) if version.isdigit() and len(version) < 10 else None
    actor = principal_of(request)
    try:
        async with session.begin_nested():
            if form.get("decision") == "publish" and entity == "finding":
                await actions.publish_finding(session, row_id, if_match=if_match, actor=actor)
            elif form.get("decision") == "publish":
                await actions.publish_recommendation(
                    session, row_id, if_match=if_match, actor=actor
                )
            else:
                reason = str(form.get("reason", ""))[:2000]
                await actions.reject(
                    session, entity, row_id, reason, if_match=if_match, actor=actor
                )
    except TrackerError as exc:
        return await review_view(
            request, session, error=exc.in_language(language(request)),
            status_code=exc.status if exc.status < 500 else 422,
        )  # fmt: skip
    return Redirect("/freigabe", status_code=303)


router = Router(
    "/",
    route_handlers=[
        findings_page, finding_page, study_page, observation_from_form, finding_from_form,
        participant_from_form, review_page, review_decision,
    ],
    include_in_schema=False,
)  # fmt: skip
