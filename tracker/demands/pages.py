"""German pages of the demands (English switch): the catalogues with their progress, and a
demand with its Maßnahmen, milestones and history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from tracker.access import queries as access_queries
from tracker.access.guards import demand_manager, principal_of
from tracker.db import DbSession
from tracker.demands import actions, queries
from tracker.demands.models import DemandEvent
from tracker.demands.schemas import (
    KEY_PATTERN,
    LEISTUNGEN_RULE,
    LEISTUNGEN_RULE_DE,
    ROLLUP_RULE,
    ROLLUP_RULE_DE,
    ResponsibleLevel,
    StatusWrite,
)
from tracker.errors import PreconditionFailed, TrackerError
from tracker.fields import RowId
from tracker.i18n import day, language, render, translator
from tracker.settings import Settings

STATUS_FORM = "/forderungen/massnahmen/{action_id:int}/status"

HISTORY_ENTRIES = 50
LEVELS = {
    "bund": "Bund", "land": "Land", "kommune": "Kommune", "dst": "Deutscher Städtetag",
    "it_planungsrat": "IT-Planungsrat", "fitko": "FITKO", "it_dienstleister": "IT-Dienstleister",
    "other": "andere",
}  # fmt: skip
VERIFICATION = {"V": "belegt", "P": "teilweise belegt", "U": "nicht belegt"}
COMMENT_CHARACTERS = 2000
# the status form's fields and what is wrong when pydantic refuses one (German; i18n.EN)
FIELD_ERRORS = {
    "status": "Wählen Sie einen Status aus der Liste.",
    "progress": "Der Fortschritt ist eine ganze Zahl von 0 bis 100 (leer: die Vorgabe des Status).",
    "comment": "Der Kommentar hat höchstens 2000 Zeichen und keine Steuerzeichen.",
}
STALE = (
    "Inzwischen hat jemand anderes diese Maßnahme geändert; oben steht ihr aktueller Stand. "
    "Ihre Eingabe ist erhalten: prüfen Sie sie und speichern Sie erneut."
)


@dataclass
class FormError:
    """A refused status form: for which Maßnahme, what was typed, and what is wrong (a
    sentence for the form, and one per field id)."""

    action_id: int
    values: dict[str, str]
    message: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


# what the history calls a field of an event (German; i18n.EN)
CHANGE_LABELS = {
    "status": "Status", "progress": "Fortschritt", "progress_manual": "von Hand gesetzt",
    "owner_ars": "Verantwortliche Gemeinde", "owner_body": "Verantwortlich",
    "due_date": "Fällig", "milestone": "Meilenstein", "done_at": "erledigt am",
}  # fmt: skip
# authors that are no person: the importer and the command line
AUTHOR_LABELS = {"import": "Import", "cli": "Kommandozeile"}


def rollup_rule(lang: str) -> str:
    return ROLLUP_RULE_DE if lang == "de" else ROLLUP_RULE


def picker(lang: str) -> Callable[[dict[str, str] | None], str]:
    """A {de, en} text in the page's language, German where no English is given."""

    def pick(text: dict[str, str] | None) -> str:
        if not text:
            return ""
        return (text.get(lang) or text.get("de") or "") if lang == "en" else text.get("de", "")

    return pick


async def labels(session: DbSession) -> dict[str, dict[str, str]]:
    return {status.key: status.label for status in await queries.list_statuses(session)}


# the filter form sends every field: an empty one filters nothing
FilterKey = Annotated[str | None, QueryParameter(pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]{0,59})?$")]
FilterLevel = Annotated[
    str | None,
    QueryParameter(pattern="^(" + "|".join(level.value for level in ResponsibleLevel) + ")?$"),
]


