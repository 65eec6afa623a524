"""German pages in headless Chromium, served by uvicorn over the run's database."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import and_, delete, func, select
from sqlmodel import col

from tests.builders import remove_assessments
from tracker.access.models import AuditEntry
from tracker.db import create_engine, create_sessionmaker, run
from tracker.demands import imports
from tracker.demands import queries as demand_queries
from tracker.demands.models import (
    ActionMilestone,
    ActionUptake,
    Demand,
    DemandAction,
    DemandCatalogue,
    DemandEvent,
    DemandLink,
)
from tracker.maturity.models import Assessment

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-sync", "--disable-background-networking", "--disable-component-update",
    "--disable-dev-shm-usage",
]  # fmt: skip

SERIOUS = ("serious", "critical")

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (CI installs it and never skips)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str, data_dir: Path) -> Iterator[str]:
    port = free_port()
    # no in-process worker: its periodic jobs would land in the run's shared database
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_DATA_DIR": str(data_dir),
           "TRACKER_EMBEDDED_WORKER": "0"}  # fmt: skip
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tracker.app:create_app",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


def test_start_page_shows_counts_and_source(page: Page, server: str, tmp_path: Path) -> None:
    page.goto(server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("[data-count=leistungen]")).to_have_text("557")
    expect(page.locator("[data-count=lebenslagen]")).to_have_text("55")
    expect(page.locator("[data-count=gemeinden]")).to_have_text("10.953")
    expect(page.locator("[data-count=kreise]")).to_have_text("400")
    expect(page.locator("[data-count=bevoelkerung]")).to_have_text("83.577.140")
    expect(page.locator("#gebietsstand")).to_have_text("30.11.2025")
    expect(page.locator("footer")).to_contain_text("© Statistisches Bundesamt (Destatis), 2025")
    page.screenshot(path=tmp_path / "start.png", full_page=True)


def test_search_leads_to_gemeinde_and_leistung_pages(page: Page, server: str) -> None:
    page.goto(server + "/")
    page.fill("#start-search", "Muenchen")
    page.locator("#start-search").press("Enter")
    expect(page).to_have_url(f"{server}/suche?q=Muenchen")
    first = page.locator("#gemeinden-results tbody tr").first
    expect(first).to_contain_text("München")
    first.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("München")
    expect(page.locator("#einwohner")).to_have_text("1.505.005")
    expect(page.locator("#gemeinde-facts")).to_contain_text("Oberbayern")

    page.goto(server + "/suche?q=Elterngeld")
    page.locator("#leistungen-results").get_by_role("link", name="Elterngeld").click()
    expect(page.locator("h1")).to_have_text("Elterngeld")
    expect(page.locator("#leika tbody tr")).to_have_count(4)


def test_english_switch_is_remembered(page: Page, server: str) -> None:
    page.goto(server + "/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-count=gemeinden]")).to_have_text("10,953")
    page.goto(server + "/gemeinden/05315000")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#gemeinde-facts")).to_contain_text("Inhabitants")


def test_login_and_logout_in_the_browser(page: Page, server: str, database_url: str) -> None:
    email = f"browser-{os.getpid()}@essen.de"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker.cli",
            "user",
            "add",
            email,
            "--name",
            "Eva",
            "--password-stdin",
        ],
        env={**os.environ, "TRACKER_DATABASE_URL": database_url},
        input="a long enough password\n",
        text=True,
        check=True,
        capture_output=True,
    )
    page.goto(server + "/anmelden?lang=de")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "not the password")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.locator("#login-failed")).to_have_text("E-Mail oder Passwort stimmen nicht.")
    page.fill("input[name=password]", "a long enough password")
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(server + "/")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("link", name="Anmelden")).to_be_visible()


def test_record_an_assessment_criterion_by_criterion(
    page: Page, server: str, database_url: str
) -> None:
    email = f"erfassen-{os.getpid()}@dresden.de"
    dresden = "146120000000"
    subprocess.run(
        [sys.executable, "-m", "tracker.cli", "user", "add", email, "--name", "Erik",
         "--role", "editor", "--scope", dresden, "--password-stdin"],
        env={**os.environ, "TRACKER_DATABASE_URL": database_url},
        input="a long enough password\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    page.goto(server + f"/gemeinden/{dresden}/reifegrad/erfassen?lang=de")
    # signing in comes first, and leads back to the form
    expect(page).to_have_url(server + f"/anmelden?next=%2Fgemeinden%2F{dresden}%2Freifegrad%2F"
                             "erfassen%3Flang%3Dde")  # fmt: skip
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "a long enough password")
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(server + f"/gemeinden/{dresden}/reifegrad/erfassen?lang=de")
    page.goto(server + f"/gemeinden/{dresden}/reifegrad")
    page.locator("#record-link").click()
    expect(page.locator("h1")).to_contain_text("Bewertung erfassen")
    page.fill("input[name=leistung]", "10000 Elterngeld")
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(page.locator("#error-summary")).to_contain_text("Bewerten Sie mindestens ein Kriterium.")
    expect(page.locator("input[name=leistung]")).to_have_value("10000 Elterngeld")
    for key, value in (("leistungsbeschreibung", "4"), ("antragsprozess", "3"),
                       ("bezahlprozess", "n/a")):  # fmt: skip
        page.select_option(f"#c_{key}", value)
    page.fill("textarea[name=evidence]", "https://www.dresden.de/elterngeld")
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(page.locator("#recorded")).to_contain_text("Bewertung gespeichert")
    number = page.url.rsplit("=", 1)[1]
    found = httpx.get(f"{server}/api/v1/assessments/{number}", timeout=5)
    assert found.status_code == 404  # submitted, not validated: not public yet


def test_the_form_previews_the_level_live_and_works_without_script(
    browser: Browser, server: str, database_url: str
) -> None:
    """The LeiKa picker fills the list as one types; as criteria change, the form says the
    level and whether it is provisional, as the server's „Vorschau“ does for the same choice;
    without JavaScript the form is as before."""
    email = f"live-{os.getpid()}@bonn.de"
    bonn = "053140000000"
    add_people(database_url, (email, "Lena Live", "editor", bonn))
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(server + f"/gemeinden/{bonn}/reifegrad/erfassen?leistung=10000")
    sign_in_as(page, email)
    live = page.locator("#live-preview")
    expect(live).to_contain_text("Noch kein Kriterium bewertet")
    # the LeiKa picker: typed names bring the counted LeiKa services, under their OZG-Leistung
    page.fill("#leistung", "")
    page.locator("#leistung").press_sequentially("Melderegister")
    picked = page.locator("#leistungen option.leika[value^='99115004000000']")
    expect(picked).to_have_count(1)
    parent = "o => { let p = o.previousElementSibling; while (p.className) p = p.previousElementSibling; return p.value; }"  # noqa: E501
    assert picked.evaluate(parent).startswith("10559 ")
    page.fill("#leistung", "99115004000000 Melderegisterauskunft")
    page.select_option("#c_leistungsbeschreibung", "4")
    expect(live).to_contain_text("Reifegrad 4 – Online-Transaktion · vorläufig")
    expect(live).to_contain_text("nicht bewertet: Antragsprozesse")
    for key in ("antragsprozess", "nutzerkonto", "authentifizierung", "nachweise"):
        page.select_option(f"#c_{key}", "4")
    page.select_option("#c_antragsprozess", "2")
    expect(live).to_contain_text("Reifegrad 2 – Formular-Assistent · nicht vorläufig")
    page.select_option("#c_bezahlprozess", "n/a")  # falls erforderlich: moves nothing
    expect(live).to_have_attribute("data-result", "2")
    page.get_by_role("button", name="Vorschau").click()  # the server says the same
    expect(page.locator("#preview")).to_contain_text(
        "Reifegrad 2 – Formular-Assistent · nicht vorläufig"
    )
    expect(live).to_have_attribute("data-result", "2")  # the kept choice, previewed at once
    assert serious_violations(page) == []
    context.close()
    bare = browser.new_context(locale="de-DE", java_script_enabled=False)
    page = bare.new_page()
    page.goto(server + f"/gemeinden/{bonn}/reifegrad/erfassen")
    sign_in_as(page, email)
    expect(page.locator("h1")).to_contain_text("Bewertung erfassen")
    expect(page.locator("#live-preview")).to_be_hidden()
    expect(page.get_by_role("button", name="Vorschau")).to_be_visible()
    bare.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_comparison_report_and_dashboard_by_keyboard_with_no_serious_violations(
    browser: Browser, server: str, tmp_path: Path, width: int
) -> None:
    """A Städtetag staff member chooses the kreisfreien Städte of NRW by keyboard alone; the
    URL is then the report's permalink; the table sorts; axe-core finds nothing serious."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.goto(server + "/vergleich")
    page.locator("#f-land").focus()
    page.keyboard.type("Nordrhein")
    page.keyboard.press("Tab")
    page.keyboard.type("kreisfrei")
    while page.evaluate("document.activeElement.type") != "submit":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/vergleich?set=land%3A05%3Bkreisfrei")
    expect(page.locator("h1")).to_have_text(
        "Vergleich: Land Nordrhein-Westfalen; kreisfreie Städte"
    )
    expect(page.locator("#comparison-table tbody tr")).to_have_count(22)
    expect(page.locator("#rules")).to_contain_text("online")
    expect(page.locator("#sources")).to_contain_text("Destatis")
    expect(page.locator("#rules")).to_contain_text("Stufe")  # the rules in German
    expect(page.locator("#f-land")).to_have_value("05")  # the form shows the report's set
    expect(page.locator("#f-gruppe")).to_have_value("kreisfrei")
    expect(page.locator("figure.chart svg[role=img]")).to_have_count(
        2
    )  # no change chart: nothing changed since
    page.get_by_role("link", name="Einwohner", exact=True).click()
    expect(page.locator("#comparison-table tbody tr").first).to_contain_text("Köln")
    page.screenshot(path=tmp_path / f"vergleich-{width}.png", full_page=True)
    assert serious_violations(page) == []
    # a wrong date is said on the form, in German, and the choice is kept
    page.locator("#report-choose > summary").click()  # the form folds away under a report
    page.locator("#f-at").fill("2999-01-01")
    page.locator("#report-form button[type=submit]").click()
    expect(page.locator("#report-error")).to_contain_text(
        "Stand: „2999-01-01“ liegt in der Zukunft"
    )
    expect(page.locator("#f-at")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-land")).to_have_value("05")
    # a city's dashboard, reached from its row
    page.goto(server + "/gemeinden/053150000000/dashboard")
    expect(page.locator("h1")).to_have_text("Dashboard: Köln")
    expect(page.locator("#peer-group")).to_contain_text("Großstadt")
    expect(page.locator("figure.chart svg[role=img]")).to_have_count(1)
    expect(page.locator("#dashboard-themenfelder tbody tr")).to_have_count(14)
    # the chart keeps a readable size on a phone (it scrolls sideways instead)
    assert page.locator("figure.chart svg").first.bounding_box()["width"] >= min(width, 500) - 60  # type: ignore[index]
    page.screenshot(path=tmp_path / f"dashboard-{width}.png", full_page=True)
    assert serious_violations(page) == []
    context.close()


def serious_violations(page: Page, *, skip: str | None = None) -> list[tuple[str, str]]:
    """axe-core's serious and critical findings on the page (but the part `skip` selects)."""
    context = {"exclude": [[skip]]} if skip else None
    found = Axe().run(page, context=context).response["violations"]
    return [(v["id"], v["nodes"][0]["target"]) for v in found if v["impact"] in SERIOUS]


SAMPLED_ROWS = 15  # rows of each kind (class) of a long table that axe-core checks


def serious_violations_sampled(page: Page, table: str) -> list[tuple[str, str]]:
    """axe-core's serious findings on a page with a long table of rows made alike (one
    template loop), checking up to SAMPLED_ROWS rows of each kind (class) of it and all else.
    axe's color-contrast measures every text element's background (elementsFromPoint, about
    2.5 ms each): on a Reifegrad page of 465 rows it took 7.5 of axe's 8.5 s."""
    kept = page.evaluate(
        """([table, most]) => {
          const seen = {}, picked = [];
          document.querySelectorAll(table + " tbody > tr").forEach((row, index) => {
            seen[row.className] = (seen[row.className] || 0) + 1;
            if (seen[row.className] <= most) picked.push(index + 1);
          });
          return picked;
        }""",
        [table, SAMPLED_ROWS],
    )
    # the rows from the first gap on are left out, but the sampled ones among them
    start = next((index for index, n in enumerate(kept, start=1) if n != index), len(kept) + 1)
    beyond = "".join(f":not(:nth-child({n}))" for n in kept if n >= start)
    rest = f"{table} tbody > tr:nth-child(n+{start}){beyond}"
    found = Axe().run(page, context={"exclude": [[rest]]}).response["violations"]
    return [(v["id"], v["nodes"][0]["target"]) for v in found if v["impact"] in SERIOUS]


def add_people(database_url: str, *people: tuple[str, str, str, str]) -> None:
    """Users (email, name, role, scope) added through the CLI, side by side."""
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracker.cli",
                "user",
                "add",
                email,
                "--name",
                name,
                "--role",
                role,
                "--scope",
                scope,
                "--password-stdin",
            ],
            env={**os.environ, "TRACKER_DATABASE_URL": database_url},
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for email, name, role, scope in people
    ]
    for process in started:
        process.communicate("a long enough password\n", timeout=60)
        assert process.returncode == 0


