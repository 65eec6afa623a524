"""Nobody acts outside the scope they were given, on every write route, whatever the role.

The catalogue below names a request on a Leipzig (Sachsen) target for every write route of the
API; a new route without an entry fails `test_the_catalogue_names_every_write_route`. Each
request is then sent with a token narrowed to NRW for every role (superadmin included), and with
a browser session (no bearer, no CSRF token): none may succeed or write anything. An un-narrowed
superadmin token then sends the same requests and succeeds, which shows that each request is
well-formed and would have worked with the power to do it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_pages import PASSWORD, csrf_token
from tests.access.test_routes import write_routes
from tests.builders import Client, add_token, add_user, bearer
from tracker.access import queries as access_queries
from tracker.access.guards import Grant, Principal
from tracker.access.models import ApiToken, AuditEntry, Role
from tracker.app import create_app
from tracker.db import run
from tracker.demands import actions as demands_actions
from tracker.demands.schemas import (
    ActionCreate,
    CatalogueDefinition,
    LinkCreate,
    MilestoneCreate,
)
from tracker.jobs.models import Job
from tracker.maturity import actions as maturity_actions
from tracker.maturity.schemas import AssessmentCreate
from tracker.research import actions as research_actions
from tracker.research import schemas as research_schemas
from tracker.settings import Settings
from tracker.webhooks import actions as webhooks_actions
from tracker.webhooks.models import WebhookDelivery

LEIPZIG = "147130000000"
ELTERNGELD = "99041006000000"  # LeiKa key of OZG-Leistung 10000 (Elterngeld)
RATINGS = {
    "leistungsbeschreibung": 4, "antragsprozess": 4, "nutzerkonto": 4, "authentifizierung": 4,
    "bezahlprozess": "n/a", "nachweise": 3,
}  # fmt: skip
CSV_ROW = (
    "external_id,ars,leika_key,dimension,ratings,assessed_at\n"
    f"matrix-1,{LEIPZIG},{ELTERNGELD},online,"
    + "; ".join(f"{key}={value}" for key, value in RATINGS.items())
    + ",2025-06-01\n"
)
ANY = {"If-Match": "*"}


@dataclass(frozen=True)
class Target:
    """Objects in Leipzig that the requests act on."""

    user: int
    grant: int
    token: int
    assessment: int
    action: int  # a Maßnahme of Leipzig's own demand catalogue
    milestone: int
    link: int
    webhook: int  # a subscription to Leipzig's events
    delivery: int
    job: int  # a dead job (jobs span scopes: only admins without a scope limit retry it)
    study: int = 1
    participant: int = 1
    observation: int = 1
    finding: int = 1
    recommendation: int = 1
    kpi: int = 1


def catalogue(t: Target) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(method, route path) → (URL, request keywords) acting on Leipzig. Order matters for the
    succeeding run: the removals come last."""
    applicability = f"/api/v1/gemeinden/{LEIPZIG}/leistungen/10000/applicability"
    action = f"/api/v1/actions/{t.action}"
    return {
        ("POST", "/api/v1/users"): ("/api/v1/users", {"json": {
            "email": "neu@leipzig.de", "display_name": "Neu",
            "grants": [{"role": "editor", "scope_ars": LEIPZIG}],
        }}),
        ("PATCH", "/api/v1/users/{user_id:int}"): (
            f"/api/v1/users/{t.user}", {"json": {"display_name": "Übernommen"}, "headers": ANY}
        ),
        ("POST", "/api/v1/users/{user_id:int}/grants"): (
            f"/api/v1/users/{t.user}/grants",
            {"json": {"role": "reviewer", "scope_ars": LEIPZIG}},
        ),
        ("POST", "/api/v1/tokens"): ("/api/v1/tokens", {"json": {"name": "x", "scope_ars": "14"}}),
        ("POST", "/api/v1/assessments"): ("/api/v1/assessments", {"json": {
            "ars": LEIPZIG, "leika_key": ELTERNGELD, "dimension": "online", "ratings": RATINGS,
        }}),
        ("POST", "/api/v1/assessments/import"): (
            "/api/v1/assessments/import",
            {"content": CSV_ROW.encode(), "headers": {"Content-Type": "text/csv"}},
        ),
        ("POST", "/api/v1/assessments/{assessment_id:int}/{step:str}"): (
            f"/api/v1/assessments/{t.assessment}/validate", {"json": {}, "headers": ANY}
        ),
        ("PUT", "/api/v1/gemeinden/{ars:str}/leistungen/{ozg_id:str}/applicability"): (
            applicability, {"json": {"applicable": False, "reason": "Nicht zuständig."}}
        ),
        ("DELETE", "/api/v1/gemeinden/{ars:str}/leistungen/{ozg_id:str}/applicability"): (
            applicability, {"headers": ANY}
        ),
        ("POST", "/api/v1/demand-catalogues"): ("/api/v1/demand-catalogues", {"json": {
            "key": "leipzig-2030", "version": "1", "title": {"de": "Leipzig 2030"},
            "scope_ars": LEIPZIG, "demands": [{"key": "LE2030-1", "title": {"de": "Feld 1"}}],
        }}),
        ("POST", "/api/v1/demand-catalogues/{key:str}/backlog"): (
            "/api/v1/demand-catalogues/leipzig-digital/backlog",
            {"content": b"record,action,demand,title_de,responsible_level\r\n"
                        b"action,le-backlog-1,LE-1,Terminbuchung,kommune\r\n",
             "headers": {"Content-Type": "text/csv"}},
        ),
        ("PATCH", "/api/v1/demands/{key:str}"): (
            "/api/v1/demands/LE-1", {"json": {"weight": 2}, "headers": ANY}
        ),
        ("POST", "/api/v1/demands/{key:str}/actions"): ("/api/v1/demands/LE-1/actions", {"json": {
            "title": {"de": "Neue Maßnahme"}, "responsible_level": "kommune",
        }}),
        ("PATCH", "/api/v1/actions/{action_id:int}"): (
            action, {"json": {"weight": 2}, "headers": ANY}
        ),
        ("POST", "/api/v1/actions/{action_id:int}/status"): (
            f"{action}/status", {"json": {"status": "accepted"}, "headers": ANY}
        ),
        ("POST", "/api/v1/actions/{action_id:int}/milestones"): (
            f"{action}/milestones", {"json": {"due_date": "2027-01-31", "title": {"de": "M"}}}
        ),
        ("PATCH", "/api/v1/milestones/{milestone_id:int}"): (
            f"/api/v1/milestones/{t.milestone}", {"json": {"done_at": "2026-01-05"}, "headers": ANY}
        ),
        ("PUT", "/api/v1/actions/{action_id:int}/gemeinden/{ars:str}"): (
            f"{action}/gemeinden/{LEIPZIG}", {"json": {"status": "in_progress", "progress": 5}}
        ),
        ("POST", "/api/v1/actions/{action_id:int}/links"): (
            f"{action}/links", {"json": {"kind": "leistung", "target": "10000", "reason": "Kern"}}
        ),
        ("DELETE", "/api/v1/actions/{action_id:int}/links/{link_id:int}"): (
            f"{action}/links/{t.link}", {}
        ),
        ("POST", "/api/v1/webhooks"): ("/api/v1/webhooks", {"json": {
            "url": "https://hooks.leipzig.de/tracker", "event_types": ["assessment.validated"],
            "ars_prefix": LEIPZIG,
        }}),
        ("POST", "/api/v1/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver"): (
            f"/api/v1/webhooks/{t.webhook}/deliveries/{t.delivery}/redeliver", {}
        ),
        ("DELETE", "/api/v1/webhooks/{webhook_id:int}"): (f"/api/v1/webhooks/{t.webhook}", {}),
        ("POST", "/api/v1/jobs/{job_id:int}/retry"): (f"/api/v1/jobs/{t.job}/retry", {}),
        ("POST", "/api/v1/studies"): ("/api/v1/studies", {"json": {
            "title": "Neue Studie", "question": "Warum?", "method": "interview",
            "gemeinden": [LEIPZIG],
        }}),
        ("PATCH", "/api/v1/studies/{study_id:int}"): (
            f"/api/v1/studies/{t.study}", {"json": {"status": "running"}, "headers": ANY}
        ),
        ("POST", "/api/v1/studies/{study_id:int}/participants"): (
            f"/api/v1/studies/{t.study}/participants",
            {"json": {"code": "P99", "user_group": "Bürger:in",
                      "consent": {"given_on": "2026-01-05"}}},
        ),
        ("PATCH", "/api/v1/participants/{participant_id:int}"): (
            f"/api/v1/participants/{t.participant}",
            {"json": {"age_band": "60+"}, "headers": ANY},
        ),
        ("POST", "/api/v1/observations"): ("/api/v1/observations", {"json": {
            "study_id": t.study, "kind": "note", "text": "Neue Notiz",
        }}),
        ("POST", "/api/v1/studies/{study_id:int}/observations/import"): (
            f"/api/v1/studies/{t.study}/observations/import",
            {"content": b"external_id,kind,text\nm-1,note,Notiz\n",
             "headers": {"Content-Type": "text/csv"}},
        ),
        ("PATCH", "/api/v1/observations/{observation_id:int}"): (
            f"/api/v1/observations/{t.observation}",
            {"json": {"journey_step": "Bezahlen"}, "headers": ANY},
        ),
        ("POST", "/api/v1/findings"): ("/api/v1/findings", {"json": {
            "statement": "Zweite Erkenntnis", "severity": 2, "gemeinden": [LEIPZIG],
            "observations": [t.observation],
        }}),
        ("PATCH", "/api/v1/findings/{finding_id:int}"): (
            f"/api/v1/findings/{t.finding}", {"json": {"severity": 3}, "headers": ANY}
        ),
        ("POST", "/api/v1/findings/{finding_id:int}/reject"): (
            f"/api/v1/findings/{t.finding}/reject", {"json": {"reason": "Beleg?"}, "headers": ANY}
        ),
        ("POST", "/api/v1/findings/{finding_id:int}/publish"): (
            f"/api/v1/findings/{t.finding}/publish", {"headers": ANY}
        ),
        ("POST", "/api/v1/recommendations"): ("/api/v1/recommendations", {"json": {
            "text": "Mehr testen", "responsible_level": "kommune", "findings": [t.finding],
        }}),
        ("PATCH", "/api/v1/recommendations/{recommendation_id:int}"): (
            f"/api/v1/recommendations/{t.recommendation}",
            {"json": {"responsible_level": "land"}, "headers": ANY},
        ),
        ("POST", "/api/v1/recommendations/{recommendation_id:int}/reject"): (
            f"/api/v1/recommendations/{t.recommendation}/reject",
            {"json": {"reason": "Zu vage"}, "headers": ANY},
        ),
        ("POST", "/api/v1/recommendations/{recommendation_id:int}/publish"): (
            f"/api/v1/recommendations/{t.recommendation}/publish", {"headers": ANY}
        ),
        ("POST", "/api/v1/kpis"): ("/api/v1/kpis", {"json": {
            "ozg_id": "10000", "ars": LEIPZIG, "kind": "visits", "value": 100,
            "measured_on": "2026-01-05", "source": "Webanalyse",
        }}),
        ("PATCH", "/api/v1/kpis/{kpi_id:int}"): (
            f"/api/v1/kpis/{t.kpi}", {"json": {"value": 120}, "headers": ANY}
        ),
        ("POST", "/api/v1/participants/{participant_id:int}/withdraw-consent"): (
            f"/api/v1/participants/{t.participant}/withdraw-consent", {}
        ),
        ("DELETE", "/api/v1/tokens/{token_id:int}"): (
            f"/api/v1/tokens/{t.token}", {"headers": ANY}
        ),
        ("DELETE", "/api/v1/users/{user_id:int}/grants/{grant_id:int}"): (
            f"/api/v1/users/{t.user}/grants/{t.grant}", {}
        ),
    }  # fmt: skip


