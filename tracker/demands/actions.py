"""Writes of demands. Who may write is decided here, in `ensure_manages` (a catalogue) and
`ensure_takes_up` (a Gemeinde's uptake); every change of an action's status, progress, owner
or due date, of an uptake and of a milestone appends an event, and every write an audit row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.access.guards import Principal, ensure
from tracker.access.models import Role
from tracker.catalog import queries as catalog_queries
from tracker.concurrency import compare_and_set, expected_version
from tracker.demands import queries
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
from tracker.demands.schemas import (
    ActionCreate,
    ActionPatch,
    CatalogueDefinition,
    DemandDefinition,
    DemandPatch,
    LinkCreate,
    MilestoneCreate,
    MilestoneDefinition,
    MilestonePatch,
    StatusWrite,
    UptakeWrite,
)
from tracker.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from tracker.fields import ARS_LENGTH, ascii_digits
from tracker.regions import queries as regions_queries
from tracker.research import actions as research_actions
from tracker.research import queries as research_queries
from tracker.webhooks import actions as webhooks_actions

Actor = Principal | str  # a user, or the CLI ("cli", "import")
# the fields of an action whose every change is an event
TRACKED = ("status", "progress", "progress_manual", "owner_ars", "owner_body", "due_date")
DONE_PROGRESS = 100  # a status with this default progress ends a Maßnahme (done)


def _now() -> datetime:
    return datetime.now(UTC)


def invalid(name: str, detail: str, *, german: str | None = None) -> InvalidInput:
    """A 422 naming the field: `field`, as elsewhere in the API, and RFC 9457's
    `invalid-params`."""
    return InvalidInput(
        detail, german=german,
        extra={"field": name, "invalid-params": [{"name": name, "reason": detail}]},
    )  # fmt: skip


def _label(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.actor


def may_manage(actor: Actor, scope_ars: str) -> bool:
    """Demand managers and admins whose grant covers the catalogue's whole scope ('' only a
    global grant); the CLI runs as the server's operator."""
    if isinstance(actor, str):
        return True
    return actor.may_within(Role.DEMAND_MANAGER, scope_ars) or actor.may_within(
        Role.ADMIN, scope_ars
    )


def ensure_manages(actor: Actor, catalogue: DemandCatalogue) -> None:
    where = f"Gemeinden {catalogue.scope_ars}…" if catalogue.scope_ars else "all of Germany"
    german_where = (
        f"Gemeinden {catalogue.scope_ars}…" if catalogue.scope_ars else "ganz Deutschland"
    )
    ensure(
        may_manage(actor, catalogue.scope_ars),
        f"You are no demand manager of the catalogue {catalogue.key} ({where}).",
        german=f"Sie verwalten den Katalog {catalogue.key} ({german_where}) nicht.",
    )


def ensure_takes_up(actor: Actor, catalogue: DemandCatalogue, ars: str) -> None:
    """The catalogue's managers, and the Gemeinde's own demand managers, admins and editors."""
    if may_manage(actor, catalogue.scope_ars):
        return
    assert not isinstance(actor, str)  # noqa: S101  (the CLI manages everything)
    ensure(
        any(actor.may(role, ars) for role in (Role.DEMAND_MANAGER, Role.ADMIN, Role.EDITOR)),
        f"You may not set the uptake of Gemeinde {ars}.",
    )


async def _managed_action(session: AsyncSession, action_id: int, actor: Actor) -> DemandAction:
    action = await queries.get_action(session, action_id)
    ensure_manages(actor, await queries.catalogue_of(session, action))
    return action


async def _status(session: AsyncSession, key: str) -> ActionStatus:
    found = await session.get(ActionStatus, key)
    if found is None:
        known = ", ".join(status.key for status in await queries.list_statuses(session))
        raise invalid("status", f"Status {key} is not in the vocabulary ({known}).")
    return found


async def _check_owner(
    session: AsyncSession, owner_ars: str | None, owner_body: str | None
) -> None:
    if owner_ars is not None and owner_body is not None:
        raise invalid("owner_ars", "Give the owner as owner_ars or as owner_body, not both.")
    if owner_ars is not None:
        await _existing_gemeinde(session, owner_ars, "owner_ars")


