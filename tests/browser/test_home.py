"""The home page in a real browser, served by Daphne."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def test_chromium_and_playwright_speak_to_each_other(browser):
    # Debian updates chromium while the pip playwright stays pinned: this fails loudly if they part.
    assert browser.version.split(".")[0].isdigit()
    page = browser.new_page()
    page.set_content("<button onclick=\"this.textContent='clicked'\">click</button>")
    page.click("button")
    assert page.text_content("button") == "clicked"
    page.close()


def test_home_page_loads_in_chromium_without_console_errors(page, daphne_server):
    response = page.goto(daphne_server + "/")
    assert response.status == 200
    assert page.title() == "System Design Playground"
    assert page.locator("h1").inner_text() == "Learn system design by running it"
    page.wait_for_load_state("networkidle")
    # htmx came from django-htmx's static files and ran.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.console_log.errors == []
