"""A run in the browser: charts fill while it runs, the share link shows the same run, Compare
spells out the differences."""

from __future__ import annotations

import json
import urllib.request

import pytest

from playground.runs import stream
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log")
    yield proc
    proc.stop()


def api_start(base: str, body: dict) -> dict:
    request = urllib.request.Request(base + "/api/runs", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        started = json.load(response)
    return started


def summary_text(page) -> str:
    # The server's summary (a finished page's, or the one htmx brings when the run ends).
    page.wait_for_selector("#summary-panel:not([hidden]) dl.summary[data-source=server]", timeout=60_000)
    return page.inner_text("#summary")


def test_chart_points_appear_while_a_live_run_goes_and_the_share_link_replays_it(browser, daphne_server, worker):
    started = api_start(daphne_server, {"document": web_fleet(duration_s=30), "mode": "live", "speed": 5})
    try:
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(daphne_server + started["url"])
        page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 3", timeout=30_000)
        seen_early = int(page.evaluate("document.body.dataset.frames"))
        assert seen_early < 30  # points arrive while the run is still going
        assert page.locator(".chart canvas").count() >= 6
        first = summary_text(page)
        assert page.evaluate("document.body.dataset.frames") == "30"
        assert page.inner_text("#run-status") == "done"
        assert "p99" in first
        assert errors == []
        context.close()

        fresh = browser.new_context()
        share = fresh.new_page()
        share.goto(daphne_server + started["url"])
        assert summary_text(share) == first
        share.wait_for_function("() => document.body.dataset.frames === '30'", timeout=30_000)
        fresh.close()
    finally:
        stream.delete_keys(started["id"])


def test_compare_shows_the_differences_in_words(browser, daphne_server, worker):
    small = api_start(daphne_server, {"document": web_fleet(duration_s=10, instances=2, rps=1500)})
    large = api_start(daphne_server, {"document": web_fleet(duration_s=10, instances=6, rps=1500)})
    try:
        page = browser.new_page()
        for run in (small, large):
            page.goto(daphne_server + run["url"])
            summary_text(page)
        page.goto(f"{daphne_server}/compare/?a={daphne_server}{small['url']}&b={large['id']}")
        verdict = page.inner_text("#verdict")
        assert verdict.startswith("B against A:")
        assert "p99 -" in verdict
        page.wait_for_function("() => document.body.dataset.compared === 'true'", timeout=20_000)
        assert page.locator("#compare-charts canvas").count() == 3
        page.close()
    finally:
        stream.delete_keys(small["id"])
        stream.delete_keys(large["id"])


def run_template_live(browser, base: str, slug: str, speed: str):
    """Load the library, open template ``slug`` and run its base design live at ``speed``: the
    run's page, and the page errors it collects."""
    from django.core.management import call_command

    call_command("loadtemplates", verbosity=0)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + f"/templates/{slug}/")
    form = page.locator("#base form.run-form")
    form.locator("select[name=mode]").select_option("live")
    form.locator("select[name=speed]").select_option(speed)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/r/*/")
    return page, errors


def test_run_a_template_live_from_its_page_then_share_it(browser, daphne_server, worker):
    page, errors = run_template_live(browser, daphne_server, "memory-sessions", "20")
    page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 2", timeout=30_000)
    first = summary_text(page)
    assert page.locator("#checks .check").count() >= 1
    page.wait_for_function("() => document.querySelectorAll('#checks .check[data-state=\"waiting\"]').length === 0",
                           timeout=30_000)
    share_url = page.url
    slug = share_url.rstrip("/").rsplit("/", 1)[1]
    assert errors == []
    page.close()
    try:
        fresh = browser.new_context()
        share = fresh.new_page()
        share.goto(share_url)
        assert summary_text(share) == first
        fresh.close()
    finally:
        stream.delete_keys(slug)


def test_a_canary_of_a_bad_release_pressed_in_a_live_run_fails_its_gate(browser, daphne_server, worker):
    from playground.runs.models import Run

    page, errors = run_template_live(browser, daphne_server, "memory-sessions", "5")
    slug = page.url.rstrip("/").rsplit("/", 1)[1]
    try:
        page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 1", timeout=30_000)
        # The live controls offer the resilience actions for the service.
        for name in ("Make one instance of app fail fast", "Blue-green deploy of app", "Roll back app"):
            assert page.get_by_role("button", name=name).count() == 1
        page.get_by_role("button", name="Canary a bad release of app").click()
        page.wait_for_function("() => (document.getElementById('chaos-status').textContent || '').length > 0")
        page.wait_for_function("() => document.body.dataset.done === 'true'", timeout=90_000)
        run = Run.objects.get(slug=slug)
        assert [e["control"]["action"] for e in run.applied_events] == ["canary"]
        failed = page.locator("#events-list li", has_text="fails its gate")
        assert failed.count() == 1
        assert "requests failed" in failed.inner_text()
        assert page.locator("#events-list li", has_text="Canary instance").count() == 1
        assert errors == []
    finally:
        page.close()
        stream.delete_keys(slug)