@get("/forderungen")
async def demands_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    state: State,
    katalog: FilterKey = None,
    forderung: FilterKey = None,
    ebene: FilterLevel = None,
    ueberfaellig: Annotated[bool, QueryParameter()] = False,
) -> Template:
    """Every catalogue as a board (a column per status, a card per Maßnahme), filtered by
    catalogue, demand (with those below it), responsible level and overdue; and its demand
    tree with each demand's progress."""
    settings: Settings = state.settings
    on = settings.today()
    katalog, forderung, ebene = katalog or None, forderung or None, ebene or None
    statuses = await queries.list_statuses(session)
    catalogues = []
    for catalogue in await queries.list_catalogues(session):
        if katalog is not None and catalogue.key != katalog:
            continue
        assert catalogue.id is not None  # noqa: S101  (stored)
        tree = await queries.demand_tree(session, catalogue.id, on=on)
        keys = {node.demand.key: demand_id for demand_id, node in tree.by_id.items()}
        if forderung is not None and forderung not in keys:
            continue
        cards = [
            card
            for card in await queries.board(session, tree, on=on, under=keys.get(forderung or ""))
            if (ebene is None or card.action.responsible_level == ebene)
            and (not ueberfaellig or card.overdue or card.overdue_milestones)
        ]
        columns = [
            {"status": status, "cards": [c for c in cards if c.action.status == status.key]}
            for status in statuses
        ]
        catalogues.append(
            {"catalogue": catalogue, "roots": tree.roots, "columns": columns, "shown": len(cards)}
        )
    every = [
        (catalogue, await queries.demands_of(session, catalogue.id))
        for catalogue in await queries.list_catalogues(session)
        if catalogue.id is not None
    ]
    return render(
        request, "demands/forderungen.html", catalogues=catalogues, on=on,
        statuses={status.key: status.label for status in statuses},
        pick=picker(language(request)), rule=rollup_rule(language(request)), levels=LEVELS,
        every=every, filters={
            "katalog": katalog, "forderung": forderung, "ebene": ebene,
            "ueberfaellig": ueberfaellig,
        },
    )  # fmt: skip


@get("/forderungen/{key:str}")
async def demand_page(
    request: Request[Any, Any, Any],
    key: Annotated[str, PathParameter(pattern=KEY_PATTERN)],
    session: DbSession,
    state: State,
) -> Template:
    """A demand: its roll-up, child demands, Maßnahmen with milestones, and the history; its
    managers get a form to change a Maßnahme's status."""
    return await demand_view(request, session, state, key, error=None)


async def demand_view(
    request: Request[Any, Any, Any],
    session: DbSession,
    state: State,
    key: str,
    *,
    error: FormError | None,
) -> Template:
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
    found_actions = [
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
            for item in found_actions
            for milestone in item["milestones"]
        ),
        key=lambda entry: (entry["milestone"].due_date, entry["milestone"].id or 0),
    )
    events = await queries.recent_events(session, ids, limit=HISTORY_ENTRIES)
    history = await history_rows(
        session, events, lang=language(request), statuses=await labels(session),
        milestones={m.id: m.title for item in found_actions for m in item["milestones"]},
        names=principal_of(request).authenticated,
    )  # fmt: skip
    leistungen = await queries.linked_leistungen(session, node.actions_under())
    parent = None if demand.parent_id is None else tree.by_id[demand.parent_id].demand
    principal = principal_of(request)
    manages = principal.authenticated and actions.may_manage(principal, catalogue.scope_ars)
    page = render(
        request, "demands/forderung.html", demand=demand, catalogue=catalogue, node=node,
        parent=parent, actions=found_actions, history=history, titles=titles, on=on,
        timeline=timeline, levels=LEVELS, verification=VERIFICATION, manages=manages,
        error=error, statuses=await labels(session), pick=picker(language(request)),
        rule=rollup_rule(language(request)), leistungen=leistungen, leistungen_rule=(
            LEISTUNGEN_RULE_DE if language(request) == "de" else LEISTUNGEN_RULE
        ),
    )  # fmt: skip
    if error is not None:
        page.status_code = 422
    return page


