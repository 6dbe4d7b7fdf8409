"""The core's event heap (jitcore.hpush, hpop): events come out in the order of their time, then
their token, whatever the order they went in, ties in time included; HT holds infinity past the
last entry, which hpop's choice of a child relies on. As the loop uses it (jitcore.advance), the
top stays in place while its event is handled (M_HTOP), and the handler's first push takes its
place: the order is the same."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import compiled, jitcore, state


def _heap(cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return state.empty("HT", 0, cap), state.empty("HI", 3, cap), np.zeros(64, dtype=np.int64)


def _push(HT, HI, M, rng, live, out, token):
    # few distinct times, so that many tie: the token decides among them
    t = float(rng.integers(0, 50)) / 8 + (out[-1][0] if out else 0.0)
    entry = (t, token, int(rng.integers(0, 10)), int(rng.integers(0, 1000)))
    jitcore.hpush(HT, HI, M, *entry)
    live.append(entry)


@pytest.mark.parametrize("handled", [False, True], ids=["popped", "handled-in-place"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_leave_in_time_then_token_order(seed, handled):
    """With ``handled``, each event taken stays the top until its "handler" has pushed 0-2 new
    entries (the first replaces it), and is popped only if it pushed none."""
    rng = np.random.default_rng(seed)
    HT, HI, M = _heap(4096)
    assert np.isinf(HT).all()
    live: list[tuple[float, int, int, int]] = []
    out: list[tuple[float, int, int, int]] = []
    token = 0
    replaced = 0
    for _ in range(20_000):
        if live and (rng.random() < 0.5 or len(live) > 3000):
            t, s = float(HT[0]), int(HI[0, compiled.H_S])
            out.append((t, s, int(HI[0, compiled.H_C]), int(HI[0, compiled.H_A])))
            live.remove(out[-1])
            assert (t, s) == min(live + [out[-1]])[:2]
            if not handled:
                jitcore.hpop(HT, HI, M)
            else:
                M[compiled.M_HTOP] = 1
                for _ in range(int(rng.integers(0, 3))):
                    token += 1
                    replaced += int(M[compiled.M_HTOP])
                    _push(HT, HI, M, rng, live, out, token)
                if M[compiled.M_HTOP]:
                    M[compiled.M_HTOP] = 0
                    jitcore.hpop(HT, HI, M)
        else:
            token += 1
            _push(HT, HI, M, rng, live, out, token)
        n = int(M[compiled.M_HN])
        assert n == len(live)
        assert np.isinf(HT[n:]).all()  # the sentinel past the last entry
    times = [(t, s) for t, s, _, _ in out]
    assert len(times) > 5000 and len({t for t, _ in times}) < len(times)  # ties happened
    assert replaced > 2000 if handled else replaced == 0
    while M[compiled.M_HN]:
        jitcore.hpop(HT, HI, M)
    assert np.isinf(HT).all()


def test_a_grown_heap_keeps_the_sentinel():
    arrays = state.Arrays(**{f.name: state.empty(f.name, 4 if f.name == "VI" else 3, 4)
                             for f in state.FIELDS if not f.view_of})
    arrays.HT[:2] = [1.0, 2.0]
    arrays.grow("heap", 8)
    assert arrays.HT[:2].tolist() == [1.0, 2.0] and np.isinf(arrays.HT[2:]).all()
