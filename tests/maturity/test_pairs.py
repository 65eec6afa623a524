"""The stored pair levels equal the rule computed from scratch after every kind of change: a
validation, a rejection, a correction, a back-dated import, an override set and cleared, a new
model version with its mapping, a change of the municipal LeiKa-Typ codes; driven by random
histories (Hypothesis) on both backends."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import add_user
from tracker.access import queries as access_queries
from tracker.access.guards import Principal
from tracker.catalog.models import LeikaLeistung
from tracker.cli import main
from tracker.db import fill_temporary, run, temporary_table, tuples
from tracker.maturity import actions, applicability, bulk, counts, pairs, queries
from tracker.maturity.models import Dimension, PairLevel
from tracker.maturity.schemas import AssessmentCreate, ModelDefinition
from tracker.settings import Settings

ESSEN, KOELN, LEIPZIG = "051130000000", "053150000000", "147130000000"
HILDEN, RATINGEN = "051580016016", "051580028028"  # two of the Kreis Mettmann
GEMEINDEN = (ESSEN, KOELN, LEIPZIG, HILDEN, RATINGEN)
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Universe:
    """A few LeiKa services of two OZG-Leistungen, one of them federal (LeiKa-Typ 1)."""

    services: list[tuple[str, str]]  # (LeiKa key, OZG-ID)
    editor: Principal
    reviewer: Principal


async def universe(session: AsyncSession) -> Universe:
    rows = (
        await run(
            session,
            select(LeikaLeistung)
            .where(
                col(LeikaLeistung.leika_key).is_not(None), col(LeikaLeistung.ozg_id).is_not(None)
            )
            .order_by(col(LeikaLeistung.ozg_id), col(LeikaLeistung.id)),
        )
    ).scalars()
    by_ozg: dict[str, list[LeikaLeistung]] = {}
    for row in rows:
        by_ozg.setdefault(str(row.ozg_id), []).append(row)
    mixed = next(
        ozg_id
        for ozg_id, services in by_ozg.items()
        if any(s.leika_typ == ["1"] for s in services)
        and any(s.leika_typ and s.leika_typ != ["1"] for s in services)
    )
    plain = next(ozg_id for ozg_id, services in by_ozg.items() if len(services) >= 2)
    chosen = [(str(s.leika_key), ozg_id) for ozg_id in (mixed, plain) for s in by_ozg[ozg_id][:3]]
    editor = await add_user(session, "editor@pairs.test", [("editor", "")])
    reviewer = await add_user(session, "reviewer@pairs.test", [("reviewer", "")])
    principals = [
        await access_queries.principal_for_user(session, user.id or 0)
        for user in (editor, reviewer)
    ]
    assert None not in principals
    return Universe(chosen, *principals)  # type: ignore[arg-type]


async def assert_pairs_agree(session: AsyncSession, *, closed: bool = True) -> None:
    """The pairs, and their counts now and (`closed`) at the end of every closed month, equal
    the rule computed from the assessments (as `?at=` computes them); the closed months also
    equal the rule read at each month's end, pair by pair (`pairs.by_period`, the definition
    that the changes from month to month, which `count_differences` reads, must agree with)."""
    assert [str(difference) for difference in await pairs.differences(session)] == []
    assert await pairs.count_differences(session, closed=closed) == []
    held = await counts.closed_periods(session) if closed else []
    if not held:
        return
    connection = await session.connection()
    columns = [pairs.PERIOD_TABLE.c.period_end, *pairs.LEVEL_COLUMNS]
    scratch = temporary_table("pair_level_then", columns)
    await connection.run_sync(scratch.create)
    try:
        definition = pairs.by_period(await applicability.reference(session), None)
        await fill_temporary(connection, scratch, definition)
        assert await counts.differences(session, scratch, held) == []
    finally:
        await connection.run_sync(scratch.drop)


async def assess(
    session: AsyncSession,
    world: Universe,
    *,
    ars: str,
    service: int,
    dimension: str,
    model: str | None,
    level: int,
    days_back: int,
    outcome: str,
    corrects: int | None = None,
) -> int:
    loaded = await queries.model_for(session, dimension, model)
    level = min(level, max(loaded.level_list))
    data = AssessmentCreate.model_validate({
        "ars": ars, "leika_key": world.services[service][0], "dimension": dimension,
        "model": model, "ratings": {loaded.criteria[0].key: level},
        "assessed_at": (NOW - timedelta(days=days_back)).isoformat(), "submit": True,
        "corrects": corrects,
    })  # fmt: skip
    recorded = await actions.record_assessment(session, data, actor=world.editor)
    assert recorded.id is not None
    if outcome != "submitted":
        await actions.change_status(
            session,
            recorded.id,
            outcome,
            comment="geprüft",
            if_match=f'"v{recorded.version}"',
            actor=world.reviewer,
        )
    return recorded.id


async def back_dated_import(
    session: AsyncSession, world: Universe, *, ars: str, service: int, level: int, days: int
) -> None:
    """A file of validated rows dated in a closed period, as the CLI imports it."""
    moment = NOW - timedelta(days=days)
    text = ",".join(bulk.COLUMNS) + "\n" + ",".join({
        "external_id": f"pairs:{ars}:{service}:{level}:{days}", "ars": ars,
        "leika_key": world.services[service][0], "dimension": "online", "level": str(level),
        "assessed_at": moment.isoformat(), "source": "self",
    }.get(column, "") for column in bulk.COLUMNS) + "\n"  # fmt: skip
    rows = bulk.csv_rows(io.BytesIO(text.encode()), "pairs.csv")
    result = await bulk.import_assessments(session, rows, "pairs.csv")
    assert result.rejected == [], result.rejected


async def override(
    session: AsyncSession, world: Universe, *, ars: str, service: int, applicable: bool | None
) -> None:
    ozg_id = world.services[service][1]
    if applicable is None:
        if await applicability.get_override(session, ars, ozg_id) is not None:
            await actions.clear_override(session, ars, ozg_id, if_match="*", actor=world.editor)
        return
    found = await applicability.get_override(session, ars, ozg_id)
    await actions.set_override(
        session, ars, ozg_id, applicable=applicable, reason="Test",
        if_match=None if found is None else f'"v{found.version}"', actor=world.editor,
    )  # fmt: skip


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("assess"),
            st.sampled_from(GEMEINDEN),
            st.integers(0, 5),
            st.sampled_from(["online", "backoffice"]),
            st.sampled_from([None, "ozg-rgm-2.0"]),
            st.integers(0, 7),
            st.integers(0, 800),
            st.sampled_from(["validate", "reject", "submitted"]),
        ),
        st.tuples(
            st.just("import"),
            st.sampled_from(GEMEINDEN),
            st.integers(0, 5),
            st.integers(0, 4),
            st.integers(30, 800),
        ),
        st.tuples(
            st.just("override"),
            st.sampled_from(GEMEINDEN),
            st.integers(0, 5),
            st.sampled_from([True, False, None]),
        ),
        st.tuples(st.just("types"), st.booleans()),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(history=steps)
async def test_random_histories_keep_the_pairs_equal_to_the_rule(
    session: AsyncSession, history: list[tuple[Any, ...]]
) -> None:
    savepoint = await session.begin_nested()
    try:
        world = await universe(session)
        for step in history:
            kind, *args = step
            if kind == "assess":
                ars, service, dimension, model, level, days, outcome = args
                await assess(
                    session, world, ars=ars, service=service, dimension=dimension,
                    model=model if dimension == "online" else None, level=level,
                    days_back=days, outcome=outcome,
                )  # fmt: skip
            elif kind == "import":
                ars, service, level, days = args
                await back_dated_import(
                    session, world, ars=ars, service=service, level=level, days=days
                )
            elif kind == "override":
                ars, service, applicable = args
                await override(session, world, ars=ars, service=service, applicable=applicable)
            else:
                (federal,) = args
                await actions.change_municipal_types(
                    session, add=["1"] if federal else [], remove=[] if federal else ["1"],
                    actor="test",
                )  # fmt: skip
            await assert_pairs_agree(session, closed=False)
        await assert_pairs_agree(session)
    finally:
        await savepoint.rollback()


async def test_each_kind_of_change_moves_the_stored_pair(session: AsyncSession) -> None:
    world = await universe(session)
    key = (ESSEN, world.services[3][1], Dimension.ONLINE.value)

    async def stored() -> Any:
        return await session.get(PairLevel, key)

    first = await assess(
        session, world, ars=ESSEN, service=3, dimension="online", model=None, level=2,
        days_back=10, outcome="validate",
    )  # fmt: skip
    assert ((await stored()).level, (await stored()).assessment_id) == (2, first)
    await assess(
        session, world, ars=ESSEN, service=3, dimension="online", model=None, level=4,
        days_back=5, outcome="reject",
    )  # fmt: skip
    assert (await stored()).level == 2  # a rejection moves nothing
    correction = await assess(
        session, world, ars=ESSEN, service=3, dimension="online", model=None, level=3,
        days_back=1, outcome="validate", corrects=first,
    )  # fmt: skip
    assert ((await stored()).level, (await stored()).assessment_id) == (3, correction)
    # RGM 2.0 level 6 reads as 1.1 level 4 through the mapping
    await assess(
        session, world, ars=ESSEN, service=4, dimension="online", model="ozg-rgm-2.0", level=6,
        days_back=0, outcome="validate",
    )  # fmt: skip
    assert ((await stored()).level, (await stored()).lowest, (await stored()).services) == (4, 3, 2)
    # a back-dated import is older than the current assessments: the level stays
    await back_dated_import(session, world, ars=ESSEN, service=3, level=1, days=400)
    assert (await stored()).level == 4
    await override(session, world, ars=ESSEN, service=3, applicable=False)
    assert await stored() is None
    await override(session, world, ars=ESSEN, service=3, applicable=None)
    assert (await stored()).level == 4
    await assert_pairs_agree(session)


async def test_a_new_model_version_counts_through_its_mapping(session: AsyncSession) -> None:
    world = await universe(session)
    definition = ModelDefinition.model_validate({
        "key": "test-rgm-9", "dimension": "online", "name": "Test", "version": "9",
        "verified": False,
        "levels": [{"level": n, "name": f"L{n}", "definition": "…"} for n in range(3)],
        "criteria": [{"key": "alles", "name": "Alles"}],
        "mapping": {"ozg-rgm-1.1": {"0": 0, "1": 2}},
    })  # fmt: skip
    await actions.add_model(session, definition, actor="test")
    for level in (1, 2):  # 2 has no mapping: not assessed
        await assess(
            session, world, ars=KOELN, service=3 + level - 1, dimension="online",
            model="test-rgm-9", level=level, days_back=0, outcome="validate",
        )  # fmt: skip
    found = await session.get(PairLevel, (KOELN, world.services[3][1], "online"))
    assert found is not None
    assert (found.level, found.services) == (2, 1)
    await assert_pairs_agree(session)


async def test_verify_pairs_names_every_difference_and_repairs(
    session: AsyncSession, settings: Settings
) -> None:
    world = await universe(session)
    await assess(
        session, world, ars=LEIPZIG, service=3, dimension="online", model=None, level=3,
        days_back=0, outcome="validate",
    )  # fmt: skip
    await run(session, update(PairLevel).where(col(PairLevel.ars) == LEIPZIG).values(level=1))
    found = await pairs.differences(session)
    assert [(d.key, d.stored and d.stored[3], d.computed and d.computed[3]) for d in found] == [
        ((LEIPZIG, world.services[3][1], "online"), 1, 3)
    ]
    await pairs.rebuild(session)
    await assert_pairs_agree(session)


def test_verify_pairs_command_exits_0_on_an_agreeing_database(settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["verify", "pairs"], env={"TRACKER_DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 differences (")


async def test_months_that_end_without_a_change_are_kept_as_copies(session: AsyncSession) -> None:
    world = await universe(session)
    await assess(
        session, world, ars=ESSEN, service=3, dimension="online", model=None, level=3,
        days_back=0, outcome="validate",
    )  # fmt: skip
    this_month = counts.month_end(NOW)
    last_month = counts.month_end(NOW.replace(day=1) - timedelta(days=1))
    assert (await counts.closed_periods(session))[-1] == last_month
    later = NOW.replace(day=1) + timedelta(days=62)  # the next change, two months on
    await counts.close_periods(session, now=later, since=later)
    held = await counts.closed_periods(session)
    next_month = counts.month_end(counts.end_moment(this_month) + timedelta(days=1))
    assert held[-3:] == [last_month, this_month, next_month]

    async def counted(period: date) -> set[tuple[Any, ...]]:
        found: set[tuple[Any, ...]] = set()
        for table in (counts.GEMEINDE_TABLE, counts.LEISTUNG_TABLE, counts.LAND_TABLE):
            rows = await run(session, select(table).where(table.c.period_end == period))
            found |= {(table.name, *row[1:]) for row in rows}
        return found

    assert await counted(this_month) == await counted(counts.LIVE)
    assert await counted(last_month) == set()
    await assert_pairs_agree(session)


async def test_a_back_dated_import_keeps_the_months_of_its_kreis_neighbours(
    session: AsyncSession,
) -> None:
    """Ratingen's back-dated import recounts the Kreis Mettmann from Hilden's Gemeinden too;
    Hilden's own counts in the months that followed stay as they were."""
    world = await universe(session)
    await back_dated_import(session, world, ars=HILDEN, service=3, level=3, days=100)
    await back_dated_import(session, world, ars=RATINGEN, service=0, level=2, days=300)
    await assert_pairs_agree(session)


async def test_back_dated_imports_out_of_order_count_in_every_closed_month(
    session: AsyncSession,
) -> None:
    """Three back-dated levels of one service, the middle one imported last: each closed
    month counts the level that was current at its end (a span ends where the next begins)."""
    world = await universe(session)
    imported = ((4, 200), (1, 100), (3, 150))
    for level, days in imported:
        await back_dated_import(session, world, ars=ESSEN, service=3, level=level, days=days)
    await assert_pairs_agree(session)
    ozg_id = world.services[3][1]
    definition = pairs.by_period(
        await applicability.reference(session), None, ars=[ESSEN], ozg_ids=[ozg_id]
    ).subquery()
    levels = dict(
        await tuples(
            session,
            select(definition.c.period_end, definition.c.level).where(
                definition.c.ozg_id == ozg_id, definition.c.dimension == "online"
            ),
        )
    )
    for period in await counts.closed_periods(session):
        known = [(days, level) for level, days in imported if NOW - timedelta(days=days)
                 <= counts.end_moment(period)]  # fmt: skip
        assert levels.get(period) == (min(known)[1] if known else None), period
