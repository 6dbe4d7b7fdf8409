"""Headless Chromium through Playwright, on Debian's chromium (Playwright never downloads one).

Playwright's sync API runs an event loop in the test thread; Django would then refuse database
calls from these tests, so this conftest (and only this one) allows them.
"""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # Root in CI; the page is our own.
    "--disable-gpu",
    "--disable-background-networking",  # The network is closed: no update or sync traffic.
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not at {CHROMIUM}: install it with `apt-get install -y chromium`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleLog:
    """Console errors and uncaught page errors seen in a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("requestfailed", self._failed)

    def _failed(self, request) -> None:
        # A request the browser cancelled itself (net::ERR_ABORTED: the page navigated away
        # while, say, its favicon loaded) is not the page's error; anything else is.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} ({request.failure})")


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.console_log = ConsoleLog(page)
    yield page
    context.close()
