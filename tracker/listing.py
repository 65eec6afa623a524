"""Cursor pages and CSV answers shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from litestar import Request, Response
from litestar.params import QueryParameter
from pydantic import BaseModel
from sqlalchemy import Row, Select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run
from tracker.errors import BadRequest
from tracker.tabular import csv_text

T = TypeVar("T")

CSV_MEDIA_TYPE = "text/csv"
LIST_DESCRIPTION = (
    "Cursor-paginated: follow `next_cursor` until it is null. "
    "With `Accept: text/csv` the whole filtered list comes as one CSV, in the columns the "
    "importer reads; `limit` and `cursor` are then ignored."
)

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page (1-100).")]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=512,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page, as it came (opaque, URL-safe base64). "
        "A cursor this server did not hand out is answered with 400.",
    ),
]
SearchText = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="Search text; ignores case, umlauts (ü = ue) and suffixes such as ', Stadt'.",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Keys a cursor can hold: PostgreSQL INTEGER and short text without NUL; anything else would
# reach the database as a value it refuses (500) instead of a 400 here.
_INT_RANGE = (-(2**31), 2**31 - 1)
_MAX_TEXT_KEY = 200


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is no cursor value")


def _fits(value: object, expression: Any) -> bool:
    try:
        expected = expression.type.python_type
    except (AttributeError, NotImplementedError):
        expected = None
    if expected is object:  # SQLModel's AutoString
        expected = str
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return expected in (int, None) and _INT_RANGE[0] <= value <= _INT_RANGE[1]
    if isinstance(value, str):
        return expected in (str, None) and len(value) <= _MAX_TEXT_KEY and "\x00" not in value
    return False


def decode_cursor(cursor: str, order: Sequence[Any]) -> list[Any]:
    """The key values of a cursor, each of its order column's type and range; else 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw, parse_constant=_reject_constant)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise BadRequest("The cursor is damaged; start again without one.") from exc
    if (
        not isinstance(values, list)
        or len(values) != len(order)
        or not all(
            _fits(value, expression) for value, expression in zip(values, order, strict=True)
        )
    ):
        raise BadRequest("The cursor does not belong to this list; start again without one.")
    return values


async def fetch_page(
    session: AsyncSession,
    statement: Select[*tuple[Any, ...]],
    order: Sequence[Any],
    *,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Row[Any]], str | None]:
    """Keyset pagination on `order` (ascending, unique as a whole): stable while rows change.

    Rows keep the statement's columns by label; the order columns are appended after them.
    Without a limit, every row comes at once (CSV exports).
    """
    keys = [expression.label(f"_page_key_{i}") for i, expression in enumerate(order)]
    paged = statement.add_columns(*keys).order_by(*order)
    if limit is None:
        return list((await run(session, paged)).all()), None
    if cursor is not None:
        paged = paged.where(tuple_(*order) > tuple(decode_cursor(cursor, order)))
    rows = (await run(session, paged.limit(limit + 1))).all()
    next_cursor = encode_cursor(rows[limit - 1][-len(order) :]) if len(rows) > limit else None
    return list(rows[:limit]), next_cursor


@dataclass(frozen=True)
class CsvExport:
    """How a list is written as CSV: file name, header, and rows from the query's rows."""

    filename: str
    columns: Sequence[str]
    rows: Callable[[list[Row[Any]]], Iterable[Sequence[Any]] | Awaitable[Iterable[Sequence[Any]]]]


async def answer_list(
    request: Request[Any, Any, Any],
    fetch: Callable[..., Awaitable[tuple[list[Row[Any]], str | None]]],
    *,
    limit: int,
    cursor: str | None,
    item: Callable[[Row[Any]], T],
    export: CsvExport,
) -> Page[T]:
    """A cursor page of `item`s, or with `Accept: text/csv` the whole list as CSV.

    `fetch(limit=, cursor=)` runs the list query; without a limit it returns every row.
    """
    if wants_csv(request):
        rows, _ = await fetch(limit=None, cursor=None)
        lines = export.rows(rows)
        if inspect.isawaitable(lines):
            lines = await lines
        # Litestar sends a Response as it is; the annotation documents the JSON answer.
        return csv_response(export.filename, export.columns, lines)  # type: ignore[return-value]
    rows, next_cursor = await fetch(limit=limit, cursor=cursor)
    return Page(items=[item(row) for row in rows], next_cursor=next_cursor)


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    best = request.accept.best_match(
        ["application/json", CSV_MEDIA_TYPE], default="application/json"
    )
    return best == CSV_MEDIA_TYPE


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response[str]:
    return Response(
        csv_text(header, rows),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
