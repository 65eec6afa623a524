"""Writes of research. Who may write is decided here: researchers whose scope covers every
Gemeinde of the study, finding or KPI (`ensure_researches`); a reviewer who is not the author
publishes. Participant records refuse anything that looks like personal data. The audit log
never holds observation content, so that an erasure leaves no copy of the erased text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal, ensure
from tracker.access.models import Role
from tracker.catalog import queries as catalog_queries
from tracker.concurrency import compare_and_set, expected_version
from tracker.db import run
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.links import check_link_target
from tracker.regions import queries as regions_queries
from tracker.research import queries
from tracker.research.models import (
    PARTICIPANT_FIELDS_DE,
    USER_GROUPS,
    Finding,
    FindingObservation,
    FindingStatus,
    Kpi,
    Link,
    Observation,
    ObservationKind,
    Participant,
    Recommendation,
    RecommendationFinding,
    ResearchEvent,
    Study,
    Subject,
    SubjectKind,
)
from tracker.research.redaction import GERMAN_REASONS, Redacted, find_personal_data, redact
from tracker.research.schemas import (
    FindingCreate,
    FindingPatch,
    KpiCreate,
    KpiPatch,
    ObservationCreate,
    ObservationPatch,
    ParticipantCreate,
    ParticipantPatch,
    RecommendationCreate,
    RecommendationPatch,
    ResearchLinkCreate,
    StudyCreate,
    StudyPatch,
)
from tracker.search import search_key
from tracker.webhooks import actions as webhooks_actions

Actor = Principal | str  # a user, or the CLI
ERASED_FIELDS: dict[str, Any] = {
    "text": None, "metric_value": None, "metric_unit": None, "media_uri": None,
    "media_timecode": None, "tags": [], "search_text": "",
}  # fmt: skip


# what a participant's consent must cover for each kind of observation (a metric is a note)
CONSENT_FOR: dict[str, str] = {
    ObservationKind.NOTE: "notes", ObservationKind.METRIC: "notes",
    ObservationKind.QUOTE: "quotes", ObservationKind.MEDIA: "recordings",
}  # fmt: skip
CONSENT_WORDS = {"notes": "Notizen", "quotes": "Zitate", "recordings": "Aufnahmen"}


def _now() -> datetime:
    return datetime.now(UTC)


def _label(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.actor


def _person(label: str) -> str:
    """The user behind an actor label ("user:5/token:3" → "user:5")."""
    return label.split("/", 1)[0]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def scopes_of(actor: Actor) -> tuple[str, ...]:
    """The ARS prefixes in which the actor researches ('' everywhere: the CLI)."""
    return ("",) if isinstance(actor, str) else actor.scopes(Role.RESEARCHER)


def ensure_researches(actor: Actor, gemeinden: Iterable[str], what: str) -> None:
    if isinstance(actor, str):
        return
    outside = [ars for ars in gemeinden if not actor.may(Role.RESEARCHER, ars)]
    ensure(not outside, f"You do no research in Gemeinde {', '.join(outside)} ({what}).")


async def _gemeinden_of(session: AsyncSession, owner: str, owner_id: int) -> list[str]:
    return (await queries.subjects(session, owner, [owner_id]))[owner_id][SubjectKind.GEMEINDE]


async def study_in_reach(session: AsyncSession, study_id: int, actor: Actor) -> Study:
    """The study, if the actor researches in all its Gemeinden; else 404 (it stays private)."""
    study = await queries.get_study(session, study_id)
    if isinstance(actor, str):
        return study
    gemeinden = await _gemeinden_of(session, "study", study_id)
    if not all(actor.may(Role.RESEARCHER, ars) for ars in gemeinden):
        raise NotFound(f"Study {study_id} does not exist.")
    return study


async def finding_in_reach(session: AsyncSession, finding_id: int, actor: Actor) -> Finding:
    finding = await queries.get_finding(session, finding_id)
    if isinstance(actor, str):
        return finding
    gemeinden = await _gemeinden_of(session, "finding", finding_id)
    if not all(
        actor.may(Role.RESEARCHER, ars) or actor.may(Role.REVIEWER, ars) for ars in gemeinden
    ):
        raise NotFound(f"Finding {finding_id} does not exist.")
    return finding


async def _check_subjects(
    session: AsyncSession, gemeinden: Sequence[str], leistungen: Sequence[str]
) -> None:
    for ars in gemeinden:
        try:
            await regions_queries.get_gemeinde(session, ars)
        except NotFound:
            raise InvalidInput(f"Gemeinde {ars} does not exist.") from None
    for ozg_id in leistungen:
        try:
            await catalog_queries.get_leistung(session, ozg_id)
        except NotFound:
            raise InvalidInput(f"OZG-Leistung {ozg_id} does not exist.") from None


async def _set_subjects(
    session: AsyncSession, owner: str, owner_id: int, gemeinden: Sequence[str],
    leistungen: Sequence[str],
) -> None:  # fmt: skip
    rows = [
        *({"kind": SubjectKind.GEMEINDE.value, "key": k} for k in sorted(set(gemeinden))),
        *({"kind": SubjectKind.LEISTUNG.value, "key": k} for k in sorted(set(leistungen))),
    ]  # fmt: skip
    await _replace_rows(session, Subject, {"owner": owner, "owner_id": owner_id}, rows)


async def _event(
    session: AsyncSession, entity: str, entity_id: int, kind: str, changes: dict[str, Any],
    *, actor: Actor,
) -> None:  # fmt: skip
    session.add(
        ResearchEvent(
            entity=entity, entity_id=entity_id, kind=kind, at=_now(), author=_label(actor),
            changes={name: [_plain(old), _plain(new)] for name, (old, new) in changes.items()},
        )
    )  # fmt: skip


def _changed(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [getattr(row, name), value]
        for name, value in values.items()
        if getattr(row, name) != value
    }


def _sent(data: Any, required: Iterable[str] = ()) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in data.model_fields_set}
    for name in required:
        if name in values and values[name] is None:
            raise InvalidInput(f"{name} cannot be null.")
    return {name: getattr(value, "value", value) for name, value in values.items()}


def _plain_changes(changed: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: [_plain(old), _plain(new)] for name, (old, new) in changed.items()}


async def _apply(
    session: AsyncSession, row: Any, version: int, values: dict[str, Any], *, entity: str,
    entity_id: int, actor: Actor, audited: Any = _plain_changes,
) -> None:  # fmt: skip
    """Write the values that differ (compare-and-set on the version) with an audit row of what
    `audited` makes of the changes; nothing when nothing differs."""
    changed = _changed(row, values)
    if not changed:
        return
    await compare_and_set(session, row, version, values)
    await access_actions.record_audit(
        session, actor=actor, entity=entity, entity_id=entity_id, action="update",
        changes=audited(changed),
    )  # fmt: skip


async def _record(
    session: AsyncSession, entity: str, entity_id: int, kind: str, changes: dict[str, Any],
    *, private: str, actor: Actor,
) -> None:  # fmt: skip
    """A finding's or recommendation's history event and its audit row; the audit row leaves
    out the `private` text, which only the history keeps."""
    await _event(session, entity, entity_id, kind, changes, actor=actor)
    await access_actions.record_audit(
        session, actor=actor, entity=f"research_{entity}", entity_id=entity_id, action=kind,
        changes={k: [_plain(o), _plain(n)] for k, (o, n) in changes.items() if k != private},
    )  # fmt: skip


async def _replace_rows(
    session: AsyncSession, table: Any, owner: dict[str, Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Replace the owner's rows of a link table (delete, then insert in bulk)."""
    connection = await session.connection()
    await connection.execute(
        delete(table).where(*(getattr(table, name) == value for name, value in owner.items()))
    )
    if rows:
        await connection.execute(insert(table), [{**owner, **row} for row in rows])


