"""A fast path for the simplest design: one Poisson client calling one FIFO pool.

Terms
-----
station design
    One stateless client with no timeout and no retries, calling (one call, no network latency,
    no edge timeout or retries) a service with one instance or a database, with no calls of its
    own; a flat traffic multiplier, no scheduled events, no autoscaling. Other nodes may exist
    but nothing reaches them. The M/M/c, M/M/c/K, M/D/1 and M/G/1 models of the accuracy tests
    and the benchmark are station designs.
fast path
    A loop specialised to that design: it merges the next emission with a heap of departures
    instead of scheduling events and allocating visits, but makes the same random draws in the
    same order and the same updates to the simulation's counters, integrals and buffers, in the
    same order, so its frames and summary are the general loop's byte for byte (tests compare
    them), barring two events at the very same instant, which Poisson arrivals make a
    probability-zero event. It is chosen from the document alone, so a run and its replay
    always take the same path.
handover
    A live control needs the general loop: the customers in the station become visits and
    events again, and the run goes on there.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from playground.engine.codes import (
    C_ATTEMPTS,
    C_OK,
    C_REQUESTS,
    CLIENT,
    DATABASE,
    EV_DONE,
    EV_EMIT,
    OVERLOAD,
    SERVICE,
)

#: Tests switch the fast path off to compare it with the general loop.
ENABLED = True


def eligible(sim: Any) -> bool:
    """Whether ``sim``'s design is a station design (see above)."""
    doc = sim.document
    if not ENABLED or doc.scenario.events or doc.scenario.traffic or not sim._flat:
        return False
    if sim.workflows or len(sim.clients) != 1 or sim.heap[1:]:
        return False
    c = sim.clients[0]
    p = sim.n_params[c]
    if p.get("timeout_ms") or int(p.get("retries", 0)) or sim.c_rps[c] <= 0:
        return False
    if len(sim.n_out[c]) != 1:
        return False
    e = sim.n_out[c][0]
    if (sim.e_whole[e], sim.e_frac[e], sim.e_async[e], sim.e_lat[e], sim.e_tmo[e],
            sim.e_retries[e]) != (1, 0.0, False, None, 0.0, 0):
        return False
    s = sim.e_dst[e]
    if sim.n_kind[s] not in (SERVICE, DATABASE) or sim.n_out[s] or len(sim.n_insts[s]) != 1:
        return False
    if sim.n_hook[s] or sim.n_kind[s] == SERVICE and sim.n_params[s].get("autoscale"):
        return False
    return all(sim.n_kind[n] != CLIENT or n == c for n in range(len(sim.ids)))


