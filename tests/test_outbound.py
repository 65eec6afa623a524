"""DNS rebinding: a connection goes to exactly the address its host resolved to when it was
checked, with the host name kept as Host and TLS SNI. A resolver stub answers with 127.0.0.1
(or first a public address, then 127.0.0.1); real sockets on 127.0.0.1, nothing beyond."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.probes.test_probes import self_signed
from tracker.outbound import UnsafeTarget, build_http_client, check_target
from tracker.probes.checks import Prober
from tracker.settings import Settings

HOST = "dienst.test"
LOOPBACK = ("127.0.0.1/32",)


class Stub:
    """A resolver answering from a list, one answer per lookup (the last one repeated)."""

    def __init__(self, *answers: str) -> None:
        self.answers, self.asked = list(answers), 0

    async def __call__(self, host: str) -> list[str]:
        assert host == HOST
        self.asked += 1
        return [self.answers[min(self.asked, len(self.answers)) - 1]]


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[tuple[int, int, list[str], list[str]]]:
    """(plain port, TLS port, Host headers seen, SNI names seen)."""
    hosts: list[str] = []
    names: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"host:"):
                    hosts.append(line.split(b":", 1)[1].strip().decode())
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    def named(_socket: object, name: str | None, _context: object) -> None:
        names.append(str(name))

    context = self_signed(tmp_path)
    context.sni_callback = named
    plain = await asyncio.start_server(handle, "127.0.0.1", 0)
    secure = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    ports = plain.sockets[0].getsockname()[1], secure.sockets[0].getsockname()[1]
    yield *ports, hosts, names
    for server in (plain, secure):
        server.close()


async def test_a_connection_goes_to_the_checked_address_with_the_host_name_kept(
    servers: tuple[int, int, list[str], list[str]],
) -> None:
    plain, secure, hosts, names = servers
    settings = Settings()
    stub = Stub("127.0.0.1")
    allowed = replace(settings, outbound_allowed_networks=LOOPBACK)
    async with build_http_client(allowed, resolve=stub) as client:
        answer = await client.get(f"http://{HOST}:{plain}/here")
        assert (answer.status_code, hosts, stub.asked) == (200, [f"{HOST}:{plain}"], 1)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://{HOST}:{secure}/here")  # self-signed: refused …
    assert names == [HOST]  # … after a handshake that named the host, not the address
    async with build_http_client(settings, resolve=stub) as client:
        with pytest.raises(UnsafeTarget, match="not a public address"):
            await client.get(f"http://{HOST}:{plain}/here")  # loopback is not allowed here


async def test_a_name_that_rebinds_after_the_check_is_not_connected(
    servers: tuple[int, int, list[str], list[str]],
) -> None:
    """Public when checked, loopback when connected: the connection's own lookup is the one
    it uses, and it is refused; a probe calls that unsafe."""
    plain, _, hosts, _ = servers
    settings = Settings()
    url = f"http://{HOST}:{plain}/here"
    stub = Stub("93.184.215.14", "127.0.0.1")
    await check_target(url, settings, resolve=stub)  # the check before the call passes …
    async with build_http_client(settings, resolve=stub) as client:
        with pytest.raises(UnsafeTarget, match=r"127\.0\.0\.1"):
            await client.get(url)  # … the connection is refused
        probed = await Prober(
            client, replace(settings, probe_host_delay_seconds=0), resolve=Stub("93.184.215.14")
        ).probe(url)
    assert (probed.ok, probed.error_class) == (False, "unsafe")
    assert hosts == []  # the local server was never reached
