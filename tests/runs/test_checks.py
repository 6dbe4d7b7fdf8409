"""A template run shows the template's expectations as met or not."""

from __future__ import annotations

import json

import pytest

from playground.designs.models import Template
from playground.designs.patch import apply_variant
from playground.runs import checks, metrics, service, stream
from playground.runs.models import Run
from playground.runs.runner import Runner
from tests.runs.designs import web_fleet

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    template = Template.objects.create(
        slug="fleet", title="Fleet", summary="A fleet", document_json=json.dumps(web_fleet(rps=1200, instances=2)),
        variants={"big": {"nodes": {"api": {"params": {"instances": 6}}}}},
        expectations=[
            {"run": "base", "metric": "summary.errors.overload", "op": "==", "value": 0, "says": "nothing overloads"},
            {"run": "big", "metric": "summary.latency_ms.p99", "op": ">", "value": 10_000,
             "says": "a bigger fleet takes ten seconds (false on purpose)"},
            {"run": "big", "minus": "base", "metric": "summary.latency_ms.p99", "op": "<", "value": 0,
             "says": "more instances cut the tail"},
        ],
    )
    yield template
    for run in Run.objects.all():
        stream.delete_keys(run.slug)


def finished_run(template, variant: str, seed: int = 3) -> Run:
    document = apply_variant(template.document, template.variants[variant]) if variant else template.document
    run, _ = service.create_run(document, owner=service.Owner(key="addr:t", address="t"), seed=seed,
                                template=template, variant=variant)
    assert Runner(run.pk).execute() == "done"
    run.refresh_from_db()
    return run


def test_a_variant_run_checks_its_own_promises_and_waits_for_the_other_side(client, template):
    big = finished_run(template, "big")
    states = {c.says: c.state for c in checks.checks_for(big)}
    assert states == {"a bigger fleet takes ten seconds (false on purpose)": "not met",
                      "more instances cut the tail": "needs"}
    page = client.get(f"/r/{big.slug}/")
    assert b"Run fleet:base on seed 3" in page.content
    finished_run(template, "")
    states = {c.says: c.state for c in checks.checks_for(big)}
    assert states["more instances cut the tail"] == "met"
    partial = client.get(f"/r/{big.slug}/checks/").content.decode()
    assert partial.count('data-state="met"') == 1 and partial.count('data-state="not met"') == 1


def test_a_running_template_run_waits_to_be_checked(template):
    run, _ = service.create_run(template.document, owner=service.Owner(key="addr:t", address="t"),
                                template=template)
    assert [c.state for c in checks.checks_for(run)] == ["waiting", "waiting"]


def test_a_latency_promise_says_beside_it_how_many_requests_failed(template):
    run = finished_run(template, "big")
    share = sum(run.summary["errors"].values()) / run.summary["requests"]
    latency = [c for c in checks.checks_for(run) if "latency_ms" in c.detail]
    assert [c.says for c in latency] == ["a bigger fleet takes ten seconds (false on purpose)"]
    others = [c for c in checks.checks_for(run) if "latency_ms" not in c.detail and c.state in ("met", "not met")]
    assert all(f"(latency of successes only; {metrics.get('errors').format(share)} of this run's requests failed)"
               in c.detail for c in latency)
    assert all("successes only" not in c.detail for c in others)
