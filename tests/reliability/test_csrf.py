"""CSRF on every form and htmx request: each URL of the site that takes a POST refuses one without
the token (the JSON API alone is exempt: it never reads the session cookie)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from playground.runs import stream
from playground.runs.models import Run

pytestmark = pytest.mark.django_db


def site_paths() -> list[str]:
    """Every path of the site outside /api/, with each parameter filled in."""
    paths = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                paths.append(route)

    walk(get_resolver().url_patterns, "")
    out = []
    for route in paths:
        if route.startswith(("api/", "^", "admin/")) or "(?P" in route:
            continue
        route = re.sub(r"<int:\w+>", "1", route)  # a whole number where the converter wants one
        out.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", "x" * 22, route))
    return sorted(set(out))


def test_there_are_many_paths_to_check():
    paths = site_paths()
    assert "/runs/start/" in paths and "/d/create" in paths and "/account/" in paths
    assert len(paths) > 25


@pytest.mark.parametrize("path", site_paths())
@pytest.mark.parametrize("htmx", [False, True])
def test_a_post_without_the_csrf_token_is_refused(path, htmx, django_user_model):
    user = django_user_model.objects.create_user("csrf", password="pw-123456789")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")  # a session and a CSRF cookie, but no token in the request
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(path, {"title": "x"}, **headers)
    assert response.status_code == 403, f"{path} answered {response.status_code} to a POST without a CSRF token"
    assert b"CSRF" in response.content


def test_the_same_post_with_the_token_gets_through(django_user_model):
    """The control: the refusals above are the CSRF check's, not something else's."""
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/runs/start/", {"template": "no-such"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 404
    response = client.post("/d/create", '{"document": {"nodes": [], "edges": []}}',
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)
