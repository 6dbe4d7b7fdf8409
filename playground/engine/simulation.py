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
``instance_stopped``, each with its ``instance`` number) and circuit breakers' changes of state
(``breaker_open``, ``breaker_half_open``, ``breaker_closed``, each with its ``edge``: see
docs/schema.md "Resilience", which also describes the frames' ``breakers``); a frame's per-node
``errors`` lists
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

import numpy as np

from playground.engine import compiled, rng, traffic
from playground.engine.codes import (
    A_DELAY,
    A_OTHER,
    A_POOL,
    A_SERVICE,
    CAUSE_CODE,
    CDN,
    CLIENT,
    DATABASE,
    EV_EMIT,
    EV_LATER,
    EXTERNAL,
    KIND_CODES,
    LB,
    N_CAUSES,
    N_COUNTERS,
    OBJECT,
    QUEUE,
    SERVICE,
    STORE,
    UP,
    WORKER,
)
from playground.engine.document import (
    Dist,
    Document,
    Event,
    Settings,
    TrafficStep,
    causes_listed,
)
from playground.engine.frames import FramesMixin, _r
from playground.engine.histogram import Histogram
from playground.engine.limits import DEFAULT_LIMITS, Limits
from playground.engine.operations import OperationsMixin
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
_UNIT_EXP = Dist("exp", 1.0)
class Simulation(WorkflowsMixin, OperationsMixin, FramesMixin):
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
        self._init_state()
        self._start()
        # The event loop: the compiled core (compiled.py), from the first event to the last.
        self.core = compiled.Core(self)
        self._advance_to = self.core.advance_to

    # ------------------------------------------------------------------ compile the design

    def _compile(self) -> None:
        """The document as the lists the engine works on (the core's arrays are made from
        them: compiled.Core), part by part."""
        nodes = self.document.nodes
        self.ids = [n.id for n in nodes]
        self.index = {nid: i for i, nid in enumerate(self.ids)}
        self.n_kind = [KIND_CODES[n.kind] for n in nodes]
        self.n_params = [n.params for n in nodes]
        self._compile_edges()
        self._compile_work()
        self._compile_statistics()
        self._compile_pools()
        self._compile_routing()
        self._compile_clients()
        self.causes = self._causes()
        # Instance life and balancer views (operations.py), then workflow owners (workflows.py).
        self._compile_ops()
        self._compile_workflows()

    def _compile_edges(self) -> None:
        """Edges, in document order (call order): their lists, names and timeouts."""
        seed, nodes, index = self.seed, self.document.nodes, self.index
        nn = len(nodes)
        edges = self.document.edges
        self.e_src = [index[e.src] for e in edges]
        self.e_dst = [index[e.dst] for e in edges]
        self.e_whole = [int(math.floor(e.calls)) for e in edges]
        self.e_frac = [float(e.calls - math.floor(e.calls)) for e in edges]
        self.e_async = [e.mode == "async" for e in edges]
        self.e_tmo = [(e.timeout_ms or 0.0) / 1e3 for e in edges]
        self.e_retries = [int(e.retries) for e in edges]
        self.e_lat: list[rng.Sampler | None] = []
        self.e_u: list[rng.Sampler | None] = []
        self.e_jitter: list[rng.Sampler | None] = []
        for j, e in enumerate(edges):
            key = f"{e.src}>{e.dst}#{j}"
            self.e_jitter.append(rng.uniform(seed, key, "backoff") if e.backoff_ms > 0 else None)
            self.e_lat.append(None if rng.is_zero(e.latency_ms)
                              else rng.sampler(e.latency_ms, seed, key, "latency"))
            self.e_u.append(rng.uniform(seed, key, "calls") if self.e_frac[j] > 0 else None)
        # Edges by name in frames: "caller->callee", and "caller->callee#k" for the k-th edge
        # (in document order) between the same two nodes; the ones with a circuit breaker.
        self.edge_names: list[str] = []
        for e in edges:
            name = f"{e.src}->{e.dst}"
            k = sum(1 for e2 in self.edge_names if e2.split("#")[0] == name)
            self.edge_names.append(name if k == 0 else f"{name}#{k + 1}")
        self.breakers = [j for j, e in enumerate(edges) if e.circuit_breaker is not None]
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

    def _compile_work(self) -> None:
        """Each node's own work, failures, and the key model of caches."""
        seed, nodes = self.seed, self.document.nodes
        nn = len(nodes)
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

    def _compile_statistics(self) -> None:
        """Per-node counters and integrals, for frames and the summary (frames.py)."""
        nodes = self.document.nodes
        nn = len(nodes)
        # Per-node statistics. Integrals: busy servers (b), queued (q), elsewhere (x), capacity.
        z = [0] * nn
        zf = [0.0] * nn
        self.n_busy, self.b_acc = list(z), list(zf)
        self.n_q, self.q_acc = list(z), list(zf)
        self.n_x, self.x_acc = list(z), list(zf)
        self.n_cap, self.cap_acc = list(z), list(zf)
        self.n_arr = list(z)                              # arrivals this tick
        self.n_err = [[0] * N_CAUSES for _ in range(nn)]         # failures started here this tick
        self.n_sn, self.n_ss = list(z), list(zf)          # window departures, sojourn sum (s)
        self.n_wz = list(z)                               # window zero waits
        # Window positive waits (ms): chunks from the core, and how many values they hold.
        self.n_wbuf: list[list[np.ndarray]] = [[] for _ in range(nn)]
        self.n_wcount = list(z)
        self.n_whist = [Histogram() for _ in range(nn)]
        self.s_arr, self.s_b, self.s_q, self.s_x, self.s_cap = (
            list(z), list(zf), list(zf), list(zf), list(zf))
        # Queue nodes: messages in transit or waiting.
        self.n_depth = list(z)
        self.n_maxdepth = [int(n.params.get("max_depth", 0)) for n in nodes]

    def _compile_pools(self) -> None:
        """Pools: every instance of a service, database, store or worker."""
        nodes = self.document.nodes
        nn = len(nodes)
        edges = self.document.edges
        z = [0] * nn
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
        # Faults and deploys (operations.py): the share an instance fails at once
        # (instance_errors), its version, that version's error rate and slowdown, and whether
        # it is held out of its balancers' views (a canary, a blue-green fleet not serving).
        self.i_fail: list[float] = []
        self.i_ver: list[int] = []
        self.i_rerr: list[float] = []
        self.i_slow: list[float] = []
        self.i_out: list[bool] = []
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

    def _compile_routing(self) -> None:
        """How each node takes arrivals and ends its own work; load balancers."""
        seed, nodes = self.seed, self.document.nodes
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

    def _compile_clients(self) -> None:
        """Clients: rates, arrival streams, retries, the traffic profile."""
        doc = self.document
        seed, nodes = self.seed, self.document.nodes
        nn = len(nodes)
        z = [0] * nn
        # Clients.
        self.c_rps = [float(n.params.get("rps", 0.0)) if self.n_kind[i] == CLIENT else 0.0
                      for i, n in enumerate(nodes)]
        self.clients = [i for i in range(nn) if self.n_kind[i] == CLIENT]
        self.c_exp = {i: rng.sampler(_UNIT_EXP, seed, self.ids[i], "arrivals", scale=1.0)
                      for i in self.clients}
        self.c_thin = {i: rng.uniform(seed, self.ids[i], "thinning") for i in self.clients}
        self.c_user = {i: rng.uniform(seed, self.ids[i], "user") for i in self.clients}
        self.c_jitter = {i: rng.uniform(seed, self.ids[i], "backoff") for i in self.clients}
        self.c_throttle = {i: rng.uniform(seed, self.ids[i], "throttle") for i in self.clients
                           if nodes[i].params.get("adaptive_throttle") is not None}
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

    def _causes(self) -> tuple[tuple[int, str], ...]:
        """The error causes frames and summary list, as (code, name) (``causes_listed``)."""
        listed = causes_listed(((n.kind, n.params) for n in self.document.nodes),
                               ({"circuit_breaker": e.circuit_breaker}
                                for e in self.document.edges))
        return tuple((CAUSE_CODE[name], name) for name in listed)

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
        self.i_fail.append(0.0)
        self.i_ver.append(0)
        self.i_rerr.append(0.0)
        self.i_slow.append(1.0)
        self.i_out.append(False)
        self.n_insts[node].append(i)
        if state == UP:
            self.n_up[node].append(i)
            self._set_cap(node, self.n_cap[node] + servers, self.clock)
        return i

    def _set_cap(self, node: int, cap: int, t: float) -> None:
        self.cap_acc[node] += (self.n_cap[node] - cap) * t
        self.n_cap[node] = cap

    # ------------------------------------------------------------------ the run's state

    def _init_state(self) -> None:
        """What the compiled core reads back into Python between its events: the heap of
        scheduled events (Python's callbacks in ``later`` by token), the token counter, the
        client counters of the tick (``F``) and of the window (``W``), and the latencies the core
        hands over (the tick's, the window's successes and failures, in ms)."""
        self.heap: list[tuple[float, int, int, int]] = []
        self.cnt = itertools.count(1)
        self.later: dict[int, Callable[[float], None]] = {}
        self.F = [0] * N_COUNTERS
        self.W = [0] * N_COUNTERS
        # Latencies (ms) from the core, in chunks (sorted ones for the tick): the tick's
        # successful client requests, the window's, and the window's failed ones.
        self.lat_tick: list[np.ndarray] = []
        self.lat_win: list[np.ndarray] = []
        self.fail_win: list[np.ndarray] = []

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
        # A deploy without a release is noted as before releases existed.
        note = {"t": t, "action": action, "node": ev.node,
                **{k: v.to_json() if isinstance(v, Settings) else v
                   for k, v in args.items() if not (k == "release" and v is None)}}
        self._note(note)
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
            self._instance_action(n, action, args, t, note)

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
        for control in self._pending:
            self.core.control(control, t)
        self._pending.clear()
        self.k += 1
        end = self.k * self.tick_s
        self._advance_to(end)
        return self._close_tick(end)

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

    def live_visits(self) -> int:
        """Visits in flight now (client requests, calls, messages)."""
        return self.core.live()


def run(document: Document | dict[str, Any], seed: int | None = None,
        frames: bool = False) -> dict[str, Any]:
    """Run ``document`` to the end: ``{"summary": ...}`` plus ``"frames"`` if asked."""
    return Simulation(document, seed).run(frames=frames)