# --- studies -------------------------------------------------------------------------------------


async def create_study(session: AsyncSession, data: StudyCreate, *, actor: Actor) -> Study:
    ensure_researches(actor, data.gemeinden, "a new study")
    await _check_subjects(session, data.gemeinden, data.leistungen)
    if data.started_on and data.ended_on and data.ended_on < data.started_on:
        raise InvalidInput("ended_on lies before started_on.")
    study = Study(
        title=data.title, question=data.question, method=data.method.value,
        started_on=data.started_on, ended_on=data.ended_on, status=data.status.value,
        team=list(data.team), names_to_redact=list(data.names_to_redact),
        retention_days=data.retention_days, created_at=_now(), created_by=_label(actor),
    )  # fmt: skip
    session.add(study)
    await session.flush()
    assert study.id is not None  # noqa: S101  (flushed)
    await _set_subjects(session, "study", study.id, data.gemeinden, data.leistungen)
    await access_actions.record_audit(
        session, actor=actor, entity="research_study", entity_id=study.id, action="create",
        changes={"title": [None, data.title], "method": [None, data.method.value],
                 "gemeinden": [None, sorted(data.gemeinden)]},
    )  # fmt: skip
    return study


async def update_study(
    session: AsyncSession, study_id: int, data: StudyPatch, *, if_match: str | None, actor: Actor
) -> Study:
    study = await study_in_reach(session, study_id, actor)
    version = expected_version(if_match, current=study.version)
    values = _sent(data, ("title", "question", "method", "status", "team", "names_to_redact"))
    await _apply(
        session, study, version, values, entity="research_study", entity_id=study_id,
        actor=actor, audited=_study_changes,
    )  # fmt: skip
    return study


def _study_changes(changed: dict[str, list[Any]]) -> dict[str, list[Any]]:
    # the names to redact are themselves personal data: the audit notes only that they changed
    return {k: (["(list)", "(changed)"] if k == "names_to_redact" else [_plain(o), _plain(n)])
            for k, (o, n) in changed.items()}  # fmt: skip


# --- participants --------------------------------------------------------------------------------


_BARE_NAME = re.compile(r"^[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?$")
_KNOWN_GROUPS = {group.casefold() for group in USER_GROUPS}


def looks_like_bare_name(value: str) -> bool:
    """ "Hans Müller", "Anna-Lena Schmidt": two to four capitalised words, none more, that are
    not a Nutzendengruppe of the vocabulary ("Junge Erwachsene" is one)."""
    words = value.split()
    return (
        2 <= len(words) <= 4
        and all(_BARE_NAME.match(word) for word in words)
        and " ".join(words).casefold() not in _KNOWN_GROUPS
    )


