"""Every datetime the API returns carries its offset (RFC 3339 `date-time`), on both backends:
each response schema of every route declares its datetimes as `fields.UtcDatetime`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin

from litestar.routes import HTTPRoute
from pydantic import AfterValidator, BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer
from tests.maturity.test_routes import ESSEN, people, record
from tracker.app import create_app
from tracker.fields import utc_moment
from tracker.settings import Settings

MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def is_aware(metadata: list[Any]) -> bool:
    return any(isinstance(item, AfterValidator) and item.func is utc_moment for item in metadata)


def datetimes(annotation: Any, where: str, seen: set[type]) -> Iterator[tuple[str, bool]]:
    """(where, declared aware) for every datetime reachable from a response annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        if base is datetime:
            yield where, is_aware(metadata)
        else:
            yield from datetimes(base, where, seen)
    elif annotation is datetime:
        yield where, False
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for name, field in annotation.model_fields.items():
            place = f"{annotation.__name__}.{name}"
            if field.annotation is datetime:
                yield place, is_aware(field.metadata)
            else:
                yield from datetimes(field.annotation, place, seen)
    elif origin is not None and origin is not Literal:  # list[X], X | None, Response[X], ...
        for argument in get_args(annotation):
            yield from datetimes(argument, where, seen)


def response_datetimes() -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    for route in create_app(Settings()).routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            annotation = handler.parsed_fn_signature.return_type.annotation
            label = f"{'/'.join(sorted(handler.http_methods))} {route.path}"
            found += [
                (f"{label}: {where}", aware) for where, aware in datetimes(annotation, "", set())
            ]
    return found


def test_every_returned_datetime_is_declared_aware() -> None:
    found = response_datetimes()
    assert len(found) > 10, "the walk finds the datetimes of the response schemas"
    assert [where for where, aware in found if not aware] == [], "use fields.UtcDatetime"


def moments(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from moments(item)
    elif isinstance(value, list):
        for item in value:
            yield from moments(item)
    elif isinstance(value, str) and MOMENT.match(value):
        yield value


async def test_returned_datetimes_have_an_offset(client: Client, session: AsyncSession) -> None:
    who = await people(session)
    await record(client, who["editor"], submit=True)
    admin = await add_user(session, "admin@bund.de", [("superadmin", "")])
    headers = bearer(await add_token(session, admin))
    await session.commit()
    found: list[str] = []
    for path in [
        f"/api/v1/assessments?ars={ESSEN}",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/users",
        f"/api/v1/gemeinden/{ESSEN}/reifegrad?at=2026-01-01",
    ]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        found += moments(response.json())
    assert len(found) > 5
    assert [moment for moment in found if not OFFSET.search(moment)] == []
