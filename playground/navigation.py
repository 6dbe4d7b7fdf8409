"""The site's main links. A link appears once its page exists (its URL name resolves), so pages
added by later apps join the navigation without touching every template."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

#: (URL name, label), in the order shown.
MAIN_LINKS = (
    ("gallery", "Templates"),
    ("lesson", "Lesson: stateless services"),
    ("editor-new", "New design"),
    ("accuracy", "How accurate is it?"),
)


def available_links() -> list[dict[str, str]]:
    links = []
    for name, label in MAIN_LINKS:
        try:
            links.append({"url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return links


def nav_links(request) -> dict:
    """Template context processor: ``nav_links`` for the header."""
    return {"nav_links": available_links()}
