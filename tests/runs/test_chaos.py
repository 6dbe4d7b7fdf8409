"""Chaos you can keep: Run again and Fork carry a live run's recorded controls as scenario events,
and a template's promises say when the user's own controls changed the outcome."""

from __future__ import annotations

import copy
import json

import pytest

from playground.designs.models import Design, Template
from playground.runs import chaos, checks, stream
from playground.runs.models import Run
from playground.runs.runner import Runner

pytestmark = pytest.mark.django_db

SESSIONS = {
    "schema_version": 1,
    "title": "Sessions in memory",
    "nodes": [
        {"id": "users", "kind": "client", "params": {"rps": 200, "users": 2000, "workflow": "session"}},
        {"id": "lb", "kind": "load_balancer", "params": {"algorithm": "sticky"}},
        {"id": "api", "kind": "service", "label": "API", "params": {"instances": 3, "state": "local", "startup_s": 5}},
    ],
    "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}],
    "scenario": {"duration_s": 40, "tick_s": 1, "seed": 5},
}
#: What a live run records: a kill at tick 13 (t = 12 s), traffic x3 at tick 21 (t = 20 s).
CONTROLS = [
    {"seq": 13, "t": 12.0, "control": {"kind": "event", "action": "kill_instance", "node": "api"}},
    {"seq": 21, "t": 20.0, "control": {"kind": "traffic", "multiplier": 3, "ramp_s": 0}},
]


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


@pytest.fixture
def template():
    return Template.objects.create(
        slug="sessions", title="Sessions", summary="Sessions in memory", document_json=json.dumps(SESSIONS),
        expectations=[{"run": "base", "metric": "summary.users.logged_out", "op": "==", "value": 0,
                       "says": "nobody is logged out"}],
    )


def live_run_with_controls(client, template) -> Run:
    """A finished live run of the template that received CONTROLS (replayed at their ticks)."""
    client.post("/runs/start/", {"template": template.slug, "mode": "live", "speed": "20", "seed": "5"})
    run = Run.objects.get()
    Run.objects.filter(pk=run.pk).update(applied_events=CONTROLS)
    assert Runner(run.pk).execute() == "done"
    run.refresh_from_db()
    return run


def test_controls_become_scenario_events_and_traffic_steps():
    doc = copy.deepcopy(SESSIONS)
    doc["scenario"]["events"] = [{"at_s": 12, "action": "outage", "node": "api", "duration_s": 5}]
    out = chaos.with_controls(doc, CONTROLS)
    assert out["scenario"]["events"] == [
        {"at_s": 12, "action": "kill_instance", "node": "api"},  # before the scenario's own event at 12 s
        {"at_s": 12, "action": "outage", "node": "api", "duration_s": 5},
    ]
    assert out["scenario"]["traffic"] == [{"at_s": 20, "multiplier": 3, "ramp_s": 0}]
    assert doc["scenario"]["events"][0]["action"] == "outage" and len(doc["scenario"]["events"]) == 1  # a copy
    assert chaos.controls_text(CONTROLS, doc) == "kill_instance of API at 12 s, traffic x3 at 20 s"


def test_run_again_with_the_same_seed_reproduces_the_live_chaos(client, template):
    original = live_run_with_controls(client, template)
    assert original.summary["users"]["logged_out"] > 0
    client.post("/runs/start/", {"run": original.slug, "mode": "batch", "seed": str(original.seed),
                                 "same_seed": "1"})
    again = Run.objects.exclude(pk=original.pk).get()
    assert again.applied_events == []
    assert again.document["scenario"]["events"] == [{"at_s": 12, "action": "kill_instance", "node": "api",
                                                      "count": 1}]
    assert again.document["scenario"]["traffic"] == [{"at_s": 20, "multiplier": 3, "ramp_s": 0}]
    assert Runner(again.pk).execute() == "done"
    again.refresh_from_db()
    for key in ("requests", "ok", "errors", "users"):
        assert again.summary[key] == original.summary[key], key


def test_fork_keeps_the_controls_in_the_new_design(client, template):
    original = live_run_with_controls(client, template)
    response = client.post(f"/r/{original.slug}/fork/")
    assert response.status_code == 302
    design = Design.objects.get()
    assert response["Location"] == f"/d/{design.slug}/"
    scenario = design.document["scenario"]
    assert [e["action"] for e in scenario["events"]] == ["kill_instance"]
    assert scenario["traffic"][0]["at_s"] == 20 and scenario["traffic"][0]["multiplier"] == 3


def test_a_promise_says_the_users_own_controls_changed_the_outcome(client, template):
    original = live_run_with_controls(client, template)
    [check] = checks.checks_for(original)
    assert check.state == "not met"
    assert "your live controls (kill_instance of API at 12 s, traffic x3 at 20 s) changed this run" in check.detail
    assert "the promise is about the template as designed" in check.detail
    assert "your live controls" in client.get(f"/r/{original.slug}/checks/").content.decode()
    # Run again carries the controls as scenario events: the promise still names them.
    client.post("/runs/start/", {"run": original.slug, "mode": "batch", "seed": "5"})
    again = Run.objects.exclude(pk=original.pk).get()
    Runner(again.pk).execute()
    again.refresh_from_db()
    [check] = checks.checks_for(again)
    assert check.state == "not met" and "kill_instance of API at 12 s" in check.detail


def test_a_promise_missed_without_user_controls_says_nothing_of_them(client, template):
    client.post("/runs/start/", {"template": template.slug, "seed": "5"})
    run = Run.objects.get()
    Runner(run.pk).execute()
    run.refresh_from_db()
    [check] = checks.checks_for(run)
    assert "your live controls" not in check.detail
