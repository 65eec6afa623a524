"""Reads of maturity models and assessments, and a Gemeinde's and a Leistung's roll-up of the
pair levels (`pairs`: the one rule of what is current and counted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog import queries as catalog_queries
from tracker.catalog.models import LeikaLeistung
from tracker.db import run, tuples
from tracker.errors import InvalidInput, NotFound
from tracker.listing import fetch_page
from tracker.maturity import applicability, pairs, rollup
from tracker.maturity.models import (
    ApplicabilityOverride,
    Assessment,
    Dimension,
    MaturityModel,
    ModelCriterion,
    ModelLevel,
    Status,
)
from tracker.regions import queries as regions_queries
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
        raise InvalidInput(f"The dimension {dimension} has no {wanted}.")
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


async def by_external_id(session: AsyncSession, external_id: str) -> Assessment | None:
    statement = select(Assessment).where(col(Assessment.external_id) == external_id)
    found: Assessment | None = (await run(session, statement)).scalars().first()
    return found


def _gemeinde_stamp_statement() -> Any:
    ars: Any = bindparam("ars")
    mine = col(Assessment.ars) == ars
    overridden = col(ApplicabilityOverride.ars) == ars
    return select(
        col(Gemeinde.display_name),
        select(func.max(Assessment.id)).where(mine).scalar_subquery(),
        select(func.max(Assessment.status_changed_at)).where(mine).scalar_subquery(),
        select(func.count()).where(overridden).scalar_subquery(),
        select(func.max(ApplicabilityOverride.set_at)).where(overridden).scalar_subquery(),
        *applicability.stamp_columns(),
    ).where(col(Gemeinde.ars) == ars)


# Built once: this runs on every request of a Gemeinde's roll-up.
GEMEINDE_STAMP = _gemeinde_stamp_statement()


async def gemeinde_stamp(session: AsyncSession, ars: str) -> tuple[Any, ...]:
    """Changes whenever the Gemeinde's roll-up may have: its name, its assessments (newest id:
    they are never deleted; newest status change), its applicability overrides, and the reference
    (`applicability.stamp`); one round trip. 404 for no Gemeinde."""
    connection = await session.connection()
    found = (await connection.execute(GEMEINDE_STAMP, {"ars": ars})).first()
    if found is None:
        raise NotFound(f"No Gemeinde has the ARS {ars}.")
    return (applicability.database_of(session), *found)


async def gemeinde_rollup(
    session: AsyncSession, ars: str, *, at: datetime | None, stale_after_days: int
) -> dict[str, Any]:
    """Every applicable OZG-Leistung of the Gemeinde with its pair on both dimensions."""
    cached = await applicability.reference(session)
    known = cached.known
    own = await applicability.overrides_in(session, ars)
    found = {(row.ozg_id, row.dimension): row for row in await pairs.as_of(session, at, ars=ars)}
    now = at or datetime.now(UTC)
    items: list[dict[str, Any]] = []
    not_applicable: list[dict[str, str]] = []
    for ozg_id, name, themenfeld in cached.leistungen:
        if not own.get(ozg_id, known.applies(ozg_id)):
            if ozg_id in own:
                not_applicable.append({"ozg_id": ozg_id, "name": name})
            continue
        dimensions = {
            dimension.value: rollup.figures(
                found.get((ozg_id, dimension.value)), now, stale_after_days
            )
            for dimension in Dimension
        }
        items.append({
            "ozg_id": ozg_id, "name": name, "themenfeld": themenfeld,
            "applicable_leika": len(known.counted_leika(ozg_id, own.get(ozg_id))),
            "overridden": ozg_id in own, **dimensions,
        })  # fmt: skip
    summary = {
        dimension.value: rollup.summarise([item[dimension.value] for item in items], len(items))
        for dimension in Dimension
    }
    return {
        "rules": rollup.RULES, "summary": summary, "leistungen": items,
        "not_applicable": not_applicable,
    }  # fmt: skip


async def leistung_coverage(
    session: AsyncSession, ozg_id: str, *, dimension: str, at: datetime | None
) -> dict[str, Any]:
    """One OZG-Leistung across all inhabited Gemeinden: per Bund, Land and Kreis."""
    leistung = await catalog_queries.get_leistung(session, ozg_id)
    known = (await applicability.reference(session)).known
    statement = select(col(ApplicabilityOverride.ars), col(ApplicabilityOverride.applicable)).where(
        col(ApplicabilityOverride.ozg_id) == ozg_id
    )
    own: dict[str, bool] = dict(await tuples(session, statement))
    default = known.applies(ozg_id)
    level_of = {
        row.ars: row.level
        for row in await pairs.as_of(session, at, ozg_id=ozg_id, dimension=dimension)
    }
    areas: dict[tuple[str, str], rollup.Coverage] = {}
    for gemeinde in await regions_queries.inhabited_gemeinden(session):
        if not own.get(gemeinde.ars, default):
            continue  # out of the denominator
        level = level_of.get(gemeinde.ars)
        for area in (("bund", "DE"), ("land", gemeinde.land_code), ("kreis", gemeinde.kreis_code)):
            if area[1] is not None:
                areas.setdefault(area, rollup.Coverage()).add(level)
    areas.setdefault(("bund", "DE"), rollup.Coverage())
    return {
        "ozg_id": ozg_id,
        "name": leistung.name,
        "dimension": dimension,
        "applicable": default or any(own.values()),
        "coverage": {key: figures for key, figures in areas.items()},
    }
