"""Reads of research. Scope: a study, finding or recommendation lies in a researcher's scope when
every Gemeinde it is about lies there (`in_scope`); frequency (how many observations and distinct
participants support a finding, erased ones apart) is computed here and nowhere else."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    column,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy import (
    table as table_clause,
)
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import OzgLeistung
from tracker.db import TableModel, json_list_has, run, tuples
from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.research.models import (
    Finding,
    FindingObservation,
    FindingStatus,
    Kpi,
    Link,
    Observation,
    Participant,
    Recommendation,
    RecommendationFinding,
    ResearchEvent,
    Study,
    Subject,
    SubjectKind,
)
from tracker.research.schemas import (
    Frequency as FrequencyRead,
)
from tracker.research.schemas import (
    PublicFinding,
    PublicRecommendation,
    ResearchLinkRead,
)
from tracker.search import like_pattern, search_key

Page = tuple[list[Row[Any]], str | None]
_TABLES: dict[str, Any] = {
    "research_finding": Finding, "research_observation": Observation,
    "research_recommendation": Recommendation,
}  # fmt: skip


def in_scope(owner: str, owner_id: Any, scopes: Sequence[str]) -> ColumnElement[bool]:
    """Every Gemeinde of the owner lies within one of the ARS prefixes `scopes`."""
    if "" in scopes:
        return and_(True)
    if not scopes:
        return false()
    outside = select(col(Subject.key)).where(
        col(Subject.owner) == owner,
        col(Subject.owner_id) == owner_id,
        col(Subject.kind) == SubjectKind.GEMEINDE,
        not_(or_(*(col(Subject.key).startswith(scope) for scope in scopes))),
    )
    return ~exists(outside)


def _about(owner: str, owner_id: Any, kind: SubjectKind, key: str, *, prefix: bool = False) -> Any:
    match = col(Subject.key).startswith(key) if prefix else col(Subject.key) == key
    return exists(
        select(col(Subject.key)).where(
            col(Subject.owner) == owner, col(Subject.owner_id) == owner_id,
            col(Subject.kind) == kind, match,
        )
    )  # fmt: skip


async def subjects(
    session: AsyncSession, owner: str, ids: Iterable[int]
) -> dict[int, dict[str, list[str]]]:
    """owner id → {"gemeinde": [ARS…], "leistung": [OZG-ID…]}, sorted."""
    wanted = list(ids)
    found: dict[int, dict[str, list[str]]] = {
        i: {SubjectKind.GEMEINDE: [], SubjectKind.LEISTUNG: []} for i in wanted
    }
    if not wanted:
        return found
    statement = (
        select(col(Subject.owner_id), col(Subject.kind), col(Subject.key))
        .where(col(Subject.owner) == owner, col(Subject.owner_id).in_(wanted))
        .order_by(col(Subject.key))
    )
    for owner_id, kind, key in await tuples(session, statement):
        found[owner_id][kind].append(key)
    return found


R = TypeVar("R", bound=TableModel)


async def _get(session: AsyncSession, table: type[R], row_id: int, label: str) -> R:
    """The row, or 404 naming it ("Study 7 does not exist.")."""
    found = await session.get(table, row_id)
    if found is None:
        raise NotFound(f"{label} {row_id} does not exist.")
    return found


# --- studies -------------------------------------------------------------------------------------


async def get_study(session: AsyncSession, study_id: int) -> Study:
    return await _get(session, Study, study_id, "Study")


async def list_studies(
    session: AsyncSession, scopes: Sequence[str], *, method: str | None, status: str | None,
    gemeinde: str | None, leistung: str | None, limit: int | None, cursor: str | None,
) -> Page:  # fmt: skip
    statement = select(Study).where(in_scope("study", Study.id, scopes))
    if method is not None:
        statement = statement.where(col(Study.method) == method)
    if status is not None:
        statement = statement.where(col(Study.status) == status)
    if gemeinde is not None:
        statement = statement.where(
            _about("study", Study.id, SubjectKind.GEMEINDE, gemeinde, prefix=True)
        )
    if leistung is not None:
        statement = statement.where(_about("study", Study.id, SubjectKind.LEISTUNG, leistung))
    return await fetch_page(session, statement, [col(Study.id)], limit=limit, cursor=cursor)


@dataclass(frozen=True)
class StudyFigures:
    participants: int
    observations: int
    erased: int


async def study_figures(session: AsyncSession, study_id: int) -> StudyFigures:
    participants = (
        await run(
            session,
            select(func.count()).select_from(Participant)
            .where(col(Participant.study_id) == study_id),
        )
    ).scalar_one()  # fmt: skip
    counted = select(
        func.count(), func.count(col(Observation.erased_at))
    ).where(col(Observation.study_id) == study_id)  # fmt: skip
    ((observations, erased),) = await tuples(session, counted)
    return StudyFigures(int(participants), int(observations), int(erased))


# --- participants --------------------------------------------------------------------------------


async def get_participant(session: AsyncSession, participant_id: int) -> Participant:
    return await _get(session, Participant, participant_id, "Participant")


async def find_participant(session: AsyncSession, study_id: int, code: str) -> Participant | None:
    statement = select(Participant).where(
        col(Participant.study_id) == study_id, col(Participant.code) == code
    )
    return (await run(session, statement)).scalars().first()


async def list_participants(
    session: AsyncSession, study_id: int, *, limit: int | None, cursor: str | None
) -> Page:
    statement = select(Participant).where(col(Participant.study_id) == study_id)
    return await fetch_page(session, statement, [col(Participant.id)], limit=limit, cursor=cursor)


# --- observations --------------------------------------------------------------------------------


async def get_observation(session: AsyncSession, observation_id: int) -> Observation:
    return await _get(session, Observation, observation_id, "Observation")


async def observation_by_external_id(session: AsyncSession, external_id: str) -> Observation | None:
    statement = select(Observation).where(col(Observation.external_id) == external_id)
    return (await run(session, statement)).scalars().first()


def _equal(*pairs: tuple[Any, Any]) -> list[Any]:
    """`column = value` for each filter that was given."""
    return [col(column) == value for column, value in pairs if value is not None]


@dataclass(frozen=True)
class ObservationFilter:
    study_id: int | None = None
    participant_id: int | None = None
    kind: str | None = None
    journey_step: str | None = None
    user_group: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None


async def list_observations(
    session: AsyncSession, scopes: Sequence[str], where: ObservationFilter,
    *, limit: int | None, cursor: str | None,
) -> Page:  # fmt: skip
    statement = (
        select(Observation, col(Participant.code))
        .outerjoin(Participant, col(Participant.id) == col(Observation.participant_id))
        .where(in_scope("study", Observation.study_id, scopes))
    )
    conditions = _equal(
        (Observation.study_id, where.study_id), (Observation.participant_id, where.participant_id),
        (Observation.kind, where.kind), (Observation.journey_step, where.journey_step),
        (Participant.user_group, where.user_group),
    )  # fmt: skip
    if where.since is not None:
        conditions.append(col(Observation.recorded_on) >= where.since)
    if where.until is not None:
        conditions.append(col(Observation.recorded_on) <= where.until)
    if where.text is not None:
        conditions.append(
            _text_match(
                await dialect_of(session), "research_observation", col(Observation.search_text),
                col(Observation.text), where.text,
            )
        )  # fmt: skip
    if where.tag is not None:
        conditions.append(json_list_has(col(Observation.tags), where.tag))
    statement = statement.where(*conditions)
    return await fetch_page(session, statement, [col(Observation.id)], limit=limit, cursor=cursor)


def _text_match(dialect: str, table: str, key_column: Any, raw_column: Any, text: str) -> Any:
    """The one search rule: the text's search key (lower case, ä = ae, ß = ss) anywhere in the
    search key column, found by the trigram index (SQLite FTS5 `trigram`, PostgreSQL
    pg_trgm); PostgreSQL also finds German word forms (`german` full-text configuration:
    "Anträge" finds "Antrag"). Keys under three characters fall back to LIKE on SQLite."""
    key = search_key(text)
    like = key_column.like(like_pattern(text), escape="\\")
    if dialect == "postgresql":
        stems = func.to_tsvector("german", func.coalesce(raw_column, "")).op("@@")(
            func.plainto_tsquery("german", text)
        )
        return or_(like, stems)
    if len(key) < 3:
        return like
    phrase = '"' + key.replace('"', '""') + '"'
    fts = table_clause(f"{table}_fts", column("rowid"), column(f"{table}_fts"))
    hits = select(fts.c.rowid).where(
        literal_column(f"{table}_fts").op("MATCH")(f"{key_column.key} : {phrase}")
    )
    return col(_TABLES[table].id).in_(hits)


async def dialect_of(session: AsyncSession) -> str:
    return (await session.connection()).dialect.name


# --- findings ------------------------------------------------------------------------------------


async def get_finding(session: AsyncSession, finding_id: int) -> Finding:
    return await _get(session, Finding, finding_id, "Finding")


@dataclass(frozen=True)
class FindingFilter:
    leistung: str | None = None
    themenfeld: int | None = None
    gemeinde: str | None = None
    severity: int | None = None
    status: str | None = None
    confidence: str | None = None
    journey_step: str | None = None
    method: str | None = None
    user_group: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None


def _finding_conditions(where: FindingFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.leistung is not None:
        conditions.append(_about("finding", Finding.id, SubjectKind.LEISTUNG, where.leistung))
    if where.gemeinde is not None:
        conditions.append(
            _about("finding", Finding.id, SubjectKind.GEMEINDE, where.gemeinde, prefix=True)
        )
    conditions += _equal(
        (Finding.severity, where.severity), (Finding.status, where.status),
        (Finding.confidence, where.confidence), (Finding.journey_step, where.journey_step),
    )  # fmt: skip
    if where.since is not None:  # from the day's first moment (UTC) …
        start = datetime.combine(where.since, time.min, UTC)
        conditions.append(col(Finding.created_at) >= start)
    if where.until is not None:  # … to the last of the day
        end = datetime.combine(where.until + timedelta(days=1), time.min, UTC)
        conditions.append(col(Finding.created_at) < end)
    if where.method is not None or where.user_group is not None:
        evidence = (
            select(col(FindingObservation.finding_id))
            .join(Observation, col(Observation.id) == col(FindingObservation.observation_id))
            .join(Study, col(Study.id) == col(Observation.study_id))
            .outerjoin(Participant, col(Participant.id) == col(Observation.participant_id))
            .where(col(FindingObservation.finding_id) == col(Finding.id))
        )
        if where.method is not None:
            evidence = evidence.where(col(Study.method) == where.method)
        if where.user_group is not None:
            evidence = evidence.where(col(Participant.user_group) == where.user_group)
        conditions.append(exists(evidence))
    if where.themenfeld is not None:
        conditions.append(
            exists(
                select(col(Subject.key))
                .join(OzgLeistung, col(OzgLeistung.ozg_id) == col(Subject.key))
                .where(
                    col(Subject.owner) == "finding", col(Subject.owner_id) == col(Finding.id),
                    col(Subject.kind) == SubjectKind.LEISTUNG,
                    col(OzgLeistung.themenfeld_id) == where.themenfeld,
                )
            )
        )  # fmt: skip
    return conditions


async def list_findings(
    session: AsyncSession, where: FindingFilter, *, scopes: Sequence[str] | None,
    limit: int | None, cursor: str | None,
) -> Page:  # fmt: skip
    """A researcher's findings in `scopes`, or with `scopes` None the published ones."""
    statement = select(Finding).where(*_finding_conditions(where))
    if scopes is None:
        statement = statement.where(col(Finding.published_at).is_not(None))
        key_column, raw_column = col(Finding.public_search_text), col(Finding.public_statement)
    else:
        statement = statement.where(in_scope("finding", Finding.id, scopes))
        key_column, raw_column = col(Finding.search_text), col(Finding.statement)
    if where.text is not None:
        statement = statement.where(
            _text_match(
                await dialect_of(session), "research_finding", key_column, raw_column, where.text
            )
        )
    if where.tag is not None:
        statement = statement.where(json_list_has(col(Finding.tags), where.tag))
    return await fetch_page(session, statement, [col(Finding.id)], limit=limit, cursor=cursor)


