"""The lesson page: every link resolves, and the quiz checks answers with and without htmx."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from playground.lessons.catalogue import by_slug

pytestmark = pytest.mark.django_db
LESSON = "/lessons/stateless-services/"


def test_the_lesson_covers_the_idea_the_analogy_the_cases_the_tradeoffs_and_airbnb(client, library):
    html = client.get(LESSON).content.decode()
    for heading in ("The idea", "Teller windows", "Real systems", "The trade-offs", "The Airbnb case", "Quiz"):
        assert f">{heading}</h2>" in html
    for figure in ("microseconds", "0.5-2 ms", "1-10 ms", "blocklist", "about a millisecond"):
        assert figure in html


def test_every_link_on_the_lesson_resolves(client, library):
    html = client.get(LESSON).content.decode()
    links = set(re.findall(r'href="([^"#]+)(?:#[^"]*)?"', html))
    internal = [link for link in links if not urlsplit(link).netloc]
    assert len(internal) > 15
    for link in internal:
        response = client.get(urljoin(LESSON, link))
        assert response.status_code in (200, 301, 302), link
        if response.status_code in (301, 302):
            assert client.get(response["Location"]).status_code == 200, link


def test_the_quiz_has_at_least_six_questions_with_the_seeds_two_among_them():
    questions = by_slug("stateless-services").questions
    assert len(questions) >= 6
    stems = " ".join(q.stem for q in questions)
    assert "stores user sessions" not in stems  # Our own words, not the seed's...
    assert "keeps user sessions in the memory of each server" in stems and "logged out at random" in stems
    assert "Which approach correctly makes a file-upload service stateless?" in stems


def test_every_question_explains_itself_with_an_existing_template_and_variant(library):
    from playground.designs.models import Template

    for q in by_slug("stateless-services").questions:
        template = Template.objects.get(slug=q.template)
        assert not q.variant or q.variant in template.variants, q.id


def test_a_right_answer_is_confirmed_with_the_explanation_and_its_template(client, library):
    html = client.get(LESSON, {"random-logouts": "b"}).content.decode()
    block = re.search(r'<article class="quiz-question answered right" id="quiz-random-logouts">(.*?)</article>',
                      html, re.S)
    assert block and "Right." in block.group(1)
    assert 'href="/templates/memory-sessions/"' in block.group(1)


def test_a_wrong_answer_shows_the_right_one(client, library):
    html = client.get(LESSON, {"stateless-uploads": "a"}).content.decode()
    block = re.search(r'id="quiz-stateless-uploads">(.*?)</article>', html, re.S).group(1)
    assert "Not quite." in block and "shared object storage" in block
    assert 'href="/templates/file-uploads/#variant-object-storage"' in block


def test_htmx_answers_one_question_alone(client, library):
    response = client.get(f"{LESSON}quiz/keys-in-memory/", {"keys-in-memory": "b"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and html.count("<article") == 1 and "Right." in html


def test_a_question_without_an_answer_or_with_a_made_up_one_shows_no_verdict(client, library):
    html = client.get(f"{LESSON}quiz/redis-cost/", {"redis-cost": "z"}).content.decode()
    assert "Right." not in html and "Not quite." not in html
    assert client.get(f"{LESSON}quiz/no-such-question/").status_code == 404
