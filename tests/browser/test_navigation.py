"""Navigation in Chromium: the header's links, and Compare reached from a run page through
"Compare with..."."""

from __future__ import annotations

import json

import pytest

from playground.runs import stream
from playground.runs.models import Run
from playground.runs.runner import Runner
from tests.runs.designs import web_fleet

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def test_the_header_links_my_runs_and_lessons(browser, daphne_server):
    page = browser.new_context().new_page()
    page.goto(daphne_server + "/templates/")
    page.click("header nav >> text=My runs")
    page.wait_for_function("() => location.pathname === '/runs/'")
    assert page.inner_text("h1") == "My runs"
    page.click("header nav >> text=Lessons")
    page.wait_for_function("() => location.pathname === '/lessons/'")
    assert "Stateless service design" in page.inner_text("main")
    page.click("main >> text=Stateless service design")
    page.wait_for_function("() => location.pathname === '/lessons/stateless-services/'")
    assert page.is_visible("a[rel=next]")


def test_compare_from_a_run_page_through_compare_with(browser, daphne_server):
    from playground.designs.models import Design

    context = browser.new_context()
    page = context.new_page()
    slugs = []
    for instances in (3, 5):
        design = Design.objects.create(document_json=json.dumps(web_fleet(instances=instances)))
        page.goto(daphne_server + f"/d/{design.slug}/")
        # Start a batch run from this browser (its owner), as the editor's Run form does.
        page.evaluate("""(slug) => {
            const form = document.createElement('form');
            form.method = 'post'; form.action = '/runs/start/';
            const token = document.querySelector('[name=csrfmiddlewaretoken]') || null;
            for (const [k, v] of [['design', slug], ['mode', 'batch'], ['seed', '3'],
                                  ['csrfmiddlewaretoken', token ? token.value : '']]) {
              const input = document.createElement('input'); input.type = 'hidden'; input.name = k; input.value = v;
              form.append(input);
            }
            document.body.append(form); form.submit();
        }""", design.slug)
        page.wait_for_function("() => location.pathname.startsWith('/r/')")
        slugs.append(page.url.rstrip("/").rsplit("/", 1)[1])
    try:
        for slug in slugs:
            Runner(Run.objects.get(slug=slug).pk).execute()
        page.goto(daphne_server + f"/r/{slugs[1]}/")
        assert page.is_visible("#design-link")
        page.click("#compare-with > summary")
        page.select_option("#compare-with-run", slugs[0])
        page.click("#compare-with-go")
        page.wait_for_function("() => location.pathname === '/compare/'")
        text = page.inner_text("#design-diff")
        assert "api: instances 5 -> 3" in text
        assert page.is_visible("#verdict")
    finally:
        for slug in slugs:
            stream.delete_keys(slug)
