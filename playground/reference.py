"""The design document's reference (``docs/schema.md``), served at ``/reference/schema/``.

The file is the contract the library, the editor, the API and the engine speak; the page renders
it with the site's Markdown (``markup.py``: CommonMark, raw HTML off) and gives each heading an
anchor (``#output``, ``#scenario``) that the API's schema and ``/reference/`` link to.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from playground.markup import markdown

SCHEMA_FILE = settings.BASE_DIR / "docs" / "schema.md"
_HEADING = re.compile(r"<h([23])>(.*?)</h\1>")
_TAG = re.compile(r"<[^>]+>")


@cache
def schema_html() -> tuple[SafeString, tuple[tuple[str, str], ...]]:
    """The rendered reference and its table of contents ((anchor, heading text) for each h2)."""
    html = str(markdown(SCHEMA_FILE.read_text(encoding="utf-8")))
    toc: list[tuple[str, str]] = []
    seen: set[str] = set()

    def anchor(match: re.Match) -> str:
        level, inner = match.group(1), match.group(2)
        text = _TAG.sub("", inner)
        slug = base = slugify(text.split(":")[0] if level == "2" else text) or "section"
        n = 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        if level == "2":
            toc.append((slug, text))
        return f'<h{level} id="{slug}">{inner}</h{level}>'

    return mark_safe(_HEADING.sub(anchor, html)), tuple(toc)


@require_GET
def schema_reference(request: HttpRequest) -> HttpResponse:
    html, toc = schema_html()
    return render(request, "reference_schema.html", {"html": html, "toc": toc})
