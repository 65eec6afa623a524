"""App-wide behaviour: health, problem+json for every client mistake, settings."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.builders import Client, add_token, add_user, bearer, client_for
from tracker.app import create_app
from tracker.db import Sessionmaker
from tracker.i18n import day as format_date
from tracker.i18n import number as format_number
from tracker.reports import routes as reports_routes
from tracker.settings import DEFAULT_DATABASE_URL, Settings

ESSEN = "051130000000"


async def test_health_reports_database(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_concurrent_health_checks_all_answer_without_a_cookie(client: Client) -> None:
    responses = await asyncio.gather(*(client.get("/health") for _ in range(8)))
    assert [response.status_code for response in responses] == [200] * 8
    assert all("set-cookie" not in response.headers for response in responses)


async def test_health_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{missing}"))
    async with app.lifespan(), client_for(app) as client:
        first, response = [await client.get("/health") for _ in range(2)]
    assert first.status_code == response.status_code == 503  # a failed probe is not kept
    assert response.json() == {
        "status": 503,
        "title": "Service Unavailable",
        "detail": "The database does not answer.",
    }


async def test_unknown_route_and_method_are_problems(client: Client) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = await client.delete("/api/v1/gemeinden")
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405


async def test_nul_in_search_is_a_400_not_a_500(client: Client) -> None:
    response = await client.get("/api/v1/gemeinden", params={"q": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "q"


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "TRACKER_DATA_DIR": "/data", "TRACKER_DEBUG": "yes"}
    )
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.data_dir == Path("/data")
    assert settings.debug is True
    assert Settings.from_env({}).database_url == DEFAULT_DATABASE_URL
    assert (
        Settings.from_env({"TRACKER_DATABASE_URL": "sqlite:///x.db"}).database_url
        == "sqlite+aiosqlite:///x.db"
    )


def test_german_and_english_number_and_date_formats() -> None:
    assert format_number(1505005) == "1.505.005"
    assert format_number(1505005, "en") == "1,505,005"
    assert format_number(None) == ""
    from datetime import date

    assert format_date(date(2025, 11, 30)) == "30.11.2025"
    assert format_date(date(2025, 11, 30), "en") == "2025-11-30"
    assert format_date(None) == ""


async def test_single_resources_carry_an_etag_and_answer_304(client: Client) -> None:
    for url in (
        "/api/v1/gemeinden/09162000",
        "/api/v1/leistungen/10000",
        "/api/v1/leika/99001001000000",
    ):
        first = await client.get(url)
        tag = first.headers["etag"]
        assert tag.startswith('"')
        again = await client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.content == b""
        other = await client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200


async def test_large_api_answers_are_compressed_for_clients_that_ask(client: Client) -> None:
    url = "/api/v1/leistungen?limit=100"
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) > 10_000
    gzipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in gzipped.headers["vary"]
    assert int(gzipped.headers["content-length"]) < int(plain.headers["content-length"]) / 4
    assert gzipped.json() == plain.json()  # httpx decodes
    brotli = await client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert brotli.headers["content-encoding"] == "br"
    assert brotli.json() == plain.json()

    small = await client.get("/api/v1/laender?limit=1", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1024
    assert "content-encoding" not in small.headers
    # pages carry a CSRF token beside text from the request: never compressed (BREACH)
    page = await client.get("/suche?q=Elterngeld", headers={"Accept-Encoding": "gzip, br"})
    assert page.status_code == 200
    assert len(page.content) > 1024
    assert "content-encoding" not in page.headers


def test_operations_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "TRACKER_READ_DATABASE_URL": "postgresql://u@replica/db",
            "TRACKER_DB_POOL_SIZE": "3",
            "TRACKER_DB_MAX_OVERFLOW": "2",
            "TRACKER_READ_STATEMENT_TIMEOUT_MS": "0",
            "TRACKER_TOKEN_TOUCH_SECONDS": "60",
        }
    )
    assert settings.read_database_url == "postgresql+asyncpg://u@replica/db"
    assert (settings.db_pool_size, settings.db_max_overflow) == (3, 2)
    assert settings.read_statement_timeout_ms == 0
    assert settings.token_touch_seconds == 60
    default = Settings.from_env({})
    assert default.read_database_url is None
    assert (default.db_pool_size, default.db_max_overflow) == (5, 10)
    assert (default.read_statement_timeout_ms, default.token_touch_seconds) == (30_000, 300)


class Counting:
    """A sessionmaker that counts the sessions it opens."""

    def __init__(self, inner: Sessionmaker) -> None:
        self.inner = inner
        self.opened = 0

    def __call__(self, **options: Any) -> AsyncSession:
        self.opened += 1
        return self.inner(**options)

    def begin(self) -> Any:
        self.opened += 1
        return self.inner.begin()


async def test_reads_go_to_the_read_sessionmaker_writes_and_tokens_to_the_primary(
    settings: Settings, sessionmaker: Sessionmaker, session: AsyncSession
) -> None:
    editor = await add_user(session, "editor@essen.de", [("editor", ESSEN)])
    secret = await add_token(session, editor)
    await session.commit()
    primary, replica = Counting(sessionmaker), Counting(sessionmaker)
    app = create_app(
        settings,
        sessionmaker=cast(Sessionmaker, primary),
        read_sessionmaker=cast(Sessionmaker, replica),
    )
    async with client_for(app) as client:
        read = await client.get(f"/api/v1/gemeinden/{ESSEN}/reifegrad", headers=bearer(secret))
        assert read.status_code == 200
        assert (primary.opened, replica.opened) == (2, 1)  # token read and first touch; the roll-up
        body = {
            "ars": ESSEN,
            "leika_key": "99041006000000",
            "dimension": "online",
            "ratings": {"nutzerkonto": 2},
        }
        written = await client.post("/api/v1/assessments", json=body, headers=bearer(secret))
        assert written.status_code == 201, written.text
        assert (primary.opened, replica.opened) == (4, 1)


async def test_a_read_replica_gets_an_engine_of_its_own(settings: Settings) -> None:
    app = create_app(
        replace(
            settings, read_database_url=settings.database_url, db_pool_size=3, db_max_overflow=1
        )
    )
    async with app.lifespan(), client_for(app) as client:
        primary, replica = app.state.sessionmaker, app.state.read_sessionmaker
        assert primary.kw["bind"] is not replica.kw["bind"]
        response = await client.get(f"/api/v1/gemeinden/{ESSEN}")
        assert response.status_code == 200
        for engine in (primary.kw["bind"], replica.kw["bind"]):
            if engine.dialect.name == "postgresql":
                assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)
    single = create_app(settings)
    async with single.lifespan():
        assert single.state.read_sessionmaker is single.state.sessionmaker


async def test_a_read_past_the_statement_timeout_answers_503(
    settings: Settings, sessionmaker: Sessionmaker, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no statement timeout")
    # a summary another test left in this process's cache (under a stamp that recurs once its
    # transaction rolled back) would answer without a query
    reports_routes.SUMMARIES.entries.clear()
    app = create_app(replace(settings, read_statement_timeout_ms=1), sessionmaker=sessionmaker)
    async with client_for(app) as client:
        slow = await client.get("/api/v1/reifegrad/summary", params={"group_by": "land"})
        assert slow.status_code == 503
        assert slow.headers["content-type"].startswith("application/problem+json")
        assert slow.json() == {
            "status": 503,
            "title": "Service Unavailable",
            "detail": "The query ran too long and was cancelled; try again later or ask for less.",
        }
    patient = create_app(settings, sessionmaker=sessionmaker)
    async with client_for(patient) as client:
        summary = await client.get("/api/v1/reifegrad/summary", params={"group_by": "land"})
        assert summary.status_code == 200
