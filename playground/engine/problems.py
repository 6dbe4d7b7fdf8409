"""Problems found in a design document, and the one error that carries them.

Terms
-----
path
    Where in the document a problem sits, written the way a person reads it:
    ``nodes[2].params.workers``, ``scenario.traffic[0].at_s``, ``layout.api.x``. A key that is not
    a plain identifier is quoted (``layout["my node"]``). The empty path means the document as a
    whole and prints as ``(document)``.
Problem
    One thing wrong: a path and a reason (``must be >= 1``). ``str(problem)`` is ``"path: reason"``.
DocumentError
    Raised by parsing, upgrading and loading with every problem found, never just the first. It is
    the only exception those functions let escape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Longer keys are cut in paths: a path names a place, it need not repeat a hostile key.
MAX_KEY_SHOWN = 80
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class DocumentError(ValueError):
    """A document that cannot be parsed, upgraded or loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid document")


def join(path: str, key: str | int) -> str:
    """The path of ``key`` (an object key or a list index) inside ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key) and len(key) <= MAX_KEY_SHOWN:
        return f"{path}.{key}" if path else key
    # ensure_ascii keeps control characters and odd code points out of terminal output.
    shown = json.dumps(key[:MAX_KEY_SHOWN]) if len(key) <= MAX_KEY_SHOWN else \
        json.dumps(key[:MAX_KEY_SHOWN])[:-1] + '..."'
    return f"{path}[{shown}]"
