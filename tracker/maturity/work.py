"""The officer's and reviewer's own pages: the account, the work lists (drafts, to review, what
one did), an assessment with its predecessor, and the review step from a form (CSRF)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import queries as access_queries
from tracker.access.guards import Principal, principal_of, signed_in
from tracker.access.models import Role
from tracker.access.pages import to_login
from tracker.concurrency import etag
from tracker.db import DbSession
from tracker.errors import InvalidInput, NotFound, TrackerError, Unauthorized
from tracker.fields import ascii_digits
from tracker.i18n import language, render
from tracker.maturity import actions, pairs, queries
from tracker.maturity.models import SOURCE_NAMES, Assessment, Status, Step
from tracker.regions import queries as regions_queries

RowId = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]
# what the page before did: "<id>-<step done>", said at the top of the list
Done = Annotated[str | None, QueryParameter(name="erledigt", pattern=r"^[0-9]{1,10}-[a-z]{1,20}$")]
DETAIL_PATH = "/bewertungen/{assessment_id:int}"
HISTORY_LENGTH = 100
# The form's step names (German in the URL-less form, the API's step behind them).
STEPS = {"einreichen": Step.SUBMIT, "freigeben": Step.VALIDATE, "zurueckweisen": Step.REJECT}
ROLE_LABELS = {
    Role.EDITOR: "Bearbeitung", Role.REVIEWER: "Prüfung", Role.RESEARCHER: "Nutzerforschung",
    Role.DEMAND_MANAGER: "Forderungen und Maßnahmen", Role.ADMIN: "Administration",
    Role.SUPERADMIN: "Superadmin",
}  # fmt: skip
ACTION_LABELS = {
    "create": "angelegt", "update": "geändert", "delete": "gelöscht", "submit": "eingereicht",
    "validate": "freigegeben", "reject": "abgelehnt",
}  # fmt: skip
ACTION_LABELS.update({
    "login": "angemeldet", "end_sessions": "Sitzungen beendet", "erase": "gelöscht (Löschfrist)",
    "import": "importiert", "redeliver": "erneut zugestellt", "revoke": "widerrufen",
})  # fmt: skip
# What the history names: the things, their fields and the values it can spell in German.
ENTITY_LABELS = {
    "assessment": "Bewertung", "app_user": "Konto", "api_token": "API-Token",
    "role_grant": "Rolle", "applicability_override": "Ausnahme zur Anwendbarkeit",
    "demand": "Forderung", "demand_action": "Maßnahme", "demand_link": "Verknüpfung",
    "action_milestone": "Meilenstein", "action_uptake": "Umsetzung in der Gemeinde",
    "demand_catalogue": "Forderungskatalog", "research_study": "Studie",
    "research_participant": "Teilnehmende", "research_observation": "Beobachtung",
    "finding": "Erkenntnis", "recommendation": "Empfehlung", "research_kpi": "Kennzahl",
    "webhook_subscription": "Webhook", "webhook_delivery": "Webhook-Zustellung",
    "maturity_model": "Reifegradmodell", "model_criterion": "Kriterium", "import": "Import",
    "municipal_leika_type": "LeiKa-Typen der Gemeinden",
}  # fmt: skip
FIELD_LABELS = {
    "status": "Stand", "ars": "Gemeinde", "level": "Reifegrad", "dimension": "Dimension",
    "ozg_id": "OZG-Leistung", "leika_id": "LeiKa-Leistung", "model_id": "Modell",
    "comment": "Kommentar", "status_comment": "Begründung", "provisional": "vorläufig",
    "assessed_at": "bewertet am", "evidence": "Nachweise", "ratings": "Kriterien",
    "name": "Name", "email": "E-Mail", "role": "Rolle", "scope_ars": "Bereich",
}  # fmt: skip
VALUE_LABELS = {
    "draft": "Entwurf", "submitted": "eingereicht", "validated": "freigegeben",
    "rejected": "abgelehnt", "online": "Online-Zugang", "backoffice": "Back-Office",
    "True": "ja", "False": "nein",
}  # fmt: skip
STEP_DONE = {Step.SUBMIT: "eingereicht", Step.VALIDATE: "freigegeben", Step.REJECT: "abgelehnt"}


def user_of(principal: Principal) -> int:
    assert principal.user_id is not None  # noqa: S101  (signed in: the caller checked)
    return principal.user_id


async def author_names(session: AsyncSession, actors: list[str | None]) -> dict[str, str]:
    """Display names for `user:N` actors; signed-in colleagues see who did what."""
    ids = {access_queries.user_id_of(actor): actor for actor in actors if actor}
    names = await access_queries.display_names(session, [i for i in ids if i is not None])
    return {
        actor: names[number]
        for actor in filter(None, actors)
        if (number := access_queries.user_id_of(actor)) is not None and number in names
    }


@get("/konto")
async def account_page(request: Request[Any, Any, Any], session: DbSession) -> Template | Redirect:
    """Who is signed in, with which roles, and the Gemeinden one may edit."""
    principal = principal_of(request)
    if not principal.authenticated:
        return to_login(request)
    user = await access_queries.get_user(session, user_of(principal))
    scopes = sorted({grant.scope_ars for grant in principal.grants})
    return render(
        request, "maturity/konto.html", user=user, grants=principal.grants, role_names=ROLE_LABELS,
        scope_names=await regions_queries.scope_names(session, scopes),
        editor_scopes=principal.scopes(Role.EDITOR),
        reviewer_scopes=principal.scopes(Role.REVIEWER),
        counts=await queries.work_counts(
            session, user_of(principal), principal.scopes(Role.REVIEWER)
        ),
    )  # fmt: skip


async def listed(session: AsyncSession, rows: list[Any]) -> dict[str, Any]:
    assessments = [row.Assessment for row in rows]
    return {
        "rows": rows,
        "names": await queries.names_of(session, assessments),
        "authors": await author_names(session, [item.assessed_by for item in assessments]),
    }


@get("/arbeit/entwuerfe")
async def drafts_page(
    request: Request[Any, Any, Any], session: DbSession, done: Done = None
) -> Template | Redirect:
    """Meine Entwürfe: own drafts (to submit), own submitted ones, own rejected ones."""
    principal = principal_of(request)
    if not principal.authenticated:
        return to_login(request)
    user_id = user_of(principal)
    groups = {
        status: await listed(session, await queries.own_assessments(session, user_id, (status,)))
        for status in (Status.DRAFT.value, Status.SUBMITTED.value, Status.REJECTED.value)
    }
    return render(request, "maturity/entwuerfe.html", groups=groups, done=done)


@get("/arbeit/pruefung")
async def review_page(
    request: Request[Any, Any, Any], session: DbSession, done: Done = None
) -> Template | Redirect:
    """Zur Prüfung: submitted assessments within one's reviewer scopes, not one's own."""
    principal = principal_of(request)
    if not principal.authenticated:
        return to_login(request)
    scopes = principal.scopes(Role.REVIEWER)
    rows = await queries.to_review(session, scopes, user_of(principal))
    return render(
        request, "maturity/pruefung.html", reviewer=bool(scopes), **await listed(session, rows),
        done=done,
    )  # fmt: skip


@get("/arbeit/verlauf")
async def history_page(request: Request[Any, Any, Any], session: DbSession) -> Template | Redirect:
    """What one did: one's own audit entries, newest first."""
    principal = principal_of(request)
    if not principal.authenticated:
        return to_login(request)
    entries = await access_queries.list_audit(
        session, access_queries.AuditFilter(actor_user_id=user_of(principal)),
        limit=HISTORY_LENGTH,
    )  # fmt: skip
    places = sorted({
        str(value) for entry in entries for field, change in (entry.changes or {}).items()
        if field in ("ars", "scope_ars") for value in change if value is not None
    })  # fmt: skip
    return render(
        request, "maturity/verlauf.html", entries=entries, action_names=ACTION_LABELS,
        entity_names=ENTITY_LABELS, field_names=FIELD_LABELS, value_names=VALUE_LABELS,
        place_names=await regions_queries.scope_names(session, places),
    )  # fmt: skip


