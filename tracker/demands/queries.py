"""Reads of demands: catalogues, the demand tree with its roll-up (the one home of the progress
rule, `schemas.ROLLUP_RULE`), Maßnahmen with their uptake figures, milestones, links, events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, func, select, union
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.catalog import queries as catalog_queries
from tracker.db import as_utc, run, tuples
from tracker.demands.models import (
    ActionMilestone,
    ActionStatus,
    ActionUptake,
    Demand,
    DemandAction,
    DemandCatalogue,
    DemandEvent,
    DemandLink,
    LinkKind,
)
from tracker.errors import NotFound
from tracker.listing import fetch_page
from tracker.maturity import applicability, pairs
from tracker.maturity.models import Dimension
from tracker.maturity.rules import Coverage
from tracker.research import queries as research_queries


async def list_statuses(session: AsyncSession) -> list[ActionStatus]:
    statement = select(ActionStatus).order_by(col(ActionStatus.position))
    return list((await run(session, statement)).scalars())


async def status_map(session: AsyncSession) -> dict[str, ActionStatus]:
    return {status.key: status for status in await list_statuses(session)}


async def list_catalogues(session: AsyncSession) -> list[DemandCatalogue]:
    statement = select(DemandCatalogue).order_by(col(DemandCatalogue.id))
    return list((await run(session, statement)).scalars())


async def find_catalogue(session: AsyncSession, key: str) -> DemandCatalogue | None:
    statement = select(DemandCatalogue).where(col(DemandCatalogue.key) == key)
    found: DemandCatalogue | None = (await run(session, statement)).scalars().first()
    return found


async def get_catalogue(session: AsyncSession, key: str) -> DemandCatalogue:
    found = await find_catalogue(session, key)
    if found is None:
        raise NotFound(f"Demand catalogue {key} does not exist.")
    return found


async def catalogue_by_id(session: AsyncSession, catalogue_id: int) -> DemandCatalogue:
    found = await session.get(DemandCatalogue, catalogue_id)
    assert found is not None  # noqa: S101  (a foreign key)
    return found


async def find_demand(session: AsyncSession, key: str) -> Demand | None:
    found: Demand | None = (
        (await run(session, select(Demand).where(col(Demand.key) == key))).scalars().first()
    )
    return found


async def get_demand(session: AsyncSession, key: str) -> Demand:
    found = await find_demand(session, key)
    if found is None:
        raise NotFound(f"Demand {key} does not exist.")
    return found


async def demands_of(session: AsyncSession, catalogue_id: int) -> list[Demand]:
    statement = (
        select(Demand)
        .where(col(Demand.catalogue_id) == catalogue_id)
        .order_by(col(Demand.position), col(Demand.id))
    )
    return list((await run(session, statement)).scalars())


async def get_action(session: AsyncSession, action_id: int) -> DemandAction:
    found = await session.get(DemandAction, action_id)
    if found is None:
        raise NotFound(f"Maßnahme {action_id} does not exist.")
    return found


async def action_by_external_id(session: AsyncSession, external_id: str) -> DemandAction | None:
    statement = select(DemandAction).where(col(DemandAction.external_id) == external_id)
    found: DemandAction | None = (await run(session, statement)).scalars().first()
    return found


async def demand_key_of(session: AsyncSession, action: DemandAction) -> str:
    demand = await session.get(Demand, action.demand_id)
    assert demand is not None  # noqa: S101  (a foreign key)
    return demand.key


async def catalogue_of(session: AsyncSession, action: DemandAction) -> DemandCatalogue:
    demand = await session.get(Demand, action.demand_id)
    assert demand is not None  # noqa: S101  (a foreign key)
    return await catalogue_by_id(session, demand.catalogue_id)


# --- figures: the one progress rule --------------------------------------------------------------


# what the history replays: an action's state, and an uptake's
REPLAYED = ("status", "progress", "progress_manual")


@dataclass
class ActionFigures:
    """An action's uptake and milestones as the roll-up reads them."""

    uptake: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    counted_uptake: int = 0
    uptake_progress_sum: float = 0.0
    overdue: int = 0

    @property
    def uptake_mean(self) -> float | None:
        if self.counted_uptake == 0:
            return None
        return self.uptake_progress_sum / self.counted_uptake