async def supporting(session: AsyncSession, finding_ids: Iterable[int]) -> dict[int, list[int]]:
    wanted = list(finding_ids)
    found: dict[int, list[int]] = {i: [] for i in wanted}
    if wanted:
        statement = (
            select(col(FindingObservation.finding_id), col(FindingObservation.observation_id))
            .where(col(FindingObservation.finding_id).in_(wanted))
            .order_by(col(FindingObservation.observation_id))
        )
        for finding_id, observation_id in await tuples(session, statement):
            found[finding_id].append(observation_id)
    return found


@dataclass(frozen=True)
class Frequency:
    observations: int
    participants: int
    erased: int


async def frequencies(session: AsyncSession, finding_ids: Iterable[int]) -> dict[int, Frequency]:
    """The one home of the frequency rule: supporting observations with content, the distinct
    participants among them, and the erased ones (tombstones) apart."""
    wanted = list(finding_ids)
    found = {i: Frequency(0, 0, 0) for i in wanted}
    if not wanted:
        return found
    alive = col(Observation.erased_at).is_(None)
    statement = (
        select(
            col(FindingObservation.finding_id),
            func.count().filter(alive),
            func.count(func.distinct(col(Observation.participant_id))).filter(alive),
            func.count().filter(~alive),
        )
        .join(Observation, col(Observation.id) == col(FindingObservation.observation_id))
        .where(col(FindingObservation.finding_id).in_(wanted))
        .group_by(col(FindingObservation.finding_id))
    )
    for finding_id, observations, participants, erased in await tuples(session, statement):
        found[finding_id] = Frequency(int(observations), int(participants), int(erased))
    return found


