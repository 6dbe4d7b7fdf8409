"""The metrics catalogue: every metric that sweeps, Compare and template promises name is defined
there once, and their wording and formatting come from it."""

from __future__ import annotations

import json

import pytest

from playground.designs.library import read_library
from playground.runs import compare, metrics, sweeps

SUMMARY = {
    "requests": 1000, "ok": 950, "attempts": 1100, "errors": {"overload": 40, "timeout": 10},
    "latency_ms": {"mean": 31.25, "p50": 20.0, "p90": 60.0, "p95": 80.0, "p99": 142.4, "p999": 300.0, "max": 410.0},
    "throughput_rps": 1204.4, "users": {"logins": 10, "logged_out": 2728}, "charges": {"total": 5, "duplicate": 2},
    "uploads": {"started": 3, "failed": 1}, "cost": {"per_hour": 0.6, "total": 0.01},
    "nodes": {"db": {"arrivals": 3100, "utilization": 0.8}},
}


def test_every_target_metric_is_in_the_catalogue_with_words_and_a_unit():
    for name in sweeps.METRICS:
        m = metrics.get(name)
        assert m.label and m.help and m.kind in ("latency", "share", "rate", "money", "count")
    assert metrics.get("p99").unit == "ms" and metrics.get("errors").unit == "%"
    assert metrics.get("cost").unit == "$/month"


def test_every_metric_compare_shows_is_in_the_catalogue_and_labels_its_rows():
    assert set(compare.COMPARED) <= set(metrics.BY_NAME)
    labels = {d.label for d in compare.deltas(SUMMARY, SUMMARY)}
    assert labels <= {m.name for m in metrics.CATALOGUE} | {m.label for m in metrics.CATALOGUE}


def test_every_promise_in_the_library_names_a_catalogued_metric():
    paths = {e.metric_text for entry in read_library() for e in entry.parsed}
    assert paths, "the library has promises"
    unknown = sorted(p for p in paths if metrics.for_path(p) is None)
    assert unknown == []


def test_values_come_from_the_summary_as_the_catalogue_says():
    assert metrics.get("p99").of(SUMMARY) == 142.4
    assert metrics.get("errors").of(SUMMARY) == pytest.approx(0.05)
    assert metrics.get("cost").of(SUMMARY) == pytest.approx(0.6 * 730)
    assert metrics.get("logged_out").of(SUMMARY) == 2728
    assert metrics.get("errors").of({"requests": 0}) is None
    assert metrics.for_path("summary.nodes.db.arrivals").of(SUMMARY) == 3100
    for name in sweeps.METRICS:
        assert sweeps.metric(SUMMARY, name) == metrics.get(name).of(SUMMARY)


@pytest.mark.parametrize(("name", "value", "spread", "text"), [
    ("p99", 142.4, None, "142 ms"), ("p50", 9.54, None, "9.5 ms"), ("p99", 181.0, 2.0, "181 ± 2 ms"),
    ("errors", 0.0012, None, "0.12%"), ("errors", 0.05, None, "5.0%"), ("errors", 0.0, None, "0%"),
    ("errors", 0.0012, 0.0003, "0.12 ± 0.03%"), ("cost", 438.0, None, "$438/month"),
    ("throughput", 1204.4, None, "1,204 req/s"), ("logged_out", 2728, None, "2,728"), ("p99", None, None, "-"),
])
def test_formatting_comes_from_the_catalogue(name, value, spread, text):
    assert metrics.get(name).format(value, spread) == text


def test_sweeps_and_compare_format_through_the_catalogue():
    b = {**SUMMARY, "errors": {}, "cost": {"per_hour": 0.7}, "users": {"logged_out": 0},
         "latency_ms": {**SUMMARY["latency_ms"], "p99": 90.0}}
    by_label = {d.label: d for d in compare.deltas(SUMMARY, b)}
    assert by_label["error rate"].a == metrics.get("errors").format(0.05) == "5.0%"
    assert by_label["cost"].b == "$511/month" and by_label["cost"].phrase == "cost +$73/month"
    assert by_label["users logged out"].phrase == "logouts -100%"
    assert by_label["p99"].phrase == "p99 -52 ms"
    axis = sweeps.Axis("nodes.api.params.instances", (4,))
    conditions, _ = sweeps.parse_target("p99 < 200 and errors < 10%")
    answer = sweeps.aggregate([axis], conditions, [(0, 0, SUMMARY)])["answer"]
    assert answer == "api instances 4: p99 142 ms, errors 5.0%, $438/month"


def test_latency_alone_is_refused_with_the_choices():
    _, problems = sweeps.parse_target("latency < 200")
    assert problems and "p50, p95, p99 or mean" in problems[0].message
    _, problems = sweeps.parse_target("speed < 2")
    assert "p99 (p99 latency, ms)" in problems[0].message and "errors (error rate, %)" in problems[0].message


def test_the_catalogue_goes_to_pages_as_json():
    data = json.loads(json.dumps(metrics.catalogue_json()))
    errors = next(m for m in data if m["name"] == "errors")
    assert errors == {**errors, "label": "error rate", "unit": "%", "scale": 100}
