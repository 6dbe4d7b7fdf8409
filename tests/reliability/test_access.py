"""Cross-owner access is refused: another browser cannot change a design, cancel a run or send it
chaos; an API token reaches only its owner's designs and runs."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.accounts.models import ApiToken
from playground.designs.models import Design
from playground.runs import stream
from playground.runs.models import Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture
def cleanup():
    yield
    for slug in Run.objects.values_list("slug", flat=True):
        stream.delete_keys(slug)


def browser_design(client: Client) -> Design:
    response = client.post("/d/create", json.dumps({"document": web_fleet()}), content_type="application/json")
    assert response.status_code == 201
    return Design.objects.get(slug=response.json()["slug"])


def browser_run(client: Client, design: Design) -> Run:
    response = client.post("/runs/start/", {"design": design.slug, "mode": "live", "speed": "1"})
    assert response.status_code == 302, response.content
    return Run.objects.latest("created_at")


def test_another_browser_cannot_change_a_design_cancel_a_run_or_send_it_chaos(cleanup):
    owner, other = Client(), Client()
    design = browser_design(owner)
    run = browser_run(owner, design)
    save = {"document": dict(web_fleet(), title="Taken over"), "version": design.version}
    assert other.post(f"/d/{design.slug}/save", json.dumps(save), content_type="application/json").status_code == 403
    assert other.post(f"/d/{design.slug}/delete").status_code == 403
    assert other.post(f"/r/{run.slug}/cancel/").status_code == 403
    chaos = other.post(f"/r/{run.slug}/control/", {"kind": "event", "action": "kill_instance", "node": "api"})
    assert chaos.status_code == 403
    assert "owner" in chaos.json()["error"]
    design.refresh_from_db()
    run.refresh_from_db()
    assert design.title == "Web fleet" and design.version == 1
    assert run.status == "queued"
    assert stream.pending_controls(run.slug) == 0
    # The owner can do all three.
    assert owner.post(f"/r/{run.slug}/control/", {"kind": "traffic", "multiplier": "2", "ramp_s": "0"}).status_code == 202
    assert owner.post(f"/r/{run.slug}/cancel/").status_code == 302
    assert owner.post(f"/d/{design.slug}/save", json.dumps(save), content_type="application/json").status_code == 200


def test_an_api_token_reaches_only_its_owners_designs_and_runs(client, cleanup):
    ann, bob = (User.objects.create_user(n, password="pw-123456789") for n in ("ann", "bob"))
    ann_token, bob_token = ApiToken.issue(ann, "a")[1], ApiToken.issue(bob, "b")[1]
    ann_auth, bob_auth = ({"HTTP_AUTHORIZATION": f"Bearer {t}"} for t in (ann_token, bob_token))
    created = client.post("/api/designs", json.dumps({"document": web_fleet()}), content_type="application/json",
                          **ann_auth)
    slug = created.json()["id"]
    browser_owned = browser_design(Client())
    assert [d["id"] for d in client.get("/api/designs", **bob_auth).json()["designs"]] == []
    assert [d["id"] for d in client.get("/api/designs", **ann_auth).json()["designs"]] == [slug]
    body = json.dumps({"document": dict(web_fleet(), title="bob's now")})
    for target in (slug, browser_owned.slug):
        assert client.put(f"/api/designs/{target}", body, content_type="application/json", **bob_auth).status_code == 403
        assert client.delete(f"/api/designs/{target}", **bob_auth).status_code == 403
    assert client.get(f"/api/designs/{slug}", **bob_auth).json()["yours"] is False
    # Runs: ann's token may cancel ann's run; bob's token, and no token, may not.
    started = client.post("/api/runs", json.dumps({"document": web_fleet()}), content_type="application/json",
                          **ann_auth).json()
    assert client.post(f"/api/runs/{started['id']}/cancel", **bob_auth).status_code == 403
    assert client.post(f"/api/runs/{started['id']}/cancel").status_code == 403
    assert client.post(f"/api/runs/{started['id']}/cancel", **ann_auth).status_code == 200
    assert Design.objects.get(slug=slug).title == "Web fleet"


def test_a_run_made_by_a_cookieless_client_is_steered_only_with_its_control_token(client, cleanup):
    started = client.post("/api/runs", json.dumps({"document": web_fleet(), "mode": "live"}),
                          content_type="application/json").json()
    control = json.dumps({"kind": "traffic", "multiplier": 2, "ramp_s": 0})
    url = f"/api/runs/{started['id']}/controls"
    assert client.post(url, control, content_type="application/json").status_code == 403
    assert client.post(url, control, content_type="application/json", HTTP_X_CONTROL_TOKEN="guess").status_code == 403
    assert client.post(url, control, content_type="application/json",
                       HTTP_X_CONTROL_TOKEN=started["control_token"]).status_code == 202
