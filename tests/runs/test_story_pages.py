"""A done run's story and honest summary, through the API, the run page and its partials."""

from __future__ import annotations

import pytest

from playground.runs import service, stream
from playground.runs.models import Run
from playground.runs.runner import Runner
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cleanup_keys():
    yield
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def finished(document) -> Run:
    run, _ = service.create_run(document, owner=service.Owner(key="addr:t", address="t"), seed=3)
    assert Runner(run.pk).execute() == "done"
    run.refresh_from_db()
    return run


def overloaded():
    document = web_fleet(rps=3000, instances=2, duration_s=10)
    document["scenario"]["events"] = [{"at_s": 5, "action": "kill_instance", "node": "api"}]
    return document


def test_the_api_tells_a_done_run_what_happened(client):
    run = finished(overloaded())
    body = client.get(f"/api/runs/{run.slug}").json()
    told = body["what_happened"]
    assert told and all(set(item) == {"t", "text"} for item in told)
    assert any(item["text"].startswith("api saturated first") for item in told)
    assert any(item["text"].startswith("At 5 s an instance of api was killed") for item in told)
    assert [item["t"] for item in told] == sorted(item["t"] for item in told)


def test_a_queued_run_has_no_story_yet(client):
    run, _ = service.create_run(web_fleet(), owner=service.Owner(key="addr:t", address="t"), seed=3)
    assert client.get(f"/api/runs/{run.slug}").json()["what_happened"] is None
    assert client.get(f"/r/{run.slug}/story/").status_code == 204
    assert client.get(f"/r/{run.slug}/summary/").status_code == 204
    page = client.get(f"/r/{run.slug}/").content.decode()
    assert 'id="what-happened"' in page and 'hx-trigger="run-done from:body"' in page


def test_the_run_page_shows_the_story_and_leads_the_summary_with_failures(client):
    run = finished(overloaded())
    summary = run.summary
    share = sum(summary["errors"].values()) / summary["requests"]
    page = client.get(f"/r/{run.slug}/").content.decode()
    assert page.index('id="what-happened"') < page.index('id="summary-panel"')
    assert 'class="moment" data-t="5.0"' in page
    assert f"{share * 100:.0f}% of requests failed</strong>" in page
    assert f"(successes only; {share * 100:.0f}% of requests failed)" in page
    assert page.count("successes only;") == 3  # beside p50, p95 and p99
    partial = client.get(f"/r/{run.slug}/story/").content.decode()
    assert partial.strip().startswith("<section") and "api saturated first" in partial and "hx-get" not in partial
    panel = client.get(f"/r/{run.slug}/summary/").content.decode()
    assert 'data-source="server"' in panel and "hidden" not in panel.strip().split(">")[0]