@dataclass(frozen=True)
class ActionState:
    """What the roll-up reads of an action: as stored, or as replayed from the history."""

    id: int
    demand_id: int
    status: str
    progress: int
    progress_manual: bool
    weight: float

    @classmethod
    def of(cls, action: DemandAction, **replayed: Any) -> ActionState:
        assert action.id is not None  # noqa: S101  (stored)
        fields = {name: getattr(action, name) for name in REPLAYED} | replayed
        return cls(id=action.id, demand_id=action.demand_id, weight=action.weight, **fields)


def effective_progress(action: DemandAction | ActionState, figures: ActionFigures) -> float:
    """By hand, else the mean of the counted uptake, else the stored progress."""
    if action.progress_manual:
        return float(action.progress)
    mean = figures.uptake_mean
    return float(action.progress) if mean is None else mean


async def action_figures(
    session: AsyncSession, action_ids: Iterable[int], *, on: date
) -> dict[int, ActionFigures]:
    ids = list(action_ids)
    figures: dict[int, ActionFigures] = {action_id: ActionFigures() for action_id in ids}
    if not ids:
        return figures
    statuses = await status_map(session)
    uptake = (
        select(
            col(ActionUptake.action_id),
            col(ActionUptake.status),
            func.count(),
            func.sum(col(ActionUptake.progress)),
        )
        .where(col(ActionUptake.action_id).in_(ids))
        .group_by(col(ActionUptake.action_id), col(ActionUptake.status))
    )
    for action_id, status, count, total in await tuples(session, uptake):
        found = figures[action_id]
        found.uptake += count
        found.by_status[status] = count
        if statuses[status].counted:
            found.counted_uptake += count
            found.uptake_progress_sum += float(total)
    overdue = (
        select(col(ActionMilestone.action_id), func.count())
        .where(
            col(ActionMilestone.action_id).in_(ids),
            col(ActionMilestone.done_at).is_(None),
            col(ActionMilestone.due_date) < on,
        )
        .group_by(col(ActionMilestone.action_id))
    )
    for action_id, count in await tuples(session, overdue):
        figures[action_id].overdue = count
    return figures


@dataclass
class Node:
    """A demand with its roll-up over its Maßnahmen and child demands."""

    demand: Demand
    children: list[Node]
    progress: float | None
    weight: float
    actions: int
    by_status: dict[str, int]
    overdue: int
    action_ids: list[int] = field(default_factory=list)  # its own Maßnahmen, not those below

    def actions_under(self) -> list[int]:
        """The ids of its Maßnahmen and of those of every demand below it."""
        found = list(self.action_ids)
        for child in self.children:
            found += child.actions_under()
        return sorted(found)


@dataclass
class Tree:
    roots: list[Node]
    by_id: dict[int, Node]


async def as_of(
    session: AsyncSession, actions: list[DemandAction], at: datetime, *, on: date
) -> tuple[list[ActionState], dict[int, ActionFigures]]:
    """The actions and their figures as they stood at `at`, replayed from the append-only
    history: actions created later are left out; status, progress and uptake are those of the
    last events up to `at`; a milestone counts as done from its `done_at` day. Weights and
    milestones themselves are today's (their changes are not replayed)."""
    known = [action for action in actions if as_utc(action.created_at) <= at]
    ids = [action.id for action in known if action.id is not None]
    statement = (
        select(DemandEvent)
        .where(col(DemandEvent.action_id).in_(ids), col(DemandEvent.at) <= at)
        .order_by(col(DemandEvent.id))
    )
    state: dict[int, dict[str, Any]] = {action_id: {} for action_id in ids}
    uptake: dict[tuple[int, str], dict[str, Any]] = {}
    for event in (await run(session, statement)).scalars():
        target = (
            state[event.action_id]
            if event.ars is None
            else uptake.setdefault((event.action_id, event.ars), {})
        )
        if event.kind == "milestone":
            continue
        for name in REPLAYED:
            if name in event.changes:
                target[name] = event.changes[name][1]
    then = [ActionState.of(action, **state[action.id]) for action in known if action.id]
    statuses = await status_map(session)
    figures = {action_id: ActionFigures() for action_id in ids}
    for (action_id, _), values in uptake.items():
        if "status" not in values:
            continue
        found = figures[action_id]
        found.uptake += 1
        found.by_status[values["status"]] = found.by_status.get(values["status"], 0) + 1
        if statuses[values["status"]].counted:
            found.counted_uptake += 1
            found.uptake_progress_sum += float(values.get("progress", 0))
    overdue = (
        select(col(ActionMilestone.action_id), func.count())
        .where(
            col(ActionMilestone.action_id).in_(ids),
            col(ActionMilestone.due_date) < on,
            (col(ActionMilestone.done_at).is_(None)) | (col(ActionMilestone.done_at) > on),
        )
        .group_by(col(ActionMilestone.action_id))
    )
    for action_id, count in await tuples(session, overdue):
        figures[action_id].overdue = count
    return then, figures


