"""What a JSON request body must be, checked once before any handler reads it: the JSON media
type (so that a form on another site, which can send only text/plain or form bodies, cannot
post JSON), UTF-8, and nested no deeper than any of our shapes needs (the JSON decoder recurses
and would fail with a RecursionError on a deeply nested body)."""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from litestar import Request

from tracker.errors import BadRequest, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body` (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body)).translate(_DEPTH_STEP)
    steps = (1 if step == 1 else -1 for step in brackets)
    return max(accumulate(steps), default=0)


def check_json_body(content_type: tuple[str, dict[str, str]], body: bytes) -> None:
    media_type, options = content_type
    if media_type != JSON_MEDIA_TYPE and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send the body as {JSON_MEDIA_TYPE}.")
    if options.get("charset", "utf-8").lower() not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType("JSON bodies are UTF-8.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not UTF-8 (byte {exc.start}).") from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """before_request: every API handler that takes `data` gets checked JSON (page forms are
    URL-encoded and CSRF-checked)."""
    if not request.url.path.startswith("/api/"):
        return
    if "data" not in request.route_handler.parsed_fn_signature.parameters:
        return
    check_json_body(request.content_type, await request.body())
