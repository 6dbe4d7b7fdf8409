"""The designs API: personal tokens only (never the session cookie), owners only for changes, and
every bad input a 4xx that names the problem."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from playground import jsontext
from playground.accounts.models import ApiToken
from playground.designs.models import Design

pytestmark = pytest.mark.django_db

DOC = {
    "title": "Two nodes",
    "nodes": [{"id": "users", "kind": "client"}, {"id": "api", "kind": "service"}],
    "edges": [{"from": "users", "to": "api"}],
}


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="correct horse battery")


@pytest.fixture
def token(alice):
    return ApiToken.issue(alice, "ci")[1]


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, body, token=None, path="/api/designs"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **(auth(token) if token else {}))


def test_creating_a_design_with_a_token_makes_it_the_tokens_users(client, token, alice):
    response = post(client, {"document": DOC}, token)
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Two nodes" and body["version"] == 1 and body["problems"] == []
    assert body["url"].endswith(f"/d/{body['id']}/")
    assert Design.objects.get(slug=body["id"]).owner == alice


def test_the_api_refuses_a_session_cookie_without_a_token(client, alice):
    client.force_login(alice)
    assert post(client, {"document": DOC}).status_code == 401
    assert client.get("/api/designs").status_code == 401


def test_a_wrong_token_is_a_401_even_where_anonymous_clients_may_read(client, token):
    slug = post(client, {"document": DOC}, token).json()["id"]
    assert client.get(f"/api/designs/{slug}").status_code == 200
    response = client.get(f"/api/designs/{slug}", **auth("sdp_wrong"))
    assert response.status_code == 401
    assert "token" in response.json()["error"]


def test_only_a_hash_of_a_token_is_stored(token):
    row = ApiToken.objects.get()
    assert token not in (row.digest, row.prefix) and token.startswith("sdp_" + row.prefix)


def test_an_invalid_document_is_a_422_naming_each_problem_unless_it_is_a_draft(client, token):
    bad = dict(DOC, nodes=[{"id": "users", "kind": "client"}, {"id": "api", "kind": "service", "params": {"workers": 0}}])
    response = post(client, {"document": bad}, token)
    assert response.status_code == 422
    assert {"path": "document.nodes[1].params.workers", "message": "must be >= 1"} in response.json()["problems"]
    draft = post(client, {"document": bad, "draft": True}, token)
    assert draft.status_code == 201
    assert [{k: p[k] for k in ("path", "message")} for p in draft.json()["problems"]] == [
        {"path": "nodes[1].params.workers", "message": "must be >= 1"}]
    assert draft.json()["problems"][0]["text"].startswith("api (service): workers must be a whole number of at least 1")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("{not json", "body"),
        ('{"document": {"nodes": [], "x": NaN}}', "body"),
        ("[" * 5000 + "]" * 5000, "body"),
        ("[1, 2]", "body"),
        ({"title": "no document"}, "document"),
        ({"document": {"nodes": "many"}}, "document.nodes"),
        ({"document": DOC, "title": 7}, "title"),
    ],
)
def test_bad_bodies_are_4xx_naming_the_problem(client, token, body, path):
    response = post(client, body, token)
    assert 400 <= response.status_code < 500
    assert any(p["path"].startswith(path) for p in response.json()["problems"]), response.json()


def test_get_put_delete_round_trip_with_optimistic_versions(client, token):
    slug = post(client, {"document": DOC}, token).json()["id"]
    changed = dict(DOC, title="Renamed")
    put = client.put(f"/api/designs/{slug}", json.dumps({"document": changed, "version": 1}),
                     content_type="application/json", **auth(token))
    assert put.status_code == 200 and put.json()["version"] == 2 and put.json()["title"] == "Renamed"
    stale = client.put(f"/api/designs/{slug}", json.dumps({"document": DOC, "version": 1}),
                       content_type="application/json", **auth(token))
    assert stale.status_code == 409 and stale.json()["version"] == 2
    got = client.get(f"/api/designs/{slug}", **auth(token)).json()
    assert got["document"]["title"] == "Renamed" and got["yours"] is True
    listed = client.get("/api/designs", **auth(token)).json()
    assert listed["count"] == 1 and listed["designs"][0]["id"] == slug
    assert client.delete(f"/api/designs/{slug}", **auth(token)).status_code == 204
    gone = client.get(f"/api/designs/{slug}")
    assert gone.status_code == 404 and slug in gone.json()["error"]


def test_someone_elses_design_can_be_read_but_not_changed(client, token):
    bob = User.objects.create_user("bob", password="another horse battery")
    theirs = Design.objects.create(owner=bob, document_json=jsontext.dumps(DOC), title="Bob's")
    assert client.get(f"/api/designs/{theirs.slug}", **auth(token)).json()["yours"] is False
    put = client.put(f"/api/designs/{theirs.slug}", json.dumps({"document": DOC}), content_type="application/json",
                     **auth(token))
    assert put.status_code == 403
    assert client.delete(f"/api/designs/{theirs.slug}", **auth(token)).status_code == 403
    assert client.get("/api/designs", **auth(token)).json()["count"] == 0


def test_the_designs_api_is_in_the_one_openapi_schema(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/designs", "/api/designs/{slug}"} <= set(paths)
    assert "get" in paths["/api/designs/{slug}"] and "delete" in paths["/api/designs/{slug}"]


def test_the_api_needs_no_csrf_token_because_it_never_reads_cookies(token):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, {"document": DOC}, token).status_code == 201


def test_the_editors_own_endpoints_refuse_a_request_without_the_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/d/create", json.dumps({"document": DOC}), content_type="application/json")
    assert response.status_code == 403
    assert Design.objects.count() == 0
