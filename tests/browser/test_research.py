"""A researcher's walk in headless Chromium: a participant and an observation on the study
page, a finding on it, the reviewer's redaction preview and publication, the public list."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect
from sqlalchemy import delete, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.browser.test_pages import (  # the module's fixtures, imported to be used here
    add_people,
    browser,
    pytestmark,
    serious_violations,
    server,
    sign_in_as,
)
from tracker.db import create_engine, create_sessionmaker, run
from tracker.research import actions, schemas
from tracker.research.models import (
    Finding,
    FindingObservation,
    Observation,
    Participant,
    ResearchEvent,
    Study,
    Subject,
)
from tracker.webhooks.models import WebhookEvent

__all__ = ["browser", "pytestmark", "server"]
LEIPZIG = "147130000000"
STATEMENT = "Der Upload scheitert; Frau Kowalski ruft unter 0341 1234567 an."
PUBLIC = "Der Upload scheitert; Frau [Name] ruft unter [Telefon] an."


def in_thread(database_url: str, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """`work` in one transaction on the run's database, in a thread: Playwright's sync API
    holds this one's event loop."""

    async def run_work() -> Any:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run_work()).result()


async def add_study(session: AsyncSession) -> int:
    data = schemas.StudyCreate.model_validate({
        "title": f"Elterngeld im Test {os.getpid()}", "question": "Wo brechen Eltern ab?",
        "method": "usability_test", "gemeinden": [LEIPZIG], "leistungen": ["10000"],
        "names_to_redact": ["Kowalski"],
    })  # fmt: skip
    study = await actions.create_study(session, data, actor="test")
    assert study.id is not None
    return study.id


def remove_study(study_id: int) -> Callable[[AsyncSession], Awaitable[None]]:
    """Take back what the walk made, so that the tests after it count what they built."""

    async def remove(session: AsyncSession) -> None:
        observations = select(col(Observation.id)).where(col(Observation.study_id) == study_id)
        findings = list(
            (
                await run(
                    session,
                    select(col(FindingObservation.finding_id)).where(
                        col(FindingObservation.observation_id).in_(observations)
                    ),
                )
            ).scalars()
        )
        for event in (await run(session, select(WebhookEvent))).scalars():
            if event.payload.get("finding_id") in findings:
                await session.delete(event)
        events = (col(ResearchEvent.entity) == "finding") & col(ResearchEvent.entity_id).in_(
            findings
        )
        await run(session, delete(ResearchEvent).where(events))
        await run(session, delete(FindingObservation).where(
            col(FindingObservation.finding_id).in_(findings)))  # fmt: skip
        await run(session, delete(Subject).where(or_(
            (col(Subject.owner) == "finding") & col(Subject.owner_id).in_(findings),
            (col(Subject.owner) == "study") & (col(Subject.owner_id) == study_id))))  # fmt: skip
        await run(session, delete(Finding).where(col(Finding.id).in_(findings)))
        await run(session, delete(Observation).where(col(Observation.study_id) == study_id))
        await run(session, delete(Participant).where(col(Participant.study_id) == study_id))
        await run(session, delete(Study).where(col(Study.id) == study_id))

    return remove


def test_a_researcher_records_evidence_and_a_reviewer_publishes_it_redacted(
    browser: Browser, server: str, database_url: str, tmp_path: Path
) -> None:
    """Leipzig's researcher adds a participant and a note on the study page, then a finding
    on it; a reviewer sees the redaction preview on /freigabe and publishes; the public list
    shows the redacted text only. 1280 and 390 px; axe-core finds nothing serious."""
    researcher, reviewer = f"rosa-{os.getpid()}@leipzig.de", f"rudi-{os.getpid()}@leipzig.de"
    add_people(
        database_url,
        (researcher, "Rosa Researcher", "researcher", LEIPZIG),
        (reviewer, "Rudi Reviewer", "reviewer", LEIPZIG),
    )
    study_id = in_thread(database_url, add_study)
    try:
        walk(browser, server, tmp_path, study_id, researcher, reviewer)
    finally:
        in_thread(database_url, remove_study(study_id))


def walk(
    browser: Browser, server: str, tmp_path: Path, study_id: int, researcher: str, reviewer: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()

    def shot(name: str) -> None:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)
            assert serious_violations(page) == [], (name, width)
        page.set_viewport_size({"width": 1280, "height": 900})

    study = f"{server}/studien/{study_id}"
    page.goto(f"{server}/anmelden?next=/studien/{study_id}")
    sign_in_as(page, researcher)
    expect(page).to_have_url(study)
    form = page.locator("#participant-form")
    form.locator("input[name=code]").fill("P01")
    form.locator("input[name=user_group]").fill("Bürger:in")
    form.locator("input[name=given_on]").fill(date(2026, 3, 1).isoformat())
    form.get_by_label("Veröffentlichung").check()
    form.get_by_role("button", name="Speichern").click()
    expect(page.locator("#participants")).to_contain_text("P01")
    observation = page.locator("form[action$='/beobachtungen']")
    observation.locator("select[name=kind]").select_option("note")
    observation.locator("select[name=participant]").select_option("P01")
    observation.locator("input[name=journey_step]").fill("Nachweise hochladen")
    observation.locator("textarea[name=text]").fill("Upload bricht bei 10 MB ab.")
    observation.get_by_role("button", name="Speichern").click()
    expect(page.locator("#observations")).to_contain_text("Upload bricht bei 10 MB ab.")
    finding = page.locator("form[action$='/erkenntnisse']")
    finding.locator("textarea[name=statement]").fill(STATEMENT)
    finding.locator("input[name=severity]").fill("4")
    finding.get_by_label("Upload bricht bei 10 MB ab.", exact=False).check()
    finding.get_by_role("button", name="Speichern").click()
    expect(page).to_have_url(re.compile(re.escape(study) + "#erkenntnis-[0-9]+$"))
    shot("studie")
    page.goto(server + "/freigabe")
    expect(page.locator("section", has_text=STATEMENT)).to_contain_text("Ihr eigener Entwurf.")
    page.get_by_role("button", name="Abmelden").click()

    page.goto(server + "/anmelden?next=/freigabe")
    sign_in_as(page, reviewer)
    expect(page).to_have_url(server + "/freigabe")
    item = page.locator("section", has_text=STATEMENT)
    expect(item.locator(".public-text")).to_have_text(PUBLIC)
    expect(item.locator("table")).to_contain_text("Kowalski")
    shot("freigabe")
    item.get_by_role("button", name="Veröffentlichen").click()
    expect(page.locator("section", has_text=STATEMENT)).to_have_count(0)
    page.goto(server + "/erkenntnisse?q=upload")
    expect(page.locator("#findings")).to_contain_text(PUBLIC)
    expect(page.locator("#findings")).not_to_contain_text("Kowalski")
    shot("erkenntnisse")
    page.goto(server + "/freigabe?lang=en")
    expect(page.locator("h1")).to_have_text("Review: findings and recommendations")
    context.close()
