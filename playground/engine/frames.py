"""Frames and the summary (SCHEMA.md "Output"), made from what the simulation counted: the
frame of each tick when its clock reaches the tick's end (``_close_tick``), the summary at the
end (``_make_summary``), and probes of the figures so far. A mixin of ``Simulation``, over its
counters and histograms (simulation.py's module docstring says what each output holds).
"""

from __future__ import annotations

from typing import Any

from playground.engine.codes import (
    C_ATTEMPTS,
    C_CHARGES,
    C_DUPLICATES,
    C_LOGGED_OUT,
    C_LOGINS,
    C_OK,
    C_REQUESTS,
    C_UPLOADS,
    C_UPLOADS_FAILED,
    DRAINING,
    N_CAUSES,
    N_COUNTERS,
    QUEUE,
    SERVERLESS,
    SERVICE,
    STARTING,
    UP,
)
from playground.engine.document import ERROR_CAUSES
from playground.engine.histogram import Histogram, summarize
from playground.engine.version import ENGINE_VERSION

_LATENCY_QS = (0.5, 0.95, 0.99)
_SUMMARY_QS = (0.5, 0.9, 0.95, 0.99, 0.999)


def _r(x: float, digits: int = 4) -> float:
    """A finite, rounded float for output (rounding keeps frames small and stable to read);
    ``x - x`` is 0 for every finite ``x`` and NaN for NaN and infinities."""
    return round(x, digits) + 0.0 if x - x == 0.0 else 0.0