async def findings_supported_by(session: AsyncSession, observation_ids: Iterable[int]) -> list[int]:
    wanted = list(observation_ids)
    if not wanted:
        return []
    statement = (
        select(col(FindingObservation.finding_id))
        .where(col(FindingObservation.observation_id).in_(wanted))
        .distinct()
        .order_by(col(FindingObservation.finding_id))
    )
    return list((await run(session, statement)).scalars())


async def unconsented_participants(session: AsyncSession, finding_ids: Iterable[int]) -> list[str]:
    """The codes of participants whose evidence (not erased) supports the findings without
    their consent to publication, or after they withdrew it."""
    statement = (
        select(col(Participant.code))
        .join(Observation, col(Observation.participant_id) == col(Participant.id))
        .join(FindingObservation, col(FindingObservation.observation_id) == col(Observation.id))
        .where(
            col(FindingObservation.finding_id).in_(list(finding_ids)),
            col(Observation.erased_at).is_(None),
            or_(
                col(Participant.consent_publication).is_(False),
                col(Participant.withdrawn_at).is_not(None),
            ),
        )
        .distinct()
        .order_by(col(Participant.code))
    )
    return list((await run(session, statement)).scalars())


async def published_resting_on(
    session: AsyncSession, participant_id: int
) -> tuple[list[int], list[int]]:
    """The published findings that the participant's evidence (not erased) supports, and the
    published recommendations answering them."""
    findings = (
        select(col(FindingObservation.finding_id))
        .join(Observation, col(Observation.id) == col(FindingObservation.observation_id))
        .join(Finding, col(Finding.id) == col(FindingObservation.finding_id))
        .where(
            col(Observation.participant_id) == participant_id,
            col(Observation.erased_at).is_(None),
            col(Finding.published_at).is_not(None),
        )
        .distinct()
        .order_by(col(FindingObservation.finding_id))
    )
    finding_ids = list((await run(session, findings)).scalars())
    recommendations = (
        select(col(RecommendationFinding.recommendation_id))
        .join(
            Recommendation,
            col(Recommendation.id) == col(RecommendationFinding.recommendation_id),
        )
        .where(
            col(RecommendationFinding.finding_id).in_(finding_ids),
            col(Recommendation.published_at).is_not(None),
        )
        .distinct()
        .order_by(col(RecommendationFinding.recommendation_id))
    )
    return finding_ids, list((await run(session, recommendations)).scalars())


