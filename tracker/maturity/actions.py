"""Writes of maturity: recording assessments (append-only) and moving them through review."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal, ensure
from tracker.access.models import Role
from tracker.catalog import queries as catalog_queries
from tracker.concurrency import compare_and_set, expected_version
from tracker.db import run
from tracker.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from tracker.fields import ascii_digits, check_moment
from tracker.maturity import applicability, pairs, queries, rules
from tracker.maturity.bulk import OWN_PREFIX
from tracker.maturity.models import (
    ApplicabilityOverride,
    Assessment,
    LevelMapping,
    MaturityModel,
    ModelCriterion,
    ModelLevel,
    MunicipalLeikaType,
    Source,
    Status,
    Step,
)
from tracker.maturity.schemas import AssessmentCreate, ModelDefinition
from tracker.regions import queries as regions_queries
from tracker.research import models as research_models
from tracker.webhooks import actions as webhooks_actions

MAX_TYPE_LENGTH = 10
MAX_CRITERION_NAME = 200

# German names of roles and states for the pages' messages.
ROLE_NAMES = {Role.EDITOR: "Bearbeiter", Role.REVIEWER: "Prüfer"}
STATUS_NAMES = {
    Status.DRAFT: "Entwurf", Status.SUBMITTED: "eingereicht", Status.VALIDATED: "freigegeben",
    Status.REJECTED: "abgelehnt",
}  # fmt: skip
# Which status each review step starts from, and where it leads.
TRANSITIONS = {
    Step.SUBMIT: (Status.DRAFT, Status.SUBMITTED, Role.EDITOR),
    Step.VALIDATE: (Status.SUBMITTED, Status.VALIDATED, Role.REVIEWER),
    Step.REJECT: (Status.SUBMITTED, Status.REJECTED, Role.REVIEWER),
}


async def check_finding_evidence(session: AsyncSession, refs: list[str]) -> None:
    """Evidence of kind `finding` names a published research finding by its id, so that the
    Reifegrad is explained by user research anyone may read."""
    for ref in refs:
        found = None
        if ascii_digits(ref) and len(ref) <= 9:
            found = await session.get(research_models.Finding, int(ref))
        if found is None or found.published_at is None:
            raise InvalidInput(f"Evidence finding {ref} is no published research finding.")


async def record_assessment(
    session: AsyncSession, data: AssessmentCreate, *, actor: Principal, source: Source = Source.SELF
) -> Assessment:
    ensure(
        actor.may(Role.EDITOR, data.ars), f"You are no editor for Gemeinde {data.ars}.",
        german=f"Sie haben keine Rolle als Bearbeiter für die Gemeinde {data.ars}.",
    )  # fmt: skip
    # a rule across two fields, which the spec cannot state: 422, not a malformed request
    if (data.leika_key is None) == (data.ozg_id is None):
        raise InvalidInput(
            "Give exactly one of leika_key and ozg_id.",
            german="Geben Sie genau eine Leistung an: OZG-ID oder LeiKa-Schlüssel.",
        )
    assessed_at = None
    if data.assessed_at is not None:
        try:
            assessed_at = check_moment(data.assessed_at)
        except ValueError as exc:
            raise InvalidInput(
                f"assessed_at {data.assessed_at.isoformat()} {exc}.",
                german=f"Das Bewertungsdatum {data.assessed_at.date().isoformat()} liegt in der "
                "Zukunft oder vor 2000.",
            ) from None
    await regions_queries.get_gemeinde(session, data.ars)
    leika_id = None
    if data.leika_key is not None:
        leika_id = (await catalog_queries.get_leika(session, data.leika_key)).id
    else:
        assert data.ozg_id is not None  # noqa: S101  (checked above)
        await catalog_queries.get_leistung(session, data.ozg_id)
    await check_finding_evidence(
        session, [item.ref for item in data.evidence if item.kind == "finding"]
    )
    loaded = await queries.model_for(session, data.dimension, data.model)
    scoring = rules.score(loaded.criteria, loaded.level_list, data.ratings)
    if data.external_id is not None and data.external_id.startswith(OWN_PREFIX):
        raise InvalidInput(f"External ids starting with {OWN_PREFIX} are given here, not sent.")
    if (
        data.external_id is not None
        and await queries.by_external_id(session, data.external_id) is not None
    ):
        raise Conflict(f"An assessment with the external id {data.external_id} exists already.")
    if data.corrects is not None:
        corrected = await session.get(Assessment, data.corrects)
        if corrected is None:
            raise NotFound(f"Assessment {data.corrects} does not exist.")
        same = (corrected.ars, corrected.leika_id, corrected.ozg_id, corrected.dimension)
        if same != (data.ars, leika_id, data.ozg_id, data.dimension.value):
            raise InvalidInput(
                f"Assessment {data.corrects} is about another Gemeinde, Leistung or dimension."
            )
    now = datetime.now(UTC)
    assessment = Assessment(
        external_id=data.external_id,
        ars=data.ars,
        leika_id=leika_id,
        ozg_id=data.ozg_id,
        dimension=data.dimension.value,
        model_id=loaded.model_id,
        ratings=dict(data.ratings),
        level=scoring.level,
        provisional=scoring.provisional,
        missing_criteria=scoring.missing,
        evidence=[item.model_dump() for item in data.evidence],
        source=source.value,
        corrects_id=data.corrects,
        assessed_at=assessed_at or now,
        assessed_by=actor.actor,
        comment=data.comment,
        status=(Status.SUBMITTED if data.submit else Status.DRAFT).value,
        status_changed_at=now,
        status_changed_by=actor.actor,
    )
    session.add(assessment)
    await session.flush()
    if assessment.external_id is None:
        assessment.external_id = f"{OWN_PREFIX}{assessment.id}"  # what bulk export writes
        await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="assessment", entity_id=assessment.id, action="create",
        changes={"ars": [None, data.ars], "level": [None, scoring.level],
                 "status": [None, assessment.status]},
    )  # fmt: skip
    return assessment


async def change_status(
    session: AsyncSession,
    assessment_id: int,
    step: str,
    *,
    comment: str | None,
    if_match: str | None,
    actor: Principal,
) -> Assessment:
    """submit (editor), validate or reject (reviewer, not the assessor: four eyes)."""
    assessment = await session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(
            f"Assessment {assessment_id} does not exist.",
            german=f"Die Bewertung {assessment_id} gibt es nicht.",
        )
    source, target, role = TRANSITIONS[Step(step)]
    ensure(
        actor.may(role, assessment.ars), f"You are no {role.value} for Gemeinde {assessment.ars}.",
        german=f"Sie haben keine Rolle als {ROLE_NAMES[role]} für die Gemeinde {assessment.ars}.",
    )  # fmt: skip
    expected_version(if_match, current=assessment.version)
    if assessment.status != source:
        raise Conflict(
            f"Assessment {assessment_id} is {assessment.status}; "
            f"only a {source.value} one can be {target.value}.",
            german=f"Die Bewertung {assessment_id} ist „{STATUS_NAMES[Status(assessment.status)]}“"
            f"; dieser Schritt geht nur im Stand „{STATUS_NAMES[source]}“.",
        )
    if target is not Status.SUBMITTED:
        ensure(
            assessment.assessed_by.split("/")[0] != actor.actor.split("/")[0],
            "Four eyes: the assessor cannot review the own assessment.",
            german="Vier-Augen-Prinzip: Wer bewertet hat, prüft die eigene Bewertung nicht.",
        )
    if target is Status.REJECTED and not comment:
        raise InvalidInput(
            "A rejection needs a comment saying why.",
            german="Eine Zurückweisung braucht eine Begründung.",
        )
    old_status = assessment.status
    await compare_and_set(
        session,
        assessment,
        assessment.version,
        {
            "status": target.value,
            "status_comment": comment,
            "status_changed_at": datetime.now(UTC),
            "status_changed_by": actor.actor,
        },
    )
    await access_actions.record_audit(
        session, actor=actor, entity="assessment", entity_id=assessment_id, action=step,
        changes={"status": [old_status, target.value], "comment": [None, comment]},
    )  # fmt: skip
    if target is Status.VALIDATED:
        await pairs.refresh_assessment(session, assessment)
    if target in (Status.VALIDATED, Status.REJECTED):
        await webhooks_actions.emit(
            session, f"assessment.{target.value}", assessment.ars, {
                "assessment_id": assessment_id, "ars": assessment.ars,
                "leika_id": assessment.leika_id, "ozg_id": assessment.ozg_id,
                "dimension": assessment.dimension, "level": assessment.level,
                "status": target.value, "comment": comment,
            },
        )  # fmt: skip
    return assessment


async def add_model(session: AsyncSession, data: ModelDefinition, *, actor: str) -> MaturityModel:
    """A new model version from data; never the default (that stays a reviewed decision)."""
    existing = select(col(MaturityModel.id)).where(col(MaturityModel.key) == data.key)
    if (await run(session, existing)).first() is not None:
        raise Conflict(f"A model with the key {data.key} exists already.")
    model = MaturityModel(
        key=data.key, dimension=data.dimension.value, name=data.name, version=data.version,
        verified=data.verified, source=data.source, is_default=False,
    )  # fmt: skip
    session.add(model)
    await session.flush()
    assert model.id is not None  # noqa: S101  (flushed)
    session.add_all(ModelLevel(model_id=model.id, **level.model_dump()) for level in data.levels)
    session.add_all(
        ModelCriterion(model_id=model.id, position=position, **criterion.model_dump())
        for position, criterion in enumerate(data.criteria, start=1)
    )
    own_levels = {level.level for level in data.levels}
    for other_key, levels in data.mapping.items():
        other = await queries.model_for(session, data.dimension.value, other_key)
        for source, target in levels.items():
            if not ascii_digits(source) or int(source) not in own_levels:
                raise InvalidInput(f"mapping.{other_key}: {source} is no level of {data.key}.")
            if target not in other.level_names:
                raise InvalidInput(f"mapping.{other_key}: {target} is no level of {other_key}.")
            session.add(LevelMapping(
                from_model_id=model.id, from_level=int(source), to_model_id=other.model_id,
                to_level=target, verified=data.verified,
            ))  # fmt: skip
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="maturity_model", entity_id=model.id, action="create",
        changes={"key": [None, data.key], "levels": [None, len(data.levels)],
                 "criteria": [None, len(data.criteria)]},
    )  # fmt: skip
    return model


# --- applicability overrides: writes ----------------------------------------------------------


async def set_override(
    session: AsyncSession,
    ars: str,
    ozg_id: str,
    *,
    applicable: bool,
    reason: str,
    if_match: str | None,
    actor: Principal,
) -> tuple[ApplicabilityOverride, bool]:
    """Create (no If-Match needed) or change (If-Match) the override; True when created."""
    ensure(actor.may(Role.EDITOR, ars), f"You are no editor for Gemeinde {ars}.")
    await regions_queries.get_gemeinde(session, ars)
    await catalog_queries.get_leistung(session, ozg_id)
    now = datetime.now(UTC)
    found = await applicability.get_override(session, ars, ozg_id)
    if found is None:
        if if_match is not None and if_match.strip() != "*":
            raise PreconditionFailed(f"Gemeinde {ars} has no override for {ozg_id} to match.")
        found = ApplicabilityOverride(
            ars=ars, ozg_id=ozg_id, applicable=applicable, reason=reason, set_at=now,
            set_by=actor.actor,
        )  # fmt: skip
        session.add(found)
        await session.flush()
        changes = {"applicable": [None, applicable], "reason": [None, reason]}
        action = "create"
    else:
        version = expected_version(if_match, current=found.version)
        changes = {"applicable": [found.applicable, applicable], "reason": [found.reason, reason]}
        await compare_and_set(
            session, found, version,
            {"applicable": applicable, "reason": reason, "set_at": now, "set_by": actor.actor},
        )  # fmt: skip
        action = "update"
    await access_actions.record_audit(
        session, actor=actor, entity="applicability_override", entity_id=found.id,
        action=action, changes=changes,
    )  # fmt: skip
    await pairs.refresh(session, ars=[ars], ozg_ids=[ozg_id])
    await webhooks_actions.emit(
        session, "applicability.changed", ars,
        {"ars": ars, "ozg_id": ozg_id, "applicable": applicable, "reason": reason},
    )  # fmt: skip
    return found, action == "create"


async def clear_override(
    session: AsyncSession, ars: str, ozg_id: str, *, if_match: str | None, actor: Principal
) -> None:
    """Back to the default; the audit keeps what was there."""
    ensure(actor.may(Role.EDITOR, ars), f"You are no editor for Gemeinde {ars}.")
    found = await applicability.get_override(session, ars, ozg_id)
    if found is None:
        raise NotFound(f"Gemeinde {ars} has no override for {ozg_id}.")
    version = expected_version(if_match, current=found.version)
    statement = delete(ApplicabilityOverride).where(
        col(ApplicabilityOverride.id) == found.id, col(ApplicabilityOverride.version) == version
    )
    if (await run(session, statement)).rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("The override has changed since you read it; read it again.")
    await access_actions.record_audit(
        session, actor=actor, entity="applicability_override", entity_id=found.id,
        action="delete", changes={"applicable": [found.applicable, None],
                                  "reason": [found.reason, None]},
    )  # fmt: skip
    await pairs.refresh(session, ars=[ars], ozg_ids=[ozg_id])
    await webhooks_actions.emit(
        session, "applicability.changed", ars,
        {"ars": ars, "ozg_id": ozg_id, "applicable": None, "reason": None},
    )  # fmt: skip


# --- the LeiKa-Typ codes that apply to Gemeinden ---------------------------------------------


async def change_municipal_types(
    session: AsyncSession, *, add: Iterable[str], remove: Iterable[str], actor: str
) -> frozenset[str]:
    """Add and remove LeiKa-Typ codes whose services apply to Gemeinden; audited, and every
    pair level rebuilt in the same transaction. Returns the codes now."""
    before = await applicability.municipal_types(session)
    wanted = (before | {code.strip() for code in add}) - {code.strip() for code in remove}
    for code in sorted(wanted):
        if not code or len(code) > MAX_TYPE_LENGTH or "\x00" in code:
            raise InvalidInput(
                f"{code!r} is no LeiKa-Typ code (1 to {MAX_TYPE_LENGTH} characters)."
            )
    if wanted == before:
        return before
    now = datetime.now(UTC)
    if wanted - before:
        session.add_all(
            MunicipalLeikaType(code=code, added_at=now, added_by=actor)
            for code in sorted(wanted - before)
        )
    if before - wanted:
        await run(
            session,
            delete(MunicipalLeikaType).where(col(MunicipalLeikaType.code).in_(before - wanted)),
        )
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="municipal_leika_type", entity_id="*", action="update",
        changes={"codes": [sorted(before), sorted(wanted)]},
    )  # fmt: skip
    await pairs.rebuild(session)
    return frozenset(wanted)


async def name_criterion(
    session: AsyncSession,
    model_key: str,
    criterion_key: str,
    *,
    name: str,
    description: str | None,
    actor: str,
) -> ModelCriterion:
    """Name a criterion from the official source: no longer a stand-in, so the form shows it."""
    name = name.strip()
    if not name or len(name) > MAX_CRITERION_NAME or "\x00" in name:
        raise InvalidInput(f"A criterion's name has 1 to {MAX_CRITERION_NAME} characters.")
    statement = (
        select(ModelCriterion)
        .join(MaturityModel, col(MaturityModel.id) == col(ModelCriterion.model_id))
        .where(col(MaturityModel.key) == model_key, col(ModelCriterion.key) == criterion_key)
    )
    criterion: ModelCriterion | None = (await run(session, statement)).scalars().first()
    if criterion is None:
        raise NotFound(f"Model {model_key} has no criterion {criterion_key}.")
    changes = {"name": [criterion.name, name], "placeholder": [criterion.placeholder, False]}
    if description is not None:
        changes["description"] = [criterion.description, description]
        criterion.description = description
    criterion.name = name
    criterion.placeholder = False
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="model_criterion", entity_id=criterion.id, action="update",
        changes=changes,
    )  # fmt: skip
    return criterion
