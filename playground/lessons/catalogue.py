"""The lessons in order, read from ``templates_lib/lessons/index.yaml``: what ``/lessons/`` lists
and what each lesson's "next lesson" link follows.

Terms
-----
lesson
    ``slug``, ``title``, ``summary``, ``page`` (the URL name of its page) and ``minutes``, its
    reading time. ``number`` is its place in the file, from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.urls import reverse

from playground.engine import parse
from playground.lessons.quiz import LESSONS_DIR


@dataclass(frozen=True)
class Lesson:
    slug: str
    number: int
    title: str
    summary: str
    page: str
    minutes: int

    @property
    def url(self) -> str:
        return reverse(self.page)


class CatalogueError(ValueError):
    pass


@cache
def lessons() -> tuple[Lesson, ...]:
    path = LESSONS_DIR / "index.yaml"
    data = parse(path.read_bytes(), "yaml")
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), list):
        raise CatalogueError(f"{path.name}: lessons: must be a list")
    out = []
    for i, raw in enumerate(data["lessons"]):
        for key in ("slug", "title", "summary", "page"):
            if not isinstance(raw, dict) or not raw.get(key):
                raise CatalogueError(f"{path.name}: lessons[{i}].{key}: is required")
        out.append(Lesson(slug=str(raw["slug"]), number=i + 1, title=str(raw["title"]).strip(),
                          summary=str(raw["summary"]).strip(), page=str(raw["page"]),
                          minutes=int(raw.get("minutes") or 0)))
    return tuple(out)


def by_page(page: str) -> Lesson | None:
    return next((lesson for lesson in lessons() if lesson.page == page), None)


def next_after(lesson: Lesson | None) -> Lesson | None:
    if lesson is None:
        return None
    ordered = lessons()
    return ordered[lesson.number] if lesson.number < len(ordered) else None