# Reads that need a role: refused behind a narrowed token as the writes are.
SCOPED_READS = ("/api/v1/audit", "/api/v1/jobs")


async def leipzig(session: AsyncSession) -> Target:
    editor = await add_user(session, "editor@leipzig.de", [("editor", LEIPZIG)])
    assert editor.id is not None
    await add_token(session, editor)
    token = await run(session, select(ApiToken).where(col(ApiToken.user_id) == editor.id))
    grants = (await access_queries.grants_of(session, [editor.id]))[editor.id]
    principal = await access_queries.principal_for_user(session, editor.id)
    assert principal is not None
    data = AssessmentCreate.model_validate(
        {"ars": LEIPZIG, "leika_key": ELTERNGELD, "dimension": "online", "ratings": RATINGS}
    )
    assessment = await maturity_actions.record_assessment(session, data, actor=principal)
    assessment.status = "submitted"
    strategy = CatalogueDefinition.model_validate({
        "key": "leipzig-digital", "version": "1", "title": {"de": "Digitales Leipzig"},
        "scope_ars": LEIPZIG, "demands": [{"key": "LE-1", "title": {"de": "Handlungsfeld 1"}}],
    })  # fmt: skip
    await demands_actions.create_catalogue(session, strategy, actor="test")
    action = await demands_actions.create_action(
        session, "LE-1", ActionCreate.model_validate(
            {"title": {"de": "Kfz-Zulassung anbinden"}, "responsible_level": "kommune"}
        ), actor="test",
    )  # fmt: skip
    assert action.id is not None
    milestone = await demands_actions.add_milestone(
        session, action.id,
        MilestoneCreate.model_validate({"due_date": "2026-12-31", "title": {"de": "Start"}}),
        actor="test",
    )  # fmt: skip
    link = await demands_actions.add_link(
        session, action.id,
        LinkCreate.model_validate({"kind": "gemeinde", "target": LEIPZIG, "reason": "Pilot"}),
        actor="test",
    )  # fmt: skip
    hook = await webhooks_actions.create_subscription(
        session, url="https://hooks.leipzig.de/a", event_types=["assessment.validated"],
        ars_prefix=LEIPZIG, actor=Principal(grants=(Grant("superadmin", ""),)),
        allowed_networks=(),
    )  # fmt: skip
    await webhooks_actions.emit(session, "assessment.validated", LEIPZIG, {"test": True})
    delivery = (await run(session, select(WebhookDelivery))).scalars().one()
    dead = Job.model_validate({
        "kind": "test.dead", "status": "dead", "attempts": 5, "run_at": hook.created_at,
        "created_at": hook.created_at, "last_error": "RuntimeError: away",
    })  # fmt: skip
    session.add(dead)
    research = await leipzig_research(session)
    await session.commit()
    token_id = token.scalars().one().id
    assert grants[0].id is not None
    assert token_id is not None
    assert assessment.id is not None
    assert milestone.id is not None
    assert link.id is not None
    assert hook.id is not None
    assert delivery.id is not None
    assert dead.id is not None
    return Target(
        user=editor.id, grant=grants[0].id, token=token_id, assessment=assessment.id,
        action=action.id, milestone=milestone.id, link=link.id, webhook=hook.id,
        delivery=delivery.id, job=dead.id, **research,
    )  # fmt: skip


