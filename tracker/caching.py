"""A small in-process cache for computed answers, keyed by stamps of the data they read.

A key must name everything the answer depends on (see `reports.queries.gemeinde_stamp` and
`maturity.applicability.stamp`); entries are never invalidated, only pushed out when the
cache is full, since a changed stamp makes a new key.
"""

from __future__ import annotations

import gzip
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import brotli  # type: ignore[import-untyped]
from litestar.types import ASGIApp, Message, Receive, Scope, Send

V = TypeVar("V")


class Lru(Generic[V]):
    every: ClassVar[weakref.WeakSet[Lru[Any]]] = weakref.WeakSet()

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, V] = OrderedDict()
        Lru.every.add(self)

    @classmethod
    def forget_all(cls) -> None:
        """Empty every cache of answers (the benchmark's fresh start)."""
        for cache in list(cls.every):
            cache.entries.clear()

    def get(self, key: Hashable) -> V | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: V) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


# Answers smaller than this go out as they are: below about a kilobyte the saving is a few
# hundred bytes, paid for with CPU on both ends.
COMPRESS_MIN_BYTES = 1024
# A cached answer is compressed once per change and sent many times: levels for static content.
BROTLI_QUALITY = 6
GZIP_LEVEL = 6


class Answer:
    """A computed answer as it is sent: its JSON body and ETag, and each compressed variant made
    once, at its first request."""

    def __init__(self, body: bytes, tag: str) -> None:
        self.body = body
        self.tag = tag
        self.variants: dict[str, bytes] = {}

    def encoded(self, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
        """The body and its headers for a client that accepts `accept_encoding`: brotli, else
        gzip, else none (the choice `app.ApiCompression` makes for other answers)."""
        if len(self.body) < COMPRESS_MIN_BYTES:
            return self.body, {"ETag": self.tag}
        headers = {"ETag": self.tag, "Vary": "Accept-Encoding"}
        coding = "br" if "br" in accept_encoding else "gzip" if "gzip" in accept_encoding else None
        if coding is None:
            return self.body, headers
        found = self.variants.get(coding)
        if found is None:
            found = self.variants[coding] = (
                brotli.compress(self.body, quality=BROTLI_QUALITY)
                if coding == "br"
                else gzip.compress(self.body, compresslevel=GZIP_LEVEL, mtime=0)
            )
        return found, {**headers, "Content-Encoding": coding}


# --- answers kept whole, in front of the application ------------------------------------------

FRONT_KEPT = 512  # answers; a Gemeinde's roll-up is about 10 kB compressed, 80 kB plain


class FrontCache:
    """Whole answers to anonymous GETs of the polled routes (a Gemeinde's roll-up, the summary,
    a city dashboard), kept by the data version (`watch.Watch.version`) and sent again without
    entering the application: what a caching reverse proxy in front of it would do, kept
    correct by the same version that keys every stamp. A request with credentials (a token, a
    session cookie), an unknown version, or an answer other than 200 or 304 passes through."""

    def __init__(self, paths: re.Pattern[str], version: Callable[[], Hashable | None]) -> None:
        self.paths = paths
        self.version = version
        self.kept: Lru[tuple[Message, bytes]] = Lru(FRONT_KEPT)

    def key(self, scope: Scope) -> tuple[Hashable, ...] | None:
        if scope.get("method") != "GET" or not self.paths.fullmatch(scope["path"]):
            return None
        headers = dict(scope["headers"])
        if b"authorization" in headers or b"cookie" in headers:
            return None
        version = self.version()
        if version is None:
            return None
        accepted = headers.get(b"accept-encoding", b"")
        coding = b"br" if b"br" in accepted else b"gzip" if b"gzip" in accepted else b""
        return (
            version, datetime.now(UTC).date(), scope["path"], scope["query_string"], coding,
            headers.get(b"if-none-match"),
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        key = self.key(scope)
        if key is None:
            await app(scope, receive, send)
            return
        found = self.kept.get(key)
        if found is not None:
            start, body = found
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        parts: list[bytes] = []
        started: list[Message] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                done = not message.get("more_body", False)
                if done and self.version() == key[0] and kept_status(started):
                    self.kept.put(key, (started[0], b"".join(parts)))
            await send(message)

        await app(scope, receive, keep)


def kept_status(started: list[Message]) -> bool:
    return len(started) == 1 and started[0].get("status") in (200, 304)
