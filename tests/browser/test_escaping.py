"""User text is text everywhere: a ``<script>`` (and an ``<img onerror>``) in a design's title and in
a node's label renders as the characters typed, never as markup, on every page that shows them: the
editor (its canvas and panels), My designs, the run page with its charts and summary, My runs, the
share link seen from another browser, and Compare."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from playground.runs import stream
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture
def worker(tmp_path):
    proc = start_celery_worker(tmp_path / "worker.log")
    yield proc
    proc.stop()


def hostile_design() -> dict:
    document = web_fleet(duration_s=8)
    document["title"] = "T " + PAYLOAD
    document["nodes"][2]["label"] = "L " + PAYLOAD
    return document


def csrf(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")


def wait_done(base: str, slug: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/runs/{slug}", timeout=10) as response:
            if json.load(response)["status"] in ("done", "failed"):
                return
        time.sleep(0.3)
    raise AssertionError("the run did not end")


def assert_inert(page, url: str, expect_text: bool = True) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__xss") is None, f"user text ran as script on {url}"
    assert page.locator("script:text('window.__xss')").count() == 0, url
    assert page.locator("img[src='x']").count() == 0, url
    if expect_text:
        html = page.content()
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html or PAYLOAD in page.inner_text("body") \
            or PAYLOAD in (page.input_value("#design-title") if page.locator("#design-title").count() else ""), \
            f"the text itself is not on {url}"


def test_script_in_a_title_and_a_label_is_text_on_every_page(browser, daphne_server, worker):
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(daphne_server + "/d/new/")
    headers = {"X-CSRFToken": csrf(context)}
    created = page.request.post(daphne_server + "/d/create", data=json.dumps({"document": hostile_design()}),
                                headers={**headers, "Content-Type": "application/json"})
    assert created.status == 201, created.text()
    design = created.json()
    started = page.request.post(daphne_server + "/runs/start/", form={"design": design["slug"], "mode": "batch"},
                                headers=headers)
    assert started.ok
    run_slug = started.url.rstrip("/").rsplit("/", 1)[1]
    try:
        wait_done(daphne_server, run_slug)
        editor = f"{daphne_server}/d/{design['slug']}/"
        assert_inert(page, editor)
        assert page.input_value("#design-title") == "T " + PAYLOAD
        page.wait_for_function("() => document.querySelector('#outline') === null || "
                               "document.querySelector('#outline').innerText.length > 0", timeout=10_000)
        assert "L " + PAYLOAD in page.inner_text("body")  # the label, as typed, in the editor's lists
        assert_inert(page, f"{daphne_server}/designs/")
        assert_inert(page, f"{daphne_server}/r/{run_slug}/")
        page.wait_for_selector("#summary-panel:not([hidden])", timeout=30_000)
        assert page.evaluate("window.__xss") is None  # after the charts and summary have drawn
        assert_inert(page, f"{daphne_server}/runs/")
        assert_inert(page, f"{daphne_server}/compare/?a={run_slug}&b={run_slug}")
        other = browser.new_context().new_page()
        other.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        assert_inert(other, f"{daphne_server}/r/{run_slug}/")
        assert_inert(other, editor)
        other.context.close()
        assert dialogs == []
    finally:
        stream.delete_keys(run_slug)
        context.close()
