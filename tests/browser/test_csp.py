"""The Content-Security-Policy: on every HTML response, inline scripts carry its nonce, and the main
pages work under it in Chromium with no violation (a streaming run, the editor and its panels, a
sweep, compare, the lesson, the account pages)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from playground.designs.models import Template
from playground.runs import stream
from tests.browser.test_editor import make_template, open_editor, select_in_outline
from tests.processes import start_celery_worker
from tests.runs.designs import web_fleet

# Every violation the page sees, reported by the browser as an event (the console also says so).
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Violations:
    def __init__(self, context) -> None:
        self.console: list[str] = []
        self.pages = []
        context.add_init_script(RECORD_VIOLATIONS)
        context.on("page", self.watch)

    def watch(self, page) -> None:
        self.pages.append(page)
        page.on("console", lambda msg: "Content Security Policy" in msg.text and self.console.append(msg.text))

    def seen(self, page) -> list[str]:
        return self.console + page.evaluate("window.__csp || []")


def api_post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.mark.django_db
def test_every_html_page_has_the_policy_and_its_inline_scripts_the_nonce(client):
    make_template()
    for url in ["/", "/templates/tiny/", "/templates/tiny/edit/", "/reference/", "/lessons/stateless-services/", "/lessons/retries-timeouts-overload/",
                "/login/", "/signup/", "/designs/", "/runs/", "/sweeps/new/?template=tiny", "/api/docs",
                "/no-such-page/"]:
        response = client.get(url)
        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, url
        for directive in ("object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'",
                          "img-src 'self' data:", "connect-src 'self'"):
            assert directive in policy, (url, directive)
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert "'unsafe-eval'" not in script_src and "'unsafe-inline'" not in script_src, url
        html = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", script_src)
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" in tag or 'type="application/json"' in tag:
                continue  # from the site ('self'), or data that is never run
            assert nonce and f'nonce="{nonce.group(1)}"' in tag, (url, tag)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), url  # no inline event handlers
    # A refusal from the middleware before any view has it too.
    refused = client.post("/api/runs", "x" * 10, content_type="application/json", CONTENT_LENGTH=str(10**9))
    assert refused.status_code == 413
    assert "default-src 'self'" in refused.headers["Content-Security-Policy"]
    # Two responses, two nonces.
    first, second = (re.search(r"'nonce-([^']+)'", client.get("/").headers["Content-Security-Policy"]).group(1)
                     for _ in range(2))
    assert first != second


@pytest.mark.browser
@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_the_main_pages_work_under_the_policy_without_a_violation(browser, daphne_server, tmp_path):
    make_template()
    Template.objects.create(slug="fleet", title="Fleet", summary="A fleet", document_json=json.dumps(web_fleet()))
    worker = start_celery_worker(tmp_path / "worker.log", concurrency=2)
    context = browser.new_context()
    watch = Violations(context)
    page = context.new_page()
    started = []
    try:
        for url in ["/", "/templates/tiny/", "/reference/", "/lessons/stateless-services/", "/lessons/retries-timeouts-overload/", "/login/", "/signup/",
                    "/designs/", "/runs/", "/accuracy/", "/api/docs"]:
            page.goto(daphne_server + url)
            page.wait_for_load_state("networkidle")
            assert watch.seen(page) == [], (url, watch.seen(page))

        # The editor with a design: the canvas (Cytoscape), a node's panel (htmx), the scenario.
        open_editor(page, daphne_server + "/templates/tiny/edit/")
        page.click(".palette-item[data-kind=service]")
        page.wait_for_url("**/d/*/")
        select_in_outline(page, "api")
        page.wait_for_selector("#f-p-workers")
        page.wait_for_load_state("networkidle")
        assert watch.seen(page) == [], "editor"

        # A run that streams over the WebSocket, then another to compare with.
        live = api_post(daphne_server, "/api/runs", {"document": web_fleet(duration_s=10), "mode": "live",
                                                     "speed": 20})
        started.append(live)
        page.goto(daphne_server + live["url"])
        page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 3", timeout=60_000)
        assert page.locator(".chart canvas").count() >= 6
        assert watch.seen(page) == [], "run"
        other = api_post(daphne_server, "/api/runs", {"document": web_fleet(duration_s=10, instances=6)})
        started.append(other)
        page.goto(daphne_server + other["url"])
        page.wait_for_selector("#summary-panel:not([hidden]) dl.summary", timeout=60_000)
        page.goto(f"{daphne_server}/compare/?a={live['id']}&b={other['id']}")
        page.wait_for_function("() => document.body.dataset.compared === 'true'", timeout=60_000)
        assert watch.seen(page) == [], "compare"

        # A sweep: the form, then its page with the knee curve.
        page.goto(f"{daphne_server}/sweeps/new/?template=fleet")
        page.select_option("select[name=axis1_path]", "nodes.api.params.instances")
        page.fill("input[name=axis1_values]", "2..3")
        page.fill("input[name=seeds]", "1")
        page.click("text=Start the sweep")
        page.wait_for_url("**/s/*/")
        page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=90_000)
        assert watch.seen(page) == [], "sweep"
    finally:
        context.close()
        worker.stop()
        for run in started:
            stream.delete_keys(run["id"])