async def _existing_gemeinde(session: AsyncSession, ars: str, name: str) -> None:
    if len(ars) != ARS_LENGTH or not ascii_digits(ars):
        raise invalid(name, f"{ars} is no ARS (12 digits).")
    try:
        await regions_queries.get_gemeinde(session, ars)
    except NotFound:
        raise invalid(name, f"Gemeinde {ars} does not exist.") from None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def _event(
    session: AsyncSession,
    action_id: int,
    kind: str,
    changes: dict[str, list[Any]],
    *,
    actor: Actor,
    comment: str | None = None,
    ars: str | None = None,
) -> None:
    session.add(
        DemandEvent(
            action_id=action_id, ars=ars, kind=kind, at=_now(), author=_label(actor),
            comment=comment,
            changes={name: [_plain(old), _plain(new)] for name, (old, new) in changes.items()},
        )
    )  # fmt: skip


def _dump(text: Any) -> dict[str, str] | None:
    return None if text is None else dict(text.model_dump())


# --- catalogues ----------------------------------------------------------------------------------


def _demand_fields(definition: DemandDefinition) -> dict[str, Any]:
    return {
        "kind": definition.kind, "title": _dump(definition.title),
        "summary": _dump(definition.summary), "verification": definition.verification,
        "source": definition.source, "source_date": definition.source_date,
        "weight": definition.weight,
    }  # fmt: skip


def _catalogue_fields(data: CatalogueDefinition) -> dict[str, Any]:
    return {
        "version": data.version, "title": _dump(data.title), "summary": _dump(data.summary),
        "publisher": data.publisher, "source": data.source, "source_date": data.source_date,
        "scope_ars": data.scope_ars,
    }  # fmt: skip


def _flatten(
    demands: list[DemandDefinition], parent: str | None = None
) -> Iterable[tuple[DemandDefinition, str | None, int]]:
    for position, demand in enumerate(demands, start=1):
        yield demand, parent, position
        yield from _flatten(demand.children, demand.key)


async def create_catalogue(
    session: AsyncSession, data: CatalogueDefinition, *, actor: Actor
) -> DemandCatalogue:
    """A new catalogue with its tree (a city's strategy, GI's theses …)."""
    ensure(
        may_manage(actor, data.scope_ars),
        f"You are no demand manager for the scope '{data.scope_ars}'.",
    )
    if await queries.find_catalogue(session, data.key) is not None:
        raise Conflict(f"A demand catalogue with the key {data.key} exists already.")
    catalogue, outcomes = await sync_catalogue(session, data, actor=actor)
    await access_actions.record_audit(
        session, actor=actor, entity="demand_catalogue", entity_id=data.key, action="create",
        changes={"version": [None, data.version], "demands": [None, len(outcomes)]},
    )  # fmt: skip
    return catalogue


