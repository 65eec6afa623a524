"""Cursor pages and CSV answers shared by every list endpoint."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from litestar import Request, Response
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import QueryParameter
from pydantic import BaseModel
from sqlalchemy import Row, Select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import run
from tracker.errors import BadRequest
from tracker.tabular import XLSX_MEDIA_TYPE, csv_text

T = TypeVar("T")

CSV_MEDIA_TYPE = "text/csv"
LIST_DESCRIPTION = (
    "Cursor-paginated: follow `next_cursor` until it is null. "
    "With `Accept: text/csv` the whole filtered list comes as one CSV, in the columns the "
    "importer reads; `limit` and `cursor` are then ignored."
)

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page (1-100).")]
# A cursor is the sort key of the last item given, its parts joined by ".": readable, and any
# value that matches a list's pattern is a position in that list (keyset pagination), so that
# the spec states exactly which cursors the server takes. Keys are ids, codes and ranks.
KEY_INT = r"-?[0-9]{1,9}"  # within PostgreSQL INTEGER
KEY_CODE = r"[0-9A-Za-z]{1,20}"  # ARS, Land and Kreis codes, OZG-IDs
_CURSOR_DESCRIPTION = (
    "`next_cursor` of the previous page: the sort key of the last item given. Any value of "
    "this pattern is a position in the list; the page starts after it."
)
IdCursor = Annotated[
    str | None, QueryParameter(pattern=rf"^{KEY_INT}$", description=_CURSOR_DESCRIPTION)
]
CodeCursor = Annotated[
    str | None, QueryParameter(pattern=rf"^{KEY_CODE}$", description=_CURSOR_DESCRIPTION)
]
# search results: rank first (and for Gemeinden the population, negated), then the code
RankedCodeCursor = Annotated[
    str | None,
    QueryParameter(pattern=rf"^({KEY_INT}\.)?{KEY_CODE}$", description=_CURSOR_DESCRIPTION),
]
RankedGemeindeCursor = Annotated[
    str | None,
    QueryParameter(
        pattern=rf"^({KEY_INT}\.{KEY_INT}\.)?{KEY_CODE}$", description=_CURSOR_DESCRIPTION
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


_INT = re.compile(rf"^{KEY_INT}$")
_CODE = re.compile(rf"^{KEY_CODE}$")
_LOWEST_INT = -(2**31)


def encode_cursor(values: Sequence[Any]) -> str:
    text = ".".join(str(value) for value in values)
    if not all(_INT.match(part) or _CODE.match(part) for part in text.split(".")):
        raise ValueError(f"{values!r} cannot be a cursor")  # a sort key of another kind
    return text


def _is_int(column: Any) -> bool:
    try:
        return bool(column.type.python_type is int)
    except (AttributeError, NotImplementedError):
        return False


def decode_cursor(cursor: str, order: Sequence[Any]) -> list[Any]:
    """The sort key a cursor names. The route's pattern has checked its form; a search list's
    cursor without its rank parts starts at the lowest rank, a longer one gives up its rank
    parts where the list is not ranked (the filters changed between pages)."""
    given: list[int | str] = list(cursor.split(".")[-len(order) :])
    lowest: list[int | str] = [_LOWEST_INT if _is_int(column) else "" for column in order]
    parts = [*lowest[: len(order) - len(given)], *given]
    values: list[Any] = []
    for part, column in zip(parts, order, strict=True):
        if not _is_int(column) or isinstance(part, int):
            values.append(part)
        elif _INT.match(part):
            values.append(int(part))
        else:
            raise BadRequest(f"The cursor part {part!r} is no position in this list.")
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


def upload_operation(csv_description: str) -> type[Operation]:
    """The operation of an import that reads its body itself (UTF-8 CSV or an XLSX workbook),
    so that the spec learns of the body here."""

    @dataclass
    class UploadOperation(Operation):
        def __post_init__(self) -> None:
            text = Schema(type=OpenAPIType.STRING, description=csv_description)
            workbook = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            self.request_body = RequestBody(
                required=True,
                content={
                    CSV_MEDIA_TYPE: OpenAPIMediaType(schema=text),
                    XLSX_MEDIA_TYPE: OpenAPIMediaType(schema=workbook),
                },
            )

    return UploadOperation
