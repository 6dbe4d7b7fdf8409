"""POST /api/validate and the editor's validate: problems, hints and the estimate."""

from __future__ import annotations

import json

import pytest

from tests.runs.designs import web_fleet


def post(client, url, body, **extra):
    return client.post(url, data=json.dumps(body) if not isinstance(body, (bytes, str)) else body,
                       content_type="application/json", **extra)


def overloaded():
    document = web_fleet(rps=3000, instances=2)  # api: 2 x 8 workers
    return document


@pytest.mark.django_db
def test_the_api_answers_problems_hints_and_the_estimate(client):
    body = post(client, "/api/validate", {"document": overloaded()}).json()
    assert body["problems"] == []
    api = [h for h in body["hints"] if h["node"] == "api"]
    # 3000/s x (10 ms of work + 0.5 x 4 ms waiting on db) / 16 workers
    assert api and api[0]["text"].startswith("api: about 225% of its capacity")
    assert body["estimate"]["requests"] == 3000 * 20


@pytest.mark.django_db
def test_a_document_with_problems_is_still_answered_with_them(client):
    document = web_fleet()
    document["nodes"][2]["params"]["workers"] = 0
    body = post(client, "/api/validate", {"document": document}).json()
    assert [p["path"] for p in body["problems"]] == ["nodes[2].params.workers"]
    assert body["problems"][0]["node"] == "api" and body["hints"] == []
    problem = body["problems"][0]
    assert "api" in problem["message"] and problem["detail"]  # the editor's words, and the engine's own


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "status", "path"), [
    ("not json", 400, "body"), ([1], 400, "body"), ({}, 422, "document"),
    ({"document": 3}, 422, "document"), ({"document": {}, "extra": 1}, 422, "extra")])
def test_bad_input_is_a_4xx_naming_the_problem(client, body, status, path):
    response = post(client, "/api/validate", body)
    assert response.status_code == status
    assert any(p["path"].startswith(path) for p in response.json()["problems"])


@pytest.mark.django_db
def test_the_route_is_in_the_openapi_document(client):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/validate"]["post"]
    assert "200" in operation["responses"] and "400" in operation["responses"]


@pytest.mark.django_db
def test_the_editor_validate_endpoint_returns_hints_too(client):
    body = post(client, "/editor/validate", {"document": overloaded()}).json()
    assert body["problems"] == [] and any(h["node"] == "api" and "expect overload" in h["text"] for h in body["hints"])
