"""A small in-process cache for computed answers, keyed by stamps of the data they read.

A key must name everything the answer depends on (see `reports.queries.gemeinde_stamp` and
`maturity.applicability.stamp`); entries are never invalidated, only pushed out when the
cache is full, since a changed stamp makes a new key.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

import brotli  # type: ignore[import-untyped]

V = TypeVar("V")


class Lru(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, V] = OrderedDict()

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