def undo_assessments(database_url: str, ars: str, comment: str) -> None:
    """Take back what a walk validated in the run's shared database (the pairs with it), so
    that the tests after it count what they built. In a thread: Playwright's sync API holds
    this one's event loop."""

    async def undo() -> None:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                await remove_assessments(
                    session, and_(col(Assessment.ars) == ars, col(Assessment.comment) == comment)
                )
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, undo()).result()


def sign_in_as(page: Page, email: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "a long enough password")
    page.get_by_role("button", name="Anmelden").click()


def test_an_officer_records_and_submits_and_a_reviewer_validates(
    browser: Browser, server: str, database_url: str, tmp_path: Path
) -> None:
    """Köln's officer signs in from the work list, records 10000 Elterngeld at level 4 (a
    preview first), submits the draft; NRW's reviewer validates it; the Reifegrad page shows
    it. Screenshots at 1280 and 390 px; axe-core finds nothing serious on the way."""
    koeln = "053150000000"
    officer, reviewer = f"eva-{os.getpid()}@koeln.de", f"rita-{os.getpid()}@nrw.de"
    add_people(
        database_url,
        (officer, "Eva Officer", "editor", koeln),
        (reviewer, "Rita Reviewer", "reviewer", "05"),
    )
    try:
        walk(browser, server, tmp_path, koeln, officer, reviewer)
    finally:
        undo_assessments(database_url, koeln, COMMENT)


