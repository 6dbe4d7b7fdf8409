"""The API: POST /api/runs runs a saved design, the OpenAPI document types its responses, and the
design document's reference is served by the site."""

from __future__ import annotations

import json

import pytest

from playground.designs.models import Design
from playground.runs import stream
from playground.runs.models import Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def post(client, body):
    return client.post("/api/runs", json.dumps(body), content_type="application/json")


def test_post_runs_with_a_design_runs_the_saved_design(client):
    design = Design(title="Saved", document_json=json.dumps(web_fleet(rps=50)))
    design.save()
    response = post(client, {"design": design.slug, "seed": 11})
    assert response.status_code == 201, response.content
    body = response.json()
    run = Run.objects.get(slug=body["id"])
    assert run.design == design and run.seed == 11 and run.document["nodes"][0]["params"]["rps"] == 50
    assert set(body) == {"id", "url", "ws", "status", "control_token"}
    assert client.get(f"/api/runs/{run.slug}").json()["document"]["title"] == "Web fleet"


def test_post_runs_refuses_an_unknown_design_or_two_sources(client):
    response = post(client, {"design": "nope"})
    assert response.status_code == 422
    assert response.json()["problems"] == [{"path": "design", "message": "no design has the id 'nope'"}]
    design = Design.objects.create(document_json=json.dumps(web_fleet()))
    response = post(client, {"design": design.slug, "document": web_fleet()})
    assert response.status_code == 422 and response.json()["problems"][0]["path"] == "document"


def test_openapi_types_the_responses_of_runs_designs_and_sweeps(client):
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]

    def response_schema(path, method, status):
        content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        return components[content["$ref"].rsplit("/", 1)[1]]

    run = response_schema("/api/runs/{slug}", "get", "200")
    assert {"id", "status", "seed", "summary", "applied_events", "document"} <= set(run["properties"])
    started = response_schema("/api/runs", "post", "201")
    assert "control_token" in started["properties"]
    design = response_schema("/api/designs/{slug}", "get", "200")
    assert {"id", "version", "document", "problems"} <= set(design["properties"])
    sweep = response_schema("/api/sweeps/{slug}", "get", "200")
    assert {"progress", "result", "axes", "target"} <= set(sweep["properties"])
    assert response_schema("/api/runs/{slug}", "get", "404")["properties"]["error"]["type"] == "string"
    assert "/reference/schema/" in schema["info"]["description"]
    assert "SCHEMA.md" not in json.dumps(schema)


def test_the_schema_reference_page_renders_and_the_parameter_table_links_it(client):
    response = client.get("/reference/schema/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1>The design document, version 1</h1>' in html
    assert 'id="output"' in html and 'href="#scenario"' in html
    assert "<table>" in html  # Markdown tables rendered
    assert 'href="/reference/schema/"' in client.get("/reference/").content.decode()
