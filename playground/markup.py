"""Markdown for the library's stories and the lessons, rendered safely.

markdown-it-py's ``js-default`` preset follows CommonMark with raw HTML turned off (a ``<script>``
in the source comes out as text) and refuses ``javascript:`` and similar link targets, so the
output can go into a page as it is.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_MD = MarkdownIt("js-default", {"typographer": True}).enable(["replacements", "smartquotes", "table"])


def markdown(text: str) -> SafeString:
    """Block Markdown (paragraphs, lists, tables) to HTML."""
    return mark_safe(_MD.render(text or ""))


def markdown_inline(text: str) -> SafeString:
    """One line of Markdown (emphasis, code, links) to HTML, without a paragraph around it."""
    return mark_safe(_MD.renderInline(text or ""))
