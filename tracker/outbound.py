"""The one configured httpx client for every call out of tracker: probes, webhooks, downloads.
Bounded (timeouts, a redirect limit, a connection pool), TLS verified, and polite: its user
agent names the tool and the operator's contact address."""

from __future__ import annotations

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