COMMENT = "Mit der Fachstelle abgestimmt"


def walk(
    browser: Browser, server: str, tmp_path: Path, koeln: str, officer: str, reviewer: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()

    def shot(name: str, *, whole: bool = True, table: str | None = None) -> None:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=whole)
        page.set_viewport_size({"width": 1280, "height": 900})
        found = (
            serious_violations(page) if table is None else serious_violations_sampled(page, table)
        )
        assert found == [], name

    page.goto(server + "/gemeinden/059999999999/reifegrad")
    expect(page.locator("#problem-detail")).to_have_text("Keine Gemeinde hat den ARS 059999999999.")
    assert serious_violations(page) == []
    page.goto(server + "/arbeit/entwuerfe")
    expect(page.locator("#login-next")).to_be_visible()
    assert serious_violations(page) == []
    sign_in_as(page, officer)
    expect(page).to_have_url(server + "/arbeit/entwuerfe")  # back where sign-in was asked
    page.goto(server + f"/gemeinden/{koeln}/reifegrad/erfassen?leistung=10000")
    expect(page.locator("#leistung")).to_have_value("10000 Elterngeld")
    for key in ("leistungsbeschreibung", "antragsprozess", "nutzerkonto", "authentifizierung",
                "nachweise"):  # fmt: skip
        page.select_option(f"#c_{key}", "4")
    page.select_option("#c_bezahlprozess", "n/a")
    page.fill("#evidence", "https://www.stadt-koeln.de/elterngeld")
    page.fill("#comment", COMMENT)
    page.get_by_role("button", name="Vorschau").click()
    expect(page.locator("#preview")).to_contain_text("Reifegrad 4 – Online-Transaktion")
    shot("erfassen")
    page.get_by_role("button", name="Als Entwurf speichern").click()
    expect(page.locator("#recorded")).to_contain_text("Bewertung gespeichert")
    page.goto(server + "/arbeit/entwuerfe")
    page.locator("#drafts a").first.click()
    expect(page.locator("#no-previous")).to_be_visible()
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(page.locator("#done")).to_contain_text("eingereicht")
    shot("entwuerfe")
    page.get_by_role("button", name="Abmelden").click()

    page.goto(server + "/arbeit/pruefung")
    sign_in_as(page, reviewer)
    expect(page).to_have_url(server + "/arbeit/pruefung")
    row = page.locator("#to-review tr", has_text="Eva Officer").first
    expect(row).to_contain_text("Elterngeld")
    row.get_by_role("link").first.click()
    expect(page.locator("#review-form")).to_be_visible()
    shot("pruefen")
    page.get_by_role("button", name="Freigeben").click()
    expect(page.locator("#done")).to_contain_text("freigegeben")
    page.goto(server + f"/gemeinden/{koeln}/reifegrad")
    found = page.locator("#bewertet tr", has_text="Elterngeld").first
    expect(found).to_contain_text("4 – Online-Transaktion")
    expect(found).to_contain_text("Erfassung der Gemeinden in tracker")
    # the list of some 460 Leistungen: color-contrast on a sample of its rows of each kind
    shot("reifegrad", whole=False, table="#bewertet")
    page.goto(server + "/konto")
    expect(page.locator("#account-name")).to_contain_text("Rita Reviewer")
    assert serious_violations(page) == []
    context.close()


