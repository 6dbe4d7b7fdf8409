"""What happened in a run: each sentence from a run the test makes with the real engine (fixed
seeds), its numbers checked against the run's own summary and frames or against theory."""

from __future__ import annotations

import re

import pytest

from playground.engine import load, run
from playground.runs import story


def doc(*, rps=500, workflow="stateless", instances=4, workers=8, state="none", algorithm="round_robin",
        duration_s=60, events=(), traffic=(), client=None, api=None, db=False, edge=None, seed=3):
    nodes = [
        {"id": "users", "kind": "client", "params": {"rps": rps, "users": 2000, "workflow": workflow, **(client or {})}},
        {"id": "lb", "kind": "load_balancer", "label": "Front door", "params": {"algorithm": algorithm}},
        {"id": "api", "kind": "service", "params": {"instances": instances, "workers": workers, "service_ms": 10,
                                                    "state": state, "startup_s": 5, **(api or {})}},
    ]
    edges = [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}]
    if db:
        nodes.append({"id": "db", "kind": "database", "params": {"latency_ms": 2, "connections": 50}})
        edges.append({"from": "api", "to": "db", **(edge or {})})
    return load({"schema_version": 1, "title": "t", "nodes": nodes, "edges": edges,
                 "scenario": {"duration_s": duration_s, "seed": seed, "events": list(events),
                              "traffic": list(traffic)}}).to_dict()


def tell(document):
    out = run(document, frames=True)
    return out["summary"], out["frames"], story.what_happened(document, out["summary"], out["frames"])


def one(told, pattern):
    found = [item for item in told if re.search(pattern, item["text"])]
    assert len(found) == 1, (pattern, told)
    return found[0]


def pct(text, after):
    m = re.search(after + r"\D*?(\d+)%", text)
    assert m, (after, text)
    return int(m.group(1))


def test_an_overloaded_design_names_the_node_that_saturated_first_and_the_share_that_failed():
    summary, frames, told = tell(doc(rps=3000, instances=2, duration_s=30))
    failed = sum(summary["errors"].values())
    assert failed > 0.3 * summary["requests"]
    errors = one(told, r"of requests failed")
    assert f"{failed:,} of {summary['requests']:,}" in errors["text"]
    assert "overload at api (100%)" in errors["text"]
    saturated = one(told, r"saturated first")
    assert saturated["text"].startswith("api saturated first")
    first = next(f["t"] for f in frames if f["nodes"]["api"]["utilization"] >= story.SATURATED)
    assert saturated["t"] == first
    assert not any("Nothing went wrong" in item["text"] for item in told)


def test_a_traffic_step_that_overloads_is_named_as_the_cause_and_never_recovers():
    _, frames, told = tell(doc(rps=300, instances=2, duration_s=40, traffic=[{"at_s": 20, "multiplier": 8}]))
    saturated = one(told, r"saturated first")
    assert saturated["t"] > 20 and "after traffic went to x8" in saturated["text"]
    fault = one(told, r"^At 20 s traffic went to x8")
    assert "had not recovered by the end of the run (40 s)" in fault["text"]
    errors = one(told, r"of requests failed")
    assert errors["t"] >= 20


def test_local_sessions_behind_round_robin_log_users_out_as_theory_says():
    summary, frames, told = tell(doc(workflow="session", state="local", instances=4))
    users = summary["users"]
    share = users["logged_out"] / (summary["requests"] - users["logins"])
    assert abs(share - 3 / 4) < 0.02  # SCHEMA: a follow-up misses with probability (N-1)/N
    item = one(told, r"logged out")
    assert pct(item["text"], "logged out:") == round(share * 100)
    assert f"{users['logged_out']:,} times a user was logged out" in item["text"]
    assert "instance memory of api (state local) behind round robin (Front door)" in item["text"]
    assert item["t"] == 0.0  # from the first tick