def refuse_personal_data(fields: dict[str, str | None]) -> None:
    """422 naming the first field whose value looks like a name, e-mail address, phone number
    or another identifier: participant records hold pseudonymous codes only."""
    for name, value in fields.items():
        if not value:
            continue
        label = PARTICIPANT_FIELDS_DE.get(name, name)
        found = find_personal_data(value)
        if found:
            raise InvalidInput(
                f"{name} looks like personal data ({found[0].reason}); participants are "
                "recorded by pseudonymous code only.",
                extra={"field": name},
                german=f"{label} sieht nach personenbezogenen Daten aus "
                f"({GERMAN_REASONS[found[0].kind]}); Teilnehmende werden nur pseudonym erfasst.",
            )
        if name != "code" and looks_like_bare_name(value):
            raise InvalidInput(
                f"{name} looks like a personal name (capitalised words that are no "
                "Nutzendengruppe of the vocabulary); participants are recorded by pseudonymous "
                "code and a group such as Bürger:in only.",
                extra={"field": name},
                german=f"{label} sieht nach einem Personennamen aus (großgeschriebene Wörter, "
                "die keine bekannte Nutzendengruppe sind); erfassen Sie eine Gruppe wie "
                "Bürger:in, keinen Namen.",
            )


def _looks_like_name(code: str) -> bool:
    """A code such as "max.mustermann" or "Anna-Schmidt": two letter-only parts."""
    parts = [part for part in code.replace("_", ".").replace("-", ".").split(".") if part]
    return len(parts) >= 2 and all(part.isalpha() and len(part) > 1 for part in parts)


async def add_participant(
    session: AsyncSession, study_id: int, data: ParticipantCreate, *, actor: Actor
) -> Participant:
    await study_in_reach(session, study_id, actor)
    refuse_personal_data({
        "code": data.code, "user_group": data.user_group, "age_band": data.age_band,
        "digital_experience": data.digital_experience,
    })  # fmt: skip
    if _looks_like_name(data.code):
        raise InvalidInput(
            "code looks like a name; use a pseudonymous code such as P07.",
            extra={"field": "code"}, german="Der Code sieht nach einem Namen aus.",
        )  # fmt: skip
    if await queries.find_participant(session, study_id, data.code) is not None:
        raise Conflict(f"Study {study_id} has a participant {data.code} already.")
    participant = Participant(
        study_id=study_id, code=data.code, user_group=data.user_group, age_band=data.age_band,
        digital_experience=data.digital_experience, consent_on=data.consent.given_on,
        consent_notes=data.consent.notes, consent_quotes=data.consent.quotes,
        consent_recordings=data.consent.recordings,
        consent_publication=data.consent.publication, created_at=_now(),
    )  # fmt: skip
    session.add(participant)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="research_participant", entity_id=participant.id,
        action="create", changes={"study_id": [None, study_id], "code": [None, data.code]},
    )  # fmt: skip
    return participant


async def participant_in_reach(
    session: AsyncSession, participant_id: int, actor: Actor
) -> Participant:
    participant = await queries.get_participant(session, participant_id)
    await _study_of_in_reach(session, participant.study_id, actor, f"Participant {participant_id}")
    return participant


async def _study_of_in_reach(session: AsyncSession, study_id: int, actor: Actor, what: str) -> None:
    """A participant's or observation's study is in reach; else the row itself is a 404."""
    try:
        await study_in_reach(session, study_id, actor)
    except NotFound:
        raise NotFound(f"{what} does not exist.") from None


async def update_participant(
    session: AsyncSession, participant_id: int, data: ParticipantPatch,
    *, if_match: str | None, actor: Actor,
) -> Participant:  # fmt: skip
    participant = await participant_in_reach(session, participant_id, actor)
    version = expected_version(if_match, current=participant.version)
    if participant.withdrawn_at is not None:
        raise Conflict(f"Participant {participant_id} withdrew consent; the record is closed.")
    values = _sent(data, ("user_group",))
    refuse_personal_data({k: v for k, v in values.items() if isinstance(v, str)})
    consent = values.pop("consent", None)
    if "consent" in data.model_fields_set:
        if data.consent is None:
            raise InvalidInput("consent cannot be null.")
        values |= {
            "consent_on": data.consent.given_on, "consent_notes": data.consent.notes,
            "consent_quotes": data.consent.quotes,
            "consent_recordings": data.consent.recordings,
            "consent_publication": data.consent.publication,
        }  # fmt: skip
    del consent
    await _honour_narrowed_consent(session, participant, values, actor=actor)
    await _apply(
        session, participant, version, values, entity="research_participant",
        entity_id=participant_id, actor=actor,
    )  # fmt: skip
    return participant


