"""How wide a page's HTML lays out in headless Chromium at a phone's width: for tests that
build the page over HTTP in-process (with the data they made) and check that it needs no
sideways scrolling. Playwright's sync API runs in a thread of its own, outside the test's
event loop."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.test_pages import CHROMIUM, CHROMIUM_FLAGS

PHONE_WIDTH = 390


def _laid_out_width(html: str, width: int) -> int:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            # offline: the page's inline styles are all it needs, nothing is fetched
            page.route("**/*", lambda route: route.abort())
            page.set_content(html)
            return int(page.evaluate("document.documentElement.scrollWidth"))
        finally:
            browser.close()


async def laid_out_width(html: str, width: int = PHONE_WIDTH) -> int:
    """The page's scroll width in CSS px at `width`; skips where Chromium is missing."""
    if shutil.which(CHROMIUM) is None and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed")
    return await asyncio.to_thread(_laid_out_width, html, width)