async def history_rows(
    session: DbSession,
    events: list[DemandEvent],
    *,
    lang: str,
    statuses: dict[str, dict[str, str]],
    milestones: dict[int | None, dict[str, str]],
    names: bool,
) -> list[dict[str, Any]]:
    """The history as the page shows it: each change as label, old → new in the page's
    language, and the author by name to the signed-in (anonymous readers see no person's
    name, as on the Reifegrad pages)."""
    _, pick = translator(lang), picker(lang)
    known = await access_queries.display_names(
        session, [n for e in events if (n := access_queries.user_id_of(e.author)) is not None]
    )

    def shown(name: str, value: Any) -> str:
        if value is None:
            return "–"
        if name == "status":
            return pick(statuses.get(value)) or str(value)
        if name == "progress":
            return f"{value} %"
        if name == "progress_manual":
            return _("ja") if value else _("nein")
        if name in ("due_date", "done_at"):
            return day(date.fromisoformat(str(value)), lang)
        if name == "milestone":
            return pick(milestones.get(value)) or f"#{value}"
        return str(value)

    def author(actor: str) -> str:
        number = access_queries.user_id_of(actor)
        if number is None:
            return _(AUTHOR_LABELS.get(actor.split(":", 1)[0], actor))
        return known.get(number, _("ein Nutzerkonto")) if names else _("ein Nutzerkonto")

    def order(item: tuple[str, Any]) -> int:
        return list(CHANGE_LABELS).index(item[0]) if item[0] in CHANGE_LABELS else 99

    rows = []
    for event in events:
        changes = [
            {"label": _(CHANGE_LABELS.get(name, name)), "old": shown(name, old),
             "new": shown(name, new)}
            for name, (old, new) in sorted(event.changes.items(), key=order)
            if not (name == "milestone" and old == new)  # the milestone changed is named once
            and not (old is None and new is None)
        ]  # fmt: skip
        if "milestone" in event.changes and event.changes["milestone"][0] is not None:
            target = pick(milestones.get(event.changes["milestone"][1]))
            changes.insert(0, {"label": _("Meilenstein"), "old": target, "new": target})
        rows.append({"event": event, "changes": changes, "author": author(event.author)})
    return rows


@post(STATUS_FORM, guards=[demand_manager], status_code=303)
async def status_from_form(
    request: Request[Any, Any, Any], action_id: RowId, session: DbSession, state: State
) -> Template | Redirect:
    """The demand page's form: a new status with a comment (CSRF; If-Match from the version
    the form was rendered with). The catalogue's scope is checked before the form is read (a
    foreign one is a 403); a refused form comes back in the page's language with what was
    typed."""
    action = await queries.get_action(session, action_id)
    principal = principal_of(request)
    actions.ensure_manages(principal, await queries.catalogue_of(session, action))
    key = await queries.demand_key_of(session, action)
    form = {name: str(value) for name, value in (await request.form()).items()}
    values = {name: form.get(name, "") for name in ("status", "progress", "comment")}
    _ = translator(language(request))
    refused = FormError(action_id, values)
    if values["status"] not in await queries.status_map(session):
        refused.fields["status"] = _(FIELD_ERRORS["status"])
    progress = values["progress"].strip()
    if progress and not (progress.isascii() and progress.isdigit() and int(progress) <= 100):
        refused.fields["progress"] = _(FIELD_ERRORS["progress"])
    if len(values["comment"]) > COMMENT_CHARACTERS:
        refused.fields["comment"] = _(FIELD_ERRORS["comment"])
    if not refused.fields:
        try:
            data = StatusWrite.model_validate({
                "status": values["status"], "comment": values["comment"] or None,
                "progress": int(progress) if progress else None,
            })  # fmt: skip
            async with session.begin_nested():
                await actions.change_action_status(
                    session, action_id, data, if_match=f'"v{form.get("version", "")}"',
                    actor=principal,
                )  # fmt: skip
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                name = str(error["loc"][0]) if error["loc"] else "status"
                refused.fields[name] = _(FIELD_ERRORS.get(name, FIELD_ERRORS["status"]))
        except PreconditionFailed:
            refused.message = _(STALE)
        except TrackerError as exc:
            refused.message = exc.in_language(language(request))
        else:
            return Redirect(f"/forderungen/{key}#massnahme-{action_id}", status_code=303)
    return await demand_view(request, session, state, key, error=refused)


router = Router(
    "/", route_handlers=[demands_page, demand_page, status_from_form], include_in_schema=False
)
