"""The one rule that turns assessments into the level of a pair, and the relation that keeps it.

A pair is an inhabited Gemeinde × applicable OZG-Leistung × dimension. Its level is read in
four steps, each written here once:

- **current**: per Gemeinde × service (a LeiKa row, or the whole OZG-Leistung) × dimension,
  the newest validated assessment (by `assessed_at`, then id); as of a moment, the newest one
  assessed and validated by then (`queries.published`).
- **counted**: a LeiKa service counts where it applies by default (`applicability.Catalogue`:
  its LeiKa-Typ), all of the Leistung's services count where the Gemeinde overrides it as
  applicable, none where it overrides it as not applicable.
- **scale**: levels of another model version are read on the dimension's default model through
  `level_mapping`; a level without a mapping counts as not assessed. A dimension without a
  default model keeps its levels as given.
- **pair**: the highest level of the pair's counted current services gives the level (ties: the
  newest); the lowest, how many services, the newest assessment and whether any is a Land-wide
  portal come with it.

`pair_level` holds the result for now. Every write that can move it (a validation, an import,
an override, a model, mapping or municipal-type change) calls `refresh` or `rebuild` in its
own transaction, so every reader sees the new figure after the commit. `computed` is the same
rule as a query, for a past moment (`?at=`) and for `differences` (`tracker verify pairs`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Row,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.sql import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog.models import LeikaLeistung
from tracker.db import run
from tracker.maturity.applicability import Reference, reference
from tracker.maturity.models import (
    ApplicabilityOverride,
    Assessment,
    LevelMapping,
    PairLevel,
    Status,
)
from tracker.maturity.rules import ONLINE_FROM, OZG_KONFORM_FROM
from tracker.regions.models import Gemeinde
from tracker.regions.queries import inhabited

RULES = {
    "current": (
        "per Gemeinde × LeiKa service (or whole OZG-Leistung) × dimension the newest validated "
        "assessment; as of `at`, the newest one assessed and validated by then"
    ),
    "applicable": (
        "a LeiKa service applies by its LeiKa-Typ (executed by Länder or Kommunen; unknown: "
        "applicable; 1 is federal), or as the Gemeinde's override says (applicable: all its "
        "services count; not applicable: out of every denominator)"
    ),
    "scale": (
        "levels of other model versions are read on the dimension's default model through the "
        "level mapping; a level without a mapping counts as not assessed"
    ),
    "pair": (
        "one inhabited Gemeinde × applicable OZG-Leistung × dimension; its level is the highest "
        "current level of its counted LeiKa services (or of the whole Leistung)"
    ),
    "online": f"a pair at level ≥ {ONLINE_FROM} (the federal dashboard's rule)",
    "ozg_konform": f"a pair at level ≥ {OZG_KONFORM_FROM} (IT-Planungsrat 2020)",
}
PAIR_TABLE: Table = PairLevel.__table__  # type: ignore[attr-defined]
COLUMNS = [column.name for column in PAIR_TABLE.columns]
KEY = ("ars", "ozg_id", "dimension")
# Gemeinden per refreshing statement: bounds the bound parameters of one statement.
ARS_CHUNK = 1000


def published(at: datetime | None) -> list[Any]:
    """Validated, and as of `at`: assessed and validated by then."""
    conditions = [col(Assessment.status) == Status.VALIDATED.value]
    if at is not None:
        conditions += [col(Assessment.status_changed_at) <= at, col(Assessment.assessed_at) <= at]
    return conditions


def computed(
    ref: Reference,
    *,
    at: datetime | None = None,
    area: str | None = None,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
) -> Select[Any]:
    """The pair levels as of `at` (now: None), with the columns of `pair_level`; narrowed to an
    ARS prefix, some Gemeinden or some OZG-Leistungen."""
    known, scale = ref.known, ref.scale
    leistung = func.coalesce(col(Assessment.ozg_id), col(LeikaLeistung.ozg_id))
    target: Any = (
        case(scale.targets, value=col(Assessment.dimension)) if scale.targets else literal(None)
    )
    level = case(
        (target.is_(None), col(Assessment.level)),
        (col(Assessment.model_id) == target, col(Assessment.level)),
        else_=col(LevelMapping.to_level),
    )
    override = [
        col(ApplicabilityOverride.ars) == col(Assessment.ars),
        col(ApplicabilityOverride.ozg_id) == leistung,
    ]
    forced = exists().where(*override, col(ApplicabilityOverride.applicable))
    dropped = exists().where(*override, not_(col(ApplicabilityOverride.applicable)))
    by_default = or_(
        col(Assessment.leika_id).in_(known.default_leika_ids),
        col(Assessment.ozg_id).in_(sorted(known.applicable_leika)),
    )
    conditions = [*published(at), or_(by_default, forced), not_(dropped)]
    if area:
        conditions.append(col(Assessment.ars).startswith(area))
    if ars is not None:
        conditions.append(col(Assessment.ars).in_(sorted(ars)))
    if ozg_ids is not None:
        conditions.append(leistung.in_(sorted(ozg_ids)))
    newest_first = (
        func.row_number()
        .over(
            partition_by=[
                col(Assessment.ars),
                col(Assessment.leika_id),
                col(Assessment.ozg_id),
                col(Assessment.dimension),
            ],
            order_by=[col(Assessment.assessed_at).desc(), col(Assessment.id).desc()],
        )
        .label("rank")
    )
    ranked = (
        select(
            col(Assessment.id).label("assessment_id"),
            col(Assessment.ars).label("ars"),
            leistung.label("ozg_id"),
            col(Assessment.dimension).label("dimension"),
            col(Assessment.leika_id).label("leika_id"),
            level.label("level"),
            col(Assessment.provisional).label("provisional"),
            col(Assessment.assessed_at).label("assessed_at"),
            col(Assessment.land_wide_portal).label("land_wide_portal"),
            newest_first,
        )
        .outerjoin(LeikaLeistung, col(LeikaLeistung.id) == col(Assessment.leika_id))
        .outerjoin(
            LevelMapping,
            and_(
                col(LevelMapping.from_model_id) == col(Assessment.model_id),
                col(LevelMapping.from_level) == col(Assessment.level),
                col(LevelMapping.to_model_id) == target,
            ),
        )
        .where(*conditions)
        .subquery("ranked")
    )
    pair = [ranked.c.ars, ranked.c.ozg_id, ranked.c.dimension]
    levelled = (
        select(
            ranked,
            func.row_number()
            .over(
                partition_by=pair,
                order_by=[
                    ranked.c.level.desc(),
                    ranked.c.assessed_at.desc(),
                    ranked.c.assessment_id.desc(),
                ],
            )
            .label("pick"),
            func.min(ranked.c.level).over(partition_by=pair).label("lowest"),
            func.count().over(partition_by=pair).label("services"),
            func.max(ranked.c.assessed_at).over(partition_by=pair).label("newest_at"),
            func.max(case((ranked.c.land_wide_portal, 1), else_=0))
            .over(partition_by=pair)
            .label("portals"),
        )
        .join(Gemeinde, col(Gemeinde.ars) == ranked.c.ars)
        .where(ranked.c.rank == 1, ranked.c.level.is_not(None), *inhabited())
        .subquery("levelled")
    )
    values = {
        "ars": levelled.c.ars,
        "ozg_id": levelled.c.ozg_id,
        "dimension": levelled.c.dimension,
        "level": levelled.c.level,
        "lowest": levelled.c.lowest,
        "services": levelled.c.services,
        "leika_id": levelled.c.leika_id,
        "assessment_id": levelled.c.assessment_id,
        "provisional": levelled.c.provisional,
        "assessed_at": levelled.c.assessed_at,
        "newest_at": levelled.c.newest_at,
        "land_wide_portal": levelled.c.portals == 1,
    }
    return select(*(values[name].label(name) for name in COLUMNS)).where(levelled.c.pick == 1)


async def refresh(
    session: AsyncSession,
    *,
    ars: Collection[str] | None = None,
    ozg_ids: Collection[str] | None = None,
) -> None:
    """Recompute the stored pairs of these Gemeinden × OZG-Leistungen (None: all of them)."""
    if (ars is not None and not ars) or (ozg_ids is not None and not ozg_ids):
        return
    await session.flush()
    ref = await reference(session)
    connection = await session.connection()
    ordered = None if ars is None else sorted(ars)
    chunks: list[list[str] | None] = (
        [None]
        if ordered is None
        else [ordered[start : start + ARS_CHUNK] for start in range(0, len(ordered), ARS_CHUNK)]
    )
    for chunk in chunks:
        stale = delete(PAIR_TABLE)
        if chunk is not None:
            stale = stale.where(PAIR_TABLE.c.ars.in_(chunk))
        if ozg_ids is not None:
            stale = stale.where(PAIR_TABLE.c.ozg_id.in_(sorted(ozg_ids)))
        await connection.execute(stale)
        fresh = computed(ref, ars=chunk, ozg_ids=ozg_ids)
        await connection.execute(insert(PAIR_TABLE).from_select(COLUMNS, fresh))


async def rebuild(session: AsyncSession) -> None:
    """Every pair anew: after a change of the catalogue, the regions, a model or mapping, or the
    municipal LeiKa-Typ codes."""
    await refresh(session)


class Touched:
    """The Gemeinden and OZG-Leistungen that new assessment rows (column dicts, as importers
    insert them) can move; only validated rows count. Kept as two sets, so that millions of
    rows cost no more than the Gemeinden and Leistungen they name."""

    def __init__(self, ref: Reference) -> None:
        self.ozg_of = ref.known.ozg_of
        self.gemeinden: set[str] = set()
        self.leistungen: set[str] = set()

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            if row["status"] != Status.VALIDATED.value:
                continue
            ozg_id = row["ozg_id"] or self.ozg_of.get(row["leika_id"])
            if ozg_id is not None:
                self.gemeinden.add(row["ars"])
                self.leistungen.add(ozg_id)

    async def refresh(self, session: AsyncSession) -> None:
        await refresh(session, ars=self.gemeinden, ozg_ids=self.leistungen)


async def touched(session: AsyncSession) -> Touched:
    return Touched(await reference(session))


async def refresh_assessed(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Refresh the pairs that these new assessment rows can move."""
    found = await touched(session)
    found.add(rows)
    await found.refresh(session)