def seed_demands(database_url: str) -> bool:
    """The shipped Dresdner Forderungen with the seeded positions in the run's database;
    False when they were there already (then they stay)."""

    async def seed() -> bool:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                catalogue = imports.CATALOGUES / "dresdner-forderungen-2021.json"
                if await demand_queries.find_catalogue(session, DF_CATALOGUE) is not None:
                    return False
                await imports.import_catalogue(session, catalogue)
                (positions,) = imports.position_files()
                await imports.import_positions(session, positions)
                return True
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return bool(pool.submit(asyncio.run, seed()).result())


def undo_demands(database_url: str, audit_after: int) -> None:
    """Take the catalogue, its Maßnahmen, milestones, history and audit rows back out."""

    async def undo() -> None:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                catalogue = await demand_queries.get_catalogue(session, DF_CATALOGUE)
                demands = select(col(Demand.id)).where(col(Demand.catalogue_id) == catalogue.id)
                found = select(col(DemandAction.id)).where(col(DemandAction.demand_id).in_(demands))
                for table in (DemandEvent, ActionMilestone, DemandLink, ActionUptake):
                    await session.exec(delete(table).where(col(table.action_id).in_(found)))
                await session.exec(delete(DemandAction).where(col(DemandAction.id).in_(found)))
                await session.exec(delete(Demand).where(col(Demand.catalogue_id) == catalogue.id))
                await session.exec(
                    delete(DemandCatalogue).where(col(DemandCatalogue.id) == catalogue.id)
                )
                await session.exec(delete(AuditEntry).where(col(AuditEntry.id) > audit_after))
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, undo()).result()


