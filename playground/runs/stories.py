"""A finished run's story (``story.what_happened``), read from its frames once and kept in the
cache: a done run never changes, so its story is computed at most once per story version."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from playground.runs import service, story
from playground.runs.models import Run

#: Bump when ``story`` words things differently, so cached stories are told again.
STORY_VERSION = 1
_TTL_S = 24 * 3600


def what_happened_for(run: Run) -> list[dict[str, Any]] | None:
    """``[{"t", "text"}]`` for a done run; None while it is not done (or ended without a summary)."""
    if run.status != Run.Status.DONE or not run.summary_json:
        return None
    key = f"run-story:{STORY_VERSION}:{run.slug}:{run.engine_version}"
    try:
        cached = cache.get(key)
    except Exception:  # The cache is only a shortcut: without Redis, tell it again.
        cached = None
    if cached is not None:
        return cached
    frames = service.frames_after(run, 0, max(run.frames_total, 1))
    told = story.what_happened(run.document, run.summary, frames)
    try:
        cache.set(key, told, _TTL_S)
    except Exception:
        pass
    return told
