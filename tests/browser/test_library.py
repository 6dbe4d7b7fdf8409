"""The gallery, a template page, the quiz and the accuracy page in Chromium, served by Daphne."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from playground.designs.library import LIBRARY_DIR

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.fixture
def library(transactional_db):
    call_command("loadtemplates", verbosity=0)


def test_the_gallery_filters_and_searches_in_place(page, daphne_server, library):
    page.goto(daphne_server + "/templates/")
    cards = page.locator(".template-card")
    count = len(list(LIBRARY_DIR.glob("*.yaml")))
    assert count >= 11 and cards.count() == count
    assert page.locator(".card-drawing svg").count() == count
    for company in ("Netflix", "Stripe", "Vercel", "Airbnb"):
        assert page.locator(".company", has_text=company).count() >= 1

    page.select_option("#gallery-company", "Airbnb")
    page.wait_for_url("**company=Airbnb**")
    page.wait_for_function("() => document.querySelectorAll('.template-card').length === 2")
    assert all(t.startswith("Airbnb") for t in page.locator(".template-card h2").all_inner_texts())

    page.select_option("#gallery-company", "")
    page.fill("#gallery-q", "idempotency")
    page.wait_for_function("() => document.querySelectorAll('.template-card').length === 1")
    assert page.locator(".template-card h2").inner_text().startswith("Stripe")

    page.click(".template-card h2 a")
    page.wait_for_url("**/templates/stripe/")
    assert page.locator(".template-topology svg .svg-node").count() == 5
    assert page.locator("form.run-form").count() == 4
    assert page.console_log.errors == []


def test_the_gallery_filters_without_javascript(browser, daphne_server, library):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(daphne_server + "/templates/")
    page.select_option("#gallery-concept", "serverless")
    page.click("text=Filter")
    page.wait_for_url("**concept=serverless**")
    assert page.locator(".template-card h2").all_inner_texts() == ["Vercel: serverless functions with state in a KV store"]
    context.close()


def test_the_quiz_answers_in_place_and_links_to_the_template(page, daphne_server, library):
    page.goto(daphne_server + "/lessons/stateless-services/")
    question = page.locator("#quiz-random-logouts")
    question.locator("input[value=b]").check()
    question.locator("button").click()
    page.wait_for_selector("#quiz-random-logouts .feedback")
    assert "Right." in page.locator("#quiz-random-logouts .feedback").inner_text()
    assert page.url.endswith("/lessons/stateless-services/")  # Swapped in place, no navigation.
    page.locator("#quiz-random-logouts .feedback a").click()
    page.wait_for_url("**/templates/memory-sessions/")
    assert page.console_log.errors == []


def test_the_accuracy_page_runs_the_engine_on_request(page, daphne_server):
    page.goto(daphne_server + "/accuracy/")
    page.select_option("select[name=model]", "mmck")
    page.fill("input[name=rho]", "1.2")
    page.click("text=Run the engine")
    page.wait_for_selector("text=Share of arrivals refused")
    assert "M/M/c/K" in page.locator(".accuracy-result h2").inner_text()
    assert page.console_log.errors == []