async def _honour_narrowed_consent(
    session: AsyncSession, participant: Participant, values: dict[str, Any], *, actor: Actor
) -> None:
    """Consent taken back in part: the observations it no longer covers are erased (as on a
    withdrawal); then, or without consent to publication, what was published on their
    evidence is withdrawn from the public until a reviewer publishes it again."""
    assert participant.id is not None  # noqa: S101  (stored)
    narrowed = {
        name.removeprefix("consent_") for name, value in values.items()
        if name.startswith("consent_") and value is False and getattr(participant, name)
    }  # fmt: skip
    kinds = [kind for kind, covers in CONSENT_FOR.items() if covers in narrowed]
    statement = select(Observation).where(
        col(Observation.participant_id) == participant.id,
        col(Observation.kind).in_(kinds), col(Observation.erased_at).is_(None),
    )  # fmt: skip
    observations = list((await run(session, statement)).scalars()) if kinds else []
    if "publication" in narrowed or observations:
        await _unpublish_resting_on(session, participant.id, "consent", actor=actor)
    if observations:
        await erase_observations(session, observations, "consent", actor=actor)


async def _unpublish_resting_on(
    session: AsyncSession, participant_id: int, reason: str, *, actor: Actor
) -> None:
    findings, recommendations = await queries.published_resting_on(session, participant_id)
    for finding_id in findings:
        finding = await queries.get_finding(session, finding_id)
        finding.public_statement, finding.redactions, finding.public_search_text = None, None, ""
        await _unpublished(session, finding, "finding", reason, actor=actor)
    for recommendation_id in recommendations:
        recommendation = await queries.get_recommendation(session, recommendation_id)
        recommendation.public_text, recommendation.public_search_text = None, ""
        await _unpublished(session, recommendation, "recommendation", reason, actor=actor)


async def _unpublished(
    session: AsyncSession, row: Finding | Recommendation, entity: str, reason: str,
    *, actor: Actor,
) -> None:  # fmt: skip
    assert row.id is not None  # noqa: S101  (stored)
    row.published_at, row.published_by = None, None
    row.version += 1
    changes = {"published": [True, False], "reason": [None, reason]}
    await _record(session, entity, row.id, "unpublish", changes, private="", actor=actor)


async def erase_observations(
    session: AsyncSession, observations: Sequence[Observation], reason: str, *, actor: Actor
) -> list[int]:
    """Erase the content of the observations (kept as tombstones with study, step and date);
    flag the findings they supported that have no supporting content left. Returns those
    findings' ids. The audit row says how many were erased, never what."""
    now = _now()
    ids = [o.id for o in observations if o.id is not None and o.erased_at is None]
    for observation in observations:
        if observation.erased_at is None:
            for name, value in ERASED_FIELDS.items():
                setattr(observation, name, value)
            observation.erased_at = now
            observation.erasure_reason = reason
            observation.version += 1
    await session.flush()
    affected = await queries.findings_supported_by(session, ids)
    flagged: list[int] = []
    for finding_id, frequency in (await queries.frequencies(session, affected)).items():
        finding = await queries.get_finding(session, finding_id)
        changes: dict[str, Any] = {"frequency": [None, frequency.observations]}
        if frequency.observations == 0 and not finding.needs_review:
            finding.needs_review = True
            changes["needs_review"] = [False, True]
            flagged.append(finding_id)
        await _event(session, "finding", finding_id, "erasure", changes, actor=actor)
    for observation_id in ids:
        await access_actions.record_audit(
            session, actor=actor, entity="research_observation", entity_id=observation_id,
            action="erase", changes={"erased": [False, True], "reason": [None, reason]},
        )  # fmt: skip
    return sorted(flagged)


async def withdraw_consent(
    session: AsyncSession, participant_id: int, *, actor: Actor
) -> tuple[Participant, int, list[int]]:
    """DSGVO Art. 17: the participant's observations lose their content; idempotent."""
    participant = await participant_in_reach(session, participant_id, actor)
    # what was published on their evidence leaves the public before the evidence goes
    await _unpublish_resting_on(session, participant_id, "consent", actor=actor)
    statement = select(Observation).where(col(Observation.participant_id) == participant_id)
    observations = list((await run(session, statement)).scalars())
    erased = sum(1 for o in observations if o.erased_at is None)
    flagged = await erase_observations(session, observations, "consent", actor=actor)
    if participant.withdrawn_at is None:
        participant.withdrawn_at = _now()
        participant.version += 1
        await access_actions.record_audit(
            session, actor=actor, entity="research_participant", entity_id=participant_id,
            action="withdraw", changes={"consent": ["given", "withdrawn"],
                                        "observations_erased": [None, erased]},
        )  # fmt: skip
    await session.flush()
    return participant, erased, flagged


async def purge_expired(
    session: AsyncSession, *, today: date, actor: Actor = "cli"
) -> list[tuple[int, int, list[int]]]:
    """Erase raw observations older than their study's retention period: (study, erased,
    findings flagged) per study with something erased. Idempotent: a second run erases none."""
    statement = select(Study).where(col(Study.retention_days).is_not(None)).order_by(col(Study.id))
    done: list[tuple[int, int, list[int]]] = []
    for study in (await run(session, statement)).scalars():
        assert study.retention_days is not None  # noqa: S101  (filtered)
        oldest = today - timedelta(days=study.retention_days)
        expired = select(Observation).where(
            col(Observation.study_id) == study.id, col(Observation.erased_at).is_(None),
            col(Observation.recorded_on) < oldest,
        )  # fmt: skip
        observations = list((await run(session, expired)).scalars())
        if observations:
            flagged = await erase_observations(session, observations, "retention", actor=actor)
            assert study.id is not None  # noqa: S101  (stored)
            done.append((study.id, len(observations), flagged))
    return done


