"""A lesson's quiz, kept as a file in ``templates_lib/lessons/`` and named by the lesson's entry in
``index.yaml`` (see ``catalogue``).

Terms
-----
question
    ``id`` (used in URLs and forms), ``stem``, ``options`` (letter: text), the ``answer`` letter,
    an ``explanation``, and the ``template`` (and optionally ``variant``) whose run shows why.
choice
    A reader's answer, sent as the GET parameter named after the question's id, so a page with
    answers is a plain link and the quiz works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playground.engine import parse

LESSONS_DIR = Path(__file__).resolve().parent.parent.parent / "templates_lib" / "lessons"


@dataclass(frozen=True)
class Question:
    id: str
    number: int
    stem: str
    options: tuple[tuple[str, str], ...]
    answer: str
    explanation: str
    template: str
    variant: str

    def is_right(self, choice: str) -> bool:
        return choice == self.answer


class QuizError(ValueError):
    pass


def read_quiz(path: Path) -> tuple[Question, ...]:
    data = parse(path.read_bytes(), "yaml")
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuizError(f"{path.name}: questions: must be a list")
    questions = []
    seen = set()
    for i, raw in enumerate(data["questions"]):
        where = f"{path.name}: questions[{i}]"
        if not isinstance(raw, dict):
            raise QuizError(f"{where}: must be a mapping")
        for key in ("id", "stem", "options", "answer", "explanation", "template"):
            if not raw.get(key):
                raise QuizError(f"{where}.{key}: is required")
        options = raw["options"]
        if not isinstance(options, dict) or len(options) < 2:
            raise QuizError(f"{where}.options: must map letters to at least two answers")
        if raw["answer"] not in options:
            raise QuizError(f"{where}.answer: must be one of the options' letters")
        if raw["id"] in seen:
            raise QuizError(f"{where}.id: {raw['id']!r} is used twice")
        seen.add(raw["id"])
        questions.append(Question(
            id=str(raw["id"]), number=i + 1, stem=str(raw["stem"]),
            options=tuple((str(k), str(v)) for k, v in options.items()),
            answer=str(raw["answer"]), explanation=str(raw["explanation"]),
            template=str(raw["template"]), variant=str(raw.get("variant") or ""),
        ))
    return tuple(questions)

