"""Sweeps: targets, axes, confidence intervals, the answer, and the API and pages without workers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from playground.engine import Simulation, dump, load
from playground.runs import sweeps
from playground.runs.models import Sweep, SweepCell
from tests.runs.designs import web_fleet


def test_a_target_is_conditions_joined_by_and():
    conditions, problems = sweeps.parse_target("summary.latency_ms.p99 < 200 and errors < 0.1%")
    assert problems == []
    assert [(c.metric, c.op, c.value) for c in conditions] == [("p99", "<", 200.0), ("errors", "<", 0.001)]
    assert conditions[1].holds(0.0005) and not conditions[1].holds(0.002) and not conditions[1].holds(None)


@pytest.mark.parametrize(
    ("text", "message"),
    [("p99 << 200", "is not 'metric op number'"), ("speed < 3", "unknown metric 'speed'"),
     ("p99 < 20%", "only errors is given in %"), ("p99 < 200 and", "is not 'metric op number'"),
     ("__import__('os') < 1", "is not 'metric op number'")],
)
def test_a_bad_target_is_refused_naming_the_part(text, message):
    conditions, problems = sweeps.parse_target(text)
    assert problems and message in problems[0].message
    assert problems[0].path.startswith("target[")


def test_axes_take_lists_or_ranges_and_points_cover_the_grid():
    a, _ = sweeps.parse_axis({"path": "nodes.api.params.instances", "from": 2, "to": 8, "step": 2}, "axes[0]")
    b, _ = sweeps.parse_axis({"path": "nodes.api.params.workers", "values": [8, 16]}, "axes[1]")
    assert a.values == (2, 4, 6, 8)
    assert sweeps.points([a, b]) == [(2, 8), (2, 16), (4, 8), (4, 16), (6, 8), (6, 16), (8, 8), (8, 16)]
    assert sweeps.points([]) == [()]
    _, problems = sweeps.parse_axis({"path": "x", "values": [1, 1]}, "axes[0]")
    assert problems[0].path == "axes[0].values"
    _, problems = sweeps.parse_axis({"path": "x", "from": 1, "to": 1e6, "step": 1}, "axes[0]")
    assert "at most 200" in problems[0].message


def test_set_value_reaches_node_params_distributions_edges_scenario_and_traffic():
    doc = dump(load(web_fleet(rps=100)))
    sweeps.set_value(doc, "nodes.api.params.instances", 7)
    sweeps.set_value(doc, "nodes.api.params.service_ms", 20)
    sweeps.set_value(doc, "edges[2].calls", 0.25)
    sweeps.set_value(doc, "scenario.duration_s", 30)
    sweeps.set_value(doc, "traffic.multiplier", 3)
    api = doc["nodes"][2]["params"]
    assert api["instances"] == 7
    assert (api["service_ms"] == 20) or (api["service_ms"]["mean"] == 20)
    assert doc["edges"][2]["calls"] == 0.25 and doc["scenario"]["duration_s"] == 30
    assert doc["nodes"][0]["params"]["rps"] == 300
    for bad, message in (("nodes.nope.params.instances", "no node"), ("nodes.api.params.colour", "no parameter"),
                         ("edges[9].calls", "no edge"), ("whatever", "use nodes.")):
        with pytest.raises(KeyError, match=message):
            sweeps.set_value(doc, bad, 1)


def test_the_confidence_interval_narrows_as_seeds_grow():
    doc = load(web_fleet(rps=900, instances=2, duration_s=20))
    p99 = [Simulation(doc, seed).run()["summary"]["latency_ms"]["p99"] for seed in range(24)]
    few, many = sweeps.interval(p99[:4]), sweeps.interval(p99)
    assert many["half_width"] < few["half_width"]
    assert few["low"] < few["mean"] < few["high"]
    assert sweeps.interval([5.0])["half_width"] is None
    assert sweeps.t975(1) == 12.706 and abs(sweeps.t975(200) - 1.972) < 0.005


def _summary(p99: float, errors: int, cost: float) -> dict:
    return {"requests": 1000, "errors": {"overload": errors}, "throughput_rps": 100.0,
            "latency_ms": {"p50": p99 / 3, "p90": p99 / 2, "p95": p99 / 1.5, "p99": p99, "p999": p99 * 1.2,
                           "mean": p99 / 3, "max": p99 * 2},
            "users": {"logins": 0, "logged_out": 0}, "charges": {"total": 0, "duplicate": 0},
            "uploads": {"started": 0, "failed": 0}, "cost": {"per_hour": cost, "total": cost}}


def test_the_answer_is_the_cheapest_point_that_meets_the_target():
    axis = sweeps.Axis("nodes.api.params.instances", (2, 4, 6, 8))
    conditions, _ = sweeps.parse_target("p99 < 200 and errors < 0.1%")
    cells = []
    for point, (p99, cost) in enumerate([(900, 0.2), (180, 0.4), (150, 0.6), (140, 0.8)]):
        for seed in range(3):
            cells.append((point, seed, _summary(p99 + seed, 0, cost)))
    result = sweeps.aggregate([axis], conditions, cells)
    assert result["meeting"] == [1, 2, 3]
    assert result["cheapest"] == 1
    assert result["answer"] == "api instances 4: p99 181 ± 2 ms, errors 0%, $292/month"
    assert result["points"][1]["holds"] == {"p99 < 200": 3, "errors < 0.1%": 3}


def test_replications_say_how_often_each_condition_held():
    conditions, _ = sweeps.parse_target("errors < 1%")
    cells = [(0, seed, _summary(100, 20 if seed < 7 else 0, 0.1)) for seed in range(40)]
    result = sweeps.aggregate([], conditions, cells)
    assert "errors < 1% in 33 of 40 seeds" in result["answer"]
    assert result["answer"].startswith("Over 40 seeds:")


@pytest.mark.django_db
def test_the_sweeps_api_validates_and_creates_cells(client):
    def post(body):
        return client.post("/api/sweeps", json.dumps(body), content_type="application/json")

    response = post({"document": web_fleet(), "axes": [{"path": "nodes.api.params.instances", "values": [1, 2, 3]}],
                     "target": "p99 < 200", "seeds": 2, "seed": 10})
    assert response.status_code == 201, response.content
    sweep = Sweep.objects.get(slug=response.json()["id"])
    assert sweep.cells_total == 6
    assert sorted(SweepCell.objects.filter(sweep=sweep).values_list("point", "seed")) == [
        (0, 10), (0, 11), (1, 10), (1, 11), (2, 10), (2, 11)]
    body = client.get(f"/api/sweeps/{sweep.slug}").json()
    assert body["progress"] == {"done": 0, "total": 6} and body["result"] is None
    assert post({"document": web_fleet(), "axes": []}).status_code == 429  # one active sweep per browser/client

    sweep.status = "cancelled"
    sweep.save()
    bad = post({"document": web_fleet(), "axes": [{"path": "nodes.api.params.workers", "values": [0, 8]}]})
    assert bad.status_code == 422
    assert "axes (api workers 0): nodes[2].params.workers" in bad.json()["problems"][0]["path"]
    too_big = post({"document": web_fleet(), "axes": [{"path": "nodes.api.params.instances", "from": 1, "to": 50}],
                    "seeds": 5})
    assert too_big.status_code == 422 and "at most 200" in too_big.json()["problems"][0]["message"]
    unknown = post({"document": web_fleet(), "axes": [{"path": "nodes.ghost.params.instances", "values": [1]}]})
    assert unknown.json()["problems"][0]["path"] == "axes[0].path"


@pytest.mark.django_db
def test_the_sweep_form_starts_a_sweep_and_the_page_shows_progress(client):
    from playground.designs.models import Template

    Template.objects.create(slug="fleet", title="Fleet", summary="s", document_json=json.dumps(web_fleet()))
    page = client.get("/sweeps/new/?template=fleet")
    assert page.status_code == 200 and b"nodes.api.params.instances" in page.content
    response = client.post("/sweeps/new/", {"template": "fleet", "axis1_path": "nodes.api.params.instances",
                                            "axis1_values": "2..4", "target": "p99 < 200", "seeds": "2"})
    assert response.status_code == 302
    sweep = Sweep.objects.get()
    assert sweep.axes == [{"path": "nodes.api.params.instances", "values": [2, 3, 4]}]
    page = client.get(response["Location"])
    assert b"0 of 6 runs finished" in page.content
    assert client.get(f"/s/{sweep.slug}/progress/").status_code == 200
    bad = client.post("/sweeps/new/", {"template": "fleet", "axis1_path": "nodes.api.params.instances",
                                       "axis1_values": "two to four"})
    assert bad.status_code == 400 and b"write &#x27;2, 3, 4&#x27;" in bad.content


@pytest.mark.django_db
def test_the_template_page_and_the_editor_link_to_capacity_planning(client):
    from playground.designs.models import Design, Template

    Template.objects.create(slug="fleet", title="Fleet", summary="s", document_json=json.dumps(web_fleet()))
    page = client.get("/templates/fleet/").content.decode()
    assert "/sweeps/new/?template=fleet&amp;kind=sweep" in page
    client.get("/")
    design = Design(document_json=json.dumps(web_fleet()), owner_token=client.session.get("playground_owner_token", ""))
    design.save()
    editor = client.get(f"/d/{design.slug}/").content.decode()
    assert f"/sweeps/new/?design={design.slug}&amp;kind=sweep" in editor
    assert f"/runs/?design={design.slug}" in editor
    assert client.get(f"/sweeps/new/?design={design.slug}&kind=sweep").status_code == 200


@pytest.mark.django_db
def test_a_sweep_started_with_an_api_token_belongs_to_its_user(client):
    from django.contrib.auth.models import User

    from playground.accounts.models import ApiToken

    ann = User.objects.create_user("ann-sweeps", password="pw-for-tests-1")
    token = ApiToken.issue(ann, "t")[1]
    response = client.post("/api/sweeps", json.dumps({"document": web_fleet(), "seeds": 2}),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201
    assert Sweep.objects.get(slug=response.json()["id"]).owner == ann
    bad = client.post("/api/sweeps", json.dumps({"document": web_fleet()}), content_type="application/json",
                      HTTP_AUTHORIZATION="Bearer wrong")
    assert bad.status_code == 401


def _labelled_fleet() -> dict:
    document = web_fleet()
    document["nodes"][2]["label"] = "API"
    return document


@pytest.mark.django_db
def test_the_form_offers_parameters_by_label_with_their_values_and_documents_every_metric(client):
    from playground.designs.models import Template

    Template.objects.create(slug="fleet", title="Fleet", summary="s", document_json=json.dumps(_labelled_fleet()))
    page = client.get("/sweeps/new/?template=fleet").content.decode()
    assert '<option value="nodes.api.params.instances">API · instances (now 3)</option>' in page
    assert '<optgroup label="API">' in page and "Traffic · multiplier" in page
    assert 'href="/static/css/run.css"' in page
    for name in sweeps.METRICS:
        assert f'<tr data-metric="{name}">' in page
    assert "p99 latency: The 99th percentile latency of successful requests" in page
    assert "error rate: The share of requests that failed" in page and "$/month" in page
    refused = client.post("/sweeps/new/", {"template": "fleet", "axis1_path": "nodes.api.params.instances",
                                           "axis1_values": "2..4", "target": "latency < 200", "seeds": "2"})
    assert refused.status_code == 400 and not Sweep.objects.exists()
    assert "write p50, p95, p99 or mean" in refused.content.decode()


def _finished_sweep(client) -> Sweep:
    from playground.runs import sweep_service

    response = client.post("/api/sweeps", json.dumps({
        "document": _labelled_fleet(), "axes": [{"path": "nodes.api.params.instances", "values": [2, 4]}],
        "target": "p99 < 200 and errors < 1% and cost < 900", "seeds": 2, "seed": 7}), content_type="application/json")
    assert response.status_code == 201, response.content
    sweep = Sweep.objects.get(slug=response.json()["id"])
    for cell in SweepCell.objects.filter(sweep=sweep):
        sweep_service.simulate_cell(cell.pk)
    sweep.refresh_from_db()
    assert sweep.status == "done"
    return sweep


@pytest.mark.django_db
def test_the_sweep_page_gives_the_charts_their_thresholds_and_every_point_its_runs(client):
    sweep = _finished_sweep(client)
    page = client.get(f"/s/{sweep.slug}/").content.decode()
    data = json.loads(page.split('id="sweep-data" type="application/json">')[1].split("</script>")[0])
    assert data["thresholds"] == [
        {"metric": "p99", "op": "<", "value": 200.0, "text": "p99 < 200"},
        {"metric": "errors", "op": "<", "value": 0.01, "text": "errors < 1%"},
        {"metric": "cost", "op": "<", "value": 900.0, "text": "cost < 900"}]
    assert data["extra_charts"] == ["cost"] and 'data-chart="cost"' in page
    assert 'id="metrics-catalogue"' in page
    for point in (0, 1):
        assert f'action="/s/{sweep.slug}/points/{point}/run/"' in page
    assert page.count('name="seed" value="7"') == 2 and page.count('name="seed" value="8"') == 2
    assert "/month</td>" in page  # cost formatted by the catalogue


@pytest.mark.django_db
def test_a_point_and_seed_open_a_run_of_exactly_that_cell(client, settings):
    from playground.runs.models import Run

    settings.RUN_MAX_ACTIVE_ANONYMOUS = 1
    sweep = _finished_sweep(client)
    response = client.post(f"/s/{sweep.slug}/points/1/run/", {"seed": "8"})
    assert response.status_code == 302
    run = Run.objects.get()
    assert response["Location"] == f"/r/{run.slug}/"
    assert run.seed == 8 and run.mode == "batch" and run.engine_version == sweep.engine_version
    assert run.document["nodes"][2]["params"]["instances"] == 4
    assert run.document["title"].endswith("(api instances 4)")
    again = client.post(f"/s/{sweep.slug}/points/1/run/", {"seed": "8"})
    assert again["Location"] == response["Location"] and Run.objects.count() == 1  # this browser's run, reused
    refused = client.post(f"/s/{sweep.slug}/points/0/run/", {"seed": "7"})  # one active run per browser here
    assert refused.status_code == 429 and b"queued or running already" in refused.content
    assert client.post(f"/s/{sweep.slug}/points/2/run/", {"seed": "7"}).status_code == 400
    assert client.post(f"/s/{sweep.slug}/points/0/run/", {"seed": "9"}).status_code == 400
    assert client.post(f"/s/{sweep.slug}/points/0/run/", {"seed": "x"}).status_code == 400


@pytest.mark.django_db
def test_a_cells_run_reuses_the_stored_result_of_the_same_document_and_seed(client):
    from playground.runs.models import Run
    from playground.runs.runner import Runner

    sweep = _finished_sweep(client)
    first = client.post(f"/s/{sweep.slug}/points/0/run/", {"seed": "7"})
    run = Run.objects.get()
    assert Runner(run.pk).execute() == "done"
    run.refresh_from_db()
    other = Client()
    second = other.post(f"/s/{sweep.slug}/points/0/run/", {"seed": "7"})
    assert second["Location"] != first["Location"]
    copy = Run.objects.exclude(pk=run.pk).get()
    assert copy.status == "done" and "its result is reused" in copy.reason
    assert copy.summary == run.summary
    cell = SweepCell.objects.get(sweep=sweep, point=0, seed=7)
    assert json.loads(cell.summary_json)["latency_ms"] == run.summary["latency_ms"]
