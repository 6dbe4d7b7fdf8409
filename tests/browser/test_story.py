"""In Chromium: the editor lists hints under its problems, and a run that ends while its page is
open shows what happened and its honest summary without a reload."""

from __future__ import annotations

import json
import urllib.request

import pytest

from playground import jsontext
from playground.designs.models import Design
from playground.runs import stream
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log")
    yield proc
    proc.stop()


def test_the_editor_warns_of_overload_under_its_problems_without_blocking(page, daphne_server):
    design = Design.objects.create(title="Too busy", document_json=jsontext.dumps(web_fleet(rps=3000, instances=2)))
    page.goto(f"{daphne_server}/d/{design.slug}/")
    page.wait_for_selector("#editor[data-ready=true]")
    page.wait_for_selector("#hints .hint", timeout=10_000)
    hint = page.locator("#hints .hint").first.inner_text()
    assert "api: about 225% of its capacity" in hint and "expect overload" in hint
    assert page.locator("#problems li.ok").count() == 1  # no problem: it can run
    assert page.locator("#run-button").get_attribute("data-valid") == "true"


def test_a_run_that_ends_while_open_tells_what_happened(browser, daphne_server, worker):
    # Live at 5x: 2 s of wall time, so the page opens before the run ends (at 20x it sometimes
    # ended first, and the story was already there).
    document = web_fleet(rps=3000, instances=2, duration_s=10)
    request = urllib.request.Request(daphne_server + "/api/runs", method="POST",
                                     data=json.dumps({"document": document, "mode": "live", "speed": 5}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        started = json.load(response)
    try:
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(daphne_server + started["url"])
        assert page.locator("#what-happened").is_hidden()
        page.wait_for_selector("#what-happened:not([hidden]) .story .moment", timeout=60_000)
        story = page.inner_text("#what-happened")
        assert "api saturated first" in story and "of requests failed" in story
        page.wait_for_selector("#summary-panel:not([hidden]) dl.summary[data-source=server]", timeout=30_000)
        summary = page.inner_text("#summary")
        assert "of requests failed" in summary.splitlines()[0]  # it leads with the failures
        assert summary.count("successes only;") == 3
        link = page.locator("#what-happened .moment").first
        assert link.get_attribute("href") == f"#t={link.get_attribute('data-t')}"
        link.click()
        assert errors == []
        context.close()
    finally:
        stream.delete_keys(started["id"])
