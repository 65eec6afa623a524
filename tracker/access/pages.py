"""Browser login and logout (German pages); forms carry a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Body, QueryParameter
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


MAX_NEXT_LENGTH = 2000
NextPath = Annotated[str, StringConstraints(max_length=MAX_NEXT_LENGTH, pattern=r"^[^\x00]*$")]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only ("/…", not "//host" nor
    "/\\host", which browsers read as another host), else the start page."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(char) < 32 or char == "\\" for char in value)
    ):
        return "/"
    return value


def to_login(request: Request[Any, Any, Any]) -> Redirect:
    """To the sign-in form, which comes back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{LOGIN_PATH}?next={quote(here, safe='')}", status_code=303)


class LoginForm(BaseModel):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^\x00]*$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    next: NextPath = "/"


@get(LOGIN_PATH)
async def login_page(
    request: Request[Any, Any, Any],
    next_path: Annotated[
        str | None, QueryParameter(name="next", max_length=MAX_NEXT_LENGTH)
    ] = None,
) -> Template:
    return render(request, "access/login.html", failed=False, next=safe_next(next_path))


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
        page = render(
            request, "access/login.html", failed=True, email=data.email, next=safe_next(data.next)
        )
        page.status_code = 401
        return page
    request.clear_session()
    key = await actions.start_session(session, principal)
    request.set_session({SESSION_USER_KEY: principal.user_id, SESSION_KEY: key})
    return Redirect(safe_next(data.next), status_code=303)


@post("/abmelden", status_code=303, opt={"public": "ends the own session; CSRF-checked"})
async def logout(request: Request[Any, Any, Any], session: DbSession) -> Redirect:
    key = request.session.get(SESSION_KEY) if request.session else None
    if isinstance(key, str):
        await actions.end_session(session, key)
    request.clear_session()
    return Redirect("/", status_code=303)


router = Router("/", route_handlers=[login_page, login, logout], include_in_schema=False)
