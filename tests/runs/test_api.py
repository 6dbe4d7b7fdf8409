"""The runs API without a worker: validation, shapes, permissions and limits."""

from __future__ import annotations

import json

import pytest

from playground.designs.models import Template
from playground.runs.models import Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


def post(client, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/runs", data=data, content_type="application/json", **headers)


def test_starting_a_run_answers_201_with_its_links_and_a_control_token(client):
    response = post(client, {"document": web_fleet()})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "ws", "status", "control_token"}
    assert body["url"] == f"/r/{body['id']}/"
    assert body["ws"] == f"/ws/runs/{body['id']}/"
    assert body["status"] == "queued"
    assert len(body["id"]) >= 22
    run = Run.objects.get(slug=body["id"])
    assert run.seed == 5  # the document's seed when the request gives none
    assert run.document["nodes"][2]["params"]["queue"] == 64  # frozen with defaults filled


def test_the_requests_seed_wins_over_the_documents(client):
    body = post(client, {"document": web_fleet(), "seed": 99}).json()
    assert client.get(f"/api/runs/{body['id']}").json()["seed"] == 99


def test_get_run_answers_status_document_and_null_summary(client):
    run_id = post(client, {"document": web_fleet()}).json()["id"]
    body = client.get(f"/api/runs/{run_id}").json()
    assert {"id", "url", "ws", "status", "reason", "seed", "document", "summary"} <= set(body)
    assert body["summary"] is None
    assert client.get(f"/api/runs/{run_id}/frames").json() == {"frames": []}


def test_an_invalid_document_gets_422_with_every_problem_and_its_path(client):
    doc = web_fleet()
    doc["nodes"][2]["params"]["workers"] = 0
    doc["edges"].append({"from": "api", "to": "nowhere"})
    response = post(client, {"document": doc})
    assert response.status_code == 422
    paths = {p["path"] for p in response.json()["problems"]}
    assert "nodes[2].params.workers" in paths
    assert any(p.startswith("edges[3]") for p in paths)
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("not json", "body"),
        ("[1, 2]", "body"),
        ('{"a":' + "[" * 5000 + "]" * 5000 + "}", None),
        ({"document": web_fleet(), "template": "x"}, "document"),
        ({}, "document"),
        ({"document": web_fleet(), "colour": "red"}, "colour"),
        ({"document": web_fleet(), "seed": -1}, "seed"),
        ({"document": web_fleet(), "seed": "7"}, "seed"),
        ({"document": web_fleet(), "mode": "turbo"}, "mode"),
        ({"document": web_fleet(), "mode": "live", "speed": 3}, "speed"),
        ({"template": "no-such-template"}, "template"),
    ],
)
def test_bad_start_requests_get_a_4xx_naming_the_problem(client, body, path):
    response = post(client, body)
    assert 400 <= response.status_code < 500, response.content
    problems = response.json()["problems"]
    assert problems
    if path is not None:
        assert path in {p["path"] for p in problems}


def test_a_template_run_applies_the_variant(client):
    Template.objects.create(
        slug="fleet", title="Fleet", summary="s", document_json=json.dumps(web_fleet()),
        variants={"big": {"nodes": {"api": {"params": {"instances": 6}}}}},
    )
    body = post(client, {"template": "fleet", "variant": "big"}).json()
    run = Run.objects.get(slug=body["id"])
    assert run.document["nodes"][2]["params"]["instances"] == 6
    assert run.template.slug == "fleet" and run.variant == "big"
    response = post(client, {"template": "fleet", "variant": "huge"})
    assert response.status_code == 422
    assert "has no variant 'huge'" in response.json()["problems"][0]["message"]


def test_cancel_needs_the_control_token(client):
    body = post(client, {"document": web_fleet()}).json()
    url = f"/api/runs/{body['id']}/cancel"
    assert client.post(url).status_code == 403
    assert client.post(url, HTTP_X_CONTROL_TOKEN="wrong").status_code == 403
    response = client.post(url, HTTP_X_CONTROL_TOKEN=body["control_token"])
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert client.post(url, HTTP_X_CONTROL_TOKEN=body["control_token"]).status_code == 409


def test_controls_go_to_live_runs_only_and_are_validated(client):
    batch = post(client, {"document": web_fleet()}).json()
    url = f"/api/runs/{batch['id']}/controls"
    control = {"kind": "traffic", "multiplier": 3, "ramp_s": 0}
    response = client.post(url, json.dumps(control), content_type="application/json",
                           HTTP_X_CONTROL_TOKEN=batch["control_token"])
    assert response.status_code == 409
    Run.objects.all().update(status="cancelled")
    live = post(client, {"document": web_fleet(), "mode": "live", "speed": 20}).json()
    url = f"/api/runs/{live['id']}/controls"
    bad = {"kind": "event", "action": "kill_instance", "node": "db"}
    response = client.post(url, json.dumps(bad), content_type="application/json",
                           HTTP_X_CONTROL_TOKEN=live["control_token"])
    assert response.status_code == 422
    response = client.post(url, json.dumps(control), content_type="application/json",
                           HTTP_X_CONTROL_TOKEN=live["control_token"])
    assert response.status_code == 202


def test_an_anonymous_client_may_have_three_active_runs(client, settings):
    for _ in range(settings.RUN_MAX_ACTIVE_ANONYMOUS):
        assert post(client, {"document": web_fleet()}).status_code == 201
    response = post(client, {"document": web_fleet()})
    assert response.status_code == 429
    assert response["Retry-After"]
    assert "queued or running already" in response.json()["error"]


def test_an_unknown_run_is_a_404(client):
    assert client.get("/api/runs/nosuchrunnosuchrun0000").status_code == 404
    assert client.get("/r/nosuchrunnosuchrun0000/").status_code == 404
