"""Where state lives (SCHEMA.md): the teaching outcomes of PRODUCT.md as tests with realistic
numbers, and theory where it gives one."""

from __future__ import annotations

import json

import pytest

from playground.engine.schema import load
from playground.engine.simulation import run
from tests.engine.helpers import assert_close, batch_se, design, node, simulate


def _session_design(state: str, algorithm: str = "random", instances: int = 4,
                    duration_s: float = 60, rps: float = 1000, users: int = 20000,
                    events: list | None = None, store: bool = False, **scenario):
    nodes = [node("users", "client", rps=rps, users=users, workflow="session"),
             node("lb", "load_balancer", algorithm=algorithm, latency_ms=0),
             node("api", "service", instances=instances, workers=16, state=state,
                  service_ms=5, startup_s=10)]
    edges: list = [("users", "lb"), ("lb", "api")]
    if state == "external" or store:
        nodes.append(node("redis", "store", role="state",
                          latency_ms={"dist": "const", "mean": 1}))
        edges.append(("api", "redis"))
    return design(nodes, edges, duration_s, events=events or [], **scenario)


def _share(frames, cause: str, warm: int = 2):
    vals = [f["errors"][cause] / f["offered_rps"] for f in frames[warm:] if f["offered_rps"]]
    wts = [f["offered_rps"] for f in frames[warm:] if f["offered_rps"]]
    return batch_se(vals, wts, batches=20)


def test_local_sessions_behind_a_random_balancer_lose_p_over_1_plus_p_of_requests():
    n = 4
    p = (n - 1) / n
    summary, frames, _ = simulate(_session_design("local", "random", n, duration_s=120,
                                                  warmup_s=20))
    _, se = _share(frames, "session_lost", warm=20)
    share = summary["errors"]["session_lost"] / summary["requests"]
    assert_close(share, p / (1 + p), se, "session_lost share")
    assert summary["users"]["logged_out"] == summary["errors"]["session_lost"]
    # Every loss makes the next request a login; the rest are users' first logins.
    lost = summary["users"]["logged_out"]
    assert lost < summary["users"]["logins"] < lost + 20000


def test_local_sessions_behind_round_robin_lose_about_as_many():
    p = 3 / 4
    summary, _, _ = simulate(_session_design("local", "round_robin", 4, duration_s=60,
                                             warmup_s=20))
    share = summary["errors"]["session_lost"] / summary["requests"]
    assert share == pytest.approx(p / (1 + p), abs=0.03)


def test_a_lost_session_fails_at_once_without_work_or_latency():
    summary, _, _ = simulate(_session_design("local", "random", 4, duration_s=20))
    api = summary["nodes"]["api"]
    ok = summary["ok"]
    # Service time is 5 ms on every request taken up that kept its session; lost ones take 0.
    assert api["utilization"] * 4 * 16 * 20 * 1000 == pytest.approx(ok * 5, rel=0.05)


def test_token_and_external_sessions_log_nobody_out_and_a_store_adds_its_round_trip():
    token, _, _ = simulate(_session_design("token", "random", 4, duration_s=20))
    ext, _, _ = simulate(_session_design("external", "random", 4, duration_s=20))
    for s in (token, ext):
        assert s["errors"]["session_lost"] == 0 and s["users"]["logged_out"] == 0
        assert s["ok"] == s["requests"]
    assert ext["latency_ms"]["p50"] - token["latency_ms"]["p50"] == pytest.approx(1.0, abs=0.3)
    assert ext["nodes"]["redis"]["arrivals"] == ext["nodes"]["api"]["arrivals"]


def test_sticky_sessions_log_nobody_out_until_a_crash_then_about_its_share_of_users():
    users = 2000
    kill = [{"at_s": 30, "action": "kill_instance", "node": "api"}]
    summary, frames, _ = simulate(_session_design("local", "sticky", 4, duration_s=80,
                                                  users=users, events=kill))
    assert sum(f["errors"]["session_lost"] for f in frames[:30]) == 0
    # After the balancer's health check (5 s) the dead instance's users are re-pinned, and
    # their sessions are not where they land: about a quarter of the users are logged out.
    lost = summary["users"]["logged_out"]
    assert lost == pytest.approx(users / 4, rel=0.15)
    # During the health check the balancer kept sending them to the dead instance.
    early = sum(f["errors"]["unavailable"] for f in frames[30:35])
    assert early == pytest.approx(1000 / 4 * 5, rel=0.15)
    assert sum(f["errors"]["unavailable"] for f in frames[36:]) == 0


