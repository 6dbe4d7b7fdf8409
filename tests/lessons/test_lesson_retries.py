"""The lesson "Retries, timeouts and overload": its story, its links and its quiz."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from playground.lessons.catalogue import by_slug

pytestmark = pytest.mark.django_db
LESSON = "/lessons/retries-timeouts-overload/"
QUIZ = by_slug("retries-timeouts-overload").questions


def test_the_lesson_covers_metastable_failures_amplification_timeouts_and_the_cures(client, library):
    html = " ".join(client.get(LESSON).content.decode().split())
    assert "<h1>Retries, timeouts and overload: why systems stay down</h1>" in html
    for heading in ("The idea", "The deli counter", "Retries multiply", "Slow is worse than dead",
                    "Past the knee", "The cures", "Real systems", "Run the examples", "Quiz"):
        assert f">{heading}</h2>" in html
    for source in ("Metastable Failures in Distributed Systems", "HotOS 2021", "Metastable Failures in the Wild",
                   "OSDI 2022", "at least 4 of the 15 major AWS outages"):
        assert source in html
    for term in ("trigger", "sustaining effect", "4 x 4 x 4 = 64", "goodput"):
        assert term in html
    for cure in ("Load shedding", "LIFO", "Retry budgets", "Timeouts", "Bulkheads", "Circuit breakers"):
        assert f'<th scope="row">{cure}</th>' in html
    assert "Lesson 2" in html and 'href="/accuracy/" rel="next"' in html


def test_every_link_on_the_lesson_resolves(client, library):
    html = client.get(LESSON).content.decode()
    links = set(re.findall(r'href="([^"#]+)(?:#[^"]*)?"', html))
    internal = [link for link in links if not urlsplit(link).netloc]
    for slug in ("retry-storm", "retry-amplification", "timeout-cascade", "load-shedding"):
        assert f"/templates/{slug}/" in internal
    for link in internal:
        response = client.get(urljoin(LESSON, link))
        assert response.status_code in (200, 301, 302), link
        if response.status_code in (301, 302):
            assert client.get(response["Location"]).status_code == 200, link


def test_the_overload_concept_lists_the_four_templates(client, library):
    html = client.get("/templates/", {"concept": "overload"}).content.decode()
    for slug in ("retry-storm", "retry-amplification", "timeout-cascade", "load-shedding"):
        assert f'href="/templates/{slug}/"' in html


def test_the_quiz_has_at_least_six_questions_over_the_four_templates(library):
    from playground.designs.models import Template

    assert len(QUIZ) >= 6  # Eight today; questions on later templates join them.
    assert {q.template for q in QUIZ} >= {"retry-storm", "retry-amplification", "timeout-cascade", "load-shedding"}
    for q in QUIZ:
        template = Template.objects.get(slug=q.template)
        assert not q.variant or q.variant in template.variants, q.id
        assert len(q.options) == 4 and re.search(r"\d", q.explanation), q.id  # Figures from the run.


def test_a_wrong_answer_shows_the_right_one_and_the_run_of_its_variant(client, library):
    html = client.get(LESSON, {"three-layers": "a", "fastest-cure": "b"}).content.decode()
    block = re.search(r'id="quiz-three-layers">(.*?)</article>', html, re.S).group(1)
    assert "Not quite." in block and "The answer is: 64" in block and "249,972" in block
    assert 'href="/templates/retry-amplification/"' in block
    block = re.search(r'id="quiz-fastest-cure">(.*?)</article>', html, re.S).group(1)
    assert "Not quite." in block and 'href="/templates/retry-storm/#variant-lifo"' in block
    assert "0 of 2 answered right so far" in html


def test_a_question_of_the_other_lesson_is_not_found_here(client, library):
    assert client.get(f"{LESSON}quiz/random-logouts/").status_code == 404
    assert client.get("/lessons/stateless-services/quiz/stays-down/").status_code == 404
    html = client.get(f"{LESSON}quiz/bulkhead/", {"bulkhead": "z"}).content.decode()
    assert "Right." not in html and "Not quite." not in html
