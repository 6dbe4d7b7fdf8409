"""Problems in words: the node by its label (or id) and the fix; the path stays for scripts."""

from __future__ import annotations

import json

import pytest

from playground.designs import documents

DOC = {
    "schema_version": 1,
    "nodes": [
        {"id": "users", "kind": "client", "params": {"rps": "lots"}},
        {"id": "lb", "kind": "load_balancer", "params": {}},
        {"id": "api", "kind": "service", "label": "API", "params": {"workers": "4x", "instances": 0, "bogus": 1}},
    ],
    "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}, {"from": "api", "to": "nope"}],
    "scenario": {"duration_s": 60, "events": [{"at_s": 5, "action": "kill_instance", "node": "zz"}]},
}


def words():
    return {p["path"]: p for p in documents.describe(DOC, documents.check(DOC))}


def test_a_parameter_problem_names_the_node_by_its_label_and_says_the_fix():
    problems = words()
    workers = problems["nodes[2].params.workers"]
    assert workers["message"] == ('API (service): workers must be a whole number of at least 1 and at most 10000, '
                                  'not "4x"')
    assert workers["detail"] == "must be an integer, not a string" and workers["node"] == "api"
    assert problems["nodes[2].params.instances"]["message"].startswith(
        "API (service): instances must be a whole number of at least 1")
    assert problems["nodes[2].params.bogus"]["message"].startswith("API (service): bogus is not a parameter of a service")
    assert problems["nodes[0].params.rps"]["message"].startswith("users (client): rps must be a number")  # no label: id


def test_edges_and_events_are_named_by_what_they_join_and_do():
    problems = words()
    assert problems["edges[2].to"]["message"] == "the call api -> nope: to unknown node 'nope'"
    assert problems["scenario.events[0].node"]["message"].startswith("scenario event 1 (kill_instance): node")


@pytest.mark.django_db
def test_the_editor_validate_endpoint_and_the_api_give_the_words(client, django_user_model):
    response = client.post("/editor/validate", json.dumps({"document": DOC}), content_type="application/json")
    if response.status_code == 200:
        listed = {p["path"]: p["message"] for p in response.json()["problems"]}
        assert listed["nodes[2].params.workers"].startswith("API (service): workers must be a whole number")
    from playground.designs.models import Design

    design = Design.objects.create(document_json=json.dumps(DOC))
    body = client.get(f"/api/designs/{design.slug}").json()
    workers = next(p for p in body["problems"] if p["path"] == "nodes[2].params.workers")
    assert workers["message"] == "must be an integer, not a string"  # for scripts, as before
    assert workers["text"].startswith("API (service): workers must be a whole number")
