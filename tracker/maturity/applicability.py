"""Which OZG-Leistungen apply in which Gemeinde, and on which scale levels are compared.

The default comes from the LeiKa-Typ (`rules.applies`); a Gemeinde may override it for one
OZG-Leistung with a reason. An overridden-applicable Leistung counts all its LeiKa services;
an overridden-not-applicable one leaves every denominator of that Gemeinde.
Levels of a model other than the dimension's default are read through `level_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Row, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access.models import AuditEntry
from tracker.catalog import queries as catalog_queries
from tracker.catalog.models import LeikaLeistung, OzgLeistung
from tracker.db import run, tuples
from tracker.listing import fetch_page
from tracker.maturity import rules
from tracker.maturity.models import (
    ApplicabilityOverride,
    LevelFlag,
    LevelMapping,
    MaturityModel,
    ModelLevel,
    MunicipalLeikaType,
)
from tracker.regions import queries as regions_queries
from tracker.search import like_pattern


@dataclass(frozen=True)
class Catalogue:
    """The default: per OZG-Leistung the LeiKa row ids that apply to Gemeinden, and all of them."""

    applicable_leika: dict[str, frozenset[int]]
    every_leika: dict[str, frozenset[int]]
    themenfeld: dict[str, int]
    municipal_types: frozenset[str]

    def applies(self, ozg_id: str) -> bool:
        return ozg_id in self.applicable_leika

    def applies_in(self, ozg_id: str, override: bool | None) -> bool:
        """Applies in a Gemeinde: its override if it has one, else the default."""
        return self.applies(ozg_id) if override is None else override

    def counted_leika(self, ozg_id: str, override: bool | None) -> frozenset[int]:
        """The LeiKa services whose levels count for the Leistung in a Gemeinde."""
        if override is False:
            return frozenset()
        if override is True:
            return self.every_leika.get(ozg_id, frozenset())
        return self.applicable_leika.get(ozg_id, frozenset())

    @cached_property
    def default_leika_ids(self) -> list[int]:
        return sorted({leika_id for ids in self.applicable_leika.values() for leika_id in ids})

    @cached_property
    def ozg_of(self) -> dict[int, str]:
        """LeiKa row id → its OZG-Leistung."""
        return {leika_id: ozg_id for ozg_id, ids in self.every_leika.items() for leika_id in ids}


async def municipal_types(session: AsyncSession) -> frozenset[str]:
    """The LeiKa-Typ codes whose services apply to Gemeinden (data, `tracker applicability
    types`)."""
    return frozenset((await run(session, select(col(MunicipalLeikaType.code)))).scalars())


async def catalogue(session: AsyncSession) -> Catalogue:
    types = await municipal_types(session)
    applicable: dict[str, set[int]] = {}
    every: dict[str, set[int]] = {}
    for leika in await catalog_queries.leika_structure(session):
        every.setdefault(leika.ozg_id, set()).add(leika.id)
        if rules.applies(leika.leika_typ, types):
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
        types,
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
    # per dimension the flags its default scale defines from a level on (`level_flag`)
    flags: dict[str, list[rules.ScaleFlag]] = field(default_factory=dict)

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
    return Scales(targets, top, mapping, await flags_by_dimension(session))


async def flags_by_dimension(session: AsyncSession) -> dict[str, list[rules.ScaleFlag]]:
    """Per dimension the flags its default model's scale defines: (key, name, from level)."""
    statement = (
        select(
            col(MaturityModel.dimension), col(LevelFlag.key), col(LevelFlag.name),
            col(LevelFlag.from_level),
        )
        .join(MaturityModel, col(MaturityModel.id) == col(LevelFlag.model_id))
        .where(col(MaturityModel.is_default))
        .order_by(col(LevelFlag.from_level), col(LevelFlag.id))
    )  # fmt: skip
    found: dict[str, list[rules.ScaleFlag]] = {}
    for dimension, key, name, level in await tuples(session, statement):
        found.setdefault(str(dimension), []).append((str(key), str(name), int(level)))
    return found


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
    another count of models, levels, mappings or flags, or another set of municipal LeiKa-Typ codes
    (a removed code lowers the count; an added one is newer than every code before it)."""
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
        select(func.count()).select_from(LevelFlag).scalar_subquery(),
        select(func.count()).select_from(MunicipalLeikaType).scalar_subquery(),
        select(func.max(MunicipalLeikaType.added_at)).scalar_subquery(),
    ]


def database_of(session: AsyncSession) -> str:
    return str(session.sync_session.get_bind().engine.url)


# Built once: it runs on every roll-up.
STAMP = select(*stamp_columns())


async def stamp(session: AsyncSession) -> tuple[Any, ...]:
    return (database_of(session), *(await tuples(session, STAMP))[0])


async def reference(session: AsyncSession) -> Reference:
    """The reference, read once per change (see `stamp`) and kept in this process."""
    key = await stamp(session)
    found = _cached.get(key)
    if found is None:
        leistungen, _ = await catalog_queries.list_leistungen(
            session, catalog_queries.LeistungFilter(), limit=None, cursor=None
        )
        found = Reference(
            await catalogue(session),
            await scales(session),
            [(row.ozg_id, row.name, row.themenfeld) for row in leistungen],
        )
        _cached.clear()  # one database, one current reference
        _cached[key] = found
    return found


async def gemeinden_where(session: AsyncSession, ozg_id: str) -> list[Row[Any]]:
    """The inhabited Gemeinden (ars, land_code, kreis_code) where an OZG-Leistung applies: by
    its LeiKa-Typ, unless a Gemeinde's override says otherwise. The denominator of its
    coverage."""
    known = (await reference(session)).known
    statement = select(col(ApplicabilityOverride.ars), col(ApplicabilityOverride.applicable)).where(
        col(ApplicabilityOverride.ozg_id) == ozg_id
    )
    own: dict[str, bool] = dict(await tuples(session, statement))
    default = known.applies(ozg_id)
    return [
        gemeinde
        for gemeinde in await regions_queries.inhabited_gemeinden(session)
        if own.get(gemeinde.ars, default)
    ]


async def applicable_in(session: AsyncSession, ars: str) -> list[tuple[str, str]]:
    """The OZG-Leistungen (ID, name) that apply in the Gemeinde, in catalogue order."""
    cached = await reference(session)
    own = await overrides_in(session, ars)
    return [
        (ozg_id, name)
        for ozg_id, name, _ in cached.leistungen
        if cached.known.applies_in(ozg_id, own.get(ozg_id))
    ]


@dataclass(frozen=True)
class LeikaChoice:
    """A LeiKa service a Gemeinde's level would count for, under its OZG-Leistung."""

    leika_key: str
    name: str
    ozg_id: str
    ozg_name: str