def test_sessions_in_a_store_survive_a_crash_and_a_rolling_deploy():
    events = [{"at_s": 10, "action": "kill_instance", "node": "api"},
              {"at_s": 30, "action": "rolling_deploy", "node": "api", "batch": 1,
               "interval_s": 2}]
    summary, frames, _ = simulate(_session_design("external", "sticky", 4, duration_s=120,
                                                  events=events))
    assert summary["users"]["logged_out"] == 0
    actions = [e["action"] for f in frames for e in f["events"]]
    assert actions.count("instance_draining") == 4
    assert actions.count("instance_ready") == 5


def test_kill_instance_fails_in_flight_and_replaces_it_after_startup():
    doc = design([node("c", "client", rps=400),
                  node("lb", "load_balancer", health_check_s=3, latency_ms=0),
                  node("api", "service", instances=4, workers=8,
                       service_ms={"dist": "const", "mean": 50}, startup_s=10)],
                 [("c", "lb"), ("lb", "api")], 30,
                 events=[{"at_s": 5, "action": "kill_instance", "node": "api"}])
    summary, frames, _ = simulate(doc)
    ev = frames[5]["events"]
    assert [e["action"] for e in ev] == ["kill_instance", "instance_lost", "instance_started"]
    assert ev[1]["instance"] == 0 and ev[2]["instance"] == 4
    assert frames[5]["nodes"]["api"]["up"] == 3 and frames[5]["nodes"]["api"]["starting"] == 1
    assert [e["action"] for e in frames[15]["events"]] == ["instance_ready"]
    assert frames[15]["nodes"]["api"]["up"] == 4
    # In flight at the death (about 100 rps x 50 ms) plus 3 s of the balancer's routing there.
    lost = summary["errors"]["unavailable"]
    assert lost == pytest.approx(5 + 100 * 3, rel=0.2)
    assert sum(f["errors"]["unavailable"] for f in frames[9:]) == 0


def test_kill_without_replace_leaves_the_fleet_smaller():
    doc = design([node("c", "client", rps=100),
                  node("api", "service", instances=3, replace=False)],
                 [("c", "api")], 10,
                 events=[{"at_s": 2, "action": "kill_instance", "node": "api", "count": 2}])
    _, frames, _ = simulate(doc)
    assert frames[-1]["nodes"]["api"]["up"] == 1
    assert frames[-1]["nodes"]["api"]["starting"] == 0


@pytest.mark.parametrize("drain", [True, False])
def test_rolling_deploy_of_a_stateless_fleet(drain):
    doc = design([node("c", "client", rps=300),
                  node("lb", "load_balancer"),
                  node("api", "service", instances=4, workers=8, startup_s=5,
                       service_ms=10)],
                 [("c", "lb"), ("lb", "api")], 120,
                 events=[{"at_s": 10, "action": "rolling_deploy", "node": "api", "batch": 2,
                          "interval_s": 5, "drain": drain}])
    summary, frames, _ = simulate(doc)
    actions = [e["action"] for f in frames for e in f["events"]]
    assert actions.count("instance_ready") == 4
    assert frames[-1]["nodes"]["api"]["up"] == 4
    if drain:
        # Serves through with no errors at all.
        assert sum(summary["errors"].values()) == 0
        assert actions.count("instance_draining") == 4
    else:
        assert summary["errors"]["unavailable"] > 0


def test_scale_sets_the_count_and_scale_in_drains_the_newest():
    doc = design([node("c", "client", rps=100),
                  node("api", "service", instances=2, startup_s=2)],
                 [("c", "api")], 20,
                 events=[{"at_s": 2, "action": "scale", "node": "api", "instances": 5},
                         {"at_s": 10, "action": "scale", "node": "api", "instances": 3}])
    summary, frames, _ = simulate(doc)
    assert frames[2]["nodes"]["api"]["starting"] == 3
    assert frames[5]["nodes"]["api"]["up"] == 5
    assert frames[12]["nodes"]["api"]["up"] == 3
    stopped = [e["instance"] for f in frames for e in f["events"]
               if e["action"] == "instance_stopped"]
    assert sorted(stopped) == [3, 4]
    assert sum(summary["errors"].values()) == 0


