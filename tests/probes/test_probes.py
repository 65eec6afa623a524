"""Link probes: polite checks (robots.txt, HEAD then GET), dated results, broken after three
failures on two days and flagged on the Reifegrad page, cleared on recovery; levels untouched.
MockTransport for the rules, a local server (real sockets on 127.0.0.1) for redirects,
timeouts, refused connections and TLS errors."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.browser.narrow import PHONE_WIDTH, laid_out_width
from tests.builders import Client, add_user
from tracker.access import queries as access_queries
from tracker.db import Sessionmaker
from tracker.maturity import actions as maturity_actions
from tracker.maturity.schemas import AssessmentCreate
from tracker.outbound import build_http_client
from tracker.probes import actions
from tracker.probes import queries as probes_queries
from tracker.probes.checks import Prober, classify
from tracker.probes.models import ProbeUrl
from tracker.settings import Settings

KOELN = "053150000000"
ELTERNGELD = "99041006000000"
RATINGS = {
    "leistungsbeschreibung": 4, "antragsprozess": 4, "nutzerkonto": 4, "authentifizierung": 4,
    "bezahlprozess": "n/a", "nachweise": 3,
}  # fmt: skip
SERVICE = (
    "https://dienst.example.de/elterngeld/antrag-auf-elterngeld-plus-und-partnerschaftsbonus-online"
)
HIDDEN = "https://dienst.example.de/privat/antrag"
METADATA = "http://169.254.169.254/latest/meta-data"


async def public(_host: str) -> list[str]:
    return ["93.184.215.14"]  # any name resolves to a public address; nothing is looked up


async def cited_assessment(session: AsyncSession, urls: list[str]) -> int:
    editor = await add_user(session, "editor@koeln.de", [("editor", KOELN)])
    reviewer = await add_user(session, "pruefer@koeln.de", [("reviewer", KOELN)])
    assert editor.id is not None
    assert reviewer.id is not None
    author = await access_queries.principal_for_user(session, editor.id)
    checker = await access_queries.principal_for_user(session, reviewer.id)
    assert author is not None
    assert checker is not None
    data = AssessmentCreate.model_validate({
        "ars": KOELN, "leika_key": ELTERNGELD, "dimension": "online", "ratings": RATINGS,
        "evidence": [{"kind": "url", "ref": url} for url in urls],
    })  # fmt: skip
    assessment = await maturity_actions.record_assessment(session, data, actor=author)
    assert assessment.id is not None
    for step, actor in (("submit", author), ("validate", checker)):
        await maturity_actions.change_status(
            session, assessment.id, step, comment=None, if_match="*", actor=actor
        )
    return assessment.id


class Service:
    """The online service behind the mock transport: down until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nDisallow: /privat/\n")
        if request.method == "HEAD":
            return httpx.Response(405)
        if not self.up:
            return httpx.Response(503)
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"})


