"""The site's main links. A link appears once its page exists (its URL name resolves), so pages
added by later apps join the navigation without touching every template."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

#: (URL name, label), in the order shown.
MAIN_LINKS = (
    ("gallery", "Templates"),
    ("lessons", "Lessons"),
    ("editor-new", "New design"),
    ("my-runs", "My runs"),
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
    """Template context processor: ``nav_links`` for the header, the current page's marked
    (``current``: the request's path is the link's or under it)."""
    path = getattr(request, "path", "") or ""
    links = available_links()
    for link in links:
        link["current"] = path == link["url"] or (link["url"] != "/" and path.startswith(link["url"]))
    return {"nav_links": links}