async def refresh_assessment(session: AsyncSession, assessment: Assessment) -> None:
    """Refresh the one pair an assessment belongs to (after its validation)."""
    await refresh_assessed(session, [assessment.model_dump()])


async def stored(
    session: AsyncSession,
    *,
    ars: str | None = None,
    area: str | None = None,
    ozg_id: str | None = None,
    dimension: str | None = None,
) -> list[Row[Any]]:
    """The stored current pairs, narrowed."""
    statement = select(PAIR_TABLE)
    if ars is not None:
        statement = statement.where(PAIR_TABLE.c.ars == ars)
    if area:
        statement = statement.where(PAIR_TABLE.c.ars.startswith(area))
    if ozg_id is not None:
        statement = statement.where(PAIR_TABLE.c.ozg_id == ozg_id)
    if dimension is not None:
        statement = statement.where(PAIR_TABLE.c.dimension == dimension)
    return list((await run(session, statement)).all())


async def as_of(
    session: AsyncSession,
    at: datetime | None,
    *,
    ars: str | None = None,
    ozg_id: str | None = None,
    dimension: str | None = None,
) -> list[Row[Any]]:
    """The pairs now (stored) or as of a past moment (computed from the assessments)."""
    if at is None:
        return await stored(session, ars=ars, ozg_id=ozg_id, dimension=dimension)
    statement = computed(
        await reference(session), at=at,
        ars=None if ars is None else [ars], ozg_ids=None if ozg_id is None else [ozg_id],
    ).subquery()  # fmt: skip
    narrowed = select(statement)
    if dimension is not None:
        narrowed = narrowed.where(statement.c.dimension == dimension)
    return list((await run(session, narrowed)).all())


