"""The core's state is declared once (playground/engine/state.py): the arrays a run holds are the
declared ones, by name, type and dimensions, before and after they grow; a group grows together
and keeps what it held."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import state
from playground.engine.schema import load
from playground.engine.simulation import Simulation
from tests.engine.helpers import design, node


def _check(arrays: state.Arrays) -> None:
    assert len(arrays) == len(state.FIELDS)
    for field, a in zip(state.FIELDS, arrays, strict=True):
        assert a is getattr(arrays, field.name)
        assert a.dtype == field.dtype and a.ndim == field.ndim, field.name
        assert a.flags.c_contiguous, field.name
        if field.view_of:  # the same memory as the array it reads
            assert np.shares_memory(a, getattr(arrays, field.view_of)), field.name
    for group, fields in state.GROUPS.items():
        caps = {f.capacity(getattr(arrays, f.name)) for f in fields}
        assert len(caps) == 1, f"group {group} has capacities {caps}"


def _grown(doc: dict) -> list[str]:
    """Run ``doc``, checking its arrays against the declaration at the start and the end: the
    names of those that grew."""
    sim = Simulation(load(doc))
    _check(sim.core.S)
    first = {f.name: getattr(sim.core.S, f.name).shape for f in state.FIELDS}
    sim.run()
    _check(sim.core.S)
    return [f.name for f in state.FIELDS if getattr(sim.core.S, f.name).shape != first[f.name]]


def test_a_run_holds_the_declared_arrays_before_and_after_they_grow():
    """A sticky balancer's pins for many users grow the workflow table; 20,000 requests in
    flight grow the visit arrays and the heap; a breaker and a throttle fill the window records;
    payments grow the charges by serial."""
    doc = design([node("c", "client", rps=100000, users=200000, workflow="session"),
                  node("lb", "load_balancer", algorithm="sticky"),
                  node("api", "service", instances=3, workers=8000, queue=None,
                       service_ms={"dist": "const", "mean": 200}, state="local")],
                 [("c", "lb"), ("lb", "api")], 1)
    grown = _grown(doc)
    for name in ("VI", "VT", "FR", "VA", "TB", "HT", "HI"):
        assert name in grown, grown
    doc = design([node("c", "client", rps=3000, adaptive_throttle={"k": 2}),
                  node("api", "service", instances=2, workers=64, service_ms=5)],
                 [{"from": "c", "to": "api", "circuit_breaker": {"window_s": 5}}], 3)
    assert "RT" in _grown(doc)
    doc = design([node("c", "client", rps=2000, workflow="payment", idempotency_keys=True),
                  node("api", "service", instances=2, workers=64, service_ms=5, state="external"),
                  node("keys", "store", role="state", latency_ms=1)],
                 [("c", "api"), ("api", "keys")], 2)
    assert "CH" in _grown(doc)  # 4,000 payments, each charge counted by its serial


@pytest.mark.parametrize("max_in_flight", [300_000, 100_000_000])
def test_the_visit_arrays_grow_once_to_the_runs_bound_on_what_is_in_flight(monkeypatch,
                                                                           max_in_flight):
    """20,000 requests in flight: the visit arrays grow once, straight to room for the run's
    ``max_in_flight`` (up to compiled._VRESERVE slots; zeroed pages, resident only where a slot
    is used), instead of doubling and copying every slot at each step. The run's figures are
    the same as with doubling."""
    from playground.engine import compiled
    from playground.engine.limits import Limits

    doc = design([node("c", "client", rps=100000),
                  node("api", "service", instances=3, workers=8000, queue=None,
                       service_ms={"dist": "const", "mean": 200})],
                 [("c", "api")], 1)
    limits = Limits(max_in_flight=max_in_flight)
    grown: list[tuple[str, int]] = []
    grow = state.Arrays.grow
    monkeypatch.setattr(state.Arrays, "grow",
                        lambda self, group, cap: (grown.append((group, cap)), grow(self, group, cap)))
    sim = Simulation(load(doc, limits=limits), limits=limits)
    summary = sim.run()
    assert sim.core.S.M[compiled.M_SLOTS] > 20_000
    want = min(max_in_flight + compiled._VRES, compiled._VRESERVE)
    assert [cap for group, cap in grown if group == "visits"] == [want]
    _check(sim.core.S)

    monkeypatch.setattr(compiled, "_VRESERVE", 0)  # doubling only: the same run
    doubled = Simulation(load(doc, limits=limits), limits=limits).run()
    assert [cap for group, cap in grown if group == "visits"][1:] == [8192, 16384, 32768, 65536]
    assert doubled == summary


def test_grow_doubles_a_group_keeping_what_it_held_and_filling_the_rest():
    arrays = state.Arrays(**{f.name: state.empty(f.name, 4 if f.name == "VI" else 3, 4)
                             for f in state.FIELDS if not f.view_of})
    arrays.VI[:] = 7
    arrays.TB[:] = 5
    arrays.grow("visits", 8)
    arrays.grow("table", 8)
    _check(arrays)
    assert arrays.VI.shape == (8, 4) and arrays.VT.shape == (8,)  # VI is [slot, word]
    assert (arrays.VI[:4] == 7).all() and (arrays.VI[4:] == 0).all()
    # VK reads the grown VI's memory, two words to an int64
    assert arrays.VK.shape == (8, 2) and np.shares_memory(arrays.VK, arrays.VI)
    assert (arrays.VK[:4] == 7 + (7 << 32)).all() and (arrays.VK[4:] == 0).all()
    arrays.VK[5, 1] = -2
    assert arrays.VI[5].tolist() == [0, 0, -2, -1]
    assert arrays.TB.shape == (8, 3)  # [cell, key / value]: by item
    assert (arrays.TB[:4] == 5).all() and (arrays.TB[4:] == -1).all()  # EMPTY, not 0
    assert arrays.NI.shape == (3, 4)  # not in the group


def test_the_state_must_be_whole():
    with pytest.raises(TypeError, match="lacks"):
        state.Arrays(VI=np.zeros((1, 1), dtype=np.int64))


def test_session_users_are_a_word_each_not_table_cells():
    """Sessions and logins are a word per user of each client with workflow session (US, from
    the client's N_UOFF), so a session design leaves the workflow table as it started; a
    stateless client has no words. The words end as the run left its users: logged in, with a
    session in the external store."""
    from playground.engine.compiled import N_UOFF, U_LOGGED, U_SEXT

    doc = design([node("a", "client", rps=2000, users=3000, workflow="session"),
                  node("b", "client", rps=500, users=700, workflow="session"),
                  node("c", "client", rps=500),
                  node("api", "service", instances=2, workers=64, service_ms=5,
                       state="external"),
                  node("sessions", "store", role="state", latency_ms=1)],
                 [("a", "api"), ("b", "api"), ("c", "api"), ("api", "sessions")], 5)
    sim = Simulation(load(doc))
    table = sim.core.S.TB.shape
    summary = sim.run()["summary"]
    S = sim.core.S
    assert S.US.shape == (3700,)
    assert S.TB.shape == table and not (S.TB[:, 0] != -1).any()
    a, b = sim.index["a"], sim.index["b"]
    assert (S.NI[N_UOFF, a], S.NI[N_UOFF, b]) == (0, 3000)
    words = S.US.astype(np.int64)
    logged = int(np.count_nonzero(words & U_LOGGED))
    assert logged == int(np.count_nonzero(words & U_SEXT))  # each login made its session
    assert logged > 3500  # 10,000 and 2,500 requests: almost every user logged in
    assert summary["users"]["logins"] >= logged and summary["users"]["logged_out"] == 0


def test_a_visits_slots_and_links_fit_its_32_bit_words():
    """A visit's slot and its links to other visits are 32-bit words of its record, so the
    in-flight bound, which bounds the slots, stops below 2**31; tokens and request ids, read
    through VK, keep 64 bits."""
    from playground.engine import compiled
    from playground.engine.limits import MAX_IN_FLIGHT, Limits

    assert MAX_IN_FLIGHT + compiled._VRESERVE + compiled._VRES < 2**31
    Limits(max_in_flight=MAX_IN_FLIGHT)
    for bad in (0, MAX_IN_FLIGHT + 1):
        with pytest.raises(ValueError, match="max_in_flight must be from 1 to 1,073,741,824"):
            Limits(max_in_flight=bad)
    assert state.FIELDS[0].name == "VI" and state.FIELDS[0].dtype == np.int32
    arrays = state.Arrays(**{f.name: state.empty(f.name, compiled._V_WORDS if f.name == "VI"
                                                 else 3, 4) for f in state.FIELDS if not f.view_of})
    arrays.VK[2, compiled.V_TOK] = (1 << 62) + 5
    arrays.VI[2, compiled.V_PAR] = MAX_IN_FLIGHT + compiled._VRES
    assert arrays.VK[2, compiled.V_TOK] == (1 << 62) + 5
    assert arrays.VI[2, compiled.V_PAR] == MAX_IN_FLIGHT + compiled._VRES
    assert compiled.V_REQ < compiled._VK_ROWS and min(compiled.V_NODE, compiled.V_CBG) >= 2 * compiled._VK_ROWS
