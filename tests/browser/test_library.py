"""The gallery, a template page, the lessons' quizzes and the accuracy page in Chromium, served by Daphne."""

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


def answer(page, lesson: str, question: str, letter: str):
    """Answer a question of the lesson at ``lesson`` with JavaScript on: its feedback appears in
    place, with no navigation. Returns the feedback."""
    page.goto(page.server + lesson)
    page.locator(f"#quiz-{question} input[value={letter}]").check()
    page.locator(f"#quiz-{question} button").click()
    page.wait_for_selector(f"#quiz-{question} .feedback")
    assert page.url.endswith(lesson)
    return page.locator(f"#quiz-{question} .feedback")


def test_the_quiz_answers_in_place_and_links_to_the_template(page, daphne_server, library):
    page.server = daphne_server
    feedback = answer(page, "/lessons/stateless-services/", "random-logouts", "b")
    assert "Right." in feedback.inner_text()
    feedback.locator("a").click()
    page.wait_for_url("**/templates/memory-sessions/")
    assert page.console_log.errors == []


def test_the_quiz_answers_in_place_and_links_to_the_run_of_its_variant(page, daphne_server, library):
    page.server = daphne_server
    feedback = answer(page, "/lessons/retries-timeouts-overload/", "fastest-cure", "a")
    assert page.inner_text("h1") == "Retries, timeouts and overload: why systems stay down"
    assert "Right." in feedback.inner_text() and "830 requests a second" in feedback.inner_text()
    feedback.locator("a", has_text="See it in a run").click()
    page.wait_for_url("**/templates/retry-storm/#variant-lifo")
    card = page.locator("#variant-lifo")
    assert card.is_visible() and "LIFO queue" in card.locator("h3").inner_text()
    assert page.console_log.errors == []


def test_the_accuracy_page_runs_the_engine_on_request(page, daphne_server):
    page.goto(daphne_server + "/accuracy/")
    page.select_option("select[name=model]", "mmck")
    page.fill("input[name=rho]", "1.2")
    page.click("text=Run the engine")
    page.wait_for_selector("text=Share of arrivals refused")
    assert "M/M/c/K" in page.locator(".accuracy-result h2").inner_text()
    assert page.console_log.errors == []
