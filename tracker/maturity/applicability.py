"""Which OZG-Leistungen apply in which Gemeinde, and on which scale levels are compared.

The default comes from the LeiKa-Typ (`rollup.applies`); a Gemeinde may override it for one
OZG-Leistung with a reason. An overridden-applicable Leistung counts all its LeiKa services;
an overridden-not-applicable one leaves every denominator of that Gemeinde.
Levels of a model other than the dimension's default are read through `level_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal, ensure
from tracker.access.models import AuditEntry, Role
from tracker.catalog import queries as catalog_queries
from tracker.catalog.models import OzgLeistung
from tracker.concurrency import compare_and_set, expected_version
from tracker.db import run, tuples
from tracker.errors import NotFound, PreconditionFailed
from tracker.listing import fetch_page
from tracker.maturity import rollup
from tracker.maturity.models import ApplicabilityOverride, LevelMapping, MaturityModel, ModelLevel
from tracker.regions import queries as regions_queries


@dataclass(frozen=True)
class Catalogue:
    """The default: per OZG-Leistung the LeiKa row ids that apply to Gemeinden, and all of them."""

    applicable_leika: dict[str, frozenset[int]]
    every_leika: dict[str, frozenset[int]]
    themenfeld: dict[str, int]

    def applies(self, ozg_id: str) -> bool:
        return ozg_id in self.applicable_leika

    def counted_leika(self, ozg_id: str, override: bool | None) -> frozenset[int]:
        """The LeiKa services whose levels count for the Leistung in a Gemeinde."""
        if override is False:
            return frozenset()
        if override is True:
            return self.every_leika.get(ozg_id, frozenset())
        return self.applicable_leika.get(ozg_id, frozenset())

    @property
    def default_leika_ids(self) -> set[int]:
        return {leika_id for ids in self.applicable_leika.values() for leika_id in ids}


async def catalogue(session: AsyncSession, municipal_types: frozenset[str]) -> Catalogue:
    applicable: dict[str, set[int]] = {}
    every: dict[str, set[int]] = {}
    for leika in await catalog_queries.leika_structure(session):
        every.setdefault(leika.ozg_id, set()).add(leika.id)
        if rollup.applies(leika.leika_typ, municipal_types):
            applicable.setdefault(leika.ozg_id, set()).add(leika.id)
    themenfeld = {
        row.ozg_id: row.themenfeld_id
        for row in await run(
            session, select(col(OzgLeistung.ozg_id), col(OzgLeistung.themenfeld_id))
        )
    }
    return Catalogue(
        {ozg_id: frozenset(ids) for ozg_id, ids in applicable.items()},
        {ozg_id: frozenset(ids) for ozg_id, ids in every.items()},
        themenfeld,
    )


async def overrides_in(session: AsyncSession, ars: str) -> dict[str, bool]:
    """OZG-ID → applicable, as one Gemeinde overrides the default."""
    statement = select(
        col(ApplicabilityOverride.ozg_id), col(ApplicabilityOverride.applicable)
    ).where(col(ApplicabilityOverride.ars) == ars)
    return dict(await tuples(session, statement))


@dataclass(frozen=True)
class Scales:
    """Per dimension the default model, and how other models' levels read on its scale."""

    targets: dict[str, int]
    top: dict[str, int]
    mapping: dict[tuple[int, int, int], int]

    def level(self, dimension: str, model_id: int, level: int | None) -> int | None:
        target = self.targets.get(dimension)
        if level is None or target is None or model_id == target:
            return level
        return self.mapping.get((model_id, level, target))


async def scales(session: AsyncSession) -> Scales:
    defaults = (
        await run(session, select(MaturityModel).where(col(MaturityModel.is_default)))
    ).scalars()
    targets = {model.dimension: model.id for model in defaults if model.id is not None}
    tops = select(col(ModelLevel.model_id), func.max(ModelLevel.level)).group_by(
        col(ModelLevel.model_id)
    )
    top_of = dict(await tuples(session, tops))
    top = {dimension: top_of[model_id] for dimension, model_id in targets.items()}
    rows = await run(session, select(LevelMapping))
    mapping = {
        (row.from_model_id, row.from_level, row.to_model_id): row.to_level for row in rows.scalars()
    }
    return Scales(targets, top, mapping)


@dataclass(frozen=True)
class Reference:
    """What every roll-up reads and only imports or migrations change: the catalogue's
    applicability, the scales, and the OZG-Leistungen with their Themenfeld."""

    known: Catalogue
    scale: Scales
    leistungen: list[tuple[str, str, str]]  # OZG-ID, name, Themenfeld