def test_sticky_sessions_are_lost_only_when_an_instance_dies():
    summary, frames, told = tell(doc(workflow="session", state="local", algorithm="sticky",
                                     events=[{"at_s": 30, "action": "kill_instance", "node": "api"}]))
    assert 0 < summary["users"]["logged_out"]
    before = sum(f["users"]["logged_out"] for f in frames if f["t"] <= 30)
    assert before == 0
    item = one(told, r"logged out after")
    assert item["t"] == 30.0 and "sticky keeps a user on one instance only while it lives" in item["text"]


def test_uploads_on_local_disk_fail_and_say_why():
    summary, _, told = tell(doc(workflow="upload", state="local", instances=4))
    up = summary["uploads"]
    assert up["failed"] > 0.9 * up["started"]
    item = one(told, r"uploads failed")
    assert item["text"].startswith(f"{up['failed']:,} of {up['started']:,} uploads failed")
    assert f"{summary['errors']['upload_failed']:,} of them because their parts were on the local disks" in item["text"]


def test_payments_retried_without_keys_are_charged_twice():
    summary, _, told = tell(doc(workflow="payment", instances=1, client={"retries": 2, "timeout_ms": 30}))
    dup = summary["charges"]["duplicate"]
    assert dup > 0
    item = one(told, r"duplicates")
    assert item["text"].startswith(f"{dup:,} of {summary['charges']['total']:,} charges were duplicates")
    assert "retried (users up to 2x) without idempotency keys" in item["text"]
    amplification = one(told, r"Retries amplified")
    ratio = summary["attempts"] / summary["requests"]
    assert f"clients made {ratio:.2f} attempts per request" in amplification["text"]


def test_payment_keys_in_one_instances_memory_do_not_stop_a_second_charge():
    summary, _, told = tell(doc(workflow="payment", state="local", instances=3,
                                client={"retries": 2, "timeout_ms": 30, "idempotency_keys": True}))
    assert summary["charges"]["duplicate"] > 0
    item = one(told, r"duplicates")
    assert "idempotency key lived in one instance's memory of api (state local)" in item["text"]


def test_edge_retries_are_observed_at_the_callee():
    summary, _, told = tell(doc(db=True, edge={"retries": 3}, rps=200, duration_s=30,
                                events=[{"at_s": 10, "action": "outage", "node": "db", "duration_s": 10}]))
    nodes = summary["nodes"]
    ratio = nodes["db"]["arrivals"] / nodes["api"]["arrivals"]
    assert ratio > 1.2
    item = one(told, r"Retries amplified")
    assert f"db received {ratio:.2f} calls per call api made (retries 3 on api→db)" in item["text"]


def test_a_killed_instance_costs_its_health_check_and_recovers():
    _, frames, told = tell(doc(instances=4, events=[{"at_s": 20, "action": "kill_instance", "node": "api"}],
                               algorithm="round_robin"))
    item = one(told, r"^At 20 s an instance of api was killed")
    # The balancer keeps routing to the dead instance for health_check_s (5 s): errors for about 5 s.
    m = re.search(r"back to the level before it (\d+) s later, at (\d+) s", item["text"])
    assert m and 4 <= int(m.group(1)) <= 7 and int(m.group(2)) == 20 + int(m.group(1))
    assert "unavailable" in item["text"]


def test_an_outage_lasts_its_duration_and_no_request_succeeds_meanwhile():
    summary, frames, told = tell(doc(instances=2, events=[{"at_s": 20, "action": "outage", "node": "api",
                                                           "duration_s": 10}]))
    item = one(told, r"^At 20 s api went down for 10 s")
    assert "errors rose to 100% of requests" in item["text"] and "no request succeeded" in item["text"]
    assert "back to the level before it 10 s later, at 30 s" in item["text"]
    failed = sum(sum(f["errors"].values()) for f in frames if 20 < f["t"] <= 30)
    assert f"({failed:,.0f} failed: unavailable)" in item["text"]


def test_a_healthy_run_says_nothing_went_wrong():
    summary, _, told = tell(doc(rps=200))
    assert len(told) == 1 and told[0]["text"].startswith("Nothing went wrong: no request failed")
    assert f"{summary['nodes']['api']['utilization'] * 100:.0f}% busy" in told[0]["text"]