def newest_audit(database_url: str) -> int:
    async def read() -> int:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                newest = (await run(session, select(func.max(col(AuditEntry.id))))).scalar()
                return int(newest or 0)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return int(pool.submit(asyncio.run, read()).result())


DF_CATALOGUE = "dresdner-forderungen-2021"
# every progress bar and its figure lie within the card that holds it
BARS_INSIDE = """selector => [...document.querySelectorAll(selector)].every(card => {
    const c = card.getBoundingClientRect();
    return [...card.querySelectorAll('progress, [data-progress]')].every(bar => {
        const b = bar.getBoundingClientRect();
        return b.left >= c.left && b.right <= c.right;
    });
})"""


def test_the_demands_board_in_columns_at_1280_and_stacked_at_390(
    browser: Browser, server: str, database_url: str, tmp_path: Path
) -> None:
    """/forderungen as a board: a column per status side by side at 1280 px, stacked at 390
    px without sideways scrolling, every progress bar inside its card; the filter by level
    leaves the one federal Maßnahme; axe-core finds nothing serious."""
    audit_after = newest_audit(database_url)
    seeded = seed_demands(database_url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(server + "/forderungen?lang=de")
        board = page.locator(f"#board-{DF_CATALOGUE}")
        columns = board.locator("section.column")
        expect(columns).to_have_count(6)
        tops = {round(box["y"]) for box in (c.bounding_box() for c in columns.all()) if box}
        assert len(tops) == 1, tops  # side by side
        page.screenshot(path=tmp_path / "board-1280.png", full_page=True)
        assert serious_violations(page) == []
        page.set_viewport_size({"width": 390, "height": 900})
        lefts = {round(box["x"]) for box in (c.bounding_box() for c in columns.all()) if box}
        assert len(lefts) == 1, lefts  # stacked
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate(BARS_INSIDE, ".action-card")
        page.screenshot(path=tmp_path / "board-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.select_option("#f-ebene", "bund")
        page.get_by_role("button", name="Filtern").click()
        expect(page).to_have_url(re.compile(r"ebene=bund"))
        expect(board.locator("article.action-card")).to_have_count(1)
        expect(board.locator("article.action-card")).to_contain_text("(Neu)Start KfZ")
        page.goto(server + "/forderungen/DF-3")
        page.set_viewport_size({"width": 390, "height": 900})
        assert page.evaluate(BARS_INSIDE, ".card")  # the demand's own progress card
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert serious_violations(page) == []
    finally:
        context.close()
        if seeded:
            undo_demands(database_url, audit_after)


def test_the_officers_pages_fit_390_px_and_a_read_only_form_looks_disabled(
    browser: Browser, server: str, database_url: str
) -> None:
    """No page scrolls sideways at 390 px: fields are fluid, wide tables scroll in focusable
    regions of their own. Köln's officer sees Essen's form read-only, its buttons disabled."""
    email = f"schmal-{os.getpid()}@koeln.de"
    add_people(database_url, (email, "Schmal", "editor", "053150000000"))
    context = browser.new_context(locale="de-DE", viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        page.goto(server + "/gemeinden/053150000000/reifegrad/erfassen?lang=de")
        sign_in_as(page, email)
        expect(page.locator("#leistung")).to_be_visible()
        for path in (
            "/gemeinden/053150000000/reifegrad/erfassen",
            "/gemeinden/053150000000/reifegrad",
            "/leistungen/10559",
        ):
            page.goto(server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
            for region in page.locator("div.scroll").all():
                assert region.get_attribute("tabindex") == "0", path
        page.goto(server + "/gemeinden/051130000000/reifegrad/erfassen")
        expect(page.locator("#readonly-note")).to_be_visible()
        button = page.get_by_role("button", name="Als Entwurf speichern")
        expect(button).to_be_disabled()
        assert button.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
    finally:
        context.close()