def visible(principal: Principal, assessment: Assessment) -> bool:
    """Validated ones are public; others only within an editor's or reviewer's scope."""
    scopes = principal.scopes(Role.EDITOR, Role.REVIEWER)
    return assessment.status == Status.VALIDATED or any(
        assessment.ars.startswith(scope) for scope in scopes
    )


async def detail(
    request: Request[Any, Any, Any], session: AsyncSession, assessment_id: int,
    *, error: str | None = None, comment: str = "",
) -> Template:  # fmt: skip
    principal = principal_of(request)
    row = await queries.get_assessment(session, assessment_id)
    assessment: Assessment = row.Assessment
    if not visible(principal, assessment) and not principal.authenticated:
        raise Unauthorized(  # a page: to the sign-in form, and back here after
            "Sign in to see this assessment.",
            german="Melden Sie sich an, um diese Bewertung zu sehen.",
        )
    if not visible(principal, assessment):
        raise NotFound(
            f"Assessment {assessment_id} does not exist.",
            german=f"Die Bewertung {assessment_id} gibt es nicht.",
        )
    named = await queries.names_of(session, [assessment])
    pair = named.get(assessment_id)
    current_ids = (
        []
        if pair is None
        else await pairs.current_of_pair(session, assessment.ars, pair.ozg_id, assessment.dimension)
    )
    current = await queries.assessments_by_ids(
        session, [number for number in current_ids if number != assessment_id]
    )
    shown = [assessment] + [item.Assessment for item in current]
    models = {assessment.model_id: await queries.model_by_id(session, assessment.model_id)}
    for item in shown:
        if item.model_id not in models:
            models[item.model_id] = await queries.model_by_id(session, item.model_id)
    own = is_own(principal, assessment)
    page = render(
        request, "maturity/bewertung.html", row=row, assessment=assessment, current=current,
        counted=assessment_id in current_ids, model=models[assessment.model_id], models=models,
        names=await queries.names_of(session, shown),
        authors=await author_names(
            session, [a for item in shown for a in (item.assessed_by, item.status_changed_by)]
        ) if principal.authenticated else {},
        provenance=await queries.provenance(session, [item.id for item in shown if item.id]),
        may_submit=own and assessment.status == Status.DRAFT
        and principal.may(Role.EDITOR, assessment.ars),
        may_review=not own and assessment.status == Status.SUBMITTED
        and principal.may(Role.REVIEWER, assessment.ars),
        may_record_anew=assessment.status == Status.REJECTED
        and principal.may(Role.EDITOR, assessment.ars),
        own=own, error=error, comment=comment, source_names=SOURCE_NAMES,
    )  # fmt: skip
    if error is not None:
        page.status_code = 422
    return page


