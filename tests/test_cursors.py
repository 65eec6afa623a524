"""A tampered cursor is a 400 on every paged list, on both databases, never a 500."""

from __future__ import annotations

import base64
import re

import pytest
from litestar.routes import HTTPRoute

from tests.builders import Client
from tracker.app import create_app
from tracker.listing import encode_cursor
from tracker.settings import Settings


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


TAMPERED = [
    encode_cursor([2**70]),
    encode_cursor([-(2**40)]),
    encode_cursor([1.5]),
    encode_cursor([True]),
    encode_cursor(["a\x00b"]),
    encode_cursor(["x" * 300]),
    encode_cursor([]),
    encode_cursor([1, 2, 3]),
    raw("[NaN]"),
    raw("[Infinity]"),
    raw("[-Infinity]"),
    raw("[[1]]"),
    raw('{"id": 1}'),
    raw("[" * 5000 + "]" * 5000),
    raw("not json"),
    "AAAA",
    "A",
]


def paged_lists() -> list[str]:
    paths = []
    for route in create_app(Settings()).routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and "cursor" in handler.parsed_fn_signature.parameters:
                paths.append(re.sub(r"\{[^}]+\}", "10000", route.path))
    return sorted(paths)


def test_the_lists_are_found() -> None:
    assert len(paged_lists()) >= 9


@pytest.mark.parametrize("cursor", TAMPERED)
async def test_a_tampered_cursor_is_a_bad_request(client: Client, cursor: str) -> None:
    for path in paged_lists():
        response = await client.get(path, params={"cursor": cursor, "limit": 2})
        assert response.status_code == 400, f"{path}: {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")