def _rn(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else _r(x, digits)


def _latency(h: Histogram) -> dict[str, float | None]:
    """The summary's latency figures of a histogram (mean, percentiles, exact maximum)."""
    qs = h.quantiles(_SUMMARY_QS)
    return {"mean": _rn(h.mean(), 6), "p50": _rn(qs[0], 6), "p90": _rn(qs[1], 6), "p95": _rn(qs[2], 6),
            "p99": _rn(qs[3], 6), "p999": _rn(qs[4], 6), "max": _rn(h.hi if h.n else None, 6)}


class FramesMixin:
    """Frames, the summary and probes, for ``Simulation``."""

    def _close_tick(self, end: float) -> dict[str, Any]:
        """The frame of the tick that ends at ``end`` (SCHEMA "Frames"); the tick's counters and
        buffers start again."""
        tick = self.tick_s
        inwin = self.k > self.warm_ticks
        nodes = {nid: self._node_frame(n, end, tick, inwin) for n, nid in enumerate(self.ids)}
        F = self.F
        _, mean, top, (p50, p95, p99) = summarize(self.lat_tick, _LATENCY_QS)
        self.lat_tick.clear()
        frame = {
            "seq": self.k,
            "t": _r(end, 6),
            "offered_rps": _r(F[C_REQUESTS] / tick),
            "ok_rps": _r(F[C_OK] / tick),
            "attempts_rps": _r(F[C_ATTEMPTS] / tick),
            "errors": {name: _r(F[2 + c] / tick) if F[2 + c] else 0.0
                       for c, name in self.causes},
            "latency_ms": {"p50": _rn(p50), "p95": _rn(p95), "p99": _rn(p99),
                           "max": _rn(top), "mean": _rn(mean)},
            "users": {"logins": _r(F[C_LOGINS] / tick),
                      "logged_out": _r(F[C_LOGGED_OUT] / tick)},
            "charges": {"total": _r(F[C_CHARGES] / tick),
                        "duplicate": _r(F[C_DUPLICATES] / tick)},
            "uploads": {"started": _r(F[C_UPLOADS] / tick),
                        "failed": _r(F[C_UPLOADS_FAILED] / tick)},
            "cost_per_hour": _r(self._cost_per_hour(end)),
            "events": self._tick_events,
            "nodes": nodes,
        }
        if self.breakers:
            frame["breakers"] = self.core.breaker_states()
        self._tick_events = []
        for j in range(N_COUNTERS):
            F[j] = 0
        if self.lat_win:
            self._lat_hist.stage_chunks(self.lat_win)
            self.lat_win.clear()
        if self.fail_win:
            self._fail_hist.stage_chunks(self.fail_win)
            self.fail_win.clear()
        return frame

    def _node_frame(self, n: int, end: float, tick: float, inwin: bool) -> dict[str, Any]:
        """Node ``n``'s part of the frame of the tick ending at ``end``; its tick counters
        closed (and added to the window's when the tick is in it)."""
        b = self.b_acc[n] + self.n_busy[n] * end
        self.b_acc[n] = -self.n_busy[n] * end
        q = self.q_acc[n] + self.n_q[n] * end
        self.q_acc[n] = -self.n_q[n] * end
        x = self.x_acc[n] + self.n_x[n] * end
        self.x_acc[n] = -self.n_x[n] * end
        cap = self.cap_acc[n] + self.n_cap[n] * end
        self.cap_acc[n] = -self.n_cap[n] * end
        arr = self.n_arr[n]
        self.n_arr[n] = 0
        errs = self.n_err[n]
        self.cum_b[n] += b
        self.cum_cap[n] += cap
        if inwin:
            self.s_arr[n] += arr
            self.s_b[n] += b
            self.s_q[n] += q
            self.s_x[n] += x
            self.s_cap[n] += cap
        if self.n_wcount[n] > 4096:
            self.n_whist[n].add_chunks(self.n_wbuf[n])
            self.n_wbuf[n].clear()
            self.n_wcount[n] = 0
        up, starting = self._counts(n)
        errors: dict[str, float] = {}
        if any(errs):  # most ticks of most nodes fail nothing
            for c in range(1, N_CAUSES):
                if errs[c]:
                    errors[ERROR_CAUSES[c - 1]] = _r(errs[c] / tick)
                    errs[c] = 0
        return {
            "utilization": _r(self._utilization(n, b, q, x, cap, tick)),
            "queue": _r(q / tick),
            "up": up,
            "starting": starting,
            "rps": _r(arr / tick),
            "errors": errors,
        }

    def _utilization(self, n: int, b: float, q: float, x: float, cap: float,
                     span: float) -> float:
        """Busy servers over servers available; for a queue node, its fill."""
        if self.n_kind[n] == QUEUE:
            depth = self.n_maxdepth[n]
            return (q + x) / (depth * span) if depth else 0.0
        return b / cap if cap > 0 else 0.0

    def _counts(self, n: int) -> tuple[int, int]:
        """Instances up (serving) and starting; 1 and 0 for a node without instances (0 while
        it is out)."""
        if self.n_kind[n] == SERVICE:
            i_state = self.i_state
            states = [i_state[i] for i in self.n_insts[n]]
            return states.count(UP) + states.count(DRAINING), states.count(STARTING)
        if self.n_kind[n] == SERVERLESS:
            return (0 if self.n_down[n] else self.containers(n, self.clock)), 0
        return (0 if self.n_down[n] else 1), 0

    def _make_summary(self) -> dict[str, Any]:
        W = self.W
        span = self.w1 - self.w0
        lat = self._lat_hist
        lat.add_chunks(self.lat_win)
        self.lat_win.clear()
        qs = lat.quantiles(_SUMMARY_QS)
        every = lat.copy()
        self._fail_hist.add_chunks(self.fail_win)
        self.fail_win.clear()
        every.merge(self._fail_hist)
        errors = {name: W[2 + c] for c, name in self.causes}
        incomplete = W[C_REQUESTS] - W[C_OK] - sum(errors.values())
        nodes: dict[str, Any] = {}
        for n, nid in enumerate(self.ids):
            wh = self.node_wait_histogram(n)
            wq = wh.quantiles((0.5, 0.99))
            arrivals = self.s_arr[n]
            nodes[nid] = {
                "utilization": _r(self._utilization(n, self.s_b[n], self.s_q[n], self.s_x[n],
                                                    self.s_cap[n], span) if span else 0.0, 6),
                "mean_queue": _r(self.s_q[n] / span if span else 0.0, 6),
                "mean_present": _r((self.s_b[n] + self.s_q[n] + self.s_x[n]) / span
                                   if span else 0.0, 6),
                "arrivals": arrivals,
                "mean_sojourn_ms": _rn(self.n_ss[n] / self.n_sn[n] * 1e3
                                       if self.n_sn[n] else None, 6),
                "wait_ms": {"mean": _rn(wh.mean(), 6), "p50": _rn(wq[0], 6),
                            "p99": _rn(wq[1], 6)},
            }
        cost_per_hour, cost_total = self._cost_totals()
        return {
            "engine_version": ENGINE_VERSION,
            "seed": self.seed,
            "requests": W[C_REQUESTS],
            "attempts": W[C_ATTEMPTS],
            "ok": W[C_OK],
            "incomplete": incomplete,
            "errors": errors,
            "latency_ms": {"mean": _rn(lat.mean(), 6), "p50": _rn(qs[0], 6),
                           "p90": _rn(qs[1], 6), "p95": _rn(qs[2], 6), "p99": _rn(qs[3], 6),
                           "p999": _rn(qs[4], 6), "max": _rn(lat.hi if lat.n else None, 6)},
            "latency_all_ms": _latency(every),
            "throughput_rps": _r(W[C_OK] / span if span else 0.0, 6),
            "nodes": nodes,
            "users": {"logins": W[C_LOGINS], "logged_out": W[C_LOGGED_OUT]},
            "charges": {"total": W[C_CHARGES], "duplicate": W[C_DUPLICATES]},
            "uploads": {"started": W[C_UPLOADS], "failed": W[C_UPLOADS_FAILED]},
            "cost": {"per_hour": _r(cost_per_hour, 6), "total": _r(cost_total, 6)},
        }

    # -- probes (tests, tools)

    def node_wait_histogram(self, node: int | str) -> Histogram:
        """The waits (ms) of the node's window arrivals so far (a live object; do not keep)."""
        n = self.index[node] if isinstance(node, str) else node
        h = self.n_whist[n]
        if self.n_wbuf[n]:
            h.add_chunks(self.n_wbuf[n])
            self.n_wbuf[n].clear()
            self.n_wcount[n] = 0
        if self.n_wz[n]:
            h.add_zeros(self.n_wz[n])
            self.n_wz[n] = 0
        return h

    def latency_histogram(self) -> Histogram:
        """Latencies (ms) of successful client requests emitted in the window, so far."""
        if self.lat_win:
            self._lat_hist.add_chunks(self.lat_win)
            self.lat_win.clear()
        return self._lat_hist

    def probe(self, node: str) -> dict[str, float]:
        """Cumulative window figures of a node, for batch means between ticks: ``arrivals``
        (window ticks closed so far), ``departed`` and ``sojourn_s`` (window arrivals that have
        left), ``area_present`` (integral of requests present, closed window ticks)."""
        n = self.index[node]
        return {"arrivals": self.s_arr[n], "departed": self.n_sn[n], "sojourn_s": self.n_ss[n],
                "area_present": self.s_b[n] + self.s_q[n] + self.s_x[n],
                "area_busy": self.s_b[n], "area_queue": self.s_q[n]}
