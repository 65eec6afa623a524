"""Optimistic concurrency: a resource's ETag is its version; updates and deletes need If-Match."""

from __future__ import annotations

from tracker.errors import PreconditionFailed, PreconditionRequired


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
