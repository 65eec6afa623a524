"""German pages of the demands (English switch): the catalogues with their progress, and a
demand with its Maßnahmen, milestones and history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.datastructures import State
from litestar.params import PathParameter
from litestar.response import Template

from tracker.db import DbSession
from tracker.demands import queries
from tracker.demands.schemas import KEY_PATTERN, ROLLUP_RULE
from tracker.i18n import language, render
from tracker.settings import Settings

HISTORY_ENTRIES = 50
LEVELS = {
    "bund": "Bund", "land": "Land", "kommune": "Kommune", "dst": "Deutscher Städtetag",
    "it_planungsrat": "IT-Planungsrat", "fitko": "FITKO", "it_dienstleister": "IT-Dienstleister",
    "other": "andere",
}  # fmt: skip
VERIFICATION = {"V": "belegt", "P": "teilweise belegt", "U": "nicht belegt"}


def picker(lang: str) -> Callable[[dict[str, str] | None], str]:
    """A {de, en} text in the page's language, German where no English is given."""

    def pick(text: dict[str, str] | None) -> str:
        if not text:
            return ""
        return (text.get(lang) or text.get("de") or "") if lang == "en" else text.get("de", "")

    return pick


async def labels(session: DbSession) -> dict[str, dict[str, str]]:
    return {status.key: status.label for status in await queries.list_statuses(session)}


@get("/forderungen")
async def demands_page(
    request: Request[Any, Any, Any], session: DbSession, state: State
) -> Template:
    """Every catalogue with its demand tree and each demand's progress."""
    settings: Settings = state.settings
    on = settings.today()
    catalogues = []
    for catalogue in await queries.list_catalogues(session):
        assert catalogue.id is not None  # noqa: S101  (stored)
        tree = await queries.demand_tree(session, catalogue.id, on=on)
        catalogues.append({"catalogue": catalogue, "roots": tree.roots})
    return render(
        request, "demands/forderungen.html", catalogues=catalogues, on=on,
        statuses=await labels(session), pick=picker(language(request)), rule=ROLLUP_RULE,
    )  # fmt: skip


@get("/forderungen/{key:str}")
async def demand_page(
    request: Request[Any, Any, Any],
    key: Annotated[str, PathParameter(pattern=KEY_PATTERN)],
    session: DbSession,
    state: State,
) -> Template:
    """A demand: its roll-up, child demands, Maßnahmen with milestones, and the history."""
    settings: Settings = state.settings
    on = settings.today()
    demand = await queries.get_demand(session, key)
    catalogue = await queries.catalogue_by_id(session, demand.catalogue_id)
    tree = await queries.demand_tree(session, demand.catalogue_id, on=on)
    assert demand.id is not None  # noqa: S101  (stored)
    node = tree.by_id[demand.id]
    rows, _ = await queries.list_actions(session, demand.id, limit=None, cursor=None)
    found = [row.DemandAction for row in rows]
    ids = [action.id for action in found if action.id is not None]
    figures = await queries.action_figures(session, ids, on=on)
    milestones = await queries.milestones_of(session, ids)
    actions = [
        {
            "action": action, "figures": figures[action.id],
            "progress": queries.effective_progress(action, figures[action.id]),
            "milestones": milestones.get(action.id, []),
        }
        for action in found
        if action.id is not None
    ]  # fmt: skip
    titles = {action.id: action.title for action in found}
    timeline = sorted(
        (
            {
                "milestone": milestone,
                "overdue": milestone.done_at is None and milestone.due_date < on,
            }
            for item in actions
            for milestone in item["milestones"]
        ),
        key=lambda entry: (entry["milestone"].due_date, entry["milestone"].id or 0),
    )
    history = await queries.recent_events(session, ids, limit=HISTORY_ENTRIES)
    parent = None if demand.parent_id is None else tree.by_id[demand.parent_id].demand
    return render(
        request, "demands/forderung.html", demand=demand, catalogue=catalogue, node=node,
        parent=parent, actions=actions, history=history, titles=titles, on=on,
        timeline=timeline, levels=LEVELS, verification=VERIFICATION,
        statuses=await labels(session), pick=picker(language(request)), rule=ROLLUP_RULE,
    )  # fmt: skip


router = Router("/", route_handlers=[demands_page, demand_page], include_in_schema=False)
