"""Limits on starting runs: the per-minute rate held in Redis, and the engine's request bound."""

from __future__ import annotations

import json

import pytest

from playground.runs import service, stream
from playground.runs.models import Run
from playground.runs.runner import Runner
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture
def rate_limit(settings):
    settings.RUN_STARTS_PER_MINUTE = 2
    settings.RUN_MAX_ACTIVE_ANONYMOUS = 100
    yield
    r = stream.client()
    for key in r.scan_iter("ratelimit:runs:*"):
        r.delete(key)
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def start(client):
    return client.post("/api/runs", json.dumps({"document": web_fleet()}), content_type="application/json")


def test_starting_runs_is_rate_limited_per_minute_with_retry_after(client, rate_limit):
    assert start(client).status_code == 201
    assert start(client).status_code == 201
    refused = start(client)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "at most 2 runs may start per minute" in refused.json()["error"]


def test_refused_runs_do_not_count_against_the_rate(client, rate_limit):
    bad = web_fleet()
    bad["nodes"][0]["params"]["rps"] = -1
    for _ in range(3):
        assert client.post("/api/runs", json.dumps({"document": bad}), content_type="application/json").status_code == 422
    assert start(client).status_code == 201


def test_a_run_too_big_for_the_site_is_refused_naming_the_bound(client):
    big = web_fleet(rps=200_000, duration_s=3600)
    response = client.post("/api/runs", json.dumps({"document": big}), content_type="application/json")
    assert response.status_code == 422
    assert any(p["path"] == "scenario.duration_s" and "the limit is 10,000,000" in p["message"]
               for p in response.json()["problems"])


def test_a_worker_with_another_engine_version_fails_the_run_with_a_reason():
    run, _ = service.create_run(web_fleet(), owner=service.Owner(key="addr:x", address="x"))
    Run.objects.filter(pk=run.pk).update(engine_version="0.0-old")
    assert Runner(run.pk).execute() == "failed"
    run.refresh_from_db()
    assert run.status == "failed"
    assert "needs engine 0.0-old" in run.reason
