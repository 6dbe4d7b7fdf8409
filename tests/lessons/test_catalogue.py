"""Lessons as data: index.yaml names each lesson's story and quiz, every lesson with a story is
served at /lessons/<slug>/ by the one view, and every quiz answer links to the run that shows it."""

from __future__ import annotations

import html as htmllib
import importlib
import re
from pathlib import Path

import pytest

from playground.lessons import catalogue
from playground.lessons.quiz import LESSONS_DIR

pytestmark = pytest.mark.django_db
QUIZZED = [lesson for lesson in catalogue.lessons() if lesson.questions]


def test_the_lessons_are_stateless_services_then_retries_then_accuracy():
    lessons = catalogue.lessons()
    assert [lesson.slug for lesson in lessons] == ["stateless-services", "retries-timeouts-overload", "accuracy"]
    assert [lesson.url for lesson in lessons] == [
        "/lessons/stateless-services/", "/lessons/retries-timeouts-overload/", "/accuracy/"]
    assert [lesson.number for lesson in lessons] == [1, 2, 3]
    assert catalogue.next_after(lessons[0]) == lessons[1] and catalogue.next_after(lessons[2]) is None


def test_every_quiz_in_the_folder_belongs_to_a_lesson_and_every_quiz_has_a_truth_file():
    named = {lesson.quiz_file for lesson in catalogue.lessons() if lesson.quiz_file}
    assert named == {p.name for p in LESSONS_DIR.glob("*-quiz.yaml")}
    checked = set()
    for path in Path(__file__).parent.glob("test_quiz_truth*.py"):
        module = importlib.import_module(f"tests.lessons.{path.stem}")
        checked.add(module.LESSON)
    assert checked == {lesson.slug for lesson in QUIZZED}


def test_a_lesson_needs_a_story_or_a_page_and_a_quiz_that_exists(tmp_path, monkeypatch):
    def read(text):
        (tmp_path / "index.yaml").write_text(text)
        monkeypatch.setattr(catalogue, "LESSONS_DIR", tmp_path)
        catalogue.lessons.cache_clear()
        try:
            return catalogue.lessons()
        finally:
            catalogue.lessons.cache_clear()

    entry = "lessons:\n  - {slug: a, title: A, summary: S, %s}\n"
    with pytest.raises(catalogue.CatalogueError, match="story"):
        read(entry % "minutes: 5")
    with pytest.raises(catalogue.CatalogueError, match="not both"):
        read(entry % "story: lessons/a.html, page: accuracy")
    with pytest.raises(catalogue.CatalogueError, match="no file"):
        read(entry % "story: lessons/a.html, quiz: missing-quiz.yaml")
    with pytest.raises(catalogue.CatalogueError, match="used twice"):
        read("lessons:\n" + "  - {slug: a, title: A, summary: S, page: accuracy}\n" * 2)
    (lesson,) = read(entry % "story: lessons/a.html")
    assert lesson.questions == () and lesson.page == ""


def test_a_slug_without_a_story_is_not_a_lesson_page(client):
    assert client.get("/lessons/no-such-lesson/").status_code == 404
    assert client.get("/lessons/accuracy/").status_code == 404  # The accuracy page has its own URL.
    assert client.get("/lessons/no-such-lesson/quiz/stays-down/").status_code == 404


@pytest.mark.parametrize("lesson", QUIZZED, ids=lambda lesson: lesson.slug)
def test_every_answer_links_to_the_run_of_its_template_and_variant(client, library, lesson):
    """Answer every question at once; each feedback's "See it in a run" link opens the template's
    page at the run card of the question's variant (its base run without one)."""
    page = client.get(lesson.url, {q.id: q.answer for q in lesson.questions}).content.decode()
    assert f"{len(lesson.questions)} of {len(lesson.questions)} answered right so far" in page
    for q in lesson.questions:
        block = re.search(rf'id="quiz-{q.id}">(.*?)</article>', page, re.S).group(1)
        link = re.search(r'<a href="([^"]+)">See it in a run', block).group(1)
        expected = f"/templates/{q.template}/" + (f"#variant-{q.variant}" if q.variant else "")
        assert htmllib.unescape(link) == expected, q.id
        target = client.get(expected.split("#")[0])
        assert target.status_code == 200, q.id
        card = f'id="variant-{q.variant}"' if q.variant else 'id="base"'
        assert card in target.content.decode(), q.id


@pytest.mark.parametrize("lesson", QUIZZED, ids=lambda lesson: lesson.slug)
def test_each_question_answers_at_its_own_lesson(client, library, lesson):
    q = lesson.questions[-1]
    page = client.get(lesson.url).content.decode()
    assert f'action="{lesson.url}#quiz-{q.id}"' in page
    assert f'hx-get="{lesson.url}quiz/{q.id}/"' in page
    one = client.get(f"{lesson.url}quiz/{q.id}/", {q.id: q.answer}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in one and one.count("<article") == 1 and "Right." in one


@pytest.mark.parametrize("lesson", QUIZZED, ids=lambda lesson: lesson.slug)
def test_without_javascript_each_form_carries_the_other_answers_along(client, library, lesson):
    first, second, third = lesson.questions[:3]
    wrong = next(letter for letter, _ in first.options if letter != first.answer)
    page = client.get(lesson.url, {first.id: wrong, second.id: second.answer}).content.decode()
    block = re.search(rf'id="quiz-{third.id}">(.*?)</article>', page, re.S).group(1)
    assert f'<input type="hidden" name="{first.id}" value="{wrong}">' in block
    assert f'<input type="hidden" name="{second.id}" value="{second.answer}">' in block
    assert "1 of 2 answered right so far" in page