# --- observations --------------------------------------------------------------------------------


def _check_observation_shape(kind: str, values: dict[str, Any]) -> None:
    if kind in (ObservationKind.NOTE, ObservationKind.QUOTE) and not values.get("text"):
        word = "Eine Notiz" if kind == ObservationKind.NOTE else "Ein Zitat"
        raise InvalidInput(f"A {kind} needs a text.", german=f"{word} braucht einen Text.")
    if kind == ObservationKind.METRIC and (
        values.get("metric_value") is None or not values.get("metric_unit")
    ):
        raise InvalidInput("A metric needs metric_value and metric_unit.",
                           german="Ein Messwert braucht Wert und Einheit.")  # fmt: skip
    if kind == ObservationKind.MEDIA and not values.get("media_uri"):
        raise InvalidInput("A media reference needs media_uri.",
                           german="Ein Medienverweis braucht eine URI.")  # fmt: skip


async def record_observation(
    session: AsyncSession, data: ObservationCreate, *, actor: Actor, today: date
) -> Observation:
    await study_in_reach(session, data.study_id, actor)
    if data.participant_id is not None:
        participant = await session.get(Participant, data.participant_id)
        if participant is None or participant.study_id != data.study_id:
            raise InvalidInput(f"Study {data.study_id} has no participant {data.participant_id}.")
        if participant.withdrawn_at is not None:
            raise InvalidInput(
                f"Participant {participant.code} withdrew consent.",
                extra={"field": "participant_id"},
                german=f"{participant.code} hat die Einwilligung widerrufen.",
            )  # fmt: skip
        covers = CONSENT_FOR[data.kind.value]
        if not getattr(participant, f"consent_{covers}"):
            raise InvalidInput(
                f"Participant {participant.code} did not consent to {covers}.",
                extra={"field": "participant_id", "participant": participant.code},
                german=f"{participant.code} hat nicht in {CONSENT_WORDS[covers]} eingewilligt.",
            )  # fmt: skip
    values = data.model_dump()
    _check_observation_shape(data.kind.value, values)
    if data.external_id is not None and (
        await queries.observation_by_external_id(session, data.external_id) is not None
    ):
        raise Conflict(f"An observation with the external id {data.external_id} exists already.")
    observation = Observation(
        study_id=data.study_id, participant_id=data.participant_id,
        external_id=data.external_id, kind=data.kind.value, text=data.text,
        metric_value=data.metric_value, metric_unit=data.metric_unit, media_uri=data.media_uri,
        media_timecode=data.media_timecode, journey_step=data.journey_step, tags=list(data.tags),
        recorded_on=data.recorded_on or today, recorded_by=_label(actor),
        search_text=search_key(data.text or ""),
    )  # fmt: skip
    session.add(observation)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="research_observation", entity_id=observation.id,
        action="create", changes={"study_id": [None, data.study_id],
                                  "kind": [None, data.kind.value]},
    )  # fmt: skip
    return observation


async def observation_in_reach(
    session: AsyncSession, observation_id: int, actor: Actor
) -> Observation:
    observation = await queries.get_observation(session, observation_id)
    await _study_of_in_reach(session, observation.study_id, actor, f"Observation {observation_id}")
    return observation


async def update_observation(
    session: AsyncSession, observation_id: int, data: ObservationPatch,
    *, if_match: str | None, actor: Actor,
) -> Observation:  # fmt: skip
    observation = await observation_in_reach(session, observation_id, actor)
    version = expected_version(if_match, current=observation.version)
    if observation.erased_at is not None:
        raise Conflict(f"Observation {observation_id} was erased.")
    values = _sent(data, ("tags",))
    _check_observation_shape(observation.kind, {**observation.model_dump(), **values})
    if "text" in values:
        values["search_text"] = search_key(values["text"] or "")
    await _apply(
        session, observation, version, values, entity="research_observation",
        entity_id=observation_id, actor=actor,
        audited=lambda changed: {name: ["(content)", "(changed)"] for name in changed},
    )  # fmt: skip
    return observation


# --- findings ------------------------------------------------------------------------------------


async def _check_support(
    session: AsyncSession, observation_ids: Sequence[int], actor: Actor
) -> list[int]:
    ids = sorted(set(observation_ids))
    for observation_id in ids:
        try:
            observation = await observation_in_reach(session, observation_id, actor)
        except NotFound:
            raise InvalidInput(f"Observation {observation_id} does not exist.") from None
        if observation.erased_at is not None:
            raise InvalidInput(f"Observation {observation_id} was erased; it supports nothing.")
    return ids


async def _set_support(session: AsyncSession, finding_id: int, ids: Sequence[int]) -> None:
    rows = [{"observation_id": i} for i in ids]
    await _replace_rows(session, FindingObservation, {"finding_id": finding_id}, rows)


async def _check_replacement(
    session: AsyncSession, finding_id: int | None, status: str, superseded_by: int | None,
    actor: Actor,
) -> None:  # fmt: skip
    if status == FindingStatus.SUPERSEDED:
        if superseded_by is None:
            raise InvalidInput("A superseded finding names the finding that replaces it.")
        if superseded_by == finding_id:
            raise InvalidInput("A finding cannot supersede itself.")
        try:
            await finding_in_reach(session, superseded_by, actor)
        except NotFound:
            raise InvalidInput(f"Finding {superseded_by} does not exist.") from None
    elif superseded_by is not None:
        raise InvalidInput("superseded_by goes with status superseded.")


