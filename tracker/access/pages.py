"""Browser login and logout (German pages); forms carry a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Body
from litestar.response import Redirect, Template
from pydantic import BaseModel, StringConstraints

from tracker.access import actions
from tracker.access.auth import SESSION_KEY, SESSION_USER_KEY
from tracker.db import DbSession
from tracker.i18n import render

LOGIN_PATH = "/anmelden"
LOGIN_ATTEMPTS_PER_MINUTE = 10
# Middleware of the login form alone, so that no other request pays for it.
LOGIN_LIMIT = RateLimitConfig(rate_limit=("minute", LOGIN_ATTEMPTS_PER_MINUTE))


class LoginForm(BaseModel):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^\x00]*$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


@get(LOGIN_PATH)
async def login_page(request: Request[Any, Any, Any]) -> Template:
    return render(request, "access/login.html", failed=False)


@post(
    LOGIN_PATH,
    status_code=303,
    middleware=[LOGIN_LIMIT.middleware],
    opt={"public": "the login form; CSRF-checked and rate-limited"},
)
async def login(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    session: DbSession,
) -> Redirect | Template:
    principal = await actions.authenticate_password(session, data.email, data.password)
    if principal is None:
        page = render(request, "access/login.html", failed=True, email=data.email)
        page.status_code = 401
        return page
    request.clear_session()
    key = await actions.start_session(session, principal)
    request.set_session({SESSION_USER_KEY: principal.user_id, SESSION_KEY: key})
    return Redirect("/", status_code=303)


@post("/abmelden", status_code=303, opt={"public": "ends the own session; CSRF-checked"})
async def logout(request: Request[Any, Any, Any], session: DbSession) -> Redirect:
    key = request.session.get(SESSION_KEY) if request.session else None
    if isinstance(key, str):
        await actions.end_session(session, key)
    request.clear_session()
    return Redirect("/", status_code=303)


router = Router("/", route_handlers=[login_page, login, logout], include_in_schema=False)