def is_own(principal: Principal, assessment: Assessment) -> bool:
    return (
        principal.user_id is not None
        and access_queries.user_id_of(assessment.assessed_by) == principal.user_id
    )


@get(DETAIL_PATH)
async def assessment_page(
    request: Request[Any, Any, Any], assessment_id: RowId, session: DbSession
) -> Template:
    """One assessment: its criteria, evidence and review, beside the current one it would
    replace; the submit or review form where the reader may take that step."""
    return await detail(request, session, assessment_id)


@post(DETAIL_PATH + "/status", guards=[signed_in], status_code=303)
async def change_status_from_form(
    request: Request[Any, Any, Any], assessment_id: RowId, session: DbSession
) -> Template | Redirect:
    """Submit, validate or reject from the page; the page again with the reason on a refusal."""
    form = {name: str(value) for name, value in (await request.form()).items()}
    step = STEPS.get(form.get("step", ""))
    comment = form.get("comment", "").strip()
    version = form.get("version", "")
    try:
        if step is None:
            raise InvalidInput(
                "Unknown step.",
                german="Unbekannter Schritt: einreichen, freigeben oder zurückweisen.",
            )
        async with session.begin_nested():
            await actions.change_status(
                session, assessment_id, step.value, comment=comment or None,
                if_match=etag(int(version)) if ascii_digits(version) and len(version) < 10 else "",
                actor=principal_of(request),
            )  # fmt: skip
    except NotFound:
        raise
    except TrackerError as exc:
        return await detail(
            request,
            session,
            assessment_id,
            error=exc.in_language(language(request)),
            comment=comment,
        )
    target = "/arbeit/entwuerfe" if step is Step.SUBMIT else "/arbeit/pruefung"
    return Redirect(f"{target}?erledigt={assessment_id}-{STEP_DONE[step]}", status_code=303)


router = Router(
    "/",
    route_handlers=[
        account_page, drafts_page, review_page, history_page, assessment_page,
        change_status_from_form,
    ],
    include_in_schema=False,
)  # fmt: skip
