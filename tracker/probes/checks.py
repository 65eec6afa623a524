"""One probe of one URL, politely: robots.txt read once per host and obeyed, at most
`probe_per_host` requests at once to a host and `probe_host_delay_seconds` between them, HEAD
first and GET where HEAD is refused (405, 501), redirects followed hop by hop (each hop checked
against SSRF), TLS verified (its expiry read from the certificate)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.robotparser import RobotFileParser

import httpx

from tracker.outbound import (
    Resolver,
    UnresolvedHost,
    UnsafeTarget,
    check_target,
    resolve_host,
    user_agent,
)
from tracker.settings import Settings

HEAD_REFUSED = (405, 501)
MAX_ROBOTS_BYTES = 500_000


@dataclass
class Outcome:
    url: str
    probed_at: datetime
    ok: bool
    status_code: int | None = None
    final_url: str | None = None
    latency_ms: int | None = None
    tls_valid: bool | None = None
    tls_expires_at: datetime | None = None
    error_class: str | None = None
    error: str | None = None
    content_type: str | None = None

    @property
    def counted(self) -> bool:
        """A URL that robots.txt or the SSRF rules keep us from was not probed: neither failure
        nor success (a host that does not resolve is a failure, of class dns)."""
        return self.error_class not in ("robots", "unsafe")


def classify(exc: Exception) -> str:
    """dns, timeout, tls, redirects or connect, from httpx's exception and its causes."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TooManyRedirects):
        return "redirects"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "dns"
        if isinstance(seen, ssl.SSLError):
            return "tls"
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return "tls"
    if "Name or service not known" in text or "name resolution" in text:
        return "dns"
    return "connect"


def certificate_expiry(response: httpx.Response) -> datetime | None:
    stream: Any = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    expires = (ssl_object.getpeercert() or {}).get("notAfter")
    if not expires:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(expires), UTC)


class Prober:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.client, self.settings, self.resolve = client, settings, resolve
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._last: dict[str, float] = {}
        self._robots: dict[str, RobotFileParser | None] = {}
        self._robots_lock = asyncio.Lock()
        self.agent = user_agent(settings)

    @asynccontextmanager
    async def _turn(self, host: str) -> AsyncIterator[None]:
        gate = self._gates.setdefault(host, asyncio.Semaphore(self.settings.probe_per_host))
        async with gate:
            wait = self._last.get(host, -1e9) + self.settings.probe_host_delay_seconds
            if (pause := wait - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            try:
                yield
            finally:
                self._last[host] = time.monotonic()

    async def _robots_for(self, url: httpx.URL) -> RobotFileParser | None:
        """None: no rules (robots.txt missing or unreadable: RFC 9309 allows all on 4xx; on an
        unreachable host the probe itself fails and says why)."""
        origin = f"{url.scheme}://{url.netloc.decode()}"
        async with self._robots_lock:
            if origin in self._robots:
                return self._robots[origin]
            parser: RobotFileParser | None = None
            try:
                async with self._turn(url.host):
                    response = await self.client.get(f"{origin}/robots.txt")
                if response.status_code == 200:
                    parser = RobotFileParser()
                    parser.parse(response.text[:MAX_ROBOTS_BYTES].splitlines())
                elif response.status_code >= 500:
                    parser = RobotFileParser()
                    parser.parse(
                        ["User-agent: *", "Disallow: /"]
                    )  # RFC 9309: a server error means "stay away"
            except httpx.HTTPError:
                parser = None
            self._robots[origin] = parser
            return parser

    async def probe(self, url: str) -> Outcome:
        now = datetime.now(UTC)
        start = time.monotonic()
        current = url
        try:
            for _ in range(self.settings.http_max_redirects + 1):
                await check_target(current, self.settings, resolve=self.resolve)
                target = httpx.URL(current)
                robots = await self._robots_for(target)
                if robots is not None and not robots.can_fetch(self.agent, current):
                    return Outcome(url, now, ok=False, error_class="robots",
                                   error="robots.txt disallows it", final_url=current)  # fmt: skip
                response = await self._request(target)
                location = response.headers.get("location")
                if response.is_redirect and location:
                    current = str(target.join(location))
                    continue
                return self._outcome(url, now, start, current, response)
            raise httpx.TooManyRedirects(f"more than {self.settings.http_max_redirects}")
        except UnresolvedHost as exc:
            return Outcome(url, now, ok=False, error_class="dns", error=str(exc)[:500])
        except UnsafeTarget as exc:
            return Outcome(url, now, ok=False, error_class="unsafe", error=str(exc)[:500])
        except httpx.HTTPError as exc:
            error_class = classify(exc)
            return Outcome(
                url, now, ok=False, error_class=error_class, error=str(exc)[:500] or error_class,
                latency_ms=round((time.monotonic() - start) * 1000), final_url=current,
                tls_valid=False if error_class == "tls" else None,
            )  # fmt: skip

    async def _request(self, url: httpx.URL) -> httpx.Response:
        async with self._turn(url.host):
            response = await self.client.head(url)
        if response.status_code in HEAD_REFUSED:
            async with self._turn(url.host), self.client.stream("GET", url) as streamed:
                response = streamed  # the body is never read
        return response

    def _outcome(
        self, url: str, now: datetime, start: float, final: str, response: httpx.Response
    ) -> Outcome:
        status = response.status_code
        error_class = "http_5xx" if status >= 500 else "http_4xx" if status >= 400 else None
        https = final.startswith("https://")
        return Outcome(
            url, now, ok=error_class is None, status_code=status, final_url=final,
            latency_ms=round((time.monotonic() - start) * 1000),
            tls_valid=True if https else None,
            tls_expires_at=certificate_expiry(response) if https else None,
            error_class=error_class, error=f"HTTP {status}" if error_class else None,
            content_type=(response.headers.get("content-type") or "")[:200] or None,
        )  # fmt: skip
