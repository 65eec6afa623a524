"""App-wide behaviour: health, problem+json for every client mistake, settings."""

from __future__ import annotations

from pathlib import Path

from tests.builders import Client, client_for
from tracker.app import create_app, format_date, format_number
from tracker.settings import DEFAULT_DATABASE_URL, Settings


async def test_health_reports_database(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{missing}"))
    async with app.lifespan(), client_for(app) as client:
        response = await client.get("/health")
    assert response.status_code == 503
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