async def studies_of_findings(session: AsyncSession, finding_ids: Iterable[int]) -> list[Study]:
    ids = (
        select(col(Observation.study_id))
        .join(FindingObservation, col(FindingObservation.observation_id) == col(Observation.id))
        .where(col(FindingObservation.finding_id).in_(list(finding_ids)))
    )
    statement = select(Study).where(col(Study.id).in_(ids)).order_by(col(Study.id))
    return list((await run(session, statement)).scalars())


async def history(
    session: AsyncSession, entity: str, entity_id: int, *, limit: int, cursor: str | None
) -> Page:
    statement = select(ResearchEvent).where(
        col(ResearchEvent.entity) == entity, col(ResearchEvent.entity_id) == entity_id
    )
    return await fetch_page(session, statement, [col(ResearchEvent.id)], limit=limit, cursor=cursor)


# --- recommendations -----------------------------------------------------------------------------


async def get_recommendation(session: AsyncSession, recommendation_id: int) -> Recommendation:
    return await _get(session, Recommendation, recommendation_id, "Recommendation")


async def findings_of(
    session: AsyncSession, recommendation_ids: Iterable[int]
) -> dict[int, list[int]]:
    wanted = list(recommendation_ids)
    found: dict[int, list[int]] = {i: [] for i in wanted}
    if wanted:
        statement = (
            select(
                col(RecommendationFinding.recommendation_id), col(RecommendationFinding.finding_id)
            )
            .where(col(RecommendationFinding.recommendation_id).in_(wanted))
            .order_by(col(RecommendationFinding.finding_id))
        )
        for recommendation_id, finding_id in await tuples(session, statement):
            found[recommendation_id].append(finding_id)
    return found


