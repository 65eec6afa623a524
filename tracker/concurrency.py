"""Optimistic concurrency: a resource's ETag is its version; updates and deletes need If-Match."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from pydantic import BaseModel

from tracker.errors import PreconditionFailed, PreconditionRequired

M = TypeVar("M", bound=BaseModel)


def etag(version: int) -> str:
    return f'"v{version}"'


def expected_version(if_match: str | None, *, current: int) -> int:
    """The version the client saw; 428 without If-Match, 412 when it is not the current one."""
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag of the version you read.")
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in tags or etag(current) in tags:
        return current
    raise PreconditionFailed(f"The resource has changed; its current ETag is {etag(current)}.")


def content_etag(body: BaseModel) -> str:
    """ETag of a read-only resource: a digest of what is sent."""
    return '"' + hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32] + '"'


def tagged(request: Request[Any, Any, Any], body: M, tag: str | None = None) -> Response[Any]:
    """The body with its ETag; 304 without a body when the client's If-None-Match holds it."""
    tag = tag or content_etag(body)
    seen = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if tag in seen or "*" in seen:
        return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    return Response(body, headers={"ETag": tag})
