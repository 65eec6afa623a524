"""Reads of maturity models and assessments, and a Gemeinde's and a Leistung's roll-up of the
pair levels (`pairs`: the one rule of what is current and counted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import ColumnElement, Row, and_, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import LeikaLeistung, OzgLeistung
from tracker.db import run, tuples
from tracker.errors import InvalidInput, NotFound
from tracker.listing import fetch_page
from tracker.maturity.models import (
    PORTALS,
    Assessment,
    MaturityModel,
    ModelCriterion,
    ModelLevel,
    PairLevel,
    Status,
)
from tracker.regions.models import Gemeinde


@dataclass
class LoadedModel:
    model: MaturityModel
    levels: list[ModelLevel]
    criteria: list[ModelCriterion]

    @property
    def model_id(self) -> int:
        assert self.model.id is not None  # noqa: S101  (stored)
        return self.model.id

    @property
    def level_names(self) -> dict[int, str]:
        return {level.level: level.name for level in self.levels}

    @cached_property
    def level_list(self) -> list[int]:
        return [level.level for level in self.levels]

    @cached_property
    def criterion_keys(self) -> tuple[str, ...]:
        return tuple(criterion.key for criterion in self.criteria)


async def _load(session: AsyncSession, model: MaturityModel) -> LoadedModel:
    levels = (
        select(ModelLevel)
        .where(col(ModelLevel.model_id) == model.id)
        .order_by(col(ModelLevel.level))
    )
    criteria = (
        select(ModelCriterion)
        .where(col(ModelCriterion.model_id) == model.id)
        .order_by(col(ModelCriterion.position))
    )
    return LoadedModel(
        model,
        list((await run(session, levels)).scalars()),
        list((await run(session, criteria)).scalars()),
    )


async def list_models(session: AsyncSession) -> list[LoadedModel]:
    models = (await run(session, select(MaturityModel).order_by(col(MaturityModel.id)))).scalars()
    return [await _load(session, model) for model in models]


async def model_for(session: AsyncSession, dimension: str, key: str | None) -> LoadedModel:
    statement = select(MaturityModel).where(col(MaturityModel.dimension) == dimension)
    statement = statement.where(
        col(MaturityModel.key) == key if key is not None else col(MaturityModel.is_default)
    )
    model: MaturityModel | None = (await run(session, statement)).scalars().first()
    if model is None:
        wanted = f"model {key}" if key else "a default model"
        raise InvalidInput(
            f"The dimension {dimension} has no {wanted}.",
            german=f"Für die Dimension {dimension} gibt es das Modell {key or ''} nicht.",
        )
    return await _load(session, model)


async def model_by_id(session: AsyncSession, model_id: int) -> LoadedModel:
    model = await session.get(MaturityModel, model_id)
    if model is None:
        raise NotFound(f"Maturity model {model_id} does not exist.")
    return await _load(session, model)


def _assessment_columns() -> Any:
    corrected = aliased(Assessment, name="corrected")
    return (
        select(
            Assessment,
            col(LeikaLeistung.leika_key).label("leika_key"),
            col(MaturityModel.key).label("model_key"),
            col(ModelLevel.name).label("level_name"),
            col(corrected.external_id).label("corrects_external_id"),
        )
        .join(MaturityModel, col(MaturityModel.id) == Assessment.model_id)
        .outerjoin(LeikaLeistung, col(LeikaLeistung.id) == Assessment.leika_id)
        .outerjoin(corrected, col(corrected.id) == Assessment.corrects_id)
        .outerjoin(
            ModelLevel,
            and_(
                col(ModelLevel.model_id) == Assessment.model_id,
                col(ModelLevel.level) == Assessment.level,
            ),
        )
    )


async def get_assessment(session: AsyncSession, assessment_id: int) -> Row[Any]:
    row = (
        await run(session, _assessment_columns().where(col(Assessment.id) == assessment_id))
    ).first()
    if row is None:
        raise NotFound(f"Assessment {assessment_id} does not exist.")
    return row


@dataclass(frozen=True)
class AssessmentFilter:
    ars: str | None = None
    leika: str | None = None
    ozg_id: str | None = None
    dimension: str | None = None
    status: str | None = None
    since: datetime | None = None
    # scopes whose unpublished (not validated) assessments the reader may see
    unpublished_scopes: tuple[str, ...] = field(default=())


async def list_assessments(
    session: AsyncSession, where: AssessmentFilter, *, limit: int | None, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
    statement = _assessment_columns()
    if where.ars is not None:
        statement = statement.where(col(Assessment.ars) == where.ars)
    if where.leika is not None:
        statement = statement.where(col(LeikaLeistung.leika_key) == where.leika)
    if where.ozg_id is not None:
        statement = statement.where(
            or_(col(Assessment.ozg_id) == where.ozg_id, col(LeikaLeistung.ozg_id) == where.ozg_id)
        )
    for column, value in (
        (Assessment.dimension, where.dimension),
        (Assessment.status, where.status),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    if where.since is not None:
        statement = statement.where(col(Assessment.assessed_at) >= where.since)
    visible = [col(Assessment.status) == Status.VALIDATED.value]
    visible += [col(Assessment.ars).startswith(scope) for scope in where.unpublished_scopes]
    statement = statement.where(or_(*visible))
    return await fetch_page(session, statement, [col(Assessment.id)], limit=limit, cursor=cursor)


@dataclass(frozen=True)
class Provenance:
    """Where a level came from, as a page shows it beside the level."""

    source: str
    assessed_by: str
    evidence: list[dict[str, Any]]  # each with `href` where it is a link


def evidence_href(source: str, ref: str) -> str | None:
    """A link for an evidence reference: a URL as it is, a source's host-less path on its
    portal (`PORTALS`), anything else (a document number) none."""
    if ref.startswith(("https://", "http://")):
        return ref
    portal = PORTALS.get(source)  # a StrEnum key is found by its text
    return urljoin(portal + "/", ref) if portal and ref.startswith("/") else None


@dataclass(frozen=True)
class EvidenceReviewer:
    """The extension point by which a layer above (the link probes) reviews assessments'
    evidence for maturity's API: `app.py` hands it to the routes (maturity imports no probes).
    `review` maps assessment ids to what it found; an id left out has nothing to say."""

    review: Callable[[AsyncSession, Sequence[Assessment]], Awaitable[Mapping[int, Any]]]


async def current_assessment_ids(session: AsyncSession, ars: str) -> list[int]:
    """The assessments that give the Gemeinde's pairs their current levels (what its Reifegrad
    page shows), both dimensions."""
    statement = (
        select(col(PairLevel.assessment_id))
        .where(col(PairLevel.ars) == ars)
        .order_by(col(PairLevel.ozg_id), col(PairLevel.dimension))
    )
    return [int(number) for number in (await run(session, statement)).scalars()]


async def provenance(session: AsyncSession, ids: list[int]) -> dict[int, Provenance]:
    """The source, author and evidence of these assessments, in one query."""
    if not ids:
        return {}
    statement = select(
        col(Assessment.id), col(Assessment.source), col(Assessment.assessed_by),
        col(Assessment.evidence),
    ).where(col(Assessment.id).in_(ids))  # fmt: skip
    found: dict[int, Provenance] = {}
    for number, source, author, evidence in await tuples(session, statement):
        items = [
            {**item, "href": evidence_href(source, str(item.get("ref", "")))}
            for item in evidence or []
        ]
        found[number] = Provenance(source, author, items)
    return found


async def by_external_id(session: AsyncSession, external_id: str) -> Assessment | None:
    statement = select(Assessment).where(col(Assessment.external_id) == external_id)
    found: Assessment | None = (await run(session, statement)).scalars().first()
    return found


# --- one's own work: the officer's and reviewer's lists ---------------------------------------

WORK_LIST_LIMIT = 200


def by_user(user_id: int) -> ColumnElement[bool]:
    """Assessments recorded by the user, with or without a token (`user:N`, `user:N/token:M`)."""
    actor = f"user:{user_id}"
    return or_(
        col(Assessment.assessed_by) == actor, col(Assessment.assessed_by).startswith(actor + "/")
    )


async def own_assessments(
    session: AsyncSession, user_id: int, statuses: tuple[str, ...]
) -> list[Row[Any]]:
    """The user's own assessments in these states, newest first."""
    statement = (
        _assessment_columns()
        .where(by_user(user_id), col(Assessment.status).in_(statuses))
        .order_by(col(Assessment.id).desc())
        .limit(WORK_LIST_LIMIT)
    )
    return list(await run(session, statement))


