"""``{% link_preview %}``: the Open Graph and Twitter-card tags of a page, for ``{% block meta %}``
in base.html, with absolute URLs to the page and its preview image (``picture_views``)."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("runs/_link_preview.html", takes_context=True)
def link_preview(context: dict, title: str, description: str, image: str, slug: str, kind: str = "website") -> dict:
    """``image`` is the URL name of the preview picture, ``slug`` its argument."""
    request = context["request"]
    return {
        "title": title or "System Design Playground",
        "description": (description or "")[:300],
        "image": request.build_absolute_uri(reverse(image, args=[slug])),
        "url": request.build_absolute_uri(request.path),
        "type": kind,
    }


@register.filter
def preview_text(obj: object) -> str:
    """A run's headline numbers, or a sweep's answer, in a line for the preview's description."""
    from playground.runs import picture_views
    from playground.runs.models import Run, Sweep

    if isinstance(obj, Run):
        return picture_views.run_description(obj)
    if isinstance(obj, Sweep):
        return "; ".join(picture_views.sweep_lines(obj))
    return ""
