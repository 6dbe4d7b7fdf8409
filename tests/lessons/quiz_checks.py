"""What the quiz tests share: the library's templates run by the engine (each run once per test
session), and the rule that an answer's check must run the template and variant its question names.

A quiz's truth file (``test_quiz_truth*.py``) names its ``LESSON``, defines one function
``check_<question id, dashes as underscores>`` per question, and ends with
``test_every_question_has_a_check, test_the_answer_is_what_the_engine_shows = truth_tests(LESSON, globals())``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from playground.designs.library import read_library
from playground.engine import run
from playground.lessons.catalogue import by_slug
from playground.lessons.quiz import Question

ENTRIES = {e.slug: e for e in read_library()}
_runs: set[tuple[str, str]] = set()  # (template, variant) run or read since the last check began.


def document(slug: str, variant: str = "") -> dict:
    """A template's document (a variant's, patched), to change before running it."""
    _runs.add((slug, variant))
    return ENTRIES[slug].document_of(variant)


@cache
def _summary(slug: str, variant: str, seed: int) -> dict:
    return run(ENTRIES[slug].document_of(variant), seed=seed)["summary"]


def summary(slug: str, variant: str = "", seed: int = 1) -> dict:
    _runs.add((slug, variant))
    return _summary(slug, variant, seed)


def errors(s: dict) -> int:
    return sum(s["errors"].values())


def checks_in(namespace: dict) -> dict[str, Callable[[], None]]:
    return {name.removeprefix("check_").replace("_", "-"): fn
            for name, fn in namespace.items() if name.startswith("check_") and callable(fn)}


def questions_of(lesson: str) -> tuple[Question, ...]:
    found = by_slug(lesson)
    assert found is not None, lesson
    return found.questions


def recheck(question: Question, checks: dict[str, Callable[[], None]]) -> None:
    """Run the question's check; it must have run the template and variant the question links to."""
    _runs.clear()
    checks[question.id]()
    assert (question.template, question.variant) in _runs, (
        f"{question.id}: its check never ran {question.template} {question.variant or '(base)'}, the run it links to")


def truth_tests(lesson: str, namespace: dict) -> tuple[Callable[[], None], Callable[[Question], None]]:
    """The two tests of a truth file: every question has a check, and each check passes."""
    checks = checks_in(namespace)

    def test_every_question_has_a_check():
        assert {q.id for q in questions_of(lesson)} == set(checks)

    @pytest.mark.parametrize("question", questions_of(lesson), ids=lambda q: q.id)
    def test_the_answer_is_what_the_engine_shows(question):
        recheck(question, checks)

    return test_every_question_has_a_check, test_the_answer_is_what_the_engine_shows
