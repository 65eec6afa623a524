"""The German form that records an assessment criterion by criterion.

The Leistung is picked from the Gemeinde's applicable ones (a datalist: works without JS); a
name that does not match the ID is refused; a Leistung that would not count there (not
applicable, or a LeiKa service of a type not executed by Gemeinden) is said before saving and
needs a confirmation; "Vorschau" shows the resulting level without saving. Out of one's scope
the form is shown read-only, saying so first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access.guards import editor, principal_of
from tracker.access.models import Role
from tracker.access.pages import to_login
from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.errors import NotFound, TrackerError
from tracker.fields import OZG_ID_PATTERN, GemeindeArs, ascii_digits, check_moment
from tracker.i18n import language, render
from tracker.maturity import actions, applicability, queries, rules
from tracker.maturity.models import NOT_REQUIRED, Dimension
from tracker.maturity.schemas import MAX_EVIDENCE, AssessmentCreate
from tracker.regions import queries as regions_queries
from tracker.search import search_key

FORM_PATH = "/gemeinden/{ars:str}/reifegrad/erfassen"
LEIKA_KEY_LENGTH = 14
UNRATED = ""
MAX_TEXT = 2000
ModelKey = Annotated[str | None, QueryParameter(pattern=r"^[a-z0-9.\-]{1,40}$")]
Prefill = Annotated[str | None, QueryParameter(pattern=r"^[0-9A-Za-z]{1,20}$")]
Search = Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")]
OzgId = Annotated[str | None, QueryParameter(pattern=OZG_ID_PATTERN)]
LEIKA_PATH = FORM_PATH + "/leika"


@dataclass
class Checked:
    """The form read: the API's shape when it holds, field errors (id → German sentence), and
    warnings that need a confirmation before saving."""

    data: AssessmentCreate | None = None
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def criteria_of(loaded: queries.LoadedModel, values: dict[str, str]) -> list[dict[str, Any]]:
    """The criteria the form offers: stand-in names stay off until an admin names them."""
    return [
        {
            "key": criterion.key, "name": criterion.name, "optional": criterion.optional,
            "verified": criterion.verified, "description": criterion.description,
            "value": values.get(f"c_{criterion.key}", UNRATED),
        }
        for criterion in loaded.criteria
        if not criterion.placeholder
    ]  # fmt: skip


def unnamed_note(loaded: queries.LoadedModel, lang: str = "de") -> str | None:
    """Why a model cannot be recorded yet, said up front: none of its criteria has an
    official name (RGM 2.0), which ones, and who names them. None where it can be."""
    if any(not criterion.placeholder for criterion in loaded.criteria):
        return None
    keys = ", ".join(criterion.key for criterion in loaded.criteria)
    if lang == "en":
        return (
            f"{loaded.model.name} {loaded.model.version} cannot be recorded yet: none of its "
            f"{len(loaded.criteria)} criteria ({keys}) has an official name, and nobody rates "
            "unchecked stand-ins here. An administrator of the server names them from the "
            "official source, one by one with "
            f"“tracker model name-criterion {loaded.model.key} KEY NAME” (audited); then they "
            "appear here. Until then, please record with the default model."
        )
    return (
        f"{loaded.model.name} {loaded.model.version} lässt sich noch nicht erfassen: keines "
        f"seiner {len(loaded.criteria)} Kriterien ({keys}) hat einen amtlichen Namen, und "
        "ungeprüfte Platzhalter bewertet hier niemand. Benennen kann sie eine Administratorin "
        "oder ein Administrator des Servers aus der amtlichen Quelle, je Kriterium mit "
        f"„tracker model name-criterion {loaded.model.key} SCHLÜSSEL NAME“ (protokolliert); "
        "danach erscheinen sie hier. Bis dahin erfassen Sie bitte mit dem Standardmodell."
    )


def ratings_of(form: dict[str, str], loaded: queries.LoadedModel) -> dict[str, int | str]:
    shown = {criterion.key for criterion in loaded.criteria if not criterion.placeholder}
    ratings: dict[str, int | str] = {}
    for name, value in form.items():
        key = name[2:]
        if name.startswith("c_") and key in shown and value != UNRATED:
            ratings[key] = NOT_REQUIRED if value == NOT_REQUIRED else _level(value)
    return ratings


def _level(value: str) -> int | str:
    return int(value) if ascii_digits(value) and len(value) < 3 else value


def _same_name(typed: str, *names: str | None) -> bool:
    wanted = search_key(typed)
    return any(name is not None and search_key(name) == wanted for name in names)


async def check_form(
    session: AsyncSession, ars: str, dimension: str, loaded: queries.LoadedModel,
    form: dict[str, str],
) -> Checked:  # fmt: skip
    """German field errors first; then what would not count, as warnings."""
    checked = Checked()
    errors = checked.errors
    chosen = form.get("leistung", "").strip()
    key, _, typed_name = chosen.partition(" ")
    leika_id = None
    ozg_id = None
    if not key:
        errors["leistung"] = "Wählen Sie eine Leistung aus der Liste."
    elif len(key) == LEIKA_KEY_LENGTH and ascii_digits(key):
        try:
            leika = await catalog_queries.get_leika(session, key)
        except NotFound:
            errors["leistung"] = f"Den LeiKa-Schlüssel {key} gibt es nicht."
        else:
            leika_id, ozg_id = leika.id, leika.ozg_id
            parent = (await catalog_queries.get_leistung(session, ozg_id)).name if ozg_id else None
            if typed_name and not _same_name(typed_name, leika.name, parent):
                errors["leistung"] = (
                    f"Der LeiKa-Schlüssel {key} ist „{leika.name}“, nicht „{typed_name}“. "
                    "Wählen Sie die Leistung aus der Liste."
                )
    else:
        try:
            name = (await catalog_queries.get_leistung(session, key)).name
        except NotFound:
            errors["leistung"] = (
                f"Die OZG-Leistung {key} gibt es nicht."
                if ascii_digits(key)
                else await unknown_name(session, ars, chosen)
            )
        else:
            ozg_id = key
            if typed_name and not _same_name(typed_name, name):
                errors["leistung"] = (
                    f"Die OZG-ID {key} ist „{name}“, nicht „{typed_name}“. "
                    "Wählen Sie die Leistung aus der Liste."
                )
    assessed_at = None
    day = form.get("assessed_at", "").strip()
    if day:
        try:
            assessed_at = check_moment(
                datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
            )
        except ValueError:
            errors["assessed_at"] = (
                f"Das Datum {day} ist kein Tag zwischen dem 1.1.2000 und heute (TT.MM.JJJJ)."
            )
    evidence = [ref.strip() for ref in form.get("evidence", "").splitlines() if ref.strip()]
    if len(evidence) > MAX_EVIDENCE or any(
        len(ref) > MAX_TEXT or "\x00" in ref for ref in evidence
    ):
        errors["evidence"] = f"Höchstens {MAX_EVIDENCE} Nachweise, je höchstens {MAX_TEXT} Zeichen."
    comment = form.get("comment", "").strip()
    if len(comment) > MAX_TEXT or "\x00" in comment:
        errors["comment"] = f"Der Kommentar hat höchstens {MAX_TEXT} Zeichen."
    ratings = ratings_of(form, loaded)
    unnamed = unnamed_note(loaded)
    try:
        if unnamed is not None:  # said on the form already; a stale or scripted post
            errors["criteria"] = unnamed
        else:
            rules.score(loaded.criteria, loaded.level_list, ratings)
    except TrackerError as exc:
        # at the first rated criterion, else at the table of criteria
        first = next(iter(ratings), None)
        errors[f"c_{first}" if first else "criteria"] = exc.in_language("de")
    if errors:
        return checked
    assert ozg_id is not None or leika_id is not None  # noqa: S101  (no error: one was found)
    checked.data = AssessmentCreate.model_validate({
        "ars": ars, "dimension": dimension, "model": loaded.model.key, "ratings": ratings,
        "evidence": [{"kind": "url" if ref.startswith(("https://", "http://")) else "document",
                      "ref": ref} for ref in evidence],
        "leika_key": key if leika_id is not None else None,
        "ozg_id": None if leika_id is not None else ozg_id,
        "assessed_at": assessed_at.isoformat() if assessed_at else None,
        "comment": comment or None, "submit": form.get("action") == "submit",
    })  # fmt: skip
    if ozg_id is None:
        checked.warnings.append(
            f"Der LeiKa-Schlüssel {key} gehört zu keiner OZG-Leistung: die Bewertung zählt in "
            "keiner Auswertung."
        )
    elif not await applicability.counts_in(session, ars, ozg_id, leika_id):
        checked.warnings.append(
            f"{'Diese LeiKa-Leistung' if leika_id else f'Die OZG-Leistung {ozg_id}'} zählt in "
            "dieser Gemeinde nicht: sie ist hier nicht anwendbar oder wird nicht von Kommunen "
            "vollzogen (z. B. LeiKa-Typ 1, Bund). Die Bewertung wird gespeichert, aber nicht "
            "mitgezählt."
        )
    return checked


async def form_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    ars: str,
    dimension: Dimension,
    model_key: str | None,
    values: dict[str, str],
    *,
    checked: Checked | None = None,
    error: str | None = None,
    preview: rules.Scoring | None = None,
    status_code: int = 200,
) -> Template:
    gemeinde = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    loaded = await queries.model_for(session, dimension.value, model_key)
    leistungen = await applicability.applicable_in(session, gemeinde.ars)
    principal = principal_of(request)
    listed = [item for item in await queries.list_models(session)
              if item.model.dimension == dimension.value]  # fmt: skip
    page = render(
        request, "maturity/erfassen.html", gemeinde=gemeinde, dimension=dimension.value,
        model=loaded.model, models=[item.model for item in listed],
        unrecordable={item.model.key for item in listed if unnamed_note(item) is not None},
        unnamed=unnamed_note(loaded, language(request)),
        hidden_required=[c.key for c in loaded.criteria if c.placeholder and not c.optional],
        levels=loaded.levels, criteria=criteria_of(loaded, values),
        hidden=[c for c in loaded.criteria if c.placeholder], values=values,
        leistungen=leistungen,
        leika_of=await leika_listed(session, gemeinde.ars, values.get("leistung", ""), leistungen),
        not_required=NOT_REQUIRED, error=error,
        errors=checked.errors if checked else {}, warnings=checked.warnings if checked else [],
        preview=preview, level_names=loaded.level_names,
        scoring=rules.scoring_table(loaded.criteria, loaded.level_names),
        readonly=not principal.may(Role.EDITOR, gemeinde.ars),
        today=datetime.now(UTC).date().isoformat(),
    )  # fmt: skip
    page.status_code = status_code
    return page


async def unknown_name(session: AsyncSession, ars: str, chosen: str) -> str:
    """What a name typed instead of a choice led to: the LeiKa services now offered, or none."""
    found = len(await applicability.leika_choices(session, ars, q=chosen))
    told = f"„{chosen}“ ist keine OZG-ID und kein LeiKa-Schlüssel. "
    if not found:
        return told + "Keine anwendbare LeiKa-Leistung passt zu diesem Namen: tippen Sie einen "
        "anderen Namen oder die Nummer."
    offered = "eine passende LeiKa-Leistung" if found == 1 else f"{found} passende LeiKa-Leistungen"
    return told + f"Die Liste bietet jetzt {offered} unter ihrer OZG-Leistung an: wählen Sie eine."


async def leika_listed(
    session: AsyncSession, ars: str, chosen: str, leistungen: list[tuple[str, str]]
) -> dict[str, list[applicability.LeikaChoice]]:
    """The LeiKa services the page's list offers under their OZG-Leistung without JavaScript:
    those of the OZG-Leistung chosen, or those matching a name typed instead of a choice."""
    key = chosen.strip().partition(" ")[0]
    if not key or (ascii_digits(key) and len(key) == LEIKA_KEY_LENGTH):
        return {}
    if key in dict(leistungen):
        found = await applicability.leika_choices(session, ars, ozg_id=key)
    elif not ascii_digits(key):
        found = await applicability.leika_choices(session, ars, q=chosen)
    else:
        return {}
    grouped: dict[str, list[applicability.LeikaChoice]] = {}
    for choice in found:
        grouped.setdefault(choice.ozg_id, []).append(choice)
    return grouped


@get(LEIKA_PATH)
async def leika_search(
    ars: GemeindeArs, session: DbSession, q: Search = None, ozg_id: OzgId = None
) -> dict[str, Any]:
    """The form's LeiKa picker: the Gemeinde's counted LeiKa services matching `q` (name or
    key) or of one OZG-Leistung, under their OZG-Leistung (at most 50; catalogue data only)."""
    await regions_queries.get_gemeinde(session, ars)
    found = await applicability.leika_choices(session, ars, q=q, ozg_id=ozg_id)
    return {"items": [vars(choice) for choice in found]}


@get(FORM_PATH)
async def assessment_form(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
    session: DbSession,
    dimension: Annotated[Dimension, QueryParameter()] = Dimension.ONLINE,
    model: ModelKey = None,
    leistung: Prefill = None,
    aus: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
) -> Template | Redirect:
    """Record an assessment criterion by criterion (sign-in needed; the form carries CSRF);
    `aus` fills it from an earlier assessment of this Gemeinde (to record a rejected one anew)."""
    principal = principal_of(request)
    if not principal.authenticated:
        return to_login(request)
    values: dict[str, str] = {}
    if aus is not None:
        values = await prefilled(session, ars, aus, principal.scopes(Role.EDITOR, Role.REVIEWER))
        if values:
            dimension, model = Dimension(values.pop("dimension")), values.pop("model")
    if leistung:
        names = dict(await applicability.applicable_in(session, ars))
        values["leistung"] = f"{leistung} {names[leistung]}" if leistung in names else leistung
    return await form_page(request, session, ars, dimension, model, values)


async def prefilled(
    session: AsyncSession, ars: str, assessment_id: int, scopes: tuple[str, ...]
) -> dict[str, str]:
    """The form's fields as an earlier assessment of this Gemeinde had them (one the reader may
    see); nothing for another Gemeinde's or an unknown one."""
    found = await queries.assessments_by_ids(session, [assessment_id])
    row = found[0] if found else None
    if row is None or row.Assessment.ars != ars or not any(ars.startswith(s) for s in scopes):
        return {}
    earlier = row.Assessment
    named = (await queries.names_of(session, [earlier])).get(assessment_id)
    if row.leika_key:
        leistung = f"{row.leika_key} {named.leika_name}" if named else row.leika_key
    else:
        leistung = f"{earlier.ozg_id} {named.leistung}" if named else str(earlier.ozg_id)
    return {
        "dimension": earlier.dimension, "model": row.model_key, "leistung": leistung,
        **{f"c_{key}": str(value) for key, value in (earlier.ratings or {}).items()},
        "evidence": "\n".join(str(item.get("ref", "")) for item in earlier.evidence or []),
        "comment": earlier.comment or "",
    }  # fmt: skip