async def test_a_url_failing_on_two_days_flags_its_assessment_until_it_recovers(
    client: Client, session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    assessment_id = await cited_assessment(session, [SERVICE, HIDDEN, METADATA])
    await session.commit()
    service = Service()
    settings = replace(settings, probe_host_delay_seconds=0)
    day_one = datetime(2026, 12, 1, 9, tzinfo=UTC)
    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as outbound:
        summaries: list[str] = []

        async def probe_run(at: datetime) -> dict[str, str]:
            report = await actions.run_probes(
                sessionmaker, outbound, settings, area="05", resolve=public, now=at
            )
            summaries.append(await probes_queries.describe_run(session, report.probed))
            listed = await client.get("/api/v1/probes", params={"area": "053"})
            assert listed.status_code == 200, listed.text
            return {item["url"]: item["state"] for item in listed.json()}

        for hour in (9, 12, 15):  # three failures on one day: failing, not yet broken
            states = await probe_run(day_one.replace(hour=hour))
        assert states == {SERVICE: "failing", HIDDEN: "unchecked", METADATA: "unchecked"}
        assert await probe_run(day_one + timedelta(days=1)) == {
            SERVICE: "broken",
            HIDDEN: "unchecked",
            METADATA: "unchecked",
        }
        assert summaries[2:] == [  # the third failure and the fourth, a day later
            "3 URLs: 0 ok, 1 failing (http_5xx 1), 0 broken, 2 not checked "
            "(not a public address 1, robots.txt disallows it 1)",
            "3 URLs: 0 ok, 0 failing, 1 broken, 2 not checked "
            "(not a public address 1, robots.txt disallows it 1)",
        ]
        (broken,) = (await client.get("/api/v1/probes", params={"status": "broken"})).json()
        assert broken["broken_since"] == "2026-12-01T09:00:00Z"  # the run's first failure
        assert broken["failures_in_row"] == 4
        assert broken["assessments"] == 1
        assert {k: broken["last"][k] for k in ("ok", "status_code", "error_class")} == {
            "ok": False, "status_code": 503, "error_class": "http_5xx",
        }  # fmt: skip
        (hidden,) = (await client.get("/api/v1/probes", params={"url": HIDDEN})).json()
        assert hidden["last"]["error_class"] == "robots"
        (metadata,) = (await client.get("/api/v1/probes", params={"url": METADATA})).json()
        assert metadata["last"]["error_class"] == "unsafe"
        assert ("GET", "/privat/antrag") not in service.seen  # robots.txt obeyed
        assert service.seen.count(("GET", "/robots.txt")) == 4  # once per run and host
        # the level stays; the API flags it and shows a lower confidence, the pages the evidence
        kept = await client.get(f"/api/v1/assessments/{assessment_id}")
        flag = {
            "evidence_broken": True,
            "broken_evidence": [{"url": SERVICE, "broken_since": "2026-12-01T09:00:00Z"}],
            "shown_confidence": 0.8333,  # one of three cited URLs broken: 1 − 0.5 × 1/3
        }
        assert {key: kept.json()[key] for key in ("level", *flag)} == {"level": 3, **flag}
        version = kept.json()["version"]
        assert kept.headers["ETag"].startswith(f'"v{version}.b')  # not the unflagged one's
        listed = (await client.get("/api/v1/assessments", params={"ars": KOELN})).json()["items"]
        assert [{key: item[key] for key in flag} for item in listed] == [flag]
        page = await client.get(f"/gemeinden/{KOELN}/reifegrad")
        assert "nicht erreichbar seit" in page.text
        assert "zur Prüfung: Nachweis nicht erreichbar" in page.text
        gemeinde = await client.get(f"/gemeinden/{KOELN}")
        assert 'id="broken-evidence"' in gemeinde.text
        assert await laid_out_width(gemeinde.text) <= PHONE_WIDTH  # the table scrolls, URLs wrap
        assert f'<a href="{SERVICE}" rel="noopener">' in gemeinde.text
        assert "83,3 %" in gemeinde.text

        service.up = True
        assert (await probe_run(day_one + timedelta(days=2)))[SERVICE] == "ok"
        assert summaries[-1].startswith("3 URLs: 1 ok, 0 failing, 0 broken, 2 not checked")
        (recovered,) = (await client.get("/api/v1/probes", params={"url": SERVICE})).json()
        assert recovered["last"]["content_type"] == "text/html; charset=utf-8"
        assert recovered["broken_since"] is None
        assert "zur Prüfung" not in (await client.get(f"/gemeinden/{KOELN}/reifegrad")).text
        assert 'id="broken-evidence"' not in (await client.get(f"/gemeinden/{KOELN}")).text
        cleared = await client.get(
            f"/api/v1/assessments/{assessment_id}", headers={"If-None-Match": kept.headers["ETag"]}
        )
        assert cleared.status_code == 200  # the flagged answer a cache holds is stale
        assert cleared.headers["ETag"] == f'"v{version}"'
        assert {key: cleared.json()[key] for key in flag} == {
            "evidence_broken": False, "broken_evidence": [], "shown_confidence": 1.0,
        }  # fmt: skip
    assert (await client.get("/api/v1/probes", params={"area": "x"})).status_code == 400


async def test_a_host_that_does_not_resolve_is_a_dns_failure(settings: Settings) -> None:
    async def nowhere(host: str) -> list[str]:
        raise OSError(-2, "Name or service not known")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing is called: {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as outbound:
        outcome = await Prober(outbound, settings, resolve=nowhere).probe(SERVICE)
    assert (outcome.ok, outcome.error_class, outcome.counted) == (False, "dns", True)
    assert (
        outcome.error == "dienst.example.de does not resolve ([Errno -2] Name or service not known)"
    )


def test_errors_are_classed() -> None:
    import socket

    dns = httpx.ConnectError("lookup failed")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert classify(dns) == "dns"
    assert classify(httpx.ReadTimeout("slow")) == "timeout"
    assert classify(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")) == "tls"
    assert classify(httpx.ConnectError("refused")) == "connect"


def self_signed(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A tiny HTTP/1.1 server: /moved redirects to /here, /slow never answers in time."""
    try:
        line = (await reader.readline()).decode()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        path = line.split(" ")[1] if " " in line else "/"
        if path == "/slow":
            await asyncio.sleep(3)
        status, extra = {
            "/moved": ("301 Moved Permanently", "Location: /here\r\n"),
            "/here": ("200 OK", "Content-Type: text/plain\r\n"),
        }.get(path, ("404 Not Found", ""))
        writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n".encode())
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def local_servers(tmp_path: Path) -> AsyncIterator[tuple[int, int, int]]:
    """(plain port, TLS port with a self-signed certificate, a port nobody listens on)."""
    plain = await asyncio.start_server(handle, "127.0.0.1", 0)
    secure = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self_signed(tmp_path))
    closed = await asyncio.start_server(handle, "127.0.0.1", 0)
    free = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    yield plain.sockets[0].getsockname()[1], secure.sockets[0].getsockname()[1], free
    for server in (plain, secure):
        server.close()


async def test_real_sockets_redirects_timeouts_refusals_and_tls(
    local_servers: tuple[int, int, int], settings: Settings
) -> None:
    plain, secure, free = local_servers
    settings = replace(
        settings, outbound_allowed_networks=("127.0.0.1/32",), http_timeout_seconds=0.5,
        probe_host_delay_seconds=0,
    )  # fmt: skip
    async with build_http_client(settings) as outbound:
        prober = Prober(outbound, settings)
        moved, slow, refused, untrusted = await asyncio.gather(
            prober.probe(f"http://127.0.0.1:{plain}/moved"),
            prober.probe(f"http://127.0.0.1:{plain}/slow"),
            prober.probe(f"http://127.0.0.1:{free}/"),
            prober.probe(f"https://127.0.0.1:{secure}/here"),
        )
    assert (moved.ok, moved.status_code, moved.final_url) == (
        True, 200, f"http://127.0.0.1:{plain}/here"
    )  # fmt: skip
    assert moved.content_type == "text/plain"
    assert (slow.ok, slow.error_class) == (False, "timeout")
    assert (refused.ok, refused.error_class) == (False, "connect")
    assert (untrusted.ok, untrusted.error_class, untrusted.tls_valid) == (False, "tls", False)
    unsafe = await Prober(outbound, replace(settings, outbound_allowed_networks=())).probe(
        f"http://127.0.0.1:{plain}/here"
    )
    assert unsafe.error_class == "unsafe"


def test_broken_evidence_lowers_the_shown_confidence_by_half_its_share() -> None:
    from tracker.probes.queries import shown_confidence

    assert [
        shown_confidence(cited, broken) for cited, broken in ((0, 0), (2, 0), (2, 1), (1, 1))
    ] == [1.0, 1.0, 0.75, 0.5]


class Interrupted(Exception):
    """Stands in for a worker killed midway."""


async def test_a_run_commits_per_host_in_batches_and_resumes_where_it_stopped(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    """Batches of two URLs per host, each in its own transaction: a run that dies at its fifth
    URL keeps the first host's four, and resumed with its start probes only what is left."""
    first = [f"https://eins.example.de/{n}" for n in range(4)]
    second = [f"https://zwei.example.de/{n}" for n in range(2)]
    await cited_assessment(session, [*first, *second])
    await session.commit()
    settings = replace(
        settings, probe_host_delay_seconds=0, probe_batch_urls=2, probe_concurrency=1
    )  # fmt: skip
    seen: list[str] = []
    dying = True

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if dying and request.url.host == "zwei.example.de":
            raise Interrupted
        seen.append(str(request.url))
        return httpx.Response(200)

    start = datetime.now(UTC)
    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as outbound:
        with pytest.raises(Interrupted):
            await actions.run_probes(sessionmaker, outbound, settings, area="05", resolve=public)
        async with sessionmaker() as fresh:
            stored = await fresh.exec(select(ProbeUrl.url))  # what the batches committed
            assert sorted(stored.all()) == first
        dying, seen[:] = False, []
        report = await actions.run_probes(
            sessionmaker, outbound, settings, area="05", resolve=public, since=start
        )
        assert (sorted(seen), report.skipped, len(report.probed)) == (second, 4, 2)
        again = await actions.run_probes(
            sessionmaker, outbound, settings, area="05", resolve=public, since=start
        )
        assert (again.skipped, again.probed) == (6, [])  # a run resumed twice records nothing twice


async def test_a_probe_job_killed_midway_resumes_from_its_start(
    session: AsyncSession, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    """The scheduled run through the job layer: its first attempt stores its start, and the
    next attempt leaves what the first committed."""
    from tracker import tasks
    from tracker.jobs import actions as jobs_actions

    urls = ["https://93.184.215.14/a", "https://93.184.215.15/b"]  # public: no lookup
    await cited_assessment(session, urls)
    job_id = await jobs_actions.enqueue(session, "probes.run", {"area": "05"})
    await session.commit()
    settings = replace(settings, probe_host_delay_seconds=0, probe_concurrency=1)
    seen: list[str] = []
    dying = [True]

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if dying and request.url.host == "93.184.215.15":
            raise Interrupted
        seen.append(str(request.url))
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as outbound:
        start = jobs_actions.utc_now()
        first = await jobs_actions.run_job(
            sessionmaker, tasks.TASKS, job_id, settings=settings, http_client=outbound, now=start
        )
        assert first is not None
        assert (first.status, first.last_error) == ("queued", "Interrupted: ")
        assert first.args == {"area": "05", "since": start.isoformat()}
        assert seen == urls[:1]  # committed in its own batch
        seen.clear()
        dying.clear()
        again = await jobs_actions.run_job(
            sessionmaker, tasks.TASKS, job_id, settings=settings, http_client=outbound,
            now=start + timedelta(hours=1),
        )  # fmt: skip
    assert again is not None
    assert (again.status, seen) == ("succeeded", urls[1:])