def fast_advance(sim: Any) -> Callable[[float], None]:
    """The station loop for ``sim``, to use as its ``_advance_to``."""
    c0 = sim.clients[0]
    s = sim.e_dst[sim.n_out[c0][0]]
    i = sim.n_insts[s][0]
    servers, qcap = sim.i_cap[i], sim.i_qcap[i]
    i_busy = sim.i_busy
    F, W, lat_tick, lat_win = sim.F, sim.W, sim.lat_tick, sim.lat_win
    n_arr, n_wz, n_err, n_sn, n_ss = sim.n_arr, sim.n_wz, sim.n_err, sim.n_sn, sim.n_ss
    n_x, x_acc, n_busy, b_acc, n_q, q_acc = (
        sim.n_x, sim.x_acc, sim.n_busy, sim.b_acc, sim.n_q, sim.q_acc)
    wbuf = sim.n_wbuf[s]
    work, slow = sim.n_work[s], sim.n_slow
    draw, rate = sim.c_exp[c0], sim.c_rps[c0]
    w0, t_stop = sim.w0, sim.w1
    # Each customer in the station is two visits (the client's request and the call).
    live_cap = (int(sim.limits.max_in_flight) + 1) // 2
    serr, cerr = n_err[s], n_err[c0]
    # The first emission was scheduled as an event (unless it falls after duration_s); take
    # it over.
    first_t = heapq.heappop(sim.heap)[0] if sim.heap else math.inf
    # Departures as (time, arrival); a sentinel at infinity keeps the heap never empty. Two
    # departures at the same instant have probability zero (Poisson arrivals), so no start
    # order is needed to break ties.
    st = sim.station = {"next": first_t, "deps": [(math.inf, math.inf)], "queue": deque(),
                        "n": 0}
    deps: list[tuple[float, float]] = st["deps"]
    queue: deque[float] = st["queue"]                      # arrivals waiting, FIFO
    push, pop = heapq.heappush, heapq.heappop
    inf = math.inf

    def advance_to(until: float) -> None:
        # Counters and integrals live in locals for the tick and are written back at its end:
        # the same operations in the same order as the general loop, without list indexing.
        nxt, present = st["next"], st["n"]
        lat_tick_append, lat_win_append, wbuf_append = (
            lat_tick.append, lat_win.append, wbuf.append)
        # A tick is wholly in warmup or wholly in the window (both are multiples of tick_s), and
        # emissions stop at duration_s: one flag serves every emission of this call.
        ewin = sim.clock >= w0
        sl = slow[s]
        emitted = refused = 0  # emissions, and those over the in-flight cap
        busy = i_busy[i]
        xacc, bacc, qacc = x_acc[c0], b_acc[s], q_acc[s]
        ss_s, ss_c, sn_s, sn_c = n_ss[s], n_ss[c0], n_sn[s], n_sn[c0]
        wz_s = n_wz[s]
        f_ok, f_ovl = F[C_OK], F[2 + OVERLOAD]
        w_ok, w_ovl = W[C_OK], W[2 + OVERLOAD]
        w_ovl_before = w_ovl
        s_ovl, c_ovl = serr[OVERLOAD], cerr[OVERLOAD]
        left = sim._left
        while True:
            d = deps[0][0]
            if (d if d < nxt else nxt) >= until:
                break
            if left <= 0:
                sim._left = 0
                sim._checkpoint()
                left = sim._left
            left -= 1
            if d < nxt:
                # A departure: as the general loop's finish, then the client's answer.
                a = pop(deps)[1]
                busy -= 1
                bacc += d
                if queue:
                    a2 = queue.popleft()
                    qacc += d
                    busy += 1
                    bacc -= d
                    if a2 >= w0:  # every arrival is before w1
                        if d > a2:
                            wbuf_append((d - a2) * 1e3)
                        else:
                            wz_s += 1
                    push(deps, (d + work() * sl, a2))
                stay = d - a
                present -= 1
                xacc += d
                ms = stay * 1e3
                f_ok += 1
                lat_tick_append(ms)
                if a >= w0:
                    sn_s += 1
                    ss_s += stay
                    sn_c += 1
                    ss_c += stay
                    w_ok += 1
                    lat_win_append(ms)
                continue
            t = nxt
            # An emission: as the general loop's emit, start_request and arrive.
            nt = t + draw() / rate
            nxt = nt if nt < t_stop else inf
            emitted += 1
            if present >= live_cap:
                refused += 1
                f_ovl += 1
                c_ovl += 1
                if ewin:
                    w_ovl += 1
                    sn_c += 1
                continue
            xacc -= t
            if busy < servers:
                busy += 1
                bacc -= t
                if ewin:
                    wz_s += 1
                push(deps, (t + work() * sl, t))
                present += 1
            elif len(queue) < qcap:
                queue.append(t)
                qacc -= t
                present += 1
            else:
                s_ovl += 1
                xacc += t
                f_ovl += 1
                if ewin:
                    sn_s += 1
                    sn_c += 1
                    ss_c += t - t
                    w_ovl += 1
        st["next"], st["n"] = nxt, present
        i_busy[i] = n_busy[s] = busy
        n_q[s] = len(queue)
        n_x[c0] = present
        x_acc[c0], b_acc[s], q_acc[s] = xacc, bacc, qacc
        n_ss[s], n_ss[c0], n_sn[s], n_sn[c0] = ss_s, ss_c, sn_s, sn_c
        n_arr[c0] += emitted
        n_arr[s] += emitted - refused
        n_wz[s] = wz_s
        F[C_REQUESTS] += emitted
        F[C_ATTEMPTS] += emitted
        F[C_OK], F[2 + OVERLOAD] = f_ok, f_ovl
        W[C_OK], W[2 + OVERLOAD] = w_ok, w_ovl
        # The window's failures here are all refusals at arrival: each took 0 ms.
        sim.fail_win.extend([0.0] * (w_ovl - w_ovl_before))
        if ewin:
            W[C_REQUESTS] += emitted
            W[C_ATTEMPTS] += emitted
            n_wz[c0] += emitted
        serr[OVERLOAD], cerr[OVERLOAD] = s_ovl, c_ovl
        sim._left = left
        sim.clock = until

    return advance_to


def handover(sim: Any, general: Callable[[float], None]) -> None:
    """Turn the station's customers back into visits and events for the general loop."""
    st = sim.station
    c0 = sim.clients[0]
    e = sim.n_out[c0][0]
    s = sim.e_dst[e]
    i = sim.n_insts[s][0]
    cnt, heap = sim.cnt, sim.heap

    def customer(a: float, hold: int) -> int:
        p = sim._alloc(c0, -1, 0, a, -1)
        sim.v_req[p] = p
        sim.v_hold[p] = 0
        sim.v_edge[p] = 0
        sim.v_try[p] = 0
        sim.v_aux[p] = 0
        tok = next(cnt)
        sim.v_wait[p] = tok
        c = sim._alloc(s, p, tok, a, p)
        sim.v_hold[c] = hold
        sim.v_inst[c] = i
        return c

    for d, a in sorted(x for x in st["deps"] if x[0] < math.inf):
        c = customer(a, 1)
        tok = next(cnt)
        sim.v_tok[c] = tok
        heapq.heappush(heap, (d, tok, EV_DONE, c))
    q = sim.i_q[i]
    for a in st["queue"]:
        q.append(customer(a, 2))
    if st["next"] < math.inf:
        tok = next(cnt)
        sim.c_tok[c0] = tok
        heapq.heappush(heap, (st["next"], tok, EV_EMIT, c0))
    sim.station = None
    sim._advance_to = general
