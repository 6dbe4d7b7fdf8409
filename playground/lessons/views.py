"""Lesson pages: every lesson with a story (``/lessons/<slug>/``, its text and its quiz, as
``index.yaml`` names them), and "How accurate is the simulator?".

A quiz is answered by plain GET forms (one parameter per question, named by its id), so a page
with answers is an ordinary link and works without JavaScript; with htmx, a question's form asks
for that question alone and swaps it in place.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from playground.lessons import accuracy as acc
from playground.lessons import catalogue
from playground.lessons.quiz import Question
from playground.markup import markdown_inline


def _template_url(slug: str, variant: str = "") -> str | None:
    try:
        url = reverse("template", args=[slug])
    except NoReverseMatch:
        return None
    return f"{url}#variant-{variant}" if variant else url


def _question_context(lesson: catalogue.Lesson, question: Question, choice: str) -> dict[str, Any]:
    valid = choice in dict(question.options)
    return {
        "q": question,
        "choice": choice if valid else "",
        "answered": valid,
        "right": valid and question.is_right(choice),
        "answer_text": dict(question.options)[question.answer],
        "explanation": markdown_inline(question.explanation),
        "template_url": _template_url(question.template, question.variant),
        "page_url": lesson.url,
        "quiz_url": reverse("lesson-quiz", args=[lesson.slug, question.id]),
    }


def _place(this: catalogue.Lesson | None) -> dict[str, Any]:
    """A lesson page's place in the catalogue: the lesson itself and the next one (or None)."""
    return {"this_lesson": this, "next_lesson": catalogue.next_after(this), "lessons_count": len(catalogue.lessons())}


def _story_lesson(slug: str) -> catalogue.Lesson:
    lesson = catalogue.by_slug(slug)
    if lesson is None or not lesson.story:
        raise Http404("no such lesson")
    return lesson


@require_GET
def lessons_index(request: HttpRequest) -> HttpResponse:
    return render(request, "lessons/index.html", {"lessons": catalogue.lessons()})


@require_GET
def lesson(request: HttpRequest, slug: str) -> HttpResponse:
    this = _story_lesson(slug)
    questions = [_question_context(this, q, request.GET.get(q.id, "")) for q in this.questions]
    # Without JavaScript each question's form reloads the page: it carries the other answers along.
    answers = {item["q"].id: item["choice"] for item in questions if item["answered"]}
    for item in questions:
        item["others"] = [(qid, choice) for qid, choice in answers.items() if qid != item["q"].id]
    return render(request, this.story, {
        "questions": questions,
        "answered": sum(1 for q in questions if q["answered"]),
        "right": sum(1 for q in questions if q["right"]),
        **_place(this),
    })


@require_GET
def quiz_question(request: HttpRequest, slug: str, question_id: str) -> HttpResponse:
    """One question, answered: what htmx swaps in; without htmx, the lesson page at the question."""
    this = _story_lesson(slug)
    question = this.question(question_id)
    if question is None:
        raise Http404("no such question")
    context = _question_context(this, question, request.GET.get(question.id, ""))
    return render(request, "lessons/_question.html", {"item": context})


@require_GET
def accuracy(request: HttpRequest) -> HttpResponse:
    choice, problems = acc.choice_from(request.GET)
    context = {
        "result": acc.compare(choice),
        "choice": choice,
        "problems": problems,
        "models": acc.MODELS,
        "service_ms": acc.SERVICE_MS,
        "customers": acc.CUSTOMERS,
        "max_workers": acc.MAX_WORKERS,
        "max_queue": acc.MAX_QUEUE,
        "mg1_cv": acc.MG1_CV,
        **_place(catalogue.by_page("accuracy")),
    }
    name = "lessons/_accuracy_result.html" if request.htmx else "lessons/accuracy.html"
    return render(request, name, context)
