"""German page of a Gemeinde's Reifegrad: both dimensions by Themenfeld."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.datastructures import State
from litestar.params import PathParameter
from litestar.response import Template

from tracker.db import DbSession
from tracker.fields import ARS_PATTERN
from tracker.i18n import render
from tracker.maturity import queries
from tracker.maturity.rollup import RULES
from tracker.regions import queries as regions_queries
from tracker.settings import Settings


def by_themenfeld(leistungen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for item in leistungen:
        group = groups.setdefault(
            item["themenfeld"],
            {"themenfeld": item["themenfeld"], "applicable": 0, "assessed": 0, "online": 0,
             "ozg_konform": 0, "backoffice": 0},
        )  # fmt: skip
        group["applicable"] += 1
        if item["online"]:
            group["assessed"] += 1
            group["online"] += item["online"]["online"]
            group["ozg_konform"] += item["online"]["ozg_konform"]
        if item["backoffice"]:
            group["backoffice"] += 1
    return sorted(groups.values(), key=lambda group: group["themenfeld"])


@get("/gemeinden/{ars:str}/reifegrad")
async def reifegrad_page(
    request: Request[Any, Any, Any],
    ars: Annotated[str, PathParameter(pattern=ARS_PATTERN)],
    session: DbSession,
    state: State,
) -> Template:
    settings: Settings = state.settings
    gemeinde = (await regions_queries.get_gemeinde(session, ars)).Gemeinde
    rolled = await queries.gemeinde_rollup(
        session, ars, at=None, municipal_types=settings.municipal_leika_types,
        stale_after_days=settings.stale_after_days,
    )  # fmt: skip
    return render(
        request,
        "maturity/reifegrad.html",
        gemeinde=gemeinde,
        summary=rolled["summary"],
        themenfelder=by_themenfeld(rolled["leistungen"]),
        leistungen=[item for item in rolled["leistungen"] if item["online"] or item["backoffice"]],
        rules=RULES,
    )


router = Router("/", route_handlers=[reifegrad_page], include_in_schema=False)