async def create_finding(session: AsyncSession, data: FindingCreate, *, actor: Actor) -> Finding:
    ensure_researches(actor, data.gemeinden, "a new finding")
    await _check_subjects(session, data.gemeinden, data.leistungen)
    support = await _check_support(session, data.observations, actor)
    if data.status == FindingStatus.SUPERSEDED:
        raise InvalidInput("A new finding cannot be superseded.")
    finding = Finding(
        statement=data.statement, severity=data.severity, confidence=data.confidence.value,
        status=data.status.value, tags=list(data.tags), criterion=data.criterion,
        journey_step=data.journey_step, created_at=_now(), created_by=_label(actor),
        search_text=search_key(data.statement),
    )  # fmt: skip
    session.add(finding)
    await session.flush()
    assert finding.id is not None  # noqa: S101  (flushed)
    await _set_subjects(session, "finding", finding.id, data.gemeinden, data.leistungen)
    await _set_support(session, finding.id, support)
    changes = {
        "statement": [None, data.statement], "severity": [None, data.severity],
        "confidence": [None, finding.confidence], "status": [None, finding.status],
        "observations": [None, support],
    }  # fmt: skip
    await _record(session, "finding", finding.id, "create", changes, private="statement",
                  actor=actor)  # fmt: skip
    return finding


async def update_finding(
    session: AsyncSession, finding_id: int, data: FindingPatch,
    *, if_match: str | None, actor: Actor,
) -> Finding:  # fmt: skip
    finding = await finding_in_reach(session, finding_id, actor)
    ensure_researches(actor, await _gemeinden_of(session, "finding", finding_id), "the finding")
    version = expected_version(if_match, current=finding.version)
    values = _sent(data, ("statement", "severity", "confidence", "status", "tags", "observations"))
    support = values.pop("observations", None)
    status = values.get("status", finding.status)
    if status != FindingStatus.SUPERSEDED and "status" in values:
        values.setdefault("superseded_by", None)
    replacement = values.get("superseded_by", finding.superseded_by)
    await _check_replacement(session, finding_id, status, replacement, actor)
    changed = _changed(finding, values)
    if support is not None:
        ids = await _check_support(session, support, actor)
        old = (await queries.supporting(session, [finding_id]))[finding_id]
        if ids != old:
            await _set_support(session, finding_id, ids)
            changed["observations"] = [old, ids]
            values["needs_review"] = False
    if not changed:
        return finding
    if "statement" in changed:
        values["search_text"] = search_key(values["statement"])
    if "statement" in changed and finding.published_at is not None:
        # a changed statement needs a new review before it is public again
        values |= {"public_statement": None, "redactions": None, "published_at": None,
                   "published_by": None, "public_search_text": ""}  # fmt: skip
        changed["published"] = [True, False]
    await compare_and_set(session, finding, version, values)
    await _record(session, "finding", finding_id, "update", changed, private="statement",
                  actor=actor)  # fmt: skip
    return finding


async def names_to_redact(session: AsyncSession, finding_ids: Sequence[int]) -> list[str]:
    """The names on the "names to redact" lists of the studies behind the findings."""
    return sorted(
        {name for study in await queries.studies_of_findings(session, finding_ids)
         for name in study.names_to_redact}
    )  # fmt: skip


async def _ensure_publication_consent(
    session: AsyncSession, finding_ids: Sequence[int], what: str
) -> None:
    """409 naming the participants whose evidence the text rests on without their consent to
    publication."""
    codes = await queries.unconsented_participants(session, finding_ids)
    if codes:
        raise Conflict(
            f"{what} rests on evidence of participants without consent to publication: "
            f"{', '.join(codes)}.",
            extra={"participants": codes},
            german=f"Ohne Einwilligung in die Veröffentlichung: {', '.join(codes)}.",
        )  # fmt: skip


async def _publish(
    session: AsyncSession, row: Finding | Recommendation, version: int, *, entity: str,
    text: str, field: str, names: Sequence[str], actor: Actor,
) -> Redacted:  # fmt: skip
    """Make the redacted text public (compare-and-set on the version): `field` holds it, the
    history and the audit log note the publication and how much was removed."""
    assert row.id is not None  # noqa: S101  (stored)
    redacted = redact(text, names)
    values: dict[str, Any] = {
        field: redacted.text, "published_at": _now(), "published_by": _label(actor),
        "public_search_text": search_key(redacted.text),
    }  # fmt: skip
    if isinstance(row, Finding):  # the list of removals is kept for the record
        values["redactions"] = [
            {"kind": r.kind, "reason": r.reason, "start": r.start, "end": r.end}
            for r in redacted.removals
        ]
    await compare_and_set(session, row, version, values)
    changes = {"published": [False, True], "removals": [None, len(redacted.removals)]}
    await _record(session, entity, row.id, "publish", changes, private=field, actor=actor)
    return redacted