async def leika_choices(
    session: AsyncSession, ars: str, *, q: str | None = None, ozg_id: str | None = None,
    limit: int = 50,
) -> list[LeikaChoice]:  # fmt: skip
    """The Gemeinde's counted LeiKa services (with a key) matching a name or key (folded as
    every search) or of one OZG-Leistung, grouped under their OZG-Leistung in catalogue order."""
    cached = await reference(session)
    own = await overrides_in(session, ars)
    statement = (
        select(
            col(LeikaLeistung.id), col(LeikaLeistung.leika_key), col(LeikaLeistung.name),
            col(LeikaLeistung.ozg_id),
        )
        .where(col(LeikaLeistung.leika_key).is_not(None))
        .where(col(LeikaLeistung.ozg_id).is_not(None))
    )  # fmt: skip
    if ozg_id is not None:
        statement = statement.where(col(LeikaLeistung.ozg_id) == ozg_id)
    if q is not None and q.strip():
        statement = statement.where(
            col(LeikaLeistung.search_name).like(like_pattern(q), escape="\\")
            | col(LeikaLeistung.leika_key).startswith(q.strip(), autoescape=True)
        )
    position = {key: index for index, (key, _, _) in enumerate(cached.leistungen)}
    names = {key: name for key, name, _ in cached.leistungen}
    found = [
        LeikaChoice(str(key), str(name), str(parent), names.get(parent, ""))
        for number, key, name, parent in await tuples(session, statement)
        if number in cached.known.counted_leika(parent, own.get(parent))
    ]
    found.sort(key=lambda choice: (position.get(choice.ozg_id, 1 << 30), choice.name))
    return found[:limit]


async def counts_in(session: AsyncSession, ars: str, ozg_id: str, leika_id: int | None) -> bool:
    """Whether a level for the Leistung (or one LeiKa service of it) counts in the Gemeinde."""
    cached = await reference(session)
    override = (await overrides_in(session, ars)).get(ozg_id)
    if leika_id is None:
        return cached.known.applies_in(ozg_id, override)
    return leika_id in cached.known.counted_leika(ozg_id, override)


# --- overrides ---------------------------------------------------------------


async def get_override(
    session: AsyncSession, ars: str, ozg_id: str
) -> ApplicabilityOverride | None:
    statement = select(ApplicabilityOverride).where(
        col(ApplicabilityOverride.ars) == ars, col(ApplicabilityOverride.ozg_id) == ozg_id
    )
    found: ApplicabilityOverride | None = (await run(session, statement)).scalars().first()
    return found


async def effective(session: AsyncSession, ars: str, ozg_id: str) -> dict[str, Any]:
    """The default, the override if any, and what counts."""
    await regions_queries.get_gemeinde(session, ars)
    await catalog_queries.get_leistung(session, ozg_id)
    default = (await reference(session)).known.applies(ozg_id)
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