@post(FORM_PATH, guards=[editor], status_code=303)
async def record_from_form(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
    session: DbSession,
    dimension: Annotated[Dimension, QueryParameter()] = Dimension.ONLINE,
    model: ModelKey = None,
) -> Template | Redirect:
    form = {name: str(value) for name, value in (await request.form()).items()}
    loaded = await queries.model_for(session, dimension.value, model)
    checked = await check_form(session, ars, dimension.value, loaded, form)
    if checked.data is None:
        return await form_page(
            request, session, ars, dimension, model, form, checked=checked, status_code=422
        )
    if form.get("action") == "preview":
        scoring = rules.score(loaded.criteria, loaded.level_list, checked.data.ratings)
        return await form_page(
            request, session, ars, dimension, model, form, checked=checked, preview=scoring
        )
    if checked.warnings and form.get("confirm") != "1":
        return await form_page(request, session, ars, dimension, model, form, checked=checked)
    try:
        async with session.begin_nested():
            made = await actions.record_assessment(
                session, checked.data, actor=principal_of(request)
            )
    except TrackerError as exc:
        return await form_page(
            request, session, ars, dimension, model, form, error=exc.in_language(language(request)),
            status_code=exc.status if exc.status != 404 else 422,
        )  # fmt: skip
    return Redirect(f"/gemeinden/{ars}/reifegrad?erfasst={made.id}", status_code=303)


router = Router(
    "/", route_handlers=[assessment_form, record_from_form, leika_search], include_in_schema=False
)