def _ensure_reviews(actor: Actor, gemeinden: Iterable[str], author: str, what: str) -> None:
    if isinstance(actor, str):
        return
    ensure(_person(actor.actor) != _person(author), f"The author of the {what} cannot publish it.")
    outside = [
        ars for ars in gemeinden
        if not (actor.may(Role.REVIEWER, ars) or actor.may(Role.RESEARCHER, ars))
    ]  # fmt: skip
    ensure(not outside, f"You review no research in Gemeinde {', '.join(outside)}.")


async def publish_finding(
    session: AsyncSession, finding_id: int, *, if_match: str | None, actor: Actor
) -> Finding:
    """A reviewer (not the author) approves: the redacted statement becomes the public text."""
    finding = await finding_in_reach(session, finding_id, actor)
    _ensure_reviews(
        actor, await _gemeinden_of(session, "finding", finding_id), finding.created_by, "finding"
    )
    version = expected_version(if_match, current=finding.version)
    if finding.needs_review:
        raise Conflict(f"Finding {finding_id} has no supporting evidence left; review it first.")
    await _ensure_publication_consent(session, [finding_id], f"Finding {finding_id}")
    redacted = await _publish(
        session, finding, version, entity="finding", text=finding.statement,
        field="public_statement", names=await names_to_redact(session, [finding_id]), actor=actor,
    )  # fmt: skip
    # subscribers learn of it per Gemeinde it is about, through the public text only
    event = {"finding_id": finding_id, "statement": redacted.text, "severity": finding.severity}
    about: list[str | None] = list(await _gemeinden_of(session, "finding", finding_id))
    for ars in about or [None]:
        await webhooks_actions.emit(session, "finding.published", ars, event)
    return finding


# --- recommendations -----------------------------------------------------------------------------


async def _check_findings(session: AsyncSession, ids: Sequence[int], actor: Actor) -> list[int]:
    found = sorted(set(ids))
    for finding_id in found:
        try:
            await finding_in_reach(session, finding_id, actor)
        except NotFound:
            raise InvalidInput(f"Finding {finding_id} does not exist.") from None
        ensure_researches(
            actor, await _gemeinden_of(session, "finding", finding_id), f"finding {finding_id}"
        )
    return found


async def _set_links(
    session: AsyncSession,
    recommendation_id: int,
    links: Sequence[ResearchLinkCreate],
    *,
    actor: Actor,
) -> list[str]:
    keys = sorted({f"{link.kind}:{link.key}" for link in links})
    for link in links:
        await check_link_target(session, link.kind, link.key)
    now = _now()
    rows = [
        {"kind": key.split(":", 1)[0], "key": key.split(":", 1)[1], "created_at": now,
         "created_by": _label(actor)}
        for key in keys
    ]  # fmt: skip
    await _replace_rows(session, Link, {"recommendation_id": recommendation_id}, rows)
    return keys


async def _set_answered(session: AsyncSession, recommendation_id: int, ids: Sequence[int]) -> None:
    rows = [{"finding_id": i} for i in ids]
    owner = {"recommendation_id": recommendation_id}
    await _replace_rows(session, RecommendationFinding, owner, rows)


async def create_recommendation(
    session: AsyncSession, data: RecommendationCreate, *, actor: Actor
) -> Recommendation:
    findings = await _check_findings(session, data.findings, actor)
    recommendation = Recommendation(
        text=data.text, responsible_level=data.responsible_level, created_at=_now(),
        created_by=_label(actor), search_text=search_key(data.text),
    )  # fmt: skip
    session.add(recommendation)
    await session.flush()
    assert recommendation.id is not None  # noqa: S101  (flushed)
    await _set_answered(session, recommendation.id, findings)
    links = await _set_links(session, recommendation.id, data.links, actor=actor)
    changes = {"text": [None, data.text], "responsible_level": [None, data.responsible_level],
               "findings": [None, findings], "links": [None, links]}  # fmt: skip
    await _record(session, "recommendation", recommendation.id, "create", changes,
                  private="text", actor=actor)  # fmt: skip
    return recommendation


async def recommendation_in_reach(
    session: AsyncSession, recommendation_id: int, actor: Actor
) -> Recommendation:
    recommendation = await queries.get_recommendation(session, recommendation_id)
    for finding_id in (await queries.findings_of(session, [recommendation_id]))[recommendation_id]:
        try:
            await finding_in_reach(session, finding_id, actor)
        except NotFound:
            raise NotFound(f"Recommendation {recommendation_id} does not exist.") from None
    return recommendation