@pytest.mark.parametrize("frames", [[], [{"seq": 1}]])
def test_a_story_needs_only_what_a_run_has(frames):
    document = doc()
    summary = run(document)["summary"]
    assert story.what_happened(document, summary, frames)  # never raises on short or odd frames
    assert story.what_happened(document, None, frames) == []


def test_the_summary_leads_with_failures_and_labels_latency():
    summary, _, _ = tell(doc(rps=3000, instances=2, duration_s=20))
    facts = story.summary_facts(summary)
    share = sum(summary["errors"].values()) / summary["requests"]
    assert facts["alarming"] and facts["error_pct"] == f"{share * 100:.0f}%"
    ok_rows = [row for row in facts["latency_rows"] if not row["key"].endswith("_all")]
    all_rows = [row for row in facts["latency_rows"] if row["key"].endswith("_all")]
    assert [r["key"] for r in ok_rows] == ["p50", "p95", "p99"] and len(all_rows) == 3
    assert all(row["beside"] == f"successes only; {share * 100:.0f}% of requests failed" for row in ok_rows)
    assert all(row["beside"] == f"failures included, {share * 100:.0f}% of them" for row in all_rows)
    # Overloaded: the failures were refused at once, so the latency of all requests is lower.
    assert all_rows[0]["value"] == summary["latency_all_ms"]["p50"] < summary["latency_ms"]["p50"]
    assert "leaves out the" in facts["latency_note"] and "from its emission to its failure" in facts["latency_note"]
    # A run stored by an engine before 1.5 has no latency of all requests: the note says so.
    old = story.summary_facts({k: v for k, v in summary.items() if k != "latency_all_ms"})
    assert len(old["latency_rows"]) == 3 and "recorded no latency for the" in old["latency_note"]
    calm = story.summary_facts(run(doc(rps=100, duration_s=10))["summary"])
    assert not calm["alarming"] and calm["failed"] == 0 and calm["latency_rows"][4]["beside"].endswith("none failed")


# ---------------------------------------------------------------------------- stayed down


def storm(variant: str = "", seed: int = 1):
    from playground.designs.library import read_library

    document = {e.slug: e for e in read_library()}["retry-storm"].document_of(variant)
    document["scenario"]["seed"] = seed
    return tell(document)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_retry_storm_that_outlives_its_slowdown_is_named_with_its_loop_and_its_cures(seed):
    summary, frames, told = storm(seed=seed)
    item = one(told, r"stayed down")
    assert item["t"] == 40.0  # the slowdown's end
    m = re.search(r"Retries kept ([\d,]+) attempts/s against a capacity of ([\d,]+) for the 140 s "
                  r"after the slowdown ended, to the end of the run: goodput stayed at ([\d,]+) of "
                  r"([\d,]+) requests/s offered", item["text"])
    assert m, item["text"]
    attempts, capacity, ok, offered = (int(g.replace(",", "")) for g in m.groups())
    # Capacity from the design: 4 instances x 25 workers at 100 ms.
    assert capacity == 1000
    late = [f for f in frames if f["t"] > 50]
    assert attempts == pytest.approx(sum(f["attempts_rps"] for f in late) / len(late), abs=25)
    assert 1500 < attempts < 1700 and offered == pytest.approx(830, abs=15) and ok == 0
    assert "retry_budget" in item["text"] and "max_queue_wait_ms" in item["text"]


@pytest.mark.parametrize("variant", ["no-retries", "retry-budget", "deadline-shedding", "lifo",
                                     "circuit-breaker"])
def test_a_cured_storm_is_not_said_to_stay_down(variant):
    _, _, told = storm(variant)
    assert not [item for item in told if "stayed down" in item["text"]]


def test_plain_overload_that_lasts_is_not_called_metastable():
    # Offered load above capacity after the slowdown: down because of the load, not a loop.
    document = doc(rps=1000, workers=2, client={"timeout_ms": 200, "retries": 1},
                   events=[{"at_s": 10, "action": "slowdown", "node": "api", "factor": 2,
                            "duration_s": 5}])
    _, _, told = tell(document)
    assert not [item for item in told if "stayed down" in item["text"]]
