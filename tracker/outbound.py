"""The one configured httpx client for every call out of tracker: probes, webhooks, downloads.
Bounded (timeouts, a redirect limit, a connection pool), TLS verified, and polite: its user
agent names the tool and the operator's contact address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

from tracker.settings import Settings

USER_AGENT = "tracker/0.1 (OZG-Reifegrad-Tracker; +{contact})"


def user_agent(settings: Settings) -> str:
    return USER_AGENT.format(contact=settings.contact_email)


def build_http_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent(settings)},
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=5.0),
        follow_redirects=False,  # probes follow redirects themselves, hop by hop, to check each
        max_redirects=settings.http_max_redirects,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        verify=True,
        transport=transport,
        trust_env=False,
    )


Resolver = Callable[[str], Awaitable[list[str]]]


class UnsafeTarget(Exception):
    """A URL that tracker will not call: not http(s), or an address inside a private network
    (server-side request forgery), unless `outbound_allowed_networks` lets it through."""


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
        raise UnsafeTarget(f"{host} does not resolve ({exc})") from exc
    networks = allowed_networks(settings)
    for text in addresses:
        _check_address(host, ipaddress.ip_address(text), networks)