async def demand_tree(
    session: AsyncSession, catalogue_id: int, *, on: date, at: datetime | None = None
) -> Tree:
    """Every demand of the catalogue with its roll-up (`schemas.ROLLUP_RULE`); with `at`, as
    it stood then (`as_of`)."""
    demands = await demands_of(session, catalogue_id)
    ids = [demand.id for demand in demands]
    statement = select(DemandAction).where(col(DemandAction.demand_id).in_(ids))
    stored = list((await run(session, statement)).scalars())
    if at is None:
        actions = [ActionState.of(action) for action in stored]
        figures = await action_figures(session, [a.id for a in actions], on=on)
    else:
        actions, figures = await as_of(session, stored, at, on=on)
    statuses = await status_map(session)
    by_demand: dict[int, list[ActionState]] = defaultdict(list)
    for action in actions:
        by_demand[action.demand_id].append(action)
    children: dict[int | None, list[Demand]] = defaultdict(list)
    for demand in demands:
        children[demand.parent_id].append(demand)
    by_id: dict[int, Node] = {}

    def build(demand: Demand) -> Node:
        assert demand.id is not None  # noqa: S101  (stored)
        nodes = [build(child) for child in children[demand.id]]
        parts: list[tuple[float, float]] = []
        count, overdue = 0, 0
        by_status: defaultdict[str, int] = defaultdict(int)
        for action in by_demand[demand.id]:
            count += 1
            by_status[action.status] += 1
            overdue += figures[action.id].overdue
            if statuses[action.status].counted:
                parts.append((action.weight, effective_progress(action, figures[action.id])))
        for node in nodes:
            count += node.actions
            overdue += node.overdue
            for status, number in node.by_status.items():
                by_status[status] += number
            if node.progress is not None:
                parts.append((node.demand.weight, node.progress))
        weight = sum(w for w, _ in parts)
        progress = sum(w * p for w, p in parts) / weight if weight > 0 else None
        node = Node(
            demand, nodes, progress, weight, count, dict(by_status), overdue,
            [action.id for action in by_demand[demand.id]],
        )  # fmt: skip
        by_id[demand.id] = node
        return node

    return Tree([build(root) for root in children[None]], by_id)


@dataclass
class Card:
    """A Maßnahme on a catalogue's board: what it shows and what the filters read."""

    action: DemandAction
    demand: Demand
    progress: float
    counted: bool
    overdue_milestones: int
    overdue: bool  # its due day has passed while it counts and is not complete


async def board(
    session: AsyncSession, tree: Tree, *, on: date, under: int | None = None
) -> list[Card]:
    """The cards of a catalogue's board (its tree), or of one demand and those below it;
    oldest due day first, undated last."""
    wanted = (
        tree.by_id[under].actions_under()
        if under is not None
        else sorted(i for node in tree.by_id.values() for i in node.action_ids)
    )
    if not wanted:
        return []
    statement = select(DemandAction).where(col(DemandAction.id).in_(wanted))
    found = list((await run(session, statement)).scalars())
    figures = await action_figures(session, wanted, on=on)
    statuses = await status_map(session)
    cards = []
    for action in found:
        assert action.id is not None  # noqa: S101  (stored)
        progress = effective_progress(action, figures[action.id])
        counted = statuses[action.status].counted
        late = action.due_date is not None and action.due_date < on and progress < 100
        cards.append(
            Card(action, tree.by_id[action.demand_id].demand, progress, counted,
                 figures[action.id].overdue, counted and late)
        )  # fmt: skip
    cards.sort(key=lambda card: (card.action.due_date or date.max, card.action.id or 0))
    return cards


# --- lists --------------------------------------------------------------------------------------