def source(ref: Reference, at: datetime | None, area: str | None) -> Any:
    """What a roll-up counts from: the stored pairs now, the computed ones as of `at`."""
    if at is None:
        return PAIR_TABLE
    return computed(ref, at=at, area=area).subquery("pairs")


async def missing(session: AsyncSession) -> bool:
    """True when no pair is stored although validated assessments exist (a database migrated
    from before the relation)."""
    any_pair = select(literal(1)).select_from(PAIR_TABLE).limit(1)
    any_validated = select(col(Assessment.id)).where(*published(None)).limit(1)
    stored_any = (await run(session, any_pair)).first() is not None
    return not stored_any and (await run(session, any_validated)).first() is not None


@dataclass(frozen=True)
class Difference:
    key: tuple[str, str, str]
    stored: tuple[Any, ...] | None
    computed: tuple[Any, ...] | None

    def __str__(self) -> str:
        return f"{' × '.join(self.key)}: stored {self.stored}, computed {self.computed}"


async def differences(session: AsyncSession) -> list[Difference]:
    """Rebuild the pairs from the assessments into a scratch table and compare it with
    `pair_level`, row by row."""
    ref = await reference(session)
    scratch = Table(
        "pair_level_check",
        MetaData(),
        *(Column(column.name, column.type) for column in PAIR_TABLE.columns),
        prefixes=["TEMPORARY"],
    )
    connection = await session.connection()
    await connection.run_sync(scratch.create)
    try:
        await connection.execute(insert(scratch).from_select(COLUMNS, computed(ref)))
        kept = select(*(PAIR_TABLE.c[name] for name in COLUMNS))
        fresh = select(*(scratch.c[name] for name in COLUMNS))
        only_kept = (await connection.execute(kept.except_(fresh))).all()
        only_fresh = (await connection.execute(fresh.except_(kept))).all()
    finally:
        await connection.run_sync(scratch.drop)
    found: dict[tuple[str, str, str], Difference] = {}
    for row in only_kept:
        key = (row.ars, row.ozg_id, row.dimension)
        found[key] = Difference(key, tuple(row), None)
    for row in only_fresh:
        key = (row.ars, row.ozg_id, row.dimension)
        found[key] = Difference(key, found[key].stored if key in found else None, tuple(row))
    return [found[key] for key in sorted(found)]
