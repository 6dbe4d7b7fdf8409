"""The lessons in order, read from ``templates_lib/lessons/index.yaml``: what ``/lessons/`` lists,
what each lesson's "next lesson" link follows, and what a lesson page shows.

Terms
-----
lesson
    ``slug``, ``title``, ``summary`` and ``minutes`` (its reading time); then either a ``story``
    (the Django template of its text) with an optional ``quiz`` (a file beside ``index.yaml``),
    served at ``/lessons/<slug>/`` by the one lesson view, or a ``page``, the URL name of a page
    with a view of its own (the accuracy page). ``number`` is its place in the file, from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.urls import reverse

from playground.engine import parse
from playground.lessons.quiz import LESSONS_DIR, Question, read_quiz


@dataclass(frozen=True)
class Lesson:
    slug: str
    number: int
    title: str
    summary: str
    minutes: int
    story: str = ""
    quiz_file: str = ""
    page: str = ""

    @property
    def url(self) -> str:
        return reverse(self.page) if self.page else reverse("lesson-page", args=[self.slug])

    @property
    def questions(self) -> tuple[Question, ...]:
        return quiz_from(self.quiz_file) if self.quiz_file else ()

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


class CatalogueError(ValueError):
    pass


@cache
def quiz_from(name: str) -> tuple[Question, ...]:
    return read_quiz(LESSONS_DIR / name)


@cache
def lessons() -> tuple[Lesson, ...]:
    path = LESSONS_DIR / "index.yaml"
    data = parse(path.read_bytes(), "yaml")
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), list):
        raise CatalogueError(f"{path.name}: lessons: must be a list")
    out = []
    seen = set()
    for i, raw in enumerate(data["lessons"]):
        where = f"{path.name}: lessons[{i}]"
        for key in ("slug", "title", "summary"):
            if not isinstance(raw, dict) or not raw.get(key):
                raise CatalogueError(f"{where}.{key}: is required")
        if bool(raw.get("story")) == bool(raw.get("page")):
            raise CatalogueError(f"{where}: needs a story (served at /lessons/<slug>/) or a page, not both")
        if raw.get("quiz") and not (LESSONS_DIR / str(raw["quiz"])).is_file():
            raise CatalogueError(f"{where}.quiz: no file {raw['quiz']!r} beside index.yaml")
        if raw["slug"] in seen:
            raise CatalogueError(f"{where}.slug: {raw['slug']!r} is used twice")
        seen.add(raw["slug"])
        out.append(Lesson(slug=str(raw["slug"]), number=i + 1, title=str(raw["title"]).strip(),
                          summary=str(raw["summary"]).strip(), minutes=int(raw.get("minutes") or 0),
                          story=str(raw.get("story") or ""), quiz_file=str(raw.get("quiz") or ""),
                          page=str(raw.get("page") or "")))
    return tuple(out)


def by_slug(slug: str) -> Lesson | None:
    return next((lesson for lesson in lessons() if lesson.slug == slug), None)


def by_page(page: str) -> Lesson | None:
    return next((lesson for lesson in lessons() if lesson.page == page), None)


def next_after(lesson: Lesson | None) -> Lesson | None:
    if lesson is None:
        return None
    ordered = lessons()
    return ordered[lesson.number] if lesson.number < len(ordered) else None