async def list_actions(
    session: AsyncSession, demand_id: int, *, limit: int | None, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
    statement = select(DemandAction).where(col(DemandAction.demand_id) == demand_id)
    return await fetch_page(session, statement, [col(DemandAction.id)], limit=limit, cursor=cursor)


async def list_uptake(session: AsyncSession, action_id: int) -> list[ActionUptake]:
    statement = (
        select(ActionUptake)
        .where(col(ActionUptake.action_id) == action_id)
        .order_by(col(ActionUptake.ars))
    )
    return list((await run(session, statement)).scalars())


async def get_uptake(session: AsyncSession, action_id: int, ars: str) -> ActionUptake | None:
    return await session.get(ActionUptake, (action_id, ars))


async def list_milestones(session: AsyncSession, action_id: int) -> list[ActionMilestone]:
    statement = (
        select(ActionMilestone)
        .where(col(ActionMilestone.action_id) == action_id)
        .order_by(col(ActionMilestone.due_date), col(ActionMilestone.id))
    )
    return list((await run(session, statement)).scalars())


async def get_milestone(session: AsyncSession, milestone_id: int) -> ActionMilestone:
    found = await session.get(ActionMilestone, milestone_id)
    if found is None:
        raise NotFound(f"Milestone {milestone_id} does not exist.")
    return found


async def milestone_by_external_id(
    session: AsyncSession, external_id: str
) -> ActionMilestone | None:
    statement = select(ActionMilestone).where(col(ActionMilestone.external_id) == external_id)
    found: ActionMilestone | None = (await run(session, statement)).scalars().first()
    return found


async def list_links(session: AsyncSession, action_id: int) -> list[DemandLink]:
    statement = (
        select(DemandLink)
        .where(col(DemandLink.action_id) == action_id)
        .order_by(col(DemandLink.id))
    )
    return list((await run(session, statement)).scalars())


async def list_events(
    session: AsyncSession,
    *,
    action_id: int | None = None,
    since: datetime | None = None,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Row[Any]], str | None]:
    """The append-only history, oldest first: of one action, or across all demands."""
    statement = select(DemandEvent)
    if action_id is not None:
        statement = statement.where(col(DemandEvent.action_id) == action_id)
    if since is not None:
        statement = statement.where(col(DemandEvent.at) >= since)
    return await fetch_page(session, statement, [col(DemandEvent.id)], limit=limit, cursor=cursor)


async def recent_events(
    session: AsyncSession, action_ids: Iterable[int], *, limit: int
) -> list[DemandEvent]:
    """The newest events of these actions, newest first (a demand page's history)."""
    ids = list(action_ids)
    if not ids:
        return []
    statement = (
        select(DemandEvent)
        .where(col(DemandEvent.action_id).in_(ids))
        .order_by(col(DemandEvent.id).desc())
        .limit(limit)
    )
    return list((await run(session, statement)).scalars())


async def milestones_of(
    session: AsyncSession, action_ids: Iterable[int]
) -> dict[int, list[ActionMilestone]]:
    statement = (
        select(ActionMilestone)
        .where(col(ActionMilestone.action_id).in_(list(action_ids)))
        .order_by(col(ActionMilestone.due_date), col(ActionMilestone.id))
    )
    found: dict[int, list[ActionMilestone]] = defaultdict(list)
    for milestone in (await run(session, statement)).scalars():
        found[milestone.action_id].append(milestone)
    return found


async def actions_of_gemeinde(session: AsyncSession, ars: str) -> list[dict[str, Any]]:
    """The Maßnahmen a Gemeinde takes part in: taken up by it, owned by it, or linked to it;
    each with its demand, its status and progress, and the Gemeinde's own uptake."""
    part = _taking_part([ars])
    statement = (
        select(DemandAction, col(Demand.key), col(Demand.title), ActionUptake)
        .join(Demand, col(Demand.id) == col(DemandAction.demand_id))
        .outerjoin(
            ActionUptake,
            (col(ActionUptake.action_id) == col(DemandAction.id)) & (col(ActionUptake.ars) == ars),
        )
        .where(col(DemandAction.id).in_(select(part.c.action_id)))
        .order_by(col(Demand.key), col(DemandAction.id))
    )
    found = []
    for action, demand_key, demand_title, uptake in await tuples(session, statement):
        found.append({
            "id": action.id, "title": action.title, "demand": demand_key,
            "demand_title": demand_title, "status": action.status, "progress": action.progress,
            "due_date": action.due_date, "owner": action.owner_ars == ars,
            "uptake": None if uptake is None else {
                "status": uptake.status, "progress": uptake.progress,
            },
        })  # fmt: skip
    return found


FINDINGS_SHOWN = 3