async def leipzig_research(session: AsyncSession) -> dict[str, int]:
    """A Leipzig study with a participant, an observation, a finding, a recommendation, a KPI."""
    data = {"title": "Kfz", "question": "Warum?", "method": "interview", "gemeinden": [LEIPZIG]}
    study = await research_actions.create_study(
        session, research_schemas.StudyCreate.model_validate(data), actor="test"
    )
    assert study.id is not None
    participant = await research_actions.add_participant(
        session, study.id, research_schemas.ParticipantCreate.model_validate(
            {"code": "P01", "user_group": "Bürger:in",
             "consent": {"given_on": "2026-01-05", "publication": True}}
        ), actor="test",
    )  # fmt: skip
    observation = await research_actions.record_observation(
        session, research_schemas.ObservationCreate.model_validate({
            "study_id": study.id, "participant_id": participant.id, "kind": "note",
            "text": "Notiz",
        }), actor="test", today=date(2026, 1, 5),
    )  # fmt: skip
    assert observation.id is not None
    finding = await research_actions.create_finding(
        session, research_schemas.FindingCreate.model_validate({
            "statement": "Erkenntnis", "severity": 3, "gemeinden": [LEIPZIG],
            "observations": [observation.id],
        }), actor="test",
    )  # fmt: skip
    assert finding.id is not None
    recommendation = await research_actions.create_recommendation(
        session, research_schemas.RecommendationCreate.model_validate(
            {"text": "Ändern", "responsible_level": "kommune", "findings": [finding.id]}
        ), actor="test",
    )  # fmt: skip
    kpi = await research_actions.record_kpi(session, research_schemas.KpiCreate.model_validate({
        "ozg_id": "10000", "ars": LEIPZIG, "kind": "completion_rate", "value": 0.4,
        "measured_on": "2026-01-05", "source": "Webanalyse",
    }), actor="test")  # fmt: skip
    assert participant.id is not None
    assert recommendation.id is not None
    assert kpi.id is not None
    return {
        "study": study.id, "participant": participant.id, "observation": observation.id,
        "finding": finding.id, "recommendation": recommendation.id, "kpi": kpi.id,
    }  # fmt: skip


