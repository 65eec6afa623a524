"""The one configured httpx client for every call out of tracker: probes, webhooks, downloads.
Bounded (timeouts, a redirect limit, a connection pool), TLS verified, and polite: its user
agent names the tool and the operator's contact address."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx

from tracker.settings import Settings

USER_AGENT = "tracker/0.1 (OZG-Reifegrad-Tracker; +{contact})"


def user_agent(settings: Settings) -> str:
    return USER_AGENT.format(contact=settings.contact_email)


LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)


def build_http_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolve: Resolver | None = None,
) -> httpx.AsyncClient:
    """The client; without a `transport` (tests pass a mock) it connects through
    `VettedTransport`: each connection goes to the one address its host resolved to and that
    passed the SSRF rules."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent(settings)},
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=5.0),
        follow_redirects=False,  # probes follow redirects themselves, hop by hop, to check each
        max_redirects=settings.http_max_redirects,
        transport=transport or VettedTransport(settings, resolve=resolve or resolve_host),
        trust_env=False,
    )


Resolver = Callable[[str], Awaitable[list[str]]]


class UnsafeTarget(Exception):
    """A URL that tracker will not call: not http(s), or an address inside a private network
    (server-side request forgery), unless `outbound_allowed_networks` lets it through."""


class UnresolvedHost(UnsafeTarget):
    """A host name that does not resolve: refused like an unsafe target, but a probe counts it
    as a failure of class dns (the name is gone or mistyped), not as a URL left alone."""


async def resolve_host(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def allowed_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(text, strict=False) for text in settings.outbound_allowed_networks]


def literal_target_check(url: str, allowed: tuple[str, ...]) -> httpx.URL:
    """What can be checked without a lookup: http(s), a host, and a host given as an address
    that is public or allowed. Names are resolved and checked at each call (`check_target`)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeTarget(f"not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeTarget("only http and https URLs with a host are called")
    try:
        address = ipaddress.ip_address(parsed.host)
    except ValueError:
        return parsed
    _check_address(parsed.host, address, [ipaddress.ip_network(a, strict=False) for a in allowed])
    return parsed


def _check_address(
    host: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> None:
    if any(address in network for network in networks):
        return
    if not address.is_global or address.is_multicast:
        raise UnsafeTarget(f"{host} is {address}, not a public address")


async def check_target(url: str, settings: Settings, *, resolve: Resolver = resolve_host) -> None:
    """Refuse a URL whose scheme is not http(s) or whose host is or resolves to an address that
    is not globally routable (private, loopback, link-local, reserved, multicast), except in the
    allowed networks. The address is checked again by whoever connects (a name may resolve
    differently later): callers check right before each request."""
    host = literal_target_check(url, settings.outbound_allowed_networks).host
    try:
        ipaddress.ip_address(host)
        return  # an address: checked above
    except ValueError:
        pass
    try:
        addresses = await resolve(host)
    except OSError as exc:
        raise UnresolvedHost(f"{host} does not resolve ({exc})") from exc
    networks = allowed_networks(settings)
    for text in addresses:
        _check_address(host, ipaddress.ip_address(text), networks)


async def vetted_address(host: str, settings: Settings, *, resolve: Resolver = resolve_host) -> str:
    """The address to connect to for `host`: the host itself if it is an address, else what it
    resolves to, looked up once here; refused (`UnsafeTarget`) unless every address it gave is
    public or allowed. Connecting to exactly this address closes the gap a second lookup would
    leave (DNS rebinding: public when checked, private when connected)."""
    networks = allowed_networks(settings)
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        _check_address(host, literal, networks)
        return str(literal)
    try:
        addresses = await resolve(host)
    except OSError as exc:
        raise UnresolvedHost(f"{host} does not resolve ({exc})") from exc
    if not addresses:
        raise UnresolvedHost(f"{host} does not resolve")
    for text in addresses:
        _check_address(host, ipaddress.ip_address(text), networks)
    return addresses[0]


class VettedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the connection's host swapped for its vetted address.
    httpcore asks it for the origin's host name; TLS is then started on the stream with that
    name (SNI, certificate check) and httpx sends it as `Host`: only the address is pinned."""

    def __init__(self, settings: Settings, resolve: Resolver) -> None:
        self.settings, self.resolve = settings, resolve
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # the lookup counts against connecting
                address = await vetted_address(host, self.settings, resolve=self.resolve)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long") from exc
        return await self.inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options,
        )  # fmt: skip

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTarget("tracker calls out over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (TLS verified, no proxies from the environment) whose connection
    pool connects through `VettedBackend`. httpx 0.28 takes no network backend, so the pool it
    built is replaced by the same pool with ours (httpx is pinned; the rebinding test fails if
    this stops taking effect)."""

    def __init__(self, settings: Settings, *, resolve: Resolver = resolve_host) -> None:
        super().__init__(verify=True, trust_env=False, limits=LIMITS)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=True, trust_env=False),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=VettedBackend(settings, resolve),
        )


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size_bytes: int
    sha256: str
    resumed_from: int  # bytes already there from an interrupted download


DownloadProgress = Callable[[int, int | None], None]
CHUNK_BYTES = 256 * 1024


async def download(
    client: httpx.AsyncClient,
    url: str,
    target: Path,
    *,
    progress: DownloadProgress | None = None,
    max_bytes: int = 2 * 1024**3,
) -> Downloaded:
    """Stream `url` into `target`, through `target.part`: an interrupted download resumes with
    a Range request where the server allows it (206), else starts over. The SHA-256 covers the
    whole file. The file appears under its name only when complete."""
    partial = target.with_name(target.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    digest = hashlib.sha256()
    async with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
        if response.status_code == 416 and have:  # the part is already whole
            resumed = have
        else:
            response.raise_for_status()
            resumed = have if response.status_code == 206 else 0
        length = response.headers.get("content-length")
        total = resumed + int(length) if length and length.isdigit() else None
        mode = "ab" if resumed else "wb"
        if resumed:
            with partial.open("rb") as existing:
                while block := existing.read(CHUNK_BYTES):
                    digest.update(block)
        written = resumed
        if response.status_code != 416:
            with partial.open(mode) as handle:
                async for chunk in response.aiter_bytes():  # as it arrives: kept on a break
                    written += len(chunk)
                    if written > max_bytes:
                        raise ValueError(f"{url}: more than {max_bytes} bytes")
                    handle.write(chunk)
                    digest.update(chunk)
                    if progress is not None:
                        progress(written, total)
    partial.replace(target)
    return Downloaded(target, written, digest.hexdigest(), resumed)