def test_autoscaling_adds_capacity_within_eval_cooldown_and_startup():
    eval_s, cooldown, startup = 10, 20, 15
    doc = design([node("c", "client", rps=200),
                  node("lb", "load_balancer"),
                  node("api", "service", instances=2, workers=4, queue=None, startup_s=startup,
                       service_ms=20,
                       autoscale={"min": 2, "max": 10, "target_utilization": 0.5,
                                  "cooldown_s": cooldown, "eval_s": eval_s})],
                 [("c", "lb"), ("lb", "api")], 150,
                 traffic=[{"at_s": 40, "multiplier": 3}])
    _, frames, _ = simulate(doc)
    assert all(f["nodes"]["api"]["up"] == 2 for f in frames[:40])
    # Utilization 0.5 at 200 rps: desired stays 2. At 600 rps it needs 6 at 0.5.
    added = next(k for k, f in enumerate(frames) if f["nodes"]["api"]["up"] > 2)
    assert added <= 40 + eval_s + cooldown + startup
    assert frames[-1]["nodes"]["api"]["up"] >= 6
    assert any(e["action"] == "autoscale" for f in frames for e in f["events"])


def _upload_design(state_home: str, n: int = 3, parts: int = 4, duration_s: float = 60):
    # Enough requests in flight that parts of one upload land at independent places.
    nodes = [node("users", "client", rps=1000, workflow="upload", parts=parts),
             node("lb", "load_balancer", algorithm="round_robin"),
             node("api", "service", instances=n, workers=64, service_ms=40,
                  state="local" if state_home == "disk" else "external")]
    edges: list = [("users", "lb"), ("lb", "api")]
    if state_home == "s3":
        nodes.append(node("s3", "object_storage", latency_ms=30))
        edges.append(("api", "s3"))
    return design(nodes, edges, duration_s, warmup_s=5)


def test_multipart_uploads_on_local_disk_fail_unless_every_part_lands_on_one_instance():
    n, parts = 3, 4
    summary, _, _ = simulate(_upload_design("disk", n, parts))
    started = summary["uploads"]["started"]
    assert started == pytest.approx(1000 / parts * 55, rel=0.05)
    share = summary["uploads"]["failed"] / started
    assert share == pytest.approx(1 - (1 / n) ** (parts - 1), abs=0.03)
    assert summary["errors"]["upload_failed"] == pytest.approx(summary["uploads"]["failed"],
                                                               abs=5)


def test_multipart_uploads_to_object_storage_never_fail():
    summary, _, _ = simulate(_upload_design("s3"))
    assert summary["uploads"]["failed"] == 0 and summary["uploads"]["started"] > 0
    assert summary["ok"] == summary["requests"]
    assert summary["nodes"]["s3"]["arrivals"] == summary["nodes"]["api"]["arrivals"]


def _payment_design(keys: bool, state: str, duration_s: float = 60):
    nodes = [node("shop", "client", rps=200, workflow="payment", idempotency_keys=keys,
                  timeout_ms=150, retries=2, backoff_ms=10),
             node("lb", "load_balancer", algorithm="random"),
             node("pay", "service", instances=4, workers=32, state=state,
                  service_ms={"dist": "lognormal", "mean": 60, "cv": 1.5})]
    edges: list = [("shop", "lb"), ("lb", "pay")]
    if state == "external":
        nodes.append(node("redis", "store", role="state", latency_ms=1))
        edges.append(("pay", "redis"))
    return design(nodes, edges, duration_s, warmup_s=5)


def test_payments_retried_after_timeouts_charge_twice_without_keys():
    summary, _, _ = simulate(_payment_design(False, "none"))
    assert summary["attempts"] > summary["requests"]
    assert summary["charges"]["duplicate"] > 0.05 * summary["requests"]
    assert summary["charges"]["total"] == pytest.approx(summary["attempts"], rel=0.02)