_cached: dict[tuple[Any, ...], Reference] = {}


def stamp_columns() -> list[Any]:
    """Change whenever the reference may have: a new import (its audit entry's id and time),
    or another count of models, levels or mappings (migrations)."""
    newest = (
        select(col(AuditEntry.id))
        .where(col(AuditEntry.entity) == "import")
        .order_by(col(AuditEntry.id).desc())
    ).limit(1)
    return [
        newest.scalar_subquery(),
        select(col(AuditEntry.at))
        .where(col(AuditEntry.id) == newest.scalar_subquery())
        .scalar_subquery(),
        select(func.count()).select_from(MaturityModel).scalar_subquery(),
        select(func.count()).select_from(ModelLevel).scalar_subquery(),
        select(func.count()).select_from(LevelMapping).scalar_subquery(),
    ]


def database_of(session: AsyncSession) -> str:
    return str(session.sync_session.get_bind().engine.url)


async def stamp(session: AsyncSession) -> tuple[Any, ...]:
    return (database_of(session), *(await tuples(session, select(*stamp_columns())))[0])


async def reference(session: AsyncSession, municipal_types: frozenset[str]) -> Reference:
    """The reference, read once per change (see `stamp`) and kept in this process."""
    key = (*(await stamp(session)), municipal_types)
    found = _cached.get(key)
    if found is None:
        leistungen, _ = await catalog_queries.list_leistungen(
            session, catalog_queries.LeistungFilter(), limit=None, cursor=None
        )
        found = Reference(
            await catalogue(session, municipal_types),
            await scales(session),
            [(row.ozg_id, row.name, row.themenfeld) for row in leistungen],
        )
        _cached.clear()  # one database, one current reference
        _cached[key] = found
    return found


# --- overrides: reads and writes ---------------------------------------------------------------


async def get_override(
    session: AsyncSession, ars: str, ozg_id: str
) -> ApplicabilityOverride | None:
    statement = select(ApplicabilityOverride).where(
        col(ApplicabilityOverride.ars) == ars, col(ApplicabilityOverride.ozg_id) == ozg_id
    )
    found: ApplicabilityOverride | None = (await run(session, statement)).scalars().first()
    return found


async def effective(
    session: AsyncSession, ars: str, ozg_id: str, municipal_types: frozenset[str]
) -> dict[str, Any]:
    """The default, the override if any, and what counts."""
    await regions_queries.get_gemeinde(session, ars)
    await catalog_queries.get_leistung(session, ozg_id)
    default = (await reference(session, municipal_types)).known.applies(ozg_id)
    override = await get_override(session, ars, ozg_id)
    return {
        "ars": ars,
        "ozg_id": ozg_id,
        "default": default,
        "override": override,
        "applicable": default if override is None else override.applicable,
        "version": 0 if override is None else override.version,
    }


async def list_overrides(
    session: AsyncSession,
    *,
    area: str | None,
    ozg_id: str | None,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Row[Any]], str | None]:
    statement = select(ApplicabilityOverride)
    if area is not None:
        statement = statement.where(col(ApplicabilityOverride.ars).startswith(area))
    if ozg_id is not None:
        statement = statement.where(col(ApplicabilityOverride.ozg_id) == ozg_id)
    return await fetch_page(
        session, statement, [col(ApplicabilityOverride.id)], limit=limit, cursor=cursor
    )


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
    found = await get_override(session, ars, ozg_id)
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
        await access_actions.record_audit(
            session, actor=actor, entity="applicability_override", entity_id=found.id,
            action="create", changes=changes,
        )  # fmt: skip
        return found, True
    version = expected_version(if_match, current=found.version)
    changes = {"applicable": [found.applicable, applicable], "reason": [found.reason, reason]}
    await compare_and_set(
        session, found, version,
        {"applicable": applicable, "reason": reason, "set_at": now, "set_by": actor.actor},
    )  # fmt: skip
    await access_actions.record_audit(
        session, actor=actor, entity="applicability_override", entity_id=found.id,
        action="update", changes=changes,
    )  # fmt: skip
    return found, False


async def clear_override(
    session: AsyncSession, ars: str, ozg_id: str, *, if_match: str | None, actor: Principal
) -> None:
    """Back to the default; the audit keeps what was there."""
    ensure(actor.may(Role.EDITOR, ars), f"You are no editor for Gemeinde {ars}.")
    found = await get_override(session, ars, ozg_id)
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
