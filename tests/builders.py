"""Helpers shared by tests: plain functions, no fixtures."""

from __future__ import annotations

from typing import Any, cast

import httpx
from litestar import Litestar

# httpx over ASGI in the test's own event loop: Litestar's AsyncTestClient runs the app in a
# portal thread with a loop of its own, where asyncpg refuses the test's connection.
Client = httpx.AsyncClient


def client_for(app: Litestar) -> Client:
    """A client for the app; an app built with an injected sessionmaker needs no lifespan."""
    # Litestar's ASGI types are its own; at run time it is a plain ASGI app.
    transport = httpx.ASGITransport(app=cast(Any, app))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


async def collect(client: Client, url: str, **filters: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor."""
    items: list[dict[str, Any]] = []
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