async def linked_leistungen(session: AsyncSession, action_ids: list[int]) -> list[dict[str, Any]]:
    """The OZG-Leistungen these Maßnahmen link (directly or by a LeiKa key), each with its
    current maturity across the inhabited Gemeinden where it applies (online and OZG-konform
    as the maturity rules count them, the mean back-office level) and the open published
    findings about it by severity: why the Maßnahmen matter, in numbers."""
    statement = (
        select(DemandLink, col(DemandAction.title), col(Demand.key))
        .join(DemandAction, col(DemandAction.id) == col(DemandLink.action_id))
        .join(Demand, col(Demand.id) == col(DemandAction.demand_id))
        .where(
            col(DemandLink.action_id).in_(action_ids),
            col(DemandLink.kind).in_([LinkKind.LEISTUNG.value, LinkKind.LEIKA.value]),
        )
        .order_by(col(DemandLink.action_id), col(DemandLink.id))
    )
    by_leistung: dict[str, set[int]] = defaultdict(set)
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link, title, demand_key in await tuples(session, statement):
        ozg_id: str | None = link.target
        if link.kind == LinkKind.LEIKA.value:
            ozg_id = (await catalog_queries.get_leika(session, link.target)).ozg_id
        if ozg_id is not None:
            by_leistung[ozg_id].add(link.action_id)
            links[ozg_id].append({
                "action": link.action_id, "action_title": title, "demand": demand_key,
                "kind": link.kind,
                "target": link.target, "reason": link.reason,
            })  # fmt: skip
    found = []
    for ozg_id in sorted(by_leistung):
        leistung = await catalog_queries.get_leistung(session, ozg_id)
        where = {row.ars for row in await applicability.gemeinden_where(session, ozg_id)}
        online = Coverage()
        levels = {
            row.ars: row.level
            for row in await pairs.as_of(session, None, ozg_id=ozg_id, dimension=Dimension.ONLINE)
        }
        for ars in where:
            online.add(levels.get(ars))
        backoffice = [
            row.level
            for row in await pairs.as_of(
                session, None, ozg_id=ozg_id, dimension=Dimension.BACKOFFICE
            )
            if row.ars in where
        ]
        research = await research_queries.leistung_findings(
            session, ozg_id, statuses=research_queries.OPEN_STATUSES
        )
        findings = research.findings
        by_severity = {str(severity): count for severity, count in research.by_severity.items()}
        found.append({
            "ozg_id": ozg_id, "name": leistung.name, "actions": sorted(by_leistung[ozg_id]),
            "links": links[ozg_id],
            "online": online.as_dict(),
            "mean_backoffice": round(sum(backoffice) / len(backoffice), 2) if backoffice else None,
            "backoffice_assessed": len(backoffice),
            "open_findings": len(findings), "findings_by_severity": by_severity,
            "findings": [
                {"id": finding.id, "severity": finding.severity,
                 "statement": finding.public_statement}
                for finding in findings[:FINDINGS_SHOWN]
            ],
        })  # fmt: skip
    return found


@dataclass
class TakingPart:
    """A Gemeinde that takes part in a Maßnahme: took it up, owns it, or is linked to it."""

    action_id: int
    title: dict[str, str]
    demand: str
    status: str
    ars: str


def _taking_part(gemeinden: Any) -> Any:
    """(action_id, ars) once per Maßnahme and Gemeinde of `gemeinden` (ARS, or a select of
    them) that takes part in it: took it up, owns it, or is linked to it (the one rule)."""
    ways: list[Any] = [
        select(col(ActionUptake.action_id).label("action_id"), col(ActionUptake.ars).label("ars"))
        .where(col(ActionUptake.ars).in_(gemeinden)),
        select(col(DemandAction.id).label("action_id"), col(DemandAction.owner_ars).label("ars"))
        .where(col(DemandAction.owner_ars).in_(gemeinden)),
        select(col(DemandLink.action_id).label("action_id"), col(DemandLink.target).label("ars"))
        .where(col(DemandLink.kind) == LinkKind.GEMEINDE.value,
               col(DemandLink.target).in_(gemeinden)),
    ]  # fmt: skip
    return union(*ways).subquery("part")  # union: once per Maßnahme × Gemeinde


async def taking_part(session: AsyncSession, gemeinden: Any) -> list[TakingPart]:
    """Who of the Gemeinden that the select `gemeinden` (one column of ARS) names takes part in
    which Maßnahme (`_taking_part`, as `actions_of_gemeinde` reads it for one Gemeinde)."""
    part = _taking_part(gemeinden)
    statement = (
        select(col(DemandAction.id), col(DemandAction.title), col(Demand.key),
               col(DemandAction.status), part.c.ars)
        .join(part, part.c.action_id == col(DemandAction.id))
        .join(Demand, col(Demand.id) == col(DemandAction.demand_id))
        .order_by(col(Demand.key), col(DemandAction.id), part.c.ars)
    )  # fmt: skip
    return [TakingPart(*row) for row in await tuples(session, statement)]