async def update_recommendation(
    session: AsyncSession, recommendation_id: int, data: RecommendationPatch,
    *, if_match: str | None, actor: Actor,
) -> Recommendation:  # fmt: skip
    recommendation = await recommendation_in_reach(session, recommendation_id, actor)
    old_findings = (await queries.findings_of(session, [recommendation_id]))[recommendation_id]
    await _check_findings(session, old_findings, actor)
    version = expected_version(if_match, current=recommendation.version)
    values = _sent(data, ("text", "responsible_level", "findings", "links"))
    findings = values.pop("findings", None)
    links = values.pop("links", None)
    changed = _changed(recommendation, values)
    if findings is not None:
        ids = await _check_findings(session, findings, actor)
        if ids != old_findings:
            await _set_answered(session, recommendation_id, ids)
            changed["findings"] = [old_findings, ids]
    if links is not None:
        old = sorted(
            f"{link.kind}:{link.key}"
            for link in (await queries.links_of(session, [recommendation_id]))[recommendation_id]
        )
        new = await _set_links(session, recommendation_id, data.links or [], actor=actor)
        if new != old:
            changed["links"] = [old, new]
    if not changed:
        return recommendation
    if "text" in changed:
        values["search_text"] = search_key(values["text"])
    if "text" in changed and recommendation.published_at is not None:
        values |= {"public_text": None, "published_at": None, "published_by": None,
                   "public_search_text": ""}  # fmt: skip
        changed["published"] = [True, False]
    await compare_and_set(session, recommendation, version, values)
    await _record(session, "recommendation", recommendation_id, "update", changed,
                  private="text", actor=actor)  # fmt: skip
    return recommendation


async def publish_recommendation(
    session: AsyncSession, recommendation_id: int, *, if_match: str | None, actor: Actor
) -> Recommendation:
    recommendation = await recommendation_in_reach(session, recommendation_id, actor)
    findings = (await queries.findings_of(session, [recommendation_id]))[recommendation_id]
    gemeinden = {
        ars
        for finding_id in findings
        for ars in await _gemeinden_of(session, "finding", finding_id)
    }
    _ensure_reviews(actor, sorted(gemeinden), recommendation.created_by, "recommendation")
    version = expected_version(if_match, current=recommendation.version)
    await _ensure_publication_consent(session, findings, f"Recommendation {recommendation_id}")
    await _publish(
        session, recommendation, version, entity="recommendation", text=recommendation.text,
        field="public_text", names=await names_to_redact(session, findings), actor=actor,
    )  # fmt: skip
    return recommendation


# --- review --------------------------------------------------------------------------------------


async def reject(
    session: AsyncSession, entity: str, row_id: int, reason: str, *, if_match: str | None,
    actor: Actor,
) -> Finding | Recommendation:  # fmt: skip
    """A reviewer (not the author) sends a finding or recommendation back with the reason: it
    leaves the review queue until its author changes it (If-Match)."""
    row: Finding | Recommendation
    if entity == "finding":
        row = await finding_in_reach(session, row_id, actor)
        gemeinden = await _gemeinden_of(session, "finding", row_id)
    else:
        row = await recommendation_in_reach(session, row_id, actor)
        answered = (await queries.findings_of(session, [row_id]))[row_id]
        gemeinden = sorted(
            {ars for f in answered for ars in await _gemeinden_of(session, "finding", f)}
        )
    _ensure_reviews(actor, gemeinden, row.created_by, entity)
    expected_version(if_match, current=row.version)
    if row.published_at is not None:
        raise Conflict(f"The {entity} {row_id} is published; change it to withdraw it.")
    if not reason.strip():
        raise InvalidInput("A rejection names its reason.", extra={"field": "reason"},
                           german="Nennen Sie den Grund der Zurückweisung.")  # fmt: skip
    # the reason may quote the text: it stays in the history, out of the audit log
    changes = {"rejected": [None, True], "reason": [None, reason.strip()]}
    await _record(session, entity, row_id, "reject", changes, private="reason", actor=actor)
    return row


# --- KPIs ----------------------------------------------------------------------------------------


async def _check_cited_study(session: AsyncSession, study_id: int | None, actor: Actor) -> None:
    if study_id is not None:
        try:
            await study_in_reach(session, study_id, actor)
        except NotFound:
            raise InvalidInput(f"Study {study_id} does not exist.") from None


async def record_kpi(session: AsyncSession, data: KpiCreate, *, actor: Actor) -> Kpi:
    ensure_researches(actor, [data.ars], "a KPI")
    await _check_subjects(session, [data.ars], [data.ozg_id])
    await _check_cited_study(session, data.study_id, actor)
    kpi = Kpi(
        ozg_id=data.ozg_id, ars=data.ars, kind=data.kind.value, value=data.value,
        unit=data.unit, measured_on=data.measured_on, source=data.source,
        study_id=data.study_id, created_at=_now(), created_by=_label(actor),
    )  # fmt: skip
    session.add(kpi)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="research_kpi", entity_id=kpi.id, action="create",
        changes={"kind": [None, kpi.kind], "value": [None, kpi.value]},
    )  # fmt: skip
    return kpi


async def update_kpi(
    session: AsyncSession, kpi_id: int, data: KpiPatch, *, if_match: str | None, actor: Actor
) -> Kpi:
    kpi = await queries.get_kpi(session, kpi_id)
    ensure_researches(actor, [kpi.ars], "the KPI")
    version = expected_version(if_match, current=kpi.version)
    values = _sent(data, ("value", "measured_on", "source"))
    await _check_cited_study(session, values.get("study_id"), actor)
    await _apply(
        session, kpi, version, values, entity="research_kpi", entity_id=kpi_id, actor=actor
    )
    return kpi


def reader_scopes(actor: Actor) -> tuple[str, ...]:
    """Where the actor reads unpublished findings and recommendations."""
    return ("",) if isinstance(actor, str) else actor.scopes(Role.RESEARCHER, Role.REVIEWER)
