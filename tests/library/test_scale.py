"""A design's scale (playground/designs/scale.py), read from its document with the engine's defaults."""

from __future__ import annotations

from playground.designs.scale import Scale, scale_of


def design(**scenario) -> dict:
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "web", "kind": "client", "params": {"rps": 1500}},
            {"id": "app", "kind": "client", "params": {"rps": 500}},
            {"id": "api", "kind": "service", "params": {"instances": 30}},
            {"id": "auth", "kind": "service", "params": {}},
            {"id": "fn", "kind": "serverless", "params": {"max_concurrency": 300}},
            {"id": "db", "kind": "database", "params": {}},
        ],
        "edges": [{"from": "web", "to": "api"}, {"from": "app", "to": "fn"}, {"from": "api", "to": "auth"},
                  {"from": "auth", "to": "db"}, {"from": "fn", "to": "db"}],
        "scenario": {"duration_s": 120, **scenario},
    }


def test_rates_instances_and_functions_add_up_with_the_engines_defaults():
    # "auth" leaves instances out: the engine's default, 2, counts.
    assert scale_of(design()) == Scale(rps=2000, peak_rps=2000, instances=32, functions=300, duration_s=120)
    assert scale_of(design()).parts() == ["2,000 rps", "32 instances", "serverless, up to 300 at once",
                                          "120 s simulated"]


def test_the_peak_is_the_highest_multiplier_reached_before_the_end():
    steps = [{"at_s": 10, "multiplier": 3, "ramp_s": 5}, {"at_s": 40, "multiplier": 0.5},
             {"at_s": 100, "multiplier": 8, "ramp_s": 40}]  # Only half of the last ramp happens.
    s = scale_of(design(traffic=steps))
    assert s.peak_rps == 2000 * (0.5 + 7.5 * 20 / 40)
    assert s.parts()[0] == "2,000 rps, peaks at 8,500"
    assert scale_of(design(traffic=[{"at_s": 10, "multiplier": 0.2}])).parts()[0] == "2,000 rps"


def test_a_design_without_serverless_nodes_counts_only_instances_and_a_broken_one_has_no_scale():
    doc = design()
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] not in ("fn", "app")]
    doc["edges"] = [e for e in doc["edges"] if "fn" not in (e["from"], e["to"]) and e["from"] != "app"]
    s = scale_of(doc)
    assert s.functions is None and s.parts() == ["1,500 rps", "32 instances", "120 s simulated"]
    assert scale_of({"nodes": "nope"}) is None