def test_payments_with_keys_in_a_shared_store_never_charge_twice():
    summary, _, _ = simulate(_payment_design(True, "external"))
    assert summary["attempts"] > summary["requests"]
    assert summary["charges"]["duplicate"] == 0
    assert summary["charges"]["total"] == pytest.approx(summary["requests"], rel=0.02)


def test_payments_with_keys_in_local_memory_still_charge_twice_sometimes():
    none, _, _ = simulate(_payment_design(False, "none"))
    local, _, _ = simulate(_payment_design(True, "local"))
    assert 0 < local["charges"]["duplicate"] < none["charges"]["duplicate"]


def test_serverless_cold_starts_on_a_spike_and_costs_per_use():
    doc = design([node("c", "client", rps=20),
                  node("fn", "serverless", cold_start_ms={"dist": "const", "mean": 400},
                       service_ms={"dist": "const", "mean": 20}, keep_warm_s=60,
                       cost_per_million=0.2)],
                 [("c", "fn")], 60,
                 traffic=[{"at_s": 20, "multiplier": 50}, {"at_s": 40, "multiplier": 0}])
    summary, frames, _ = simulate(doc)
    assert frames[5]["latency_ms"]["p50"] == pytest.approx(20, rel=0.01)
    assert frames[20]["latency_ms"]["max"] == pytest.approx(420, rel=0.01)
    assert frames[25]["nodes"]["fn"]["up"] > frames[10]["nodes"]["fn"]["up"]
    # Per use: $0.2 per million invocations, nothing when idle.
    assert frames[45]["cost_per_hour"] == 0
    assert frames[30]["cost_per_hour"] == pytest.approx(1000 * 0.2 / 1e6 * 3600, rel=0.1)
    assert summary["cost"]["total"] == pytest.approx(summary["ok"] * 0.2 / 1e6, rel=0.01)


def test_serverless_concurrency_limit_fails_overload_and_idle_containers_go_away():
    doc = design([node("c", "client", rps=100),
                  node("fn", "serverless", max_concurrency=2, cold_start_ms=0,
                       keep_warm_s=5, service_ms={"dist": "const", "mean": 50})],
                 [("c", "fn")], 30, traffic=[{"at_s": 10, "multiplier": 0}])
    summary, frames, _ = simulate(doc)
    assert summary["errors"]["overload"] > 0
    assert frames[5]["nodes"]["fn"]["up"] == 2
    assert frames[20]["nodes"]["fn"]["up"] == 0


def test_a_fixed_fleet_costs_per_hour_whether_busy_or_idle():
    doc = design([node("c", "client", rps=100),
                  node("api", "service", instances=3, cost_per_hour=0.1, startup_s=0),
                  node("db", "database", cost_per_hour=0.5)],
                 [("c", "api"), ("api", "db")], 40,
                 traffic=[{"at_s": 20, "multiplier": 0}],
                 events=[{"at_s": 30, "action": "scale", "node": "api", "instances": 6}])
    summary, frames, _ = simulate(doc)
    assert frames[5]["cost_per_hour"] == pytest.approx(0.8)
    assert frames[25]["cost_per_hour"] == pytest.approx(0.8)
    assert frames[35]["cost_per_hour"] == pytest.approx(1.1)
    assert summary["cost"]["total"] == pytest.approx((0.8 * 30 + 1.1 * 10) / 3600, rel=1e-3)


def test_every_kind_workflow_and_action_runs(sink):
    out = run(load(sink), frames=True)
    text = json.dumps(out, sort_keys=True, allow_nan=False)
    assert json.loads(text) == out
    s = out["summary"]
    assert s["uploads"]["started"] > 0 and s["charges"]["total"] > 0
    actions = {e["action"] for f in out["frames"] for e in f["events"]}
    assert {"kill_instance", "rolling_deploy", "scale", "outage", "slowdown",
            "flush_cache"} <= actions


