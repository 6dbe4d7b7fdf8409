"""Run pages for a browser: start, cancel and steer only as the owner, fork, lists, compare."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from playground.designs.models import Design, Template
from playground.runs import compare, stream
from playground.runs.models import Run
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    return Template.objects.create(
        slug="fleet", title="Fleet", summary="A fleet", document_json=json.dumps(web_fleet()),
        variants={"big": {"nodes": {"api": {"params": {"instances": 6}}}}},
    )


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def test_starting_a_template_variant_from_the_page_redirects_to_the_run(client, template):
    response = client.post("/runs/start/", {"template": "fleet", "variant": "big", "mode": "live", "speed": "5",
                                            "seed": "42"})
    assert response.status_code == 302
    run = Run.objects.get()
    assert response["Location"] == f"/r/{run.slug}/"
    assert (run.mode, run.speed, run.seed, run.variant) == ("live", 5, 42, "big")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Kill an instance of api" in page.content  # the owner sees the chaos buttons


def test_the_run_button_draws_a_fresh_seed_unless_one_is_pinned(client, template):
    client.post("/runs/start/", {"template": "fleet"})
    client.post("/runs/start/", {"template": "fleet"})
    seeds = list(Run.objects.values_list("seed", flat=True))
    assert len(set(seeds)) == 2


def test_run_again_offers_the_same_seed_or_a_new_one(client, template):
    client.post("/runs/start/", {"template": "fleet", "seed": "7"})
    first = Run.objects.get()
    client.post("/runs/start/", {"run": first.slug, "seed": "7", "same_seed": "1"})
    client.post("/runs/start/", {"run": first.slug, "seed": "7", "new_seed": "1"})
    again, fresh = Run.objects.exclude(pk=first.pk).order_by("created_at")
    assert again.seed == 7 and again.document == first.document
    assert fresh.seed != 7 or fresh.pk != again.pk
    assert fresh.template == first.template


def test_an_invalid_design_cannot_start_and_says_why(client):
    doc = web_fleet()
    doc["nodes"][2]["params"]["workers"] = 0
    design = Design.objects.create(document_json=json.dumps(doc))
    response = client.post("/runs/start/", {"design": design.slug})
    assert response.status_code == 400
    assert b"nodes[2].params.workers" in response.content
    assert not Run.objects.exists()


def test_only_the_owner_cancels_or_steers(client, template):
    client.post("/runs/start/", {"template": "fleet", "mode": "live", "speed": "1"})
    run = Run.objects.get()
    stranger = Client()
    assert stranger.post(f"/r/{run.slug}/cancel/").status_code == 403
    control = json.dumps({"kind": "traffic", "multiplier": 3, "ramp_s": 0})
    assert stranger.post(f"/r/{run.slug}/control/", control, content_type="application/json").status_code == 403
    page = stranger.get(f"/r/{run.slug}/")
    assert page.status_code == 200 and b"Kill an instance" not in page.content
    assert client.post(f"/r/{run.slug}/control/", control, content_type="application/json").status_code == 202
    bad = json.dumps({"kind": "event", "action": "explode", "node": "api"})
    response = client.post(f"/r/{run.slug}/control/", bad, content_type="application/json")
    assert response.status_code == 400 and response.json()["problems"]
    assert client.post(f"/r/{run.slug}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_anyone_can_fork_a_run_into_a_design_of_their_own(client, template):
    client.post("/runs/start/", {"template": "fleet"})
    run = Run.objects.get()
    stranger = Client()
    stranger.get("/")
    response = stranger.post(f"/r/{run.slug}/fork/")
    assert response.status_code == 302
    design = Design.objects.get()
    assert design.document == run.document
    assert design.owner_token and design.owner_token == stranger.session["playground_owner_token"]


def test_my_runs_lists_this_browsers_runs_only(client, template):
    client.post("/runs/start/", {"template": "fleet"})
    Client().post("/runs/start/", {"template": "fleet"})
    mine = client.get("/runs/")
    assert mine.content.count(b'name="a"') == 1


def test_compare_spells_out_the_differences():
    a = {"requests": 1000, "errors": {"overload": 50}, "throughput_rps": 95.0,
         "latency_ms": {"p50": 20.0, "p95": 200.0, "p99": 400.0},
         "users": {"logins": 10, "logged_out": 40}, "charges": {"total": 0, "duplicate": 0},
         "uploads": {"started": 0, "failed": 0}, "cost": {"per_hour": 0.4, "total": 0.1}}
    b = {**a, "errors": {"overload": 0}, "throughput_rps": 100.0, "latency_ms": {"p50": 21.0, "p95": 60.0, "p99": 230.0},
         "users": {"logins": 10, "logged_out": 0}, "cost": {"per_hour": 0.5, "total": 0.12}}
    text = compare.sentence(compare.deltas(a, b))
    assert text == "p50 +1.0 ms, p95 -140 ms, p99 -170 ms, throughput +5%, errors 5.0% → 0%, logouts -100%, cost +$73/month"
    assert compare.sentence(compare.deltas(a, a)) == "no difference in the summary"


def test_compare_page_accepts_links_or_ids_and_names_a_bad_one(client, template):
    client.post("/runs/start/", {"template": "fleet"})
    run = Run.objects.get()
    page = client.get("/compare/", {"a": f"http://example.com/r/{run.slug}/", "b": "nope"})
    assert b"B: no run at that link" in page.content