def _reviewable(scopes: tuple[str, ...], user_id: int) -> list[ColumnElement[bool]]:
    """Submitted, within a reviewer scope, and not by the reviewer (four eyes)."""
    return [
        col(Assessment.status) == Status.SUBMITTED.value,
        or_(*(col(Assessment.ars).startswith(scope) for scope in scopes)),
        not_(by_user(user_id)),
    ]


async def to_review(session: AsyncSession, scopes: tuple[str, ...], user_id: int) -> list[Row[Any]]:
    """What waits for this reviewer, oldest first."""
    if not scopes:
        return []
    statement = (
        _assessment_columns()
        .where(*_reviewable(scopes, user_id))
        .order_by(col(Assessment.status_changed_at), col(Assessment.id))
        .limit(WORK_LIST_LIMIT)
    )
    return list(await run(session, statement))


async def work_counts(
    session: AsyncSession, user_id: int, review_scopes: tuple[str, ...]
) -> dict[str, int]:
    """How many own drafts, own submitted and rejected ones, and how many wait for review."""
    statement = (
        select(col(Assessment.status), func.count())
        .where(by_user(user_id))
        .group_by(col(Assessment.status))
    )
    found: dict[str, int] = {str(status): int(n) for status, n in await tuples(session, statement)}
    waiting = 0
    if review_scopes:
        count = (
            select(func.count()).select_from(Assessment).where(*_reviewable(review_scopes, user_id))
        )
        waiting = int((await run(session, count)).scalar_one())
    return {
        "drafts": found.get(Status.DRAFT.value, 0),
        "submitted": found.get(Status.SUBMITTED.value, 0),
        "rejected": found.get(Status.REJECTED.value, 0),
        "to_review": waiting,
    }