async def links_of(
    session: AsyncSession, recommendation_ids: Iterable[int]
) -> dict[int, list[Link]]:
    wanted = list(recommendation_ids)
    found: dict[int, list[Link]] = defaultdict(list)
    if wanted:
        statement = (
            select(Link).where(col(Link.recommendation_id).in_(wanted)).order_by(col(Link.id))
        )
        for link in (await run(session, statement)).scalars():
            found[link.recommendation_id].append(link)
    return found


def _recommendation_in_scope(scopes: Sequence[str]) -> Any:
    """Every finding it answers lies in scope."""
    if "" in scopes:
        return and_(True)
    outside = (
        select(col(RecommendationFinding.finding_id))
        .where(col(RecommendationFinding.recommendation_id) == col(Recommendation.id))
        .where(~in_scope("finding", RecommendationFinding.finding_id, scopes))
    )
    return ~exists(outside)


async def list_recommendations(
    session: AsyncSession, scopes: Sequence[str], *, finding_id: int | None,
    limit: int | None, cursor: str | None,
) -> Page:  # fmt: skip
    statement = select(Recommendation).where(_recommendation_in_scope(scopes))
    if finding_id is not None:
        statement = statement.where(
            exists(
                select(col(RecommendationFinding.finding_id)).where(
                    col(RecommendationFinding.recommendation_id) == col(Recommendation.id),
                    col(RecommendationFinding.finding_id) == finding_id,
                )
            )
        )
    return await fetch_page(
        session, statement, [col(Recommendation.id)], limit=limit, cursor=cursor
    )


