"""German page of a Gemeinde's Reifegrad: both dimensions by Themenfeld."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from tracker.access.guards import editor, principal_of
from tracker.access.pages import to_login
from tracker.catalog import queries as catalog_queries
from tracker.db import DbSession
from tracker.errors import Conflict, Forbidden, InvalidInput, NotFound
from tracker.fields import GemeindeArs, ascii_digits
from tracker.i18n import render
from tracker.importing import describe
from tracker.maturity import actions, queries
from tracker.maturity.models import NOT_REQUIRED, Dimension
from tracker.maturity.schemas import AssessmentCreate
from tracker.regions import queries as regions_queries

FORM_PATH = "/gemeinden/{ars:str}/reifegrad/erfassen"
LEIKA_KEY_LENGTH = 14
UNRATED = ""


def form_context(
    loaded: queries.LoadedModel, values: dict[str, str], leistungen: list[Any]
) -> dict[str, Any]:
    criteria = [
        {
            "key": criterion.key,
            "name": criterion.name,
            "optional": criterion.optional,
            "verified": criterion.verified,
            "value": values.get(f"c_{criterion.key}", UNRATED),
        }
        for criterion in loaded.criteria
    ]
    return {
        "model": loaded.model, "levels": loaded.levels, "criteria": criteria,
        "values": values, "leistungen": leistungen, "not_required": NOT_REQUIRED,
    }  # fmt: skip


def assessment_from_form(ars: str, dimension: str, form: dict[str, str]) -> AssessmentCreate:
    """The form's fields as the API's shape; a pydantic error names the field."""
    chosen = form.get("leistung", "").strip()
    key = chosen.split(" ", 1)[0]
    ratings: dict[str, int | str] = {}
    for name, value in form.items():
        if name.startswith("c_") and value != UNRATED:
            ratings[name[2:]] = value if value == NOT_REQUIRED else int(value)
    evidence = [
        {"kind": "url", "ref": ref.strip()}
        for ref in form.get("evidence", "").splitlines()
        if ref.strip()
    ]
    return AssessmentCreate.model_validate({
        "ars": ars, "dimension": dimension, "ratings": ratings, "evidence": evidence,
        "leika_key": key if len(key) == LEIKA_KEY_LENGTH and ascii_digits(key) else None,
        "ozg_id": None if len(key) == LEIKA_KEY_LENGTH else (key or None),
        "submit": form.get("action") == "submit",
    })  # fmt: skip


@get(FORM_PATH)
async def assessment_form(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
    session: DbSession,
    dimension: Annotated[Dimension, QueryParameter()] = Dimension.ONLINE,
) -> Template | Redirect:
    """Record an assessment criterion by criterion (sign-in needed; the form carries CSRF)."""
    if not principal_of(request).authenticated:
        return to_login(request)
    return await form_page(request, session, ars, dimension, {}, error=None)


async def form_page(
    request: Request[Any, Any, Any],
    session: DbSession,
    ars: str,
    dimension: Dimension,
    values: dict[str, str],
    *,
    error: str | None,
) -> Template:
    gemeinde = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    loaded = await queries.model_for(session, dimension.value, None)
    leistungen, _ = await catalog_queries.list_leistungen(
        session, catalog_queries.LeistungFilter(), limit=None, cursor=None
    )
    page = render(
        request, "maturity/erfassen.html", gemeinde=gemeinde, dimension=dimension.value,
        error=error, **form_context(loaded, values, leistungen),
    )  # fmt: skip
    if error is not None:
        page.status_code = 422
    return page


@post(FORM_PATH, guards=[editor], status_code=303)
async def record_from_form(
    request: Request[Any, Any, Any],
    ars: GemeindeArs,
    session: DbSession,
    dimension: Annotated[Dimension, QueryParameter()] = Dimension.ONLINE,
) -> Template | Redirect:
    form = {name: str(value) for name, value in (await request.form()).items()}
    try:
        data = assessment_from_form(ars, dimension.value, form)
        async with session.begin_nested():
            made = await actions.record_assessment(session, data, actor=principal_of(request))
    except (ValidationError, ValueError) as exc:
        return await form_page(request, session, ars, dimension, form, error=describe_form(exc))
    except (InvalidInput, NotFound, Forbidden, Conflict) as exc:
        return await form_page(request, session, ars, dimension, form, error=exc.detail)
    return Redirect(f"/gemeinden/{ars}/reifegrad?erfasst={made.id}", status_code=303)


def describe_form(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return describe(exc)
    return str(exc)


router = Router("/", route_handlers=[assessment_form, record_from_form], include_in_schema=False)