async def audit_count(session: AsyncSession) -> int:
    return int((await run(session, select(func.count()).select_from(AuditEntry))).scalar_one())


def test_the_catalogue_names_every_write_route(settings: Settings) -> None:
    api_routes = {
        (method, path)
        for method, path, _ in write_routes(create_app(settings))
        if path.startswith("/api/")
    }
    assert api_routes == set(catalogue(Target(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)))


async def test_narrowed_tokens_act_only_within_their_scope(
    client: Client, session: AsyncSession
) -> None:
    target = await leipzig(session)
    narrowed = {}
    for role in Role:
        holder = await add_user(session, f"{role.value}@bund.de", [(role.value, "")])
        narrowed[role.value] = bearer(await add_token(session, holder, scope="05"))
    superadmin = await add_user(session, "chef@bund.de", [("superadmin", "")])
    whole = bearer(await add_token(session, superadmin))
    await session.commit()
    requests = catalogue(target)

    before = await audit_count(session)
    for name, headers in narrowed.items():
        for (method, path), (url, keywords) in requests.items():
            sent = {**keywords, "headers": {**keywords.get("headers", {}), **headers}}
            response = await client.request(method, url, **sent)
            assert response.status_code in (403, 404, 422), f"{name}: {method} {path}"
            assert response.headers["content-type"].startswith("application/problem+json")
        for url in SCOPED_READS:
            assert (await client.get(url, headers=headers)).status_code == 403, f"{name}: {url}"
    assert await audit_count(session) == before, "a refused request wrote something"

    for (method, path), (url, keywords) in requests.items():
        sent = {**keywords, "headers": {**keywords.get("headers", {}), **whole}}
        response = await client.request(method, url, **sent)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        if path == "/api/v1/assessments/import":
            assert response.json()["inserted"] == 1, response.text
    for url in SCOPED_READS:
        assert (await client.get(url, headers=whole)).status_code == 200


