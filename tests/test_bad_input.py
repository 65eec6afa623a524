"""One corpus of bad input against every JSON write route: each answer is a clear 4xx problem,
never a 500, and bad values are refused rather than stored.

The routes and their well-formed bodies come from the route matrix's catalogue, which names
every write route of the API (a new route without an entry fails there). The bulk upload reads
CSV and XLSX; its corpus, shared with every importer, is in tests/test_bad_files.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.access.test_scope_matrix import catalogue, leipzig
from tests.builders import Client, add_token, add_user, bearer

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
Mutation = Callable[[Any], Iterator[Any]]


def strings(value: Any, change: Callable[[str], str | None]) -> Iterator[Any]:
    """Copies of `value` with one string changed at a time (where `change` gives a new one)."""
    if isinstance(value, str):
        if (new := change(value)) is not None:
            yield new
    elif isinstance(value, dict):
        for key, item in value.items():
            for new in strings(item, change):
                yield {**value, key: new}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for new in strings(item, change):
                yield [*value[:index], new, *value[index + 1 :]]


def fields(value: dict[str, Any], replacement: Any, kind: type) -> Iterator[dict[str, Any]]:
    """Copies of `value` with one field of the type `kind` replaced at a time."""
    for key, item in value.items():
        if isinstance(item, kind):
            yield {**value, key: replacement}


def dated(body: dict[str, Any], moment: Any) -> Iterator[dict[str, Any]]:
    if "dimension" in body:
        yield {**body, "assessed_at": moment}


# name → what to send instead of a well-formed body; every one must be refused (4xx)
REFUSED: dict[str, Mutation] = {
    "NUL in a string": lambda body: strings(body, lambda text: text + "\x00"),
    "a string of 200,000 characters": lambda body: strings(body, lambda text: "x" * 200_000),
    "Arabic-Indic digits in a code": lambda body: strings(
        body, lambda text: text.translate(ARABIC_INDIC) if text.isdigit() else None
    ),
    "a huge integer": lambda body: fields(body, 2**70, int),
    "a boolean as text": lambda body: fields(body, "no", bool),
    "a boolean as a number": lambda body: fields(body, 0, bool),
    # assessed_at is the one date a client sends
    "a date in the future": lambda body: dated(body, "2999-01-01"),
    "a date in year 1": lambda body: dated(body, "0001-01-01T00:00:00Z"),
    "a date as a bare number": lambda body: dated(body, 20240101),
}


def raw_bodies(body: dict[str, Any]) -> Iterator[tuple[str, bytes, str]]:
    """(what, bytes, content type) that are no UTF-8 JSON object of the JSON media type."""
    text = json.dumps(body, ensure_ascii=False)
    yield "nested 1,000 deep", b"[" * 1000 + b"]" * 1000, "application/json"
    yield "nested 100,000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json"
    yield "JSON as text/plain", text.encode(), "text/plain"
    yield "a form", b"ars=147130000000", "application/x-www-form-urlencoded"
    yield (
        "Windows-1252",
        json.dumps({**body, "x": "Bürger"}, ensure_ascii=False).encode("cp1252"),
        "application/json",
    )
    yield "Latin-1 named", text.encode(), "application/json; charset=latin-1"
    yield "NaN", text.replace("{", '{"nan": NaN, ', 1).encode(), "application/json"
    yield "1e400", text.replace("{", '{"big": 1e400, ', 1).encode(), "application/json"


def problem(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), what


async def test_every_write_route_refuses_the_corpus(client: Client, session: AsyncSession) -> None:
    target = await leipzig(session)
    chef = bearer(
        await add_token(session, await add_user(session, "chef@bund.de", [("superadmin", "")]))
    )
    await session.commit()
    sent = 0
    for (method, path), (url, keywords) in catalogue(target).items():
        body = keywords.get("json")
        if body is None:
            continue
        headers = {**keywords.get("headers", {}), **chef}
        for name, mutate in REFUSED.items():
            for changed in mutate(body):
                response = await client.request(method, url, json=changed, headers=headers)
                problem(response, f"{method} {path}: {name} {str(changed)[:80]}")
                sent += 1
        for name, content, media_type in raw_bodies(body):
            response = await client.request(
                method, url, content=content, headers={**headers, "Content-Type": media_type}
            )
            problem(response, f"{method} {path}: {name}")
            sent += 1
    assert sent > 80


async def test_formula_text_is_stored_as_text_and_nothing_fails(
    client: Client, session: AsyncSession
) -> None:
    target = await leipzig(session)
    chef = bearer(
        await add_token(session, await add_user(session, "chef@bund.de", [("superadmin", "")]))
    )
    await session.commit()
    for (method, path), (url, keywords) in catalogue(target).items():
        body = keywords.get("json")
        if body is None:
            continue
        headers = {**keywords.get("headers", {}), **chef}
        for changed in strings(body, lambda text: '=HYPERLINK("https://evil.example","x")'):
            response = await client.request(method, url, json=changed, headers=headers)
            assert response.status_code < 500, f"{method} {path}: {response.text}"