async def sync_catalogue(
    session: AsyncSession, data: CatalogueDefinition, *, actor: Actor
) -> tuple[DemandCatalogue, dict[str, str]]:
    """Create or bring up to date a catalogue and its demands by key; demands the data no
    longer names stay (they may carry Maßnahmen). Returns each demand's key → create, update
    or unchanged."""
    catalogue = await queries.find_catalogue(session, data.key)
    fields = _catalogue_fields(data)
    if catalogue is None:
        catalogue = DemandCatalogue(key=data.key, created_at=_now(), **fields)
        session.add(catalogue)
        await session.flush()
    else:
        for name, value in fields.items():
            setattr(catalogue, name, value)
    assert catalogue.id is not None  # noqa: S101  (flushed)
    outcomes: dict[str, str] = {}
    ids: dict[str, int] = {}
    for definition, parent, position in _flatten(data.demands):
        wanted = {
            **_demand_fields(definition), "position": position,
            "parent_id": None if parent is None else ids[parent],
        }  # fmt: skip
        demand = await queries.find_demand(session, definition.key)
        if demand is None:
            demand = Demand(key=definition.key, catalogue_id=catalogue.id, **wanted)
            session.add(demand)
            outcomes[definition.key] = "create"
        elif demand.catalogue_id != catalogue.id:
            raise Conflict(f"Demand {definition.key} belongs to another catalogue.")
        elif any(getattr(demand, name) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(demand, name, value)
            demand.version += 1
            outcomes[definition.key] = "update"
        else:
            outcomes[definition.key] = "unchanged"
        await session.flush()
        assert demand.id is not None  # noqa: S101  (flushed)
        ids[definition.key] = demand.id
    return catalogue, outcomes


async def update_demand(
    session: AsyncSession, key: str, data: DemandPatch, *, if_match: str | None, actor: Actor
) -> Demand:
    demand = await queries.get_demand(session, key)
    ensure_manages(actor, await queries.catalogue_by_id(session, demand.catalogue_id))
    version = expected_version(if_match, current=demand.version)
    values: dict[str, Any] = {}
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name in ("title", "weight"):
            raise invalid(name, f"{name} cannot be null.")
        values[name] = _dump(value) if name in ("title", "summary") else value
    changed = {
        name: [_plain(getattr(demand, name)), _plain(value)]
        for name, value in values.items()
        if getattr(demand, name) != value
    }
    if not changed:
        return demand
    await compare_and_set(session, demand, version, values)
    await access_actions.record_audit(
        session, actor=actor, entity="demand", entity_id=key, action="update", changes=changed
    )
    return demand


# --- actions -------------------------------------------------------------------------------------


def _check_span(start: date | None, due: date | None) -> None:
    """A Maßnahme is due on or after its start."""
    if start is not None and due is not None and due < start:
        raise invalid(
            "due_date",
            f"due_date: {due.isoformat()} lies before start_date {start.isoformat()}.",
            german=f"Das Fälligkeitsdatum {due:%d.%m.%Y} liegt vor dem Beginn {start:%d.%m.%Y}.",
        )


def _check_done(done_at: date | None) -> None:
    """A milestone is done on a day that has come (a day of tolerance for time zones)."""
    if done_at is not None and done_at > datetime.now(UTC).date() + timedelta(days=1):
        raise invalid(
            "done_at",
            f"done_at: {done_at.isoformat()} lies in the future; a milestone is done when it is.",
            german=f"Erledigt am {done_at:%d.%m.%Y} liegt in der Zukunft.",
        )


async def create_action(
    session: AsyncSession, demand_key: str, data: ActionCreate, *, actor: Actor
) -> DemandAction:
    demand = await queries.get_demand(session, demand_key)
    ensure_manages(actor, await queries.catalogue_by_id(session, demand.catalogue_id))
    status = await _status(session, data.status)
    await _check_owner(session, data.owner_ars, data.owner_body)
    _check_span(data.start_date, data.due_date)
    if data.external_id is not None and (
        await queries.action_by_external_id(session, data.external_id) is not None
    ):
        raise Conflict(f"A Maßnahme with the external id {data.external_id} exists already.")
    manual = data.progress is not None
    progress = data.progress if data.progress is not None else status.default_progress or 0
    assert demand.id is not None  # noqa: S101  (stored)
    action = DemandAction(
        demand_id=demand.id, external_id=data.external_id, title=data.title.model_dump(),
        description=_dump(data.description), responsible_level=data.responsible_level.value,
        owner_ars=data.owner_ars, owner_body=data.owner_body, status=status.key,
        progress=progress, progress_manual=manual, weight=data.weight,
        start_date=data.start_date, due_date=data.due_date, source=data.source,
        created_at=_now(), created_by=_label(actor),
    )  # fmt: skip
    session.add(action)
    await session.flush()
    assert action.id is not None  # noqa: S101  (flushed)
    changes = {name: [None, getattr(action, name)] for name in TRACKED}
    await _event(session, action.id, "create", changes, actor=actor)
    await access_actions.record_audit(
        session, actor=actor, entity="demand_action", entity_id=action.id, action="create",
        changes={name: [None, _plain(new)] for name, (_, new) in changes.items()},
    )  # fmt: skip
    return action


async def _write_action(
    session: AsyncSession,
    action: DemandAction,
    version: int,
    values: dict[str, Any],
    *,
    kind: str,
    comment: str | None,
    actor: Actor,
) -> None:
    """Apply `values` (compare-and-set on the version), appending an event for the tracked
    fields that changed and an audit row for all."""
    changed = {
        name: [getattr(action, name), value]
        for name, value in values.items()
        if getattr(action, name) != value
    }
    assert action.id is not None  # noqa: S101  (stored)
    if not changed:
        if comment:  # a note on the action as it stands
            await _event(session, action.id, kind, {}, actor=actor, comment=comment)
        return
    await compare_and_set(session, action, version, values)
    tracked = {name: pair for name, pair in changed.items() if name in TRACKED}
    if tracked or comment:
        await _event(session, action.id, kind, tracked, actor=actor, comment=comment)
    await access_actions.record_audit(
        session, actor=actor, entity="demand_action", entity_id=action.id, action=kind,
        changes={name: [_plain(old), _plain(new)] for name, (old, new) in changed.items()},
    )  # fmt: skip


async def update_action(
    session: AsyncSession,
    action_id: int,
    data: ActionPatch,
    *,
    if_match: str | None,
    actor: Actor,
) -> DemandAction:
    action = await _managed_action(session, action_id, actor)
    version = expected_version(if_match, current=action.version)
    sent = data.model_fields_set - {"comment"}
    values: dict[str, Any] = {}
    for name in sent & {"start_date", "due_date", "weight"}:
        if name == "weight" and data.weight is None:
            raise invalid("weight", "weight cannot be null.")
        values[name] = getattr(data, name)
    _check_span(
        values.get("start_date", action.start_date), values.get("due_date", action.due_date)
    )
    for name in sent & {"title", "description"}:
        if name == "title" and data.title is None:
            raise invalid("title", "title cannot be null.")
        values[name] = _dump(getattr(data, name))
    if "responsible_level" in sent:
        if data.responsible_level is None:
            raise invalid("responsible_level", "responsible_level cannot be null.")
        values["responsible_level"] = data.responsible_level.value
    if sent & {"owner_ars", "owner_body"}:
        owner_ars = data.owner_ars if "owner_ars" in sent else None
        owner_body = data.owner_body if "owner_body" in sent else None
        await _check_owner(session, owner_ars, owner_body)
        values |= {"owner_ars": owner_ars, "owner_body": owner_body}
    if "progress" in sent:  # null: back to the mean of the uptake
        values["progress_manual"] = data.progress is not None
        if data.progress is not None:
            values["progress"] = data.progress
    await _write_action(
        session, action, version, values, kind="update", comment=data.comment, actor=actor
    )
    return action


async def change_action_status(
    session: AsyncSession,
    action_id: int,
    data: StatusWrite,
    *,
    if_match: str | None,
    actor: Actor,
) -> DemandAction:
    """A new status, with its default progress unless a progress is given (then it is set by
    hand); the change and its comment go into the history."""
    action = await _managed_action(session, action_id, actor)
    version = expected_version(if_match, current=action.version)
    status = await _status(session, data.status)
    values: dict[str, Any] = {"status": status.key}
    if data.progress is not None:
        values |= {"progress": data.progress, "progress_manual": True}
    elif status.default_progress is not None:
        values["progress"] = status.default_progress
        if status.default_progress == DONE_PROGRESS:  # done is done, whatever the uptake says
            values["progress_manual"] = True
    old_status = action.status
    await _write_action(
        session, action, version, values, kind="status", comment=data.comment, actor=actor
    )
    catalogue = await queries.catalogue_of(session, action)
    await webhooks_actions.emit(
        session, "demand.status_changed", catalogue.scope_ars, {
            "action_id": action_id, "catalogue": catalogue.key, "status": [old_status, status.key],
            "progress": action.progress, "comment": data.comment,
        },
    )  # fmt: skip
    return action


# --- uptake --------------------------------------------------------------------------------------


async def set_uptake(
    session: AsyncSession,
    action_id: int,
    ars: str,
    data: UptakeWrite,
    *,
    if_match: str | None,
    actor: Actor,
) -> tuple[ActionUptake, bool]:
    """A Gemeinde takes the action up (no If-Match needed) or reports on it (If-Match); True
    when created."""
    action = await queries.get_action(session, action_id)
    ensure_takes_up(actor, await queries.catalogue_of(session, action), ars)
    await regions_queries.get_gemeinde(session, ars)
    status = await _status(session, data.status)
    found = await queries.get_uptake(session, action_id, ars)
    now = _now()
    if found is None:
        if if_match is not None and if_match.strip() != "*":
            raise PreconditionFailed(f"Gemeinde {ars} has not taken up Maßnahme {action_id}.")
        progress = data.progress if data.progress is not None else status.default_progress or 0
        found = ActionUptake(
            action_id=action_id, ars=ars, status=status.key, progress=progress,
            comment=data.comment, changed_at=now, changed_by=_label(actor),
        )  # fmt: skip
        session.add(found)
        await session.flush()
        changes: dict[str, list[Any]] = {"status": [None, status.key], "progress": [None, progress]}
        created = True
    else:
        version = expected_version(if_match, current=found.version)
        given = data.progress if data.progress is not None else status.default_progress
        progress = found.progress if given is None else given
        changes = {
            name: [old, new]
            for name, old, new in (
                ("status", found.status, status.key), ("progress", found.progress, progress)
            )
            if old != new
        }  # fmt: skip
        await compare_and_set(
            session, found, version,
            {"status": status.key, "progress": progress, "comment": data.comment,
             "changed_at": now, "changed_by": _label(actor)},
        )  # fmt: skip
        created = False
    if changes or data.comment:
        await _event(
            session, action_id, "uptake", changes, actor=actor, comment=data.comment, ars=ars
        )
    await access_actions.record_audit(
        session, actor=actor, entity="action_uptake", entity_id=f"{action_id}:{ars}",
        action="create" if created else "update", changes=changes,
    )  # fmt: skip
    return found, created


# --- milestones ----------------------------------------------------------------------------------


async def add_milestone(
    session: AsyncSession, action_id: int, data: MilestoneCreate | MilestoneDefinition,
    *, actor: Actor,
) -> ActionMilestone:  # fmt: skip
    await _managed_action(session, action_id, actor)
    _check_done(data.done_at)
    if data.external_id is not None and (
        await queries.milestone_by_external_id(session, data.external_id) is not None
    ):
        raise Conflict(f"A milestone with the external id {data.external_id} exists already.")
    milestone = ActionMilestone(
        action_id=action_id, external_id=data.external_id, due_date=data.due_date,
        title=data.title.model_dump(), done_at=data.done_at, source=data.source,
    )  # fmt: skip
    session.add(milestone)
    await session.flush()
    changes: dict[str, list[Any]] = {
        "milestone": [None, milestone.id], "due_date": [None, data.due_date],
        "done_at": [None, data.done_at],
    }  # fmt: skip
    await _event(session, action_id, "milestone", changes, actor=actor)
    await access_actions.record_audit(
        session, actor=actor, entity="action_milestone", entity_id=milestone.id,
        action="create", changes={name: [None, _plain(new)] for name, (_, new) in changes.items()},
    )  # fmt: skip
    return milestone


async def update_milestone(
    session: AsyncSession,
    milestone_id: int,
    data: MilestonePatch,
    *,
    if_match: str | None,
    actor: Actor,
) -> ActionMilestone:
    milestone = await queries.get_milestone(session, milestone_id)
    await _managed_action(session, milestone.action_id, actor)
    version = expected_version(if_match, current=milestone.version)
    sent = data.model_fields_set
    values: dict[str, Any] = {}
    if "due_date" in sent:
        if data.due_date is None:
            raise invalid("due_date", "due_date cannot be null.")
        values["due_date"] = data.due_date
    if "title" in sent:
        if data.title is None:
            raise invalid("title", "title cannot be null.")
        values["title"] = _dump(data.title)
    if "done_at" in sent:
        _check_done(data.done_at)
        values["done_at"] = data.done_at
    changed = {
        name: [getattr(milestone, name), value]
        for name, value in values.items()
        if getattr(milestone, name) != value
    }
    if not changed:
        return milestone
    await compare_and_set(session, milestone, version, values)
    dated = {name: pair for name, pair in changed.items() if name != "title"}
    await _event(
        session, milestone.action_id, "milestone",
        {"milestone": [milestone_id, milestone_id], **dated}, actor=actor,
    )  # fmt: skip
    await access_actions.record_audit(
        session, actor=actor, entity="action_milestone", entity_id=milestone_id,
        action="update",
        changes={name: [_plain(old), _plain(new)] for name, (old, new) in changed.items()},
    )  # fmt: skip
    return milestone


# --- links ---------------------------------------------------------------------------------------


async def _check_target(session: AsyncSession, kind: LinkKind, target: str, actor: Actor) -> None:
    """The linked thing exists, else 422 naming it. Research is linked only when published,
    or when the actor may read it unpublished (a researcher or reviewer of its Gemeinden):
    else the same 422 as for an id that does not exist, so no draft's existence leaks."""
    try:
        if kind is LinkKind.LEISTUNG:
            await catalog_queries.get_leistung(session, target)
        elif kind is LinkKind.LEIKA:
            await catalog_queries.get_leika(session, target)
    except NotFound:
        what = "OZG-Leistung" if kind is LinkKind.LEISTUNG else "LeiKa-Leistung"
        raise invalid("target", f"{what} {target} does not exist.") from None
    if kind is LinkKind.GEMEINDE:
        await _existing_gemeinde(session, target, "target")
    elif kind in (LinkKind.FINDING, LinkKind.RECOMMENDATION):
        try:
            if not ascii_digits(target) or len(target) > 9:
                raise NotFound(target)
            if kind is LinkKind.FINDING:
                row: Any = await research_queries.get_finding(session, int(target))
                if row.published_at is None:
                    await research_actions.finding_in_reach(session, int(target), actor)
            else:
                row = await research_queries.get_recommendation(session, int(target))
                if row.published_at is None:
                    await research_actions.recommendation_in_reach(session, int(target), actor)
        except NotFound:
            raise invalid("target", f"Research {kind.value} {target} does not exist.") from None


async def add_link(
    session: AsyncSession, action_id: int, data: LinkCreate, *, actor: Actor
) -> DemandLink:
    await _managed_action(session, action_id, actor)
    await _check_target(session, data.kind, data.target, actor)
    if any(
        link.kind == data.kind.value and link.target == data.target
        for link in await queries.list_links(session, action_id)
    ):
        raise Conflict(f"Maßnahme {action_id} links to {data.kind.value} {data.target} already.")
    link = DemandLink(
        action_id=action_id, kind=data.kind.value, target=data.target, reason=data.reason,
        created_at=_now(), created_by=_label(actor),
    )  # fmt: skip
    session.add(link)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="demand_link", entity_id=link.id, action="create",
        changes={"action_id": [None, action_id], "kind": [None, data.kind.value],
                 "target": [None, data.target], "reason": [None, data.reason]},
    )  # fmt: skip
    return link


async def remove_link(session: AsyncSession, action_id: int, link_id: int, *, actor: Actor) -> None:
    await _managed_action(session, action_id, actor)
    link = await session.get(DemandLink, link_id)
    if link is None or link.action_id != action_id:
        raise NotFound(f"Maßnahme {action_id} has no link {link_id}.")
    await session.delete(link)
    await session.flush()
    await access_actions.record_audit(
        session, actor=actor, entity="demand_link", entity_id=link_id, action="delete",
        changes={"kind": [link.kind, None], "target": [link.target, None],
                 "reason": [link.reason, None]},
    )  # fmt: skip
