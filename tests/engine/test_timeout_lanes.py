"""Timeouts wait in lanes (compiled._LANES), one per distinct timeout of the design's edges, and
the edges of any further timeout use the heap: the events keep their order exactly, so a run
gives the same frames and summary as one with every timeout on the heap, whether the lanes
fill, grow or run dry, and whatever a kill or a retry does meanwhile."""

from __future__ import annotations

from playground.engine import compiled, state
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node


def _fan_out(duration_s: float = 30.0) -> dict:
    """A client with a timeout and retries into a balancer, whose service calls six backends
    over edges with five distinct timeouts (one more than there are lanes), some short enough
    to fire, with a kill in the middle."""
    backends = [node(f"b{k}", "service", instances=2, workers=4, queue=200,
                     service_ms={"dist": "exp", "mean": 4 + 3 * k}) for k in range(6)]
    edges: list = [{"from": "c", "to": "lb"}, {"from": "lb", "to": "api"}]
    for k, tmo in enumerate([15, 15, 30, 60, 90, 120]):
        edges.append({"from": "api", "to": f"b{k}", "timeout_ms": tmo, "retries": 1})
    doc = design([node("c", "client", rps=900, timeout_ms=400, retries=2,
                       retry_on=["timeout", "unavailable"]),
                  node("lb", "load_balancer", algorithm="least_connections"),
                  node("api", "service", instances=3, workers=64, queue=None, service_ms=2),
                  *backends], edges, duration_s, warmup_s=5.0,
                 events=[{"at_s": 12, "action": "kill_instance", "node": "b2"}])
    return doc


def _run(doc: dict) -> tuple[dict, Simulation]:
    sim = Simulation(load(doc))
    out = sim.run(frames=True)
    return out, sim


def test_a_run_with_lanes_is_the_run_with_every_timeout_on_the_heap(monkeypatch):
    doc = _fan_out()
    with_lanes, sim = _run(doc)
    S = sim.core.S
    lanes = S.EI[compiled.E_LANE, :len(sim.e_dst)].tolist()
    assert int(S.M[compiled.M_NQ]) == compiled._LANES == 4
    assert sorted(set(lanes)) == [-1, 0, 1, 2, 3]  # 120 ms and the client-less edges: the heap
    assert with_lanes["summary"]["errors"]["timeout"] > 0  # the lanes' timeouts fired
    monkeypatch.setattr(compiled, "_LANES", 0)
    on_heap, sim2 = _run(doc)
    assert int(sim2.core.S.M[compiled.M_NQ]) == 0
    assert (sim2.core.S.EI[compiled.E_LANE] == -1).all()
    assert with_lanes == on_heap


def test_lanes_that_outgrow_their_rows_grow_and_keep_their_order(monkeypatch):
    """20,000 calls a second with a 1 s timeout keep about 20,000 timeouts waiting in one lane,
    five times its first size: its rows grow (and move to their front as heads advance)."""
    doc = design([node("c", "client", rps=20000, timeout_ms=1000),
                  node("api", "service", instances=4, workers=400, service_ms=30)],
                 [("c", "api")], 20.0)
    grown: list[tuple[str, int]] = []
    grow = state.Arrays.grow
    monkeypatch.setattr(state.Arrays, "grow",
                        lambda self, group, cap: (grown.append((group, cap)), grow(self, group, cap)))
    with_lanes, _ = _run(doc)
    assert [cap for group, cap in grown if group == "lanes"][-1] >= 32768
    monkeypatch.setattr(compiled, "_LANES", 0)
    assert _run(doc)[0] == with_lanes