async def test_a_narrowed_token_mints_only_narrower_shorter_tokens(
    client: Client, session: AsyncSession
) -> None:
    boss = await add_user(session, "chef@bund.de", [("superadmin", "")])
    sachsen = bearer(await add_token(session, boss, scope="14", days=2))
    await session.commit()
    inherited = await client.post("/api/v1/tokens", json={"name": "x"}, headers=sachsen)
    assert inherited.status_code == 201, inherited.text
    assert inherited.json()["scope_ars"] == "14"
    longer = await client.post(
        "/api/v1/tokens", json={"name": "y", "expires_in_days": 300}, headers=sachsen
    )
    assert longer.status_code == 201
    assert longer.json()["expires_at"] <= inherited.json()["expires_at"]
    leipzig_only = await client.post(
        "/api/v1/tokens", json={"name": "z", "scope_ars": LEIPZIG}, headers=sachsen
    )
    assert leipzig_only.status_code == 201
    wider = await client.post(
        "/api/v1/tokens", json={"name": "w", "scope_ars": ""}, headers=sachsen
    )
    assert wider.status_code == 403
    child = bearer(inherited.json()["token"])
    koeln = {"ars": "053150000000", "leika_key": ELTERNGELD, "dimension": "online"}
    written = await client.post(
        "/api/v1/assessments", json={**koeln, "ratings": RATINGS}, headers=child
    )
    assert written.status_code == 403