async def published_recommendations(
    session: AsyncSession, finding_ids: Iterable[int]
) -> dict[int, list[Recommendation]]:
    wanted = list(finding_ids)
    found: dict[int, list[Recommendation]] = defaultdict(list)
    if wanted:
        statement = (
            select(col(RecommendationFinding.finding_id), Recommendation)
            .join(
                Recommendation,
                col(Recommendation.id) == col(RecommendationFinding.recommendation_id),
            )
            .where(
                col(RecommendationFinding.finding_id).in_(wanted),
                col(Recommendation.published_at).is_not(None),
            )
            .order_by(col(Recommendation.id))
        )
        for finding_id, recommendation in await tuples(session, statement):
            found[finding_id].append(recommendation)
    return found


# --- KPIs ----------------------------------------------------------------------------------------


async def get_kpi(session: AsyncSession, kpi_id: int) -> Kpi:
    return await _get(session, Kpi, kpi_id, "KPI measurement")


async def list_kpis(
    session: AsyncSession, *, ozg_id: str | None, gemeinde: str | None, kind: str | None,
    limit: int | None, cursor: str | None,
) -> Page:  # fmt: skip
    statement = select(Kpi)
    if ozg_id is not None:
        statement = statement.where(col(Kpi.ozg_id) == ozg_id)
    if gemeinde is not None:
        statement = statement.where(col(Kpi.ars).startswith(gemeinde))
    if kind is not None:
        statement = statement.where(col(Kpi.kind) == kind)
    return await fetch_page(session, statement, [col(Kpi.id)], limit=limit, cursor=cursor)


@dataclass(frozen=True)
class LeistungFindings:
    """The published findings about a Leistung from every Gemeinde, with their counts."""

    findings: list[Finding]
    by_severity: dict[int, int]
    by_journey_step: dict[str, dict[int, int]]  # step ('' none) → severity → count


async def leistung_findings(
    session: AsyncSession, ozg_id: str, *, statuses: Iterable[str] | None = None
) -> LeistungFindings:
    """Most severe first; with `statuses`, only findings in one of them (and counted so)."""
    statement = (
        select(Finding)
        .where(
            col(Finding.published_at).is_not(None),
            _about("finding", Finding.id, SubjectKind.LEISTUNG, ozg_id),
        )
        .order_by(col(Finding.severity).desc(), col(Finding.id))
    )
    if statuses is not None:
        statement = statement.where(col(Finding.status).in_(list(statuses)))
    found = list((await run(session, statement)).scalars())
    by_severity = dict.fromkeys(range(4, 0, -1), 0)
    steps: dict[str, dict[int, int]] = {}
    for finding in found:
        by_severity[finding.severity] += 1
        step = steps.setdefault(finding.journey_step or "", dict.fromkeys(range(4, 0, -1), 0))
        step[finding.severity] += 1
    return LeistungFindings(found, by_severity, dict(sorted(steps.items())))