def test_no_slot_is_ever_freed_twice_through_kills_deploys_and_scaling(sink):
    from playground.engine.compiled import M_FREE, M_SLOTS, V_NODE
    from playground.engine.simulation import Simulation

    sim = Simulation(load(sink))

    def free() -> list[int]:
        VI, FR, M = sim.core.S.VI, sim.core.S.FR, sim.core.S.M
        slots = [int(c) for c in FR[:M[M_FREE]]]
        assert all(0 <= c < M[M_SLOTS] and VI[c, V_NODE] == -1 for c in slots)
        return slots

    reused = 0
    while not sim.done:
        sim.step()
        slots = free()
        assert len(set(slots)) == len(slots)
        reused += len(slots)
    sim.summary()
    slots = free()
    assert len(set(slots)) == len(slots) and reused > 0


def test_a_live_kill_applies_at_the_next_tick_and_shows_in_its_frame():
    from playground.engine.simulation import Simulation

    sim = Simulation(load(design([node("c", "client", rps=200),
                                  node("lb", "load_balancer"),
                                  node("api", "service", instances=3, startup_s=5)],
                                 [("c", "lb"), ("lb", "api")], 20)))
    for _ in range(4):
        sim.step()
    sim.apply({"kind": "event", "action": "kill_instance", "node": "api"})
    frame = sim.step()
    assert [(e["t"], e["action"]) for e in frame["events"]] == [
        (4.0, "kill_instance"), (4.0, "instance_lost"), (4.0, "instance_started")]
    assert frame["nodes"]["api"]["up"] == 2 and frame["nodes"]["api"]["starting"] == 1
    frames = [sim.step() for _ in range(6)]
    assert frames[-1]["nodes"]["api"]["up"] == 3


def test_an_outage_of_the_session_store_fails_unavailable_and_loses_no_session():
    events = [{"at_s": 10, "action": "outage", "node": "redis", "duration_s": 5}]
    summary, frames, _ = simulate(_session_design("external", "random", 4, duration_s=30,
                                                  events=events))
    assert summary["errors"]["unavailable"] == pytest.approx(1000 * 5, rel=0.1)
    assert frames[12]["nodes"]["redis"]["errors"]["unavailable"] > 0
    assert summary["users"]["logged_out"] == 0


def test_a_cdn_answers_hits_at_the_edge_and_a_flush_sends_misses_to_the_origin():
    doc = design([node("c", "client", rps=1000),
                  node("edge", "cdn", hit_ratio=0.9, latency_ms=10),
                  node("origin", "service", instances=4, workers=64, service_ms=20)],
                 [("c", "edge"), ("edge", "origin")], 30,
                 events=[{"at_s": 20, "action": "flush_cache", "node": "edge"}])
    _, frames, _ = simulate(doc)
    warm = sum(f["nodes"]["origin"]["rps"] for f in frames[10:20]) / 10
    assert warm == pytest.approx(100, rel=0.15)
    assert frames[20]["nodes"]["origin"]["rps"] > 2 * warm


def test_serverless_can_own_external_state():
    doc = design([node("users", "client", rps=300, workflow="session", users=3000),
                  node("fn", "serverless", state="external", cold_start_ms=100),
                  node("kv", "store", role="state", latency_ms=1)],
                 [("users", "fn"), ("fn", "kv")], 20)
    summary, _, _ = simulate(doc)
    assert summary["users"]["logged_out"] == 0 and summary["users"]["logins"] > 0
    assert summary["nodes"]["kv"]["arrivals"] == summary["nodes"]["fn"]["arrivals"]
    assert summary["cost"]["total"] > 0


def test_a_kill_during_a_rolling_deploy_does_not_hurry_its_batches():
    doc = design([node("c", "client", rps=100),
                  node("lb", "load_balancer"),
                  node("api", "service", instances=4, startup_s=4)],
                 [("c", "lb"), ("lb", "api")], 60,
                 events=[{"at_s": 2, "action": "rolling_deploy", "node": "api",
                          "interval_s": 10},
                         {"at_s": 3, "action": "kill_instance", "node": "api"}])
    _, frames, _ = simulate(doc)
    starts = [f["t"] - 1 for f in frames for e in f["events"]
              if e["action"] == "instance_draining"]
    # One batch at a time: each next batch 10 s after the previous replacement serves.
    assert len(starts) == 3  # the killed instance is not deployed again
    assert all(b - a >= 10 for a, b in zip(starts, starts[1:], strict=False))
    assert frames[-1]["nodes"]["api"]["up"] == 4
