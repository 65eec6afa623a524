"""Optimistic concurrency: a resource's ETag is its version; updates and deletes need If-Match."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Annotated, Any, TypeVar

from litestar import Request, Response
from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.db import TableModel, run
from tracker.errors import PreconditionFailed, PreconditionRequired

M = TypeVar("M", bound=BaseModel)

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=False, description="ETag of the version read (428 without it)."
    ),
]

# the same header for updates that cannot go without it: documented as required (a client
# generated from the spec sends it), still answered 428, not 400, when it is missing
RequiredIfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=True, description="ETag of the version read (428 without it)."
    ),
]


def etag(version: int, variant: str | None = None) -> str:
    """`"v7"`; with a `variant`, `"v7.<variant>"`: the same version shown with derived state
    that changes without a write (an assessment's broken evidence), so that a cache does not
    keep it. If-Match compares the version alone."""
    return f'"v{version}"' if variant is None else f'"v{version}.{variant}"'


def expected_version(if_match: str | None, *, current: int) -> int:
    """The version the client saw; 428 without If-Match, 412 when it is not the current one."""
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag of the version you read.",
            german="Die gelesene Fassung fehlt; laden Sie die Seite neu.",
        )
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    versions = {tag.split(".", 1)[0].removesuffix('"') + '"' for tag in tags}
    if "*" in tags or etag(current) in versions:
        return current
    raise PreconditionFailed(
        f"The resource has changed; its current ETag is {etag(current)}.",
        german="Inzwischen hat jemand anderes dies geändert; laden Sie die Seite neu.",
    )


def content_etag(body: BaseModel) -> str:
    """ETag of a read-only resource: a digest of what is sent."""
    return '"' + hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32] + '"'


def stamp_etag(key: Hashable) -> str:
    """ETag of a computed answer: a digest of the stamp of everything it reads, so that a
    poller's If-None-Match is answered before anything is computed."""
    return '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:32] + '"'


def client_holds(request: Request[Any, Any, Any], tag: str) -> bool:
    """The client's If-None-Match names this ETag (or `*`)."""
    seen = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    return tag in seen or "*" in seen


def not_modified(tag: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag, **(headers or {})}
    )


def tagged(request: Request[Any, Any, Any], body: M, tag: str | None = None) -> Response[Any]:
    """The body with its ETag; 304 without a body when the client's If-None-Match holds it."""
    tag = tag or content_etag(body)
    if client_holds(request, tag):
        return not_modified(tag)
    return Response(body, headers={"ETag": tag})


async def compare_and_set(
    session: AsyncSession, row: TableModel, version: int, values: dict[str, Any]
) -> None:
    """Write `values` and the next version only if the row still has `version`: of concurrent
    writers holding one ETag exactly one succeeds, the others get 412."""
    table = type(row)
    key = {column.name: getattr(row, column.name) for column in table.__table__.primary_key.columns}  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(*(col(getattr(table, name)) == value for name, value in key.items()))
        .where(col(table.__table__.c.version) == version)  # type: ignore[attr-defined]
        .values(**values, version=version + 1)
        .execution_options(synchronize_session=False)
    )
    if (await run(session, statement)).rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("The resource has changed since you read it; read it again.")
    await session.refresh(row)