async def test_scoped_admins_cannot_take_over_users_with_roles_elsewhere(
    client: Client, session: AsyncSession
) -> None:
    sachsen_admin = bearer(
        await add_token(session, await add_user(session, "admin@sachsen.de", [("admin", "14")]))
    )
    boss = await add_user(
        session, "chef@bund.de", [("superadmin", ""), ("editor", "146120000000")], password=PASSWORD
    )
    mixed = await add_user(session, "both@de.de", [("editor", LEIPZIG), ("editor", "053150000000")])
    own = await add_user(session, "own@leipzig.de", [("editor", LEIPZIG)])
    global_admin = bearer(
        await add_token(session, await add_user(session, "admin@bund.de", [("admin", "")]))
    )
    await session.commit()
    new_password = {"password": "a completely new secret"}
    for user in (boss, mixed):
        for body in (new_password, {"is_active": False}, {"display_name": "Weg"}):
            refused = await client.patch(
                f"/api/v1/users/{user.id}", json=body, headers={**sachsen_admin, **ANY}
            )
            assert refused.status_code == 403, (user.email, body)
    # a user wholly within the scope: the admin manages it, but not its password
    renamed = await client.patch(
        f"/api/v1/users/{own.id}", json={"display_name": "Olaf"}, headers={**sachsen_admin, **ANY}
    )
    assert renamed.status_code == 200
    password = await client.patch(
        f"/api/v1/users/{own.id}", json=new_password, headers={**sachsen_admin, **ANY}
    )
    assert password.status_code == 403
    by_global = await client.patch(
        f"/api/v1/users/{own.id}", json=new_password, headers={**global_admin, **ANY}
    )
    assert by_global.status_code == 200
    # a global admin who is no superadmin does not change a superadmin
    superadmin = await client.patch(
        f"/api/v1/users/{boss.id}", json=new_password, headers={**global_admin, **ANY}
    )
    assert superadmin.status_code == 403


async def sign_in(client: Client, email: str, password: str = PASSWORD) -> None:
    token = csrf_token((await client.get("/anmelden")).text)
    answer = await client.post(
        "/anmelden", data={"email": email, "password": password, "_csrf_token": token}
    )
    assert answer.status_code == 303


