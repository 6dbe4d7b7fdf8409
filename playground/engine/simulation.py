"""The discrete-event simulation of a design: SCHEMA.md "How a request moves", tick by tick.

Terms
-----
clock
    Simulated seconds from 0. Tick ``k`` (``seq`` k, from 1) covers ``[(k-1) tick_s, k tick_s)``
    and its frame is made when the clock reaches its end; the frame's ``t`` is that end.
window
    ``[warmup_s, duration_s)``. The summary counts client requests emitted in it (drained ones
    included) and node statistics of it.
event
    A plain tuple ``(time, token, code, slot)`` in one heap. ``token`` comes from one counter: it
    orders events that fall at the same time (first scheduled, first served) and ties an event to
    what it is for. An event whose token no longer matches is stale and skipped (a timeout after
    the answer came, a completion at an instance that died). Zero-time hops (no network latency,
    no own work) are done inline, not scheduled.
visit
    One request's stay at one node, from its arrival (after the edge's network latency) until the
    node answers its caller. A visit is a slot: an index into the parallel ``v_*`` lists, reused
    when freed, so memory follows what is in flight, never the run's length.
call
    A visit asking a node along an edge. The caller waits for the callee's answer (synchronous),
    or only for the enqueue (``async``, to a queue). An edge timeout makes the caller give up on
    the attempt; the callee keeps working and its answer, when it comes, is ignored (an orphan).
pool
    Servers and a FIFO queue: a service instance (``workers``, ``queue``), a database (one pool
    of ``connections``), a store (``capacity``, no queue) and a worker node (``workers``; its
    queue is the FIFO of the queue node feeding it). A visit holds its server for its whole stay:
    its own work, then its synchronous calls in edge order (thread-per-request).
hold state
    Each visit is, at every moment, queued (2), holding a server (1) or elsewhere at the node (0:
    a pure delay, a cache miss on its way, a client's request). Node statistics are time
    integrals of these three counts; an integral is kept as ``acc + count * now`` (arrivals and
    departures add ``-t`` and ``+t``), which is exact and costs one addition per change.
origin
    A failure is counted once, at the node where it started (an overload where the queue was full,
    a timeout at the caller that gave up); the callers it fails on its way up are not counted.
cache key model
    A cache store draws a key uniformly from ``keys``; it hits when the key was seen since the
    last flush and a ``hit_ratio`` draw says so. Past 2**24 keys the expected share of keys seen is
    used instead of a bitmap. A cdn uses the same model with 10,000 keys but starts warm, so its
    ``hit_ratio`` is its plain share of hits until a ``flush_cache``.
queue node
    Holds messages from their enqueue (a call made, after edge and queue latency) until a worker
    takes them; its ``utilization`` is its fill (held / ``max_depth``) and its wait the time a
    message waited for a worker. The worker node's visit starts at that pick-up.

Output, beyond SCHEMA.md (extensions): a frame's ``latency_ms`` also has ``mean``; a frame's
``events`` holds the actions applied in its tick (scheduled and live), traffic steps (action
``traffic``), the ends of outages and slowdowns, autoscaling decisions and instance life
(``instance_lost``, ``instance_started``, ``instance_ready``, ``instance_draining``,
``instance_stopped``, each with its ``instance`` number); a frame's per-node ``errors`` lists
only causes that occurred, and ``queue`` is the tick's time-average. The summary's nodes also
have ``mean_present`` (time-average of requests at the node: queued, in service, or waiting on
its calls), which with ``arrivals`` and ``mean_sojourn_ms`` checks Little's law. So that it does,
``mean_sojourn_ms`` is the mean stay per arrival: an arrival refused at once (overload,
unavailable) counts as a stay of 0, while ``wait_ms`` covers only arrivals that were admitted
(for the admitted alone, scale by arrivals / (arrivals - refused)). Users, charges
and uploads in the summary count events from ``warmup_s`` on (drain included); ``cost`` is the
spend over the window and its hourly rate.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from playground.engine import compiled, rng, station, traffic
from playground.engine.codes import (
    A_DELAY,
    A_OTHER,
    A_POOL,
    A_SERVICE,
    C_ATTEMPTS,
    C_CHARGES,
    C_DUPLICATES,
    C_LOGGED_OUT,
    C_LOGINS,
    C_OK,
    C_REQUESTS,
    C_UPLOADS,
    C_UPLOADS_FAILED,
    CAUSE_CODE,
    CDN,
    CLIENT,
    DATABASE,
    DEAD,
    DRAINING,
    ERROR,
    EV_ARRIVE,
    EV_DONE,
    EV_EMIT,
    EV_LATER,
    EV_RETRY,
    EV_TIMEOUT,
    EXTERNAL,
    IN_TRANSIT,
    KIND_CODES,
    LB,
    N_COUNTERS,
    OBJECT,
    OK,
    OVERLOAD,
    QUEUE,
    RETRYABLE,
    SERVERLESS,
    SERVICE,
    STARTING,
    STATE_ACCESS,
    STORE,
    TIMEOUT,
    UNAVAILABLE,
    UP,
    WORKER,
)
from playground.engine.document import ERROR_CAUSES, Dist, Document, Event, TrafficStep
from playground.engine.histogram import Histogram, summarize
from playground.engine.limits import DEFAULT_LIMITS, Limits
from playground.engine.operations import OperationsMixin
from playground.engine.version import ENGINE_VERSION
from playground.engine.work import WorkBudgetExceeded
from playground.engine.workflows import WorkflowsMixin

#: How long requests in flight at ``duration_s`` may take to finish (SCHEMA).
DRAIN_S = 60.0
#: Events between two checkpoints: a few milliseconds of CPU in the compiled core, a few tens in
#: pure Python, so a runner hears from a run several times a second however long its ticks are.
SLICE_EVENTS = 1 << 14
_NO_QUEUE = -1
_UNBOUNDED = 1 << 62
#: Caches with more keys than this track the expected share of keys seen instead of each key.
_MAX_TRACKED_KEYS = 1 << 24
_LATENCY_QS = (0.5, 0.95, 0.99)
_SUMMARY_QS = (0.5, 0.9, 0.95, 0.99, 0.999)
_UNIT_EXP = Dist("exp", 1.0)


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


class Simulation(WorkflowsMixin, OperationsMixin):
    """One run of a document: ``step()`` frame by frame, then ``summary()``.

    ``Simulation(document, seed=None, limits=None)``: ``document`` is a ``Document`` (or data for
    ``schema.load``); ``seed`` None means the scenario's. ``step()`` returns the next frame and
    raises ``StopIteration`` after the last (so a ``Simulation`` is also an iterator of frames);
    ``done`` says whether the last frame was made. ``apply(control)`` queues a live control
    (``{"kind": "event", ...}`` or ``{"kind": "traffic", ...}``) for the start of the next tick.
    ``summary()`` makes any frames not yet made, drains requests in flight, and returns the
    summary (the same object on every call). ``run(frames)`` does it all.
    """

    def __init__(self, document: Document | dict[str, Any], seed: int | None = None,
                 limits: Limits | None = None) -> None:
        if not isinstance(document, Document):
            from playground.engine.schema import load

            document = load(document)
        self.document = document
        sc = document.scenario
        self.seed = int(sc.seed if seed is None else seed)
        self.limits = limits or DEFAULT_LIMITS
        self.tick_s = float(sc.tick_s)
        self.n_ticks = max(1, round(sc.duration_s / sc.tick_s))
        self.warm_ticks = round(sc.warmup_s / sc.tick_s)
        self.w0 = self.warm_ticks * self.tick_s
        self.w1 = self.n_ticks * self.tick_s
        self.k = 0  # ticks made
        self.clock = 0.0
        self._pending: list[Event | TrafficStep] = []
        self._summary: dict[str, Any] | None = None
        # Checkpoints: every SLICE_EVENTS events the loop calls _checkpoint (see ``events``).
        self.on_checkpoint: Callable[[], None] | None = None
        self._slice = SLICE_EVENTS
        self._left = SLICE_EVENTS
        self._counted = 0
        self._lat_hist = Histogram()
        self._fail_hist = Histogram()
        self._compile()
        self._bind()
        self._start()
        # Simpler designs take a faster loop with the same output: the compiled core
        # (compiled.py, when numba is installed) or, for one station, station.py.
        self.station: dict[str, Any] | None = None
        self.core: compiled.Core | None = None
        self._general_advance = self._advance_to
        if compiled.eligible(self):
            self.core = compiled.Core(self)
            self._advance_to = self.core.advance_to
        elif station.eligible(self):
            self._advance_to = station.fast_advance(self)

    # ------------------------------------------------------------------ compile the design

    def _compile(self) -> None:
        doc, seed = self.document, self.seed
        nodes = doc.nodes
        self.ids = [n.id for n in nodes]
        index = {nid: i for i, nid in enumerate(self.ids)}
        self.index = index
        nn = len(nodes)
        self.n_kind = [KIND_CODES[n.kind] for n in nodes]
        self.n_params = [n.params for n in nodes]
        # Edges, in document order (call order).
        edges = doc.edges
        self.e_src = [index[e.src] for e in edges]
        self.e_dst = [index[e.dst] for e in edges]
        self.e_whole = [int(math.floor(e.calls)) for e in edges]
        self.e_frac = [float(e.calls - math.floor(e.calls)) for e in edges]
        self.e_async = [e.mode == "async" for e in edges]
        self.e_tmo = [(e.timeout_ms or 0.0) / 1e3 for e in edges]
        self.e_retries = [int(e.retries) for e in edges]
        self.e_lat: list[rng.Sampler | None] = []
        self.e_u: list[rng.Sampler | None] = []
        for j, e in enumerate(edges):
            key = f"{e.src}>{e.dst}#{j}"
            self.e_lat.append(None if rng.is_zero(e.latency_ms)
                              else rng.sampler(e.latency_ms, seed, key, "latency"))
            self.e_u.append(rng.uniform(seed, key, "calls") if self.e_frac[j] > 0 else None)
        out: list[list[int]] = [[] for _ in range(nn)]
        for j, s in enumerate(self.e_src):
            out[s].append(j)
        self.n_out = [tuple(o) for o in out]
        # A client's attempts time out at the tighter of its own and its edge's timeout.
        for i, n in enumerate(nodes):
            if self.n_kind[i] == CLIENT and n.params.get("timeout_ms") and self.n_out[i]:
                j = self.n_out[i][0]
                ct = n.params["timeout_ms"] / 1e3
                self.e_tmo[j] = min(self.e_tmo[j], ct) if self.e_tmo[j] else ct
        # Own work (service time, pure delay, operation time) per node, in seconds.
        self.n_work: list[rng.Sampler] = []
        for i, n in enumerate(nodes):
            p = n.params
            dist = p.get("service_ms", p.get("latency_ms"))
            if dist is None or self.n_kind[i] in (CLIENT, QUEUE):
                dist = p.get("latency_ms") if self.n_kind[i] == QUEUE else None
            self.n_work.append(rng.constant(0.0) if dist is None
                               else rng.sampler(dist, seed, n.id, "work"))
        self.n_slow = [1.0] * nn
        self.n_down = [False] * nn
        self.n_ok_u = [rng.uniform(seed, n.id, "outcome") for n in nodes]
        # Caches (stores with role cache, and cdns): the key model.
        self.n_cache = [False] * nn
        self.n_hit = [0.0] * nn
        self.n_keys = [0] * nn
        self.n_seen: list[bytearray | None] = [None] * nn
        self.n_nseen = [0] * nn      # distinct keys seen since the last flush (tracked caches)
        self.n_draws = [0] * nn      # keys drawn since the last flush (untracked caches)
        self.n_key_u: list[rng.Sampler | None] = [None] * nn
        for i, n in enumerate(nodes):
            k = self.n_kind[i]
            if (k == STORE and n.params.get("role") == "cache") or k == CDN:
                keys = int(n.params.get("keys", 10000))
                self.n_cache[i] = True
                self.n_hit[i] = float(n.params.get("hit_ratio", 0.9))
                self.n_keys[i] = keys
                self.n_seen[i] = bytearray(keys) if keys <= _MAX_TRACKED_KEYS else None
                if k == CDN:
                    # A cdn's hit_ratio is its plain share of hits: it starts warm (every key
                    # seen) and only a flush makes it warm up again, by the same key model.
                    self.n_seen[i] = bytearray(b"\x01" * keys)
                    self.n_nseen[i] = keys
                self.n_key_u[i] = rng.uniform(seed, n.id, "key")
        self.n_error = [float(n.params.get("error_rate", 0.0)) if self.n_kind[i] == EXTERNAL
                        else 0.0 for i, n in enumerate(nodes)]
        # Per-node statistics. Integrals: busy servers (b), queued (q), elsewhere (x), capacity.
        z = [0] * nn
        zf = [0.0] * nn
        self.n_busy, self.b_acc = list(z), list(zf)
        self.n_q, self.q_acc = list(z), list(zf)
        self.n_x, self.x_acc = list(z), list(zf)
        self.n_cap, self.cap_acc = list(z), list(zf)
        self.n_arr = list(z)                              # arrivals this tick
        self.n_err = [[0] * 7 for _ in range(nn)]         # failures started here this tick
        self.n_sn, self.n_ss = list(z), list(zf)          # window departures, sojourn sum (s)
        self.n_wz = list(z)                               # window zero waits
        self.n_wbuf: list[list[float]] = [[] for _ in range(nn)]  # window positive waits (ms)
        self.n_whist = [Histogram() for _ in range(nn)]
        self.s_arr, self.s_b, self.s_q, self.s_x, self.s_cap = (
            list(z), list(zf), list(zf), list(zf), list(zf))
        # Queue nodes: messages in transit or waiting.
        self.n_depth = list(z)
        self.n_maxdepth = [int(n.params.get("max_depth", 0)) for n in nodes]
        # Pools (instances); a queue node's pool is its worker's.
        self.n_qinst = [-1] * nn
        self.i_node: list[int] = []
        self.i_busy: list[int] = []
        self.i_cap: list[int] = []
        self.i_q: list[deque[int] | None] = []
        self.i_qcap: list[int] = []
        self.i_qnode: list[int] = []
        self.i_state: list[int] = []
        self.i_num: list[int] = []
        self.i_dead_t: list[float] = []
        self.n_insts: list[list[int]] = [[] for _ in range(nn)]
        self.n_up: list[list[int]] = [[] for _ in range(nn)]
        self.n_rr = list(z)
        for i, n in enumerate(nodes):
            k, p = self.n_kind[i], n.params
            if k == SERVICE:
                qcap = p.get("queue")
                for _ in range(int(p["instances"])):
                    self._add_instance(i, int(p["workers"]),
                                       _UNBOUNDED if qcap is None else int(qcap), UP)
            elif k == DATABASE:
                qcap = p.get("queue")
                self._add_instance(i, int(p["connections"]),
                                   _UNBOUNDED if qcap is None else int(qcap), UP)
            elif k == STORE:
                self._add_instance(i, int(p["capacity"]), _NO_QUEUE, UP)
        for i in range(nn):
            if self.n_kind[i] == WORKER:
                feeders = [self.e_src[j] for j in range(len(edges))
                           if self.e_dst[j] == i and self.n_kind[self.e_src[j]] == QUEUE]
                qnode = feeders[0] if feeders else i
                inst = self._add_instance(i, int(self.n_params[i]["workers"]), _UNBOUNDED, UP,
                                          qnode=qnode)
                for f in feeders:
                    self.n_qinst[f] = inst
        # How each node takes arrivals, and whether the end of its own work needs a rule of its
        # kind (caches, external services, queues) or just carries the visit on.
        self.n_inst0 = [insts[0] if insts else -1 for insts in self.n_insts]
        # A worker called synchronously (not through a queue) takes a worker or waits in the
        # FIFO of the queue that feeds it (its own when none does), like a message.
        amode = {SERVICE: A_SERVICE, DATABASE: A_POOL, STORE: A_POOL, WORKER: A_POOL,
                 LB: A_DELAY, CDN: A_DELAY, OBJECT: A_DELAY, EXTERNAL: A_DELAY}
        self.n_amode = [amode.get(k, A_OTHER) for k in self.n_kind]
        self.n_plain = [k in (SERVICE, DATABASE, WORKER, LB, OBJECT)
                        or (k == STORE and not self.n_cache[i])
                        for i, k in enumerate(self.n_kind)]
        self.lb_of = [k == LB for k in self.n_kind]
        # Load balancers: their target and pick state.
        self.lb_algo = [str(n.params.get("algorithm", "")) for n in nodes]
        self.lb_u: list[rng.Sampler | None] = [
            rng.uniform(seed, n.id, "pick") if self.n_kind[i] == LB else None
            for i, n in enumerate(nodes)]
        # Clients.
        self.c_rps = [float(n.params.get("rps", 0.0)) if self.n_kind[i] == CLIENT else 0.0
                      for i, n in enumerate(nodes)]
        self.clients = [i for i in range(nn) if self.n_kind[i] == CLIENT]
        self.c_exp = {i: rng.sampler(_UNIT_EXP, seed, self.ids[i], "arrivals", scale=1.0)
                      for i in self.clients}
        self.c_thin = {i: rng.uniform(seed, self.ids[i], "thinning") for i in self.clients}
        self.c_user = {i: rng.uniform(seed, self.ids[i], "user") for i in self.clients}
        self.c_jitter = {i: rng.uniform(seed, self.ids[i], "backoff") for i in self.clients}
        self.c_retries = [int(n.params.get("retries", 0)) for n in nodes]
        self.c_retry_on = [frozenset(CAUSE_CODE[c] for c in n.params.get("retry_on", ()))
                           if self.n_kind[i] == CLIENT else frozenset()
                           for i, n in enumerate(nodes)]
        self.c_backoff = [float(n.params.get("backoff_ms", 0.0)) / 1e3 for n in nodes]
        self.c_seg = list(z)
        self.c_tok = list(z)
        self._steps = [(s.at_s, s.multiplier, s.ramp_s) for s in doc.scenario.traffic]
        self._profile = traffic.profile(self._steps)
        self._flat = len(self._profile) == 1
        # Instance life and balancer views (operations.py), then workflow owners (workflows.py).
        self._compile_ops()
        self._compile_workflows()

    def _add_instance(self, node: int, servers: int, qcap: int, state: int,
                      qnode: int | None = None) -> int:
        i = len(self.i_node)
        self.i_node.append(node)
        self.i_busy.append(0)
        self.i_cap.append(servers)
        self.i_q.append(None if qcap == _NO_QUEUE else deque())
        self.i_qcap.append(max(qcap, 0))
        self.i_qnode.append(node if qnode is None else qnode)
        self.i_state.append(state)
        self.i_num.append(len(self.n_insts[node]))
        self.i_dead_t.append(math.inf)
        self.n_insts[node].append(i)
        if state == UP:
            self.n_up[node].append(i)
            self._set_cap(node, self.n_cap[node] + servers, self.clock)
        return i

    def _set_cap(self, node: int, cap: int, t: float) -> None:
        self.cap_acc[node] += (self.n_cap[node] - cap) * t
        self.n_cap[node] = cap

    # ------------------------------------------------------------------ the event loop

    def _bind(self) -> None:
        """Build the hot functions as closures over the state lists (locals, not attributes)."""
        heap: list[tuple[float, int, int, int]] = []
        cnt = itertools.count(1)
        later: dict[int, Callable[[float], None]] = {}
        self.heap, self.cnt, self.later = heap, cnt, later
        push, pop = heapq.heappush, heapq.heappop
        nxt = next

        v_node: list[int] = []
        v_inst: list[int] = []
        v_par: list[int] = []
        v_ptok: list[int] = []
        v_t0: list[float] = []
        v_hold: list[int] = []
        v_edge: list[int] = []
        v_left: list[int] = []
        v_try: list[int] = []
        v_tok: list[int] = []
        v_wait: list[int] = []
        v_req: list[int] = []
        v_aux: list[int] = []
        free: list[int] = []
        self.v_node, self.v_inst, self.v_par, self.v_hold = v_node, v_inst, v_par, v_hold
        self.v_t0, self.v_tok, self.v_wait, self.v_req = v_t0, v_tok, v_wait, v_req
        self.v_edge, self.v_try, self.v_aux, self.v_left = v_edge, v_try, v_aux, v_left
        self.v_ptok = v_ptok
        self.free = free
        columns = (v_node, v_inst, v_par, v_ptok, v_t0, v_hold, v_edge, v_left, v_try, v_tok,
                   v_wait, v_req, v_aux)

        n_kind, n_out, n_work, n_slow, n_down = (
            self.n_kind, self.n_out, self.n_work, self.n_slow, self.n_down)
        n_busy, b_acc, n_q, q_acc, n_x, x_acc = (
            self.n_busy, self.b_acc, self.n_q, self.q_acc, self.n_x, self.x_acc)
        n_arr, n_err, n_sn, n_ss, n_wz, n_wbuf = (
            self.n_arr, self.n_err, self.n_sn, self.n_ss, self.n_wz, self.n_wbuf)
        n_up, n_rr, n_ok_u, n_error = self.n_up, self.n_rr, self.n_ok_u, self.n_error
        n_depth, n_maxdepth, n_qinst = self.n_depth, self.n_maxdepth, self.n_qinst
        i_node, i_busy, i_cap, i_q, i_qcap, i_qnode, i_state = (
            self.i_node, self.i_busy, self.i_cap, self.i_q, self.i_qcap, self.i_qnode,
            self.i_state)
        n_amode, n_inst0, n_plain, lb_of = self.n_amode, self.n_inst0, self.n_plain, self.lb_of
        n_hook, lb_view = self.n_hook, self.lb_view
        e_dst, e_whole, e_frac, e_async, e_tmo, e_retries, e_lat, e_u = (
            self.e_dst, self.e_whole, self.e_frac, self.e_async, self.e_tmo, self.e_retries,
            self.e_lat, self.e_u)
        lb_algo, lb_u = self.lb_algo, self.lb_u
        c_tok, c_exp, c_rps = self.c_tok, self.c_exp, self.c_rps
        c_retries, c_retry_on, c_backoff, c_jitter = (
            self.c_retries, self.c_retry_on, self.c_backoff, self.c_jitter)
        w0, w1 = self.w0, self.w1
        t_stop = self.w1  # no request starts at or after duration_s
        max_live = int(self.limits.max_in_flight)
        workflows = self.workflows
        retryable = RETRYABLE
        F = [0] * N_COUNTERS     # this tick's client counters
        W = [0] * N_COUNTERS     # the window's
        lat_tick: list[float] = []
        lat_win: list[float] = []
        fail_win: list[float] = []  # the window's failed requests' latencies (ms)
        self.F, self.W, self.lat_tick, self.lat_win = F, W, lat_tick, lat_win
        self.fail_win = fail_win
        sim = self

        def alloc(n: int, par: int, ptok: int, t: float, req: int) -> int:
            if free:
                c = free.pop()
                v_node[c] = n
                v_inst[c] = -1
                v_par[c] = par
                v_ptok[c] = ptok
                v_t0[c] = t
                v_edge[c] = -1
                v_left[c] = 0
                v_req[c] = req
                return c
            c = len(v_node)
            for col in columns:
                col.append(0)
            v_node[c] = n
            v_inst[c] = -1
            v_par[c] = par
            v_ptok[c] = ptok
            v_t0[c] = t
            v_edge[c] = -1
            v_req[c] = req
            return c

        def start(c: int, i: int, n: int, t: float) -> None:
            """``c`` takes a server at instance ``i`` and does its own work."""
            i_busy[i] += 1
            n_busy[n] += 1
            b_acc[n] -= t
            v_hold[c] = 1
            v_inst[c] = i
            t0 = v_t0[c]
            if w0 <= t0 < w1:
                if t > t0:
                    n_wbuf[n].append((t - t0) * 1e3)
                else:
                    n_wz[n] += 1
            if n_hook[n]:
                sim.owner_start(c, n, i, t)
                return
            s = nxt(cnt)
            v_tok[c] = s
            push(heap, (t + n_work[n]() * n_slow[n], s, EV_DONE, c))

        def next_queued(i: int, n: int, t: float) -> None:
            """A server of instance ``i`` (of node ``n``) is free: the first queued request takes
            it."""
            c = i_q[i].popleft()  # type: ignore[union-attr]
            qn = i_qnode[i]
            n_q[qn] -= 1
            q_acc[qn] += t
            if v_node[c] != n:
                pick_up(c, i, n, t)
            else:
                start(c, i, n, t)

        def pick_up(m: int, i: int, n: int, t: float) -> None:
            """A worker takes message ``m`` from its queue node: the message leaves the queue node
            and starts a visit at the worker."""
            qn = v_node[m]
            n_depth[qn] -= 1
            t0 = v_t0[m]
            if w0 <= t0 < w1:
                n_sn[qn] += 1
                n_ss[qn] += t - t0
                if t > t0:
                    n_wbuf[qn].append((t - t0) * 1e3)
                else:
                    n_wz[qn] += 1
            v_node[m] = n
            v_t0[m] = t
            v_edge[m] = -1
            v_left[m] = 0
            n_arr[n] += 1
            start(m, i, n, t)

        def fail_at(c: int, n: int, t: float, cause: int) -> int:
            """``c`` fails ``cause`` the moment it arrives at ``n`` (counted there)."""
            n_err[n][cause] += 1
            if w0 <= v_t0[c] < w1:
                n_sn[n] += 1
            v_node[c] = -1
            v_tok[c] = 0
            v_wait[c] = 0
            free.append(c)
            return cause

        def arrive(c: int, t: float) -> int:
            """``c`` reaches its node: 0 if it is now served, queued or delayed; else the cause
            it failed with at once (``c`` is then gone)."""
            n = v_node[c]
            n_arr[n] += 1
            if n_down[n]:
                return fail_at(c, n, t, UNAVAILABLE)
            mode = n_amode[n]
            if mode == A_SERVICE:
                i = v_inst[c]
                if i < 0:
                    up = n_up[n]
                    if not up:
                        return fail_at(c, n, t, UNAVAILABLE)
                    r = n_rr[n]
                    n_rr[n] = r + 1
                    i = up[r % len(up)]
                elif i_state[i] == DEAD:  # a balancer that has not noticed yet
                    return fail_at(c, n, t, UNAVAILABLE)
            elif mode == A_POOL:
                i = n_inst0[n]
            elif mode == A_DELAY:
                v_hold[c] = 0
                n_x[n] += 1
                x_acc[n] -= t
                if w0 <= t < w1:
                    n_wz[n] += 1
                s = nxt(cnt)
                v_tok[c] = s
                push(heap, (t + n_work[n]() * n_slow[n], s, EV_DONE, c))
                return 0
            else:
                return sim.arrive_other(c, n, t)
            if i_busy[i] < i_cap[i]:
                # start(), inlined; no wait.
                i_busy[i] += 1
                n_busy[n] += 1
                b_acc[n] -= t
                v_hold[c] = 1
                v_inst[c] = i
                if w0 <= t < w1:
                    n_wz[n] += 1
                if n_hook[n]:
                    sim.owner_start(c, n, i, t)
                    return 0
                s = nxt(cnt)
                v_tok[c] = s
                push(heap, (t + n_work[n]() * n_slow[n], s, EV_DONE, c))
                return 0
            q = i_q[i]
            if q is not None and len(q) < i_qcap[i]:
                q.append(c)
                v_hold[c] = 2
                v_inst[c] = i
                qn = i_qnode[i]  # a worker's queue is its queue node's
                n_q[qn] += 1
                q_acc[qn] -= t
                return 0
            return fail_at(c, n, t, OVERLOAD)

        def enqueue_arrive(c: int, n: int, t: float) -> int:
            """A synchronous call reaches a queue node: the enqueue takes the queue's latency."""
            if n_depth[n] >= n_maxdepth[n]:
                return fail_at(c, n, t, OVERLOAD)
            n_depth[n] += 1
            v_hold[c] = 0
            n_x[n] += 1
            x_acc[n] -= t
            s = nxt(cnt)
            v_tok[c] = s
            push(heap, (t + n_work[n]() * n_slow[n], s, EV_DONE, c))
            return 0

        def send_async(p: int, e: int, t: float) -> int:
            """``p`` enqueues a message along async edge ``e``: 0, or the cause it failed."""
            n = e_dst[e]
            n_arr[n] += 1
            if n_down[n] or n_depth[n] >= n_maxdepth[n]:
                cause = UNAVAILABLE if n_down[n] else OVERLOAD
                n_err[n][cause] += 1
                if w0 <= t < w1:
                    n_sn[n] += 1
                return cause
            n_depth[n] += 1
            m = alloc(n, -1, 0, t, v_req[p])
            v_hold[m] = 0
            n_x[n] += 1
            x_acc[n] -= t
            lat = e_lat[e]
            d = n_work[n]() * n_slow[n] + (lat() if lat is not None else 0.0)
            s = nxt(cnt)
            v_tok[m] = s
            push(heap, (t + d, s, EV_DONE, m))
            return 0

        def queued_message(m: int, n: int, t: float) -> None:
            """Message ``m`` is in queue node ``n`` after its enqueue latency: the caller of a
            synchronous enqueue gets its answer; a worker takes the message at once if one is
            free, else it waits in the queue's FIFO."""
            n_x[n] -= 1
            x_acc[n] += t
            p = v_par[m]
            if p >= 0:
                v_par[m] = -1
                if v_wait[p] == v_ptok[m]:
                    v_wait[p] = 0
                    proceed(p, t, OK, False)
            i = n_qinst[n]
            if i < 0:  # no worker drains this queue: the message stays until the end
                v_hold[m] = 2
                n_q[n] += 1
                q_acc[n] -= t
                return
            wn = i_node[i]
            if i_busy[i] < i_cap[i] and not n_down[wn]:
                pick_up(m, i, wn, t)
                return
            i_q[i].append(m)  # type: ignore[union-attr]
            v_hold[m] = 2
            n_q[n] += 1
            q_acc[n] -= t

        def call(p: int, e: int, t: float) -> int:
            """``p`` calls along synchronous edge ``e`` and waits: 0, or the cause the call
            failed with at once."""
            s = nxt(cnt)
            v_wait[p] = s
            tmo = e_tmo[e]
            if tmo:
                push(heap, (t + tmo, s, EV_TIMEOUT, p))
            d = e_dst[e]
            if free:  # alloc(), inlined: this is the hottest allocation
                c = free.pop()
                v_node[c] = d
                v_inst[c] = -1
                v_par[c] = p
                v_ptok[c] = s
                v_t0[c] = t
                v_edge[c] = -1
                v_left[c] = 0
                v_req[c] = v_req[p]
            else:
                c = alloc(d, p, s, t, v_req[p])
            pn = v_node[p]
            if lb_of[pn]:
                v_inst[c] = pick(pn, c)
            lat = e_lat[e]
            if lat is None:
                r = arrive(c, t)
                if r:
                    v_wait[p] = 0
                return r
            v_hold[c] = IN_TRANSIT
            push(heap, (t + lat(), nxt(cnt), EV_ARRIVE, c))
            return 0

        def proceed(c: int, t: float, cause: int, fin: bool) -> None:
            """Carry visit ``c`` on at ``t``. Unless ``fin``: its own work is over (``cause`` 0)
            or the call it waited for answered ``cause``; it makes its next call, retries the
            failed one, or finishes. With ``fin`` it finishes with ``cause``. A finished visit
            answers its caller, which carries on in this same loop (no recursion)."""
            while True:
                n = v_node[c]
                if not fin:
                    if n_kind[n] == CLIENT:
                        if cause:
                            client_answer(c, n, t, cause)
                        else:
                            client_done(c, n, t, OK)
                        return
                    out = n_out[n]
                    if workflows and v_edge[c] == STATE_ACCESS:
                        if not cause:
                            cause = sim.state_accessed(c, n, t)
                            if not cause:
                                return
                            n_err[n][cause] += 1
                            fin = True
                        else:
                            e = sim.n_state_edge[n]
                            if retryable[cause] and v_try[c] < e_retries[e]:
                                v_try[c] += 1
                                cause = call(c, e, t)
                                if not cause:
                                    return
                                continue
                            fin = True
                    elif cause:
                        e = out[v_edge[c]]
                        if retryable[cause] and v_try[c] < e_retries[e]:
                            v_try[c] += 1
                            if e_async[e]:
                                cause = send_async(c, e, t)
                            else:
                                cause = call(c, e, t)
                                if not cause:
                                    return
                            continue
                        fin = True
                    else:
                        while True:
                            if v_left[c]:
                                v_left[c] -= 1
                                v_try[c] = 0
                                e = out[v_edge[c]]
                                if e_async[e]:
                                    cause = send_async(c, e, t)
                                    if cause:
                                        break
                                    continue
                                cause = call(c, e, t)
                                if not cause:
                                    return
                                break
                            k = v_edge[c] + 1
                            if k >= len(out):
                                fin = True
                                break
                            v_edge[c] = k
                            e = out[k]
                            u = e_u[e]
                            v_left[c] = (e_whole[e] + 1 if u is not None and u() < e_frac[e]
                                         else e_whole[e])
                        if not fin:
                            continue
                # ``c`` leaves node ``n`` with ``cause`` and answers its caller.
                h = v_hold[c]
                freed = -1
                if h == 1:
                    i = v_inst[c]
                    i_busy[i] -= 1
                    n_busy[n] -= 1
                    b_acc[n] += t
                    if i_q[i]:
                        next_queued(i, n, t)
                    elif i_state[i]:
                        freed = i  # told once ``c`` is gone: a drained instance stops
                elif h == 0:
                    n_x[n] -= 1
                    x_acc[n] += t
                t0 = v_t0[c]
                if w0 <= t0 < w1:
                    n_sn[n] += 1
                    n_ss[n] += t - t0
                p = v_par[c]
                tok = v_ptok[c]
                v_node[c] = -1
                v_tok[c] = 0
                v_wait[c] = 0
                free.append(c)
                if freed >= 0:
                    sim.released(freed, n, t)
                if p < 0 or v_wait[p] != tok:
                    return
                v_wait[p] = 0
                c = p
                fin = False

        def attempt(p: int, n: int, t: float) -> int:
            """Client request ``p`` (of client ``n``) makes one attempt: 0 or an at-once cause."""
            F[C_ATTEMPTS] += 1
            if v_t0[p] >= w0:
                W[C_ATTEMPTS] += 1
            return call(p, n_out[n][0], t)

        def client_answer(p: int, n: int, t: float, cause: int) -> None:
            """Client request ``p``'s attempt answered ``cause``: done, retried on the edge at
            once, retried after a backoff (``retry_on``), or failed."""
            while cause:
                e = n_out[n][0]
                if retryable[cause] and v_try[p] < e_retries[e]:
                    v_try[p] += 1
                    cause = attempt(p, n, t)
                    continue
                if cause in c_retry_on[n] and v_aux[p] < c_retries[n]:
                    v_aux[p] += 1
                    cap = c_backoff[n] * (1 << (v_aux[p] - 1))
                    s = nxt(cnt)
                    v_tok[p] = s
                    push(heap, (t + c_jitter[n]() * cap, s, EV_RETRY, p))
                    return
                break
            if cause == 0 and v_wait[p]:
                return  # an attempt is under way
            client_done(p, n, t, cause)

        def client_done(p: int, n: int, t: float, cause: int) -> None:
            t0 = v_t0[p]
            n_x[n] -= 1
            x_acc[n] += t
            win = t0 >= w0
            if win:
                n_sn[n] += 1
                n_ss[n] += t - t0
            if cause == OK:
                ms = (t - t0) * 1e3
                F[C_OK] += 1
                lat_tick.append(ms)
                if win:
                    W[C_OK] += 1
                    lat_win.append(ms)
            else:
                F[2 + cause] += 1
                if win:
                    W[2 + cause] += 1
                    fail_win.append((t - t0) * 1e3)
            v_node[p] = -1
            v_tok[p] = 0
            v_wait[p] = 0
            free.append(p)
            if workflows:
                sim.request_done(p, t, cause)

        def emit(n: int, t: float) -> None:
            """Client ``n`` emits a request at ``t`` and schedules its next one."""
            if sim._flat:
                nt = t + c_exp[n]() / c_rps[n]
            else:
                nt = sim._next_emission(n, t)
            if nt < t_stop:
                s = nxt(cnt)
                c_tok[n] = s
                push(heap, (nt, s, EV_EMIT, n))
            start_request(n, t, -1)

        def start_request(n: int, t: float, req: int) -> int:
            """A new client request of client ``n`` at ``t``, and its first attempt: its slot,
            or -1 if refused."""
            F[C_REQUESTS] += 1
            F[C_ATTEMPTS] += 1
            n_arr[n] += 1
            win = t >= w0
            if win:
                W[C_REQUESTS] += 1
                W[C_ATTEMPTS] += 1
                n_wz[n] += 1
            if len(v_node) - len(free) >= max_live:
                # Over the in-flight cap: refused at once (one attempt, overload).
                F[2 + OVERLOAD] += 1
                n_err[n][OVERLOAD] += 1
                if win:
                    W[2 + OVERLOAD] += 1
                    n_sn[n] += 1
                    fail_win.append(0.0)
                return -1
            if free:  # alloc(), inlined
                p = free.pop()
                v_node[p] = n
                v_inst[p] = -1
                v_par[p] = -1
                v_ptok[p] = 0
                v_t0[p] = t
                v_left[p] = 0
            else:
                p = alloc(n, -1, 0, t, -1)
            v_edge[p] = 0
            v_req[p] = p if req < 0 else req
            v_hold[p] = 0
            v_try[p] = 0
            v_aux[p] = 0
            n_x[n] += 1
            x_acc[n] -= t
            if workflows:
                sim.request_started(p, n, t, req)
            cause = call(p, n_out[n][0], t)
            if cause:
                client_answer(p, n, t, cause)
            return p

        def done_other(c: int, n: int, t: float) -> None:
            """``c``'s own timed work is over at a cache, cdn, external service or queue."""
            k = n_kind[n]
            if k == STORE or k == CDN:
                if cache_hit(n):
                    proceed(c, t, OK, True)
                    return
                if v_hold[c] == 1:
                    # A cache miss frees its slot; the miss goes on along the out edges.
                    i = v_inst[c]
                    i_busy[i] -= 1
                    n_busy[n] -= 1
                    b_acc[n] += t
                    v_hold[c] = 0
                    n_x[n] += 1
                    x_acc[n] -= t
                proceed(c, t, OK, False)
            elif k == EXTERNAL:
                if n_ok_u[n]() < n_error[n]:
                    n_err[n][ERROR] += 1
                    proceed(c, t, ERROR, True)
                else:
                    proceed(c, t, OK, True)
            elif k == QUEUE:
                queued_message(c, n, t)
            else:
                sim.done_other(c, n, t)

        def cache_hit(n: int) -> bool:
            """Draw a key; a hit needs a key seen since the last flush and the ``hit_ratio``
            draw. The key is seen from now on."""
            u = sim.n_key_u[n]()  # type: ignore[misc]
            seen = sim.n_seen[n]
            keys = sim.n_keys[n]
            if seen is not None:
                key = int(u * keys)
                was = seen[key]
                if not was:
                    seen[key] = 1
                    sim.n_nseen[n] += 1
                return bool(was) and n_ok_u[n]() < sim.n_hit[n]
            drawn = sim.n_draws[n]
            sim.n_draws[n] = drawn + 1
            share_seen = 1.0 - math.exp(drawn * math.log1p(-1.0 / keys))
            return n_ok_u[n]() < sim.n_hit[n] * share_seen

        def pick(n: int, c: int) -> int:
            """The instance balancer ``n`` sends visit ``c`` to (-1: none)."""
            up = lb_view[n]
            if not up:
                return -1
            algo = lb_algo[n]
            if algo == "round_robin":
                r = n_rr[n]
                n_rr[n] = r + 1
                return up[r % len(up)]
            if algo == "random":
                return up[int(lb_u[n]() * len(up))]  # type: ignore[misc]
            if algo == "least_connections":
                best, held = -1, _UNBOUNDED
                for i in up:
                    q = i_q[i]
                    h = i_busy[i] + (len(q) if q is not None else 0)
                    if h < held:
                        best, held = i, h
                return best
            return sim.pick_sticky(n, c, up)

        def advance_to(until: float) -> None:
            """Process every event before ``until``."""
            left = sim._left
            while heap and heap[0][0] < until:
                if left <= 0:
                    sim._left = 0
                    sim._checkpoint()
                    left = sim._left
                left -= 1
                t, s, code, a = pop(heap)
                if code == EV_DONE:
                    if v_tok[a] == s:
                        n = v_node[a]
                        if n_plain[n]:
                            proceed(a, t, OK, False)
                        else:
                            done_other(a, n, t)
                elif code == EV_ARRIVE:
                    p = v_par[a]
                    tok = v_ptok[a]
                    v_t0[a] = t  # its stay at the node starts now, after the network
                    r = arrive(a, t)
                    if r and p >= 0 and v_wait[p] == tok:
                        v_wait[p] = 0
                        proceed(p, t, r, False)
                elif code == EV_EMIT:
                    if c_tok[a] == s:
                        emit(a, t)
                elif code == EV_TIMEOUT:
                    if v_wait[a] == s:
                        v_wait[a] = 0
                        n_err[v_node[a]][TIMEOUT] += 1
                        proceed(a, t, TIMEOUT, False)
                elif code == EV_RETRY:
                    if v_tok[a] == s:
                        v_tok[a] = 0
                        v_try[a] = 0
                        n = v_node[a]
                        r = attempt(a, n, t)
                        if r:
                            client_answer(a, n, t, r)
                else:
                    fn = later.pop(s, None)
                    if fn is not None:
                        fn(t)
            sim._left = left
            sim.clock = until

        self._advance_to = advance_to
        self._proceed = proceed
        self._alloc = alloc
        self._arrive = arrive
        self._call = call
        self._start_visit = start
        self._next_queued = next_queued
        self._start_request = start_request
        self._enqueue_arrive = enqueue_arrive
        self._fail_at = fail_at

    # ------------------------------------------------------------------ kinds with own rules
    # Workflows (workflows.py) and instance life (operations.py) provide the other hooks the
    # closures call: owner_start, state_accessed, request_started/done, released, pick_sticky.

    def arrive_other(self, c: int, n: int, t: float) -> int:
        """Arrival at a node whose kind has its own rule: 0, or the cause it failed at once."""
        if self.n_kind[n] == QUEUE:
            return self._enqueue_arrive(c, n, t)
        if self.n_kind[n] == SERVERLESS:
            return self.arrive_serverless(c, n, t)
        raise NotImplementedError(self.document.nodes[n].kind)

    def done_other(self, c: int, n: int, t: float) -> None:
        raise NotImplementedError(self.document.nodes[n].kind)

    # ------------------------------------------------------------------ emissions and events

    def _next_emission(self, n: int, t: float) -> float:
        """The next emission of client ``n`` after ``t`` under the piecewise-linear traffic
        multiplier: exponential gaps at the segment's highest rate, thinned to the rate at the
        candidate (exact for a non-homogeneous Poisson process); a segment's end restarts the
        draw (memoryless)."""
        rate = self.c_rps[n]
        if rate <= 0:
            return math.inf
        pts = self._profile
        last = len(pts) - 1
        exp_draw, thin = self.c_exp[n], self.c_thin[n]
        j = self.c_seg[n]
        while True:
            if t >= self.w1:  # no request starts at or after duration_s
                return math.inf
            while j < last and pts[j + 1][0] <= t:
                j += 1
            self.c_seg[n] = j
            t0, v0 = pts[j]
            if j < last:
                t1, v1 = pts[j + 1]
                vt = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            else:
                t1, v1, vt = math.inf, v0, v0
            vmax = max(vt, v1)
            top = rate * vmax  # may underflow to 0 for vanishing multipliers: no emissions
            if top <= 0:
                if t1 == math.inf:
                    return math.inf
                t = t1
                continue
            tn = t + exp_draw() / top
            if tn == math.inf:  # a rate so small that the gap overflows: nothing more comes
                return math.inf
            if tn >= t1:
                t = t1
                continue
            if v1 == vt:
                return tn
            v = v0 + (v1 - v0) * (tn - t0) / (t1 - t0)
            if thin() * vmax < v:
                return tn
            t = tn

    def _schedule(self, t: float, fn: Callable[[float], None]) -> None:
        """Run ``fn(t)`` at ``t`` (for rare events: operations, instance life, notes); the
        compiled core yields to Python for it (compiled.Core.python)."""
        s = next(self.cnt)
        self.later[s] = fn
        heapq.heappush(self.heap, (t, s, EV_LATER, 0))

    def _start(self) -> None:
        for n in self.clients:
            self._schedule_emission(n, 0.0)
        self._start_ops()
        for ev in self.document.scenario.events:
            self._schedule(ev.at_s, lambda t, ev=ev: self._do_event(ev, t))
        for at, mult, ramp in self._steps:
            self._schedule(at, lambda t, m=mult, r=ramp: self._note(
                {"t": t, "action": "traffic", "multiplier": m, "ramp_s": r}))
        self._tick_events: list[dict[str, Any]] = []

    def _schedule_emission(self, n: int, t: float) -> None:
        nt = (t + self.c_exp[n]() / self.c_rps[n] if self._flat and self.c_rps[n] > 0
              else self._next_emission(n, t))
        s = next(self.cnt)
        self.c_tok[n] = s
        if nt < self.w1:
            heapq.heappush(self.heap, (nt, s, EV_EMIT, n))

    def _note(self, event: dict[str, Any]) -> None:
        """Record ``event`` in the frame of the tick it happens in."""
        if event["t"] < self.w1:
            event["t"] = _r(event["t"], 6)
            self._tick_events.append(event)

    # ------------------------------------------------------------------ operations

    def _do_event(self, ev: Event, t: float) -> None:
        n = self.index[ev.node]
        action = ev.action
        args = dict(ev.args)
        self._note({"t": t, "action": action, "node": ev.node, **args})
        if action == "outage":
            self.n_down[n] = True
            self._schedule(t + float(args["duration_s"]), lambda t2: self._end_outage(n, t2))
        elif action == "slowdown":
            self.n_slow[n] *= float(args["factor"])
            factor = float(args["factor"])
            self._schedule(t + float(args["duration_s"]),
                           lambda t2: self._end_slowdown(n, factor, t2))
        elif action == "flush_cache":
            if self.n_seen[n] is not None:
                self.n_seen[n] = bytearray(self.n_keys[n])
            self.n_nseen[n] = 0
            self.n_draws[n] = 0
        else:
            self._instance_action(n, action, args, t)

    def _end_outage(self, n: int, t: float) -> None:
        self.n_down[n] = False
        self._note({"t": t, "action": "outage_end", "node": self.ids[n]})

    def _end_slowdown(self, n: int, factor: float, t: float) -> None:
        self.n_slow[n] /= factor
        self._note({"t": t, "action": "slowdown_end", "node": self.ids[n]})

    def _apply_traffic(self, step: TrafficStep, t: float, emissions: bool = True) -> None:
        """A live traffic control: the new profile, and each client's next emission under it
        (made by the compiled core itself when ``emissions`` is false)."""
        self._steps.append((t, float(step.multiplier), float(step.ramp_s)))
        self._profile = traffic.profile(self._steps)
        self._flat = False
        self._note({"t": t, "action": "traffic", "multiplier": step.multiplier,
                    "ramp_s": step.ramp_s})
        for n in self.clients:
            self.c_seg[n] = 0
            if emissions:
                self._schedule_emission(n, t)

    # ------------------------------------------------------------------ checkpoints

    @property
    def events(self) -> int:
        """Events processed so far: what the work budget counts (``work.py``)."""
        return self._counted + self._slice - self._left

    def _checkpoint(self) -> None:
        """Every ``SLICE_EVENTS`` events, whichever loop runs: enforce the event budget, then give
        ``on_checkpoint`` (the runner's) its turn; it may raise to stop the run. Neither touches
        the simulation's state, so checkpoints never change what is simulated."""
        self._counted += self._slice - self._left
        self._left = self._slice
        if self._counted > self.limits.max_events:
            raise WorkBudgetExceeded(self._counted, self.limits.max_events)
        if self.on_checkpoint is not None:
            self.on_checkpoint()

    # ------------------------------------------------------------------ public API

    @property
    def done(self) -> bool:
        """True once the last frame has been made."""
        return self.k >= self.n_ticks

    def apply(self, control: dict[str, Any] | Event | TrafficStep) -> None:
        """Queue a live control for the start of the next tick. ``control`` is
        ``{"kind": "event", "action", "node", ...}`` or ``{"kind": "traffic", "multiplier",
        "ramp_s"}`` (checked by ``schema.parse_control``; ``DocumentError`` if it does not fit)."""
        if self.done:
            raise RuntimeError("the run is over; controls apply only before the last frame")
        if not isinstance(control, (Event, TrafficStep)):
            from playground.engine.schema import parse_control

            control = parse_control(control, self.document)
        self._pending.append(control)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return self.step()

    def step(self) -> dict[str, Any]:
        """Simulate one tick and return its frame; ``StopIteration`` after the last."""
        if self.done:
            raise StopIteration
        t = self.k * self.tick_s
        if self._pending and self.station is not None:
            station.handover(self, self._general_advance)
        for control in self._pending:
            if self.core is not None:
                self.core.control(control, t)
            elif isinstance(control, TrafficStep):
                self._apply_traffic(control, t)
            else:
                self._do_event(control, t)
        self._pending.clear()
        self.k += 1
        end = self.k * self.tick_s
        self._advance_to(end)
        return self._close_tick(end)

    def _close_tick(self, end: float) -> dict[str, Any]:
        tick = self.tick_s
        inwin = self.k > self.warm_ticks
        nodes: dict[str, Any] = {}
        for n, nid in enumerate(self.ids):
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
            wbuf = self.n_wbuf[n]
            if len(wbuf) > 4096:
                self.n_whist[n].add_many(wbuf)
                wbuf.clear()
            up, starting = self._counts(n)
            nodes[nid] = {
                "utilization": _r(self._utilization(n, b, q, x, cap, tick)),
                "queue": _r(q / tick),
                "up": up,
                "starting": starting,
                "rps": _r(arr / tick),
                "errors": {ERROR_CAUSES[c - 1]: _r(errs[c] / tick)
                           for c in range(1, 7) if errs[c]},
            }
            for c in range(1, 7):
                errs[c] = 0
        F = self.F
        _, mean, top, (p50, p95, p99) = summarize(self.lat_tick, _LATENCY_QS)
        self.lat_tick.clear()
        frame = {
            "seq": self.k,
            "t": _r(end, 6),
            "offered_rps": _r(F[C_REQUESTS] / tick),
            "ok_rps": _r(F[C_OK] / tick),
            "attempts_rps": _r(F[C_ATTEMPTS] / tick),
            "errors": {cause: _r(F[3 + i] / tick) if F[3 + i] else 0.0
                       for i, cause in enumerate(ERROR_CAUSES)},
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
        self._tick_events = []
        for j in range(N_COUNTERS):
            F[j] = 0
        if self.lat_win:
            self._lat_hist.stage_many(self.lat_win)
            self.lat_win.clear()
        if self.fail_win:
            self._fail_hist.stage_many(self.fail_win)
            self.fail_win.clear()
        return frame

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
            up = starting = 0
            for i in self.n_insts[n]:
                s = self.i_state[i]
                if s == UP or s == DRAINING:
                    up += 1
                elif s == STARTING:
                    starting += 1
            return up, starting
        if self.n_kind[n] == SERVERLESS:
            return (0 if self.n_down[n] else self.containers(n, self.clock)), 0
        return (0 if self.n_down[n] else 1), 0

    def summary(self) -> dict[str, Any]:
        """The run's summary (SCHEMA "Output"); makes the remaining frames first if needed."""
        if self._summary is not None:
            return self._summary
        while not self.done:
            self.step()
        self._advance_to(self.w1 + DRAIN_S)
        self._summary = self._make_summary()
        return self._summary

    def run(self, frames: bool = False) -> dict[str, Any]:
        """Run to the end: ``{"summary": ...}`` plus ``"frames": [...]`` if asked."""
        made = []
        while not self.done:
            frame = self.step()
            if frames:
                made.append(frame)
        out: dict[str, Any] = {"summary": self.summary()}
        if frames:
            out["frames"] = made
        return out

    def _make_summary(self) -> dict[str, Any]:
        W = self.W
        span = self.w1 - self.w0
        lat = self._lat_hist
        lat.add_many(self.lat_win)
        self.lat_win.clear()
        qs = lat.quantiles(_SUMMARY_QS)
        every = lat.copy()
        self._fail_hist.add_many(self.fail_win)
        self.fail_win.clear()
        every.merge(self._fail_hist)
        errors = {cause: W[2 + i + 1] for i, cause in enumerate(ERROR_CAUSES)}
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

    # ------------------------------------------------------------------ probes (tests, tools)

    def node_wait_histogram(self, node: int | str) -> Histogram:
        """The waits (ms) of the node's window arrivals so far (a live object; do not keep)."""
        n = self.index[node] if isinstance(node, str) else node
        h = self.n_whist[n]
        if self.n_wbuf[n]:
            h.add_many(self.n_wbuf[n])
            self.n_wbuf[n].clear()
        if self.n_wz[n]:
            h.add_zeros(self.n_wz[n])
            self.n_wz[n] = 0
        return h

    def latency_histogram(self) -> Histogram:
        """Latencies (ms) of successful client requests emitted in the window, so far."""
        if self.lat_win:
            self._lat_hist.add_many(self.lat_win)
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

    def live_visits(self) -> int:
        """Visits in flight now (client requests, calls, messages)."""
        if self.core is not None:
            return self.core.live()
        return len(self.v_node) - len(self.free)


def run(document: Document | dict[str, Any], seed: int | None = None,
        frames: bool = False) -> dict[str, Any]:
    """Run ``document`` to the end: ``{"summary": ...}`` plus ``"frames"`` if asked."""
    return Simulation(document, seed).run(frames=frames)