async def assessments_by_ids(session: AsyncSession, ids: list[int]) -> list[Row[Any]]:
    """These assessments with their LeiKa key, model key and level name, in the order given."""
    if not ids:
        return []
    statement = _assessment_columns().where(col(Assessment.id).in_(ids))
    found = {row.Assessment.id: row for row in (await run(session, statement)).all()}
    return [found[number] for number in ids if number in found]


@dataclass(frozen=True)
class Named:
    """What a work list shows beside an assessment: the Leistung and the Gemeinde by name."""

    ozg_id: str
    leistung: str
    leika_name: str | None
    gemeinde: str


async def names_of(session: AsyncSession, assessments: list[Assessment]) -> dict[int, Named]:
    if not assessments:
        return {}
    ids = [item.id for item in assessments]
    leistung = aliased(OzgLeistung)
    statement = (
        select(
            col(Assessment.id), col(leistung.ozg_id), col(leistung.name),
            col(LeikaLeistung.name), col(Gemeinde.display_name),
        )
        .outerjoin(LeikaLeistung, col(LeikaLeistung.id) == col(Assessment.leika_id))
        .join(
            leistung,
            col(leistung.ozg_id)
            == func.coalesce(col(Assessment.ozg_id), col(LeikaLeistung.ozg_id)),
        )
        .join(Gemeinde, col(Gemeinde.ars) == col(Assessment.ars))
        .where(col(Assessment.id).in_(ids))
    )  # fmt: skip
    return {
        number: Named(ozg_id, name, leika_name, gemeinde)
        for number, ozg_id, name, leika_name, gemeinde in await tuples(session, statement)
    }
