"""A tampered cursor is a 400 on every paged list, on both databases, never a 500."""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer
from tracker.app import create_app
from tracker.settings import Settings

# no list's documented pattern admits these: each is a 400 naming the cursor, never a 500
TAMPERED = [
    "",
    "1.2.3.4",
    "9" * 21,
    "1.9999999999.051130000000",
    "x" * 300,
    "1\x00",
    "!!",
    "a b",
    "1,5",
    "٢",
    "1e5.",
    "NaN.1",
]
# every list's pattern admits these: each is a position, answered with a page
POSITIONS = ["0", "12", "999999999"]


def paged_lists() -> list[str]:
    paths = []
    for route in create_app(Settings()).routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and "cursor" in handler.parsed_fn_signature.parameters:
                paths.append(re.sub(r"\{[^}]+\}", "10000", route.path))
    return sorted(paths)


@pytest.fixture
async def signed(session: AsyncSession) -> dict[str, str]:
    """A superadmin's token: the research lists are only for the signed-in."""
    user = await add_user(session, "cursors@x.de", [("superadmin", "")])
    headers = bearer(await add_token(session, user))
    await session.commit()
    return headers


def test_the_lists_are_found() -> None:
    assert len(paged_lists()) >= 9


@pytest.mark.parametrize("cursor", TAMPERED)
async def test_a_cursor_outside_the_pattern_is_a_bad_request(
    client: Client, cursor: str, signed: dict[str, str]
) -> None:
    for path in paged_lists():
        response = await client.get(path, params={"cursor": cursor, "limit": 2}, headers=signed)
        assert response.status_code == 400, f"{path}: {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [entry["key"] for entry in response.json()["extra"]] == ["cursor"]


async def test_any_cursor_of_the_pattern_is_a_position(
    client: Client, signed: dict[str, str]
) -> None:
    for path in paged_lists():
        for cursor in POSITIONS:
            response = await client.get(path, params={"cursor": cursor, "limit": 2}, headers=signed)
            # a list under a thing that is not there (Maßnahme 10000) is a 404, not a 400
            expected = {200, 404} if "10000" in path else {200}
            assert response.status_code in expected, f"{path} {cursor}: {response.text}"
    # a search list: with its rank parts, without, and after the filter changed
    for cursor in ("1.-5.AB", "AB", "0.-100000.051130000000"):
        found = await client.get("/api/v1/gemeinden", params={"q": "essen", "cursor": cursor})
        assert found.status_code == 200, found.text
    first = await client.get("/api/v1/gemeinden", params={"q": "essen", "limit": 1})
    after = await client.get(
        "/api/v1/gemeinden",
        params={"q": "essen", "limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert first.json()["items"][0]["ars"] != after.json()["items"][0]["ars"]