async def test_a_browser_session_writes_no_api_and_no_form_without_csrf(
    client: Client, session: AsyncSession, settings: Settings
) -> None:
    target = await leipzig(session)
    await add_user(session, "chef@bund.de", [("superadmin", "")], password=PASSWORD)
    await session.commit()
    await sign_in(client, "chef@bund.de")
    assert (await client.get("/api/v1/me")).status_code == 200  # reads work with the cookie
    before = await audit_count(session)
    for (method, path), (url, keywords) in catalogue(target).items():
        response = await client.request(method, url, **keywords)
        assert response.status_code == 401, f"{method} {path}"
    # what a form on another site of the same host could send
    plain = await client.post(
        "/api/v1/assessments",
        content='{"ars": "147130000000", "x": "=1"}',
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status_code == 401
    for method, path, _ in write_routes(create_app(settings)):
        if path.startswith("/api/") or path == "/anmelden":
            continue
        url = (
            path.replace("{ars:str}", LEIPZIG)
            .replace("{action_id:int}", str(target.action))
            .replace("{assessment_id:int}", str(target.assessment))
            .replace("{study_id:int}", str(target.study))
            .replace("{kind:str}/{row_id:int}", f"erkenntnisse/{target.finding}")
        )
        assert (await client.request(method, url, data={})).status_code == 403, path
    assert await audit_count(session) == before


async def test_sign_out_and_a_new_password_end_sessions(
    client: Client, session: AsyncSession, settings: Settings
) -> None:
    eva = await add_user(session, "eva@leipzig.de", [("editor", LEIPZIG)], password=PASSWORD)
    admin = bearer(
        await add_token(session, await add_user(session, "admin@bund.de", [("admin", "")]))
    )
    await session.commit()
    await sign_in(client, "eva@leipzig.de")
    copied = dict(client.cookies)
    start = await client.get("/")
    assert (
        await client.post("/abmelden", data={"_csrf_token": csrf_token(start.text)})
    ).status_code == 303
    client.cookies.clear()
    client.cookies.update(copied)  # a copy of the cookie taken before signing out
    assert (await client.get("/api/v1/me")).status_code == 401

    client.cookies.clear()
    await sign_in(client, "eva@leipzig.de")
    assert (await client.get("/api/v1/me")).status_code == 200
    changed = await client.patch(
        f"/api/v1/users/{eva.id}",
        json={"password": "another long secret"},
        headers={**admin, **ANY},
    )
    assert changed.status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401

    client.cookies.clear()
    await sign_in(client, "eva@leipzig.de", "another long secret")
    grant = (await client.get(f"/api/v1/users/{eva.id}", headers=admin)).json()["grants"][0]
    removed = await client.delete(f"/api/v1/users/{eva.id}/grants/{grant['id']}", headers=admin)
    assert removed.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_scoped_admin_cannot_tell_who_exists_elsewhere(
    client: Client, session: AsyncSession
) -> None:
    sachsen_admin = bearer(
        await add_token(session, await add_user(session, "admin@sachsen.de", [("admin", "14")]))
    )
    await add_user(session, "eva@essen.de", [("editor", "051130000000")], password=PASSWORD)
    await session.commit()
    answers = []
    for email in ("eva@essen.de", "niemand@leipzig.de"):
        body = {
            "email": email, "display_name": "Neu", "password": "a brand new secret",
            "grants": [{"role": "editor", "scope_ars": LEIPZIG}],
        }  # fmt: skip
        answer = await client.post("/api/v1/users", json=body, headers=sachsen_admin)
        answers.append(answer)
        assert answer.status_code == 201, answer.text
        assert [g["scope_ars"] for g in answer.json()["grants"]] == [LEIPZIG]
    # the person in Essen got the Leipzig role and kept her password and her Essen role
    await sign_in(client, "eva@essen.de")
    me = (await client.get("/api/v1/me")).json()
    assert {(g["role"], g["scope_ars"]) for g in me["grants"]} == {
        ("editor", "051130000000"), ("editor", LEIPZIG),
    }  # fmt: skip
    without_role = await client.post(
        "/api/v1/users",
        json={"email": "eva@essen.de", "display_name": "X"},
        headers=sachsen_admin,
    )
    assert without_role.status_code == 403
