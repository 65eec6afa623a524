"""Helpers shared by tests: plain functions, no fixtures."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


async def collect(client: Client, url: str, **filters: object) -> list[dict]:
    """Every item of a list, following next_cursor."""
    items: list[dict] = []
    cursor = None
    while True:
        params = {**filters, "limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