async def public_findings(session: AsyncSession, findings: list[Finding]) -> list[PublicFinding]:
    """Only published findings, by their redacted text; recommendations only when published."""
    ids = [f.id for f in findings if f.id is not None and f.published_at is not None]
    about = await subjects(session, "finding", ids)
    frequency = await frequencies(session, ids)
    answered = await published_recommendations(session, ids)
    links = await links_of(
        session, {r.id for rs in answered.values() for r in rs if r.id is not None}
    )
    reads = []
    for finding in findings:
        if finding.id not in ids:
            continue
        assert finding.id is not None  # noqa: S101  (stored)
        counted = frequency[finding.id]
        reads.append(PublicFinding(
            id=finding.id, statement=finding.public_statement or "", severity=finding.severity,
            confidence=finding.confidence, status=finding.status,
            superseded_by=finding.superseded_by, tags=finding.tags, criterion=finding.criterion,
            journey_step=finding.journey_step, gemeinden=about[finding.id][SubjectKind.GEMEINDE],
            leistungen=about[finding.id][SubjectKind.LEISTUNG],
            frequency=FrequencyRead(observations=counted.observations,
                                participants=counted.participants, erased=counted.erased),
            recommendations=[
                PublicRecommendation(
                    id=r.id or 0, text=r.public_text or "", responsible_level=r.responsible_level,
                    links=[ResearchLinkRead.model_validate(link) for link in links[r.id or 0]],
                )
                for r in answered[finding.id]
            ],
            published_at=finding.published_at,
        ))  # fmt: skip
    return reads


# --- review --------------------------------------------------------------------------------------


def _not_rejected(entity: str, entity_id: Any) -> Any:
    """The entity's newest history event is no rejection: rejected, it waits for its author,
    whose next change (a new event) puts it back before the reviewers."""
    later = aliased(ResearchEvent)
    newest = (
        select(func.max(col(later.id)))
        .where(col(later.entity) == entity, col(later.entity_id) == entity_id)
        .correlate_except(later)
        .scalar_subquery()
    )
    rejected = select(col(ResearchEvent.id)).where(
        col(ResearchEvent.id) == newest, col(ResearchEvent.kind) == "reject"
    )
    return ~exists(rejected)


async def awaiting_review(
    session: AsyncSession, scopes: Sequence[str], *, limit: int
) -> tuple[list[Finding], list[Recommendation]]:
    """Unpublished findings (not superseded) and recommendations in `scopes` that no reviewer
    has rejected since their last change, oldest first."""
    findings = (
        select(Finding)
        .where(
            in_scope("finding", Finding.id, scopes), col(Finding.published_at).is_(None),
            col(Finding.status) != "superseded", _not_rejected("finding", Finding.id),
        )
        .order_by(col(Finding.id))
        .limit(limit)
    )  # fmt: skip
    recommendations = (
        select(Recommendation)
        .where(
            _recommendation_in_scope(scopes), col(Recommendation.published_at).is_(None),
            _not_rejected("recommendation", Recommendation.id),
        )
        .order_by(col(Recommendation.id))
        .limit(limit)
    )  # fmt: skip
    return (
        list((await run(session, findings)).scalars()),
        list((await run(session, recommendations)).scalars()),
    )


# --- findings about many Gemeinden (reports) -----------------------------------------------------

OPEN_STATUSES = (FindingStatus.OPEN.value, FindingStatus.CONFIRMED.value)


@dataclass
class AboutGemeinde:
    """A published open or confirmed finding, once per Gemeinde it is about."""

    finding_id: int
    severity: int
    statement: str
    ars: str


async def open_findings_about(session: AsyncSession, gemeinden: Any) -> list[AboutGemeinde]:
    """The published findings still open or confirmed about the Gemeinden that the select
    `gemeinden` (one column of ARS) names, most severe first; public text only."""
    statement = (
        select(col(Finding.id), col(Finding.severity), col(Finding.public_statement),
               col(Subject.key))
        .join(Subject, col(Subject.owner_id) == col(Finding.id))
        .where(
            col(Subject.owner) == "finding", col(Subject.kind) == SubjectKind.GEMEINDE,
            col(Subject.key).in_(gemeinden),
            col(Finding.published_at).is_not(None), col(Finding.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Finding.severity).desc(), col(Finding.id), col(Subject.key))
    )  # fmt: skip
    return [
        AboutGemeinde(finding_id, severity, text or "", ars)
        for finding_id, severity, text, ars in await tuples(session, statement)
    ]
