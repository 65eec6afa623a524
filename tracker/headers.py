"""Security headers: on every response, and the pages' Content-Security-Policy on every HTML one.

Layered `response_headers` reach only what a route handler answers; an error page (rendered by
an exception handler) and the 404 for an unknown path bypass them. `add_security_headers` runs
as the app's `before_send` hook on every response start, so those get them too.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

SECURITY_HEADERS = [
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="strict-origin-when-cross-origin"),
]
# The German pages load nothing from elsewhere.
PAGE_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
]
# Neither does the API documentation (Swagger UI served from the installation), but its page
# starts the viewer with an inline script.
SCHEMA_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    )
]
SCHEMA_PATH = "/schema"


def _encoded(headers: list[ResponseHeader]) -> list[tuple[bytes, bytes]]:
    return [(header.name.lower().encode(), (header.value or "").encode()) for header in headers]


_SECURITY = _encoded(SECURITY_HEADERS)
_PAGE = _encoded(PAGE_HEADERS)
_SCHEMA = _encoded(SCHEMA_HEADERS)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Adds the security headers a response lacks; an HTML one also its CSP."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {bytes(name).lower() for name, _ in headers}
    wanted = list(_SECURITY)
    content_type = next((bytes(v) for n, v in headers if bytes(n).lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html"):
        wanted += _SCHEMA if scope["path"].startswith(SCHEMA_PATH) else _PAGE
    missing = [(name, value) for name, value in wanted if name not in present]
    if missing:
        message["headers"] = [*headers, *missing]


async def list_allowed_methods(message: Message, scope: Scope) -> None:
    """`OPTIONS` answers with every method of the path. Litestar 2 builds the OPTIONS handler
    with the first handler's methods, so a path served by separate GET and PATCH handlers
    would list GET alone (litestar-org/litestar#4169, fixed in 3.0); the app's route of the
    path has them all. OPTIONS is rare: the routes are searched each time."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = scope.get("path_template")
    methods = next(
        (
            route.methods
            for route in scope["app"].routes
            if isinstance(route, HTTPRoute) and route.path_format == template
        ),
        None,
    )
    if not methods:
        return
    allowed = ", ".join(sorted(methods)).encode()
    headers = [(n, v) for n, v in message.get("headers") or [] if bytes(n).lower() != b"allow"]
    message["headers"] = [*headers, (b"allow", allowed)]
