"""Hints before a run: what a valid design will probably do wrong, each with its fix.

Pure functions over a loaded ``Document`` (no Django). ``hints(doc)`` gives warnings
``{"node", "text"}``; they never stop a run. The run's story (``playground/runs/story.py``) reads
the same topology helpers to explain what a run did.

Terms
-----
peak multiplier
    The largest traffic multiplier in force during ``[0, duration_s]``.
arrival rate
    Visits per second a node receives at the peak: each client's ``rps`` times the peak
    multiplier, carried along every edge (sync and async, queue deliveries included) times its
    ``calls``; past a cache store or a cdn only the misses (``1 - hit_ratio``) go on. Retries are
    left out: they add load only while calls fail.
holding time
    How long one visit holds a server, without any queueing: a service, serverless function or
    worker holds it for its own work and then for each synchronous call in turn (thread per
    request: the edge's latency and the callee's own holding time, ``calls`` times); a database
    for ``latency_ms``, a store for ``latency_ms`` (a cache releases its slot before a miss).
capacity
    Servers over holding time, in visits per second: a service ``instances x workers``, a database
    ``connections``, a store ``capacity``, serverless ``max_concurrency``, a worker ``workers``.
load
    Arrival rate x holding time / servers: the offered utilization rho of queueing theory (M/M/c:
    rho = lambda x mean service / c). Above 1 the node cannot keep up and fails ``overload`` (or
    its queue grows); near 1 its queue and latency grow.
owner
    The service or serverless node that keeps a client's workflow state (SCHEMA "Where state
    lives"): the node with ``state`` other than "none" that the client reaches by synchronous
    calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from playground.engine import traffic
from playground.engine.document import Document, Edge, Node
from playground.engine.limits import Limits
from playground.engine.problems import DocumentError
from playground.engine.schema import load

#: Load from which a node gets a hint: its queue and latency grow well before 100%.
BUSY = 0.85
#: Load from which the hint says to expect overload.
OVERLOADED = 1.0

#: Hints are given whatever the site's size limits say (the problems report those).
_UNBOUNDED = Limits(max_expected_requests=math.inf, max_calls_per_request=math.inf, max_work=math.inf)

#: Balancer algorithms that send a user's requests to any instance.
SPREADING = ("round_robin", "random", "least_connections")

_SERVERS = {"service", "serverless", "database", "store", "worker"}
_FIX = {
    "service": "add instances or workers",
    "serverless": "raise max_concurrency",
    "database": "add connections, or a cache in front of it",
    "store": "raise its capacity",
    "worker": "add workers",
}


def name(node: Node) -> str:
    """How a node is named in words: its label, else its id."""
    return node.label or node.id


def _pct(x: float) -> str:
    return f"{x * 100:,.0f}%"


def _ms(x: float) -> str:
    return f"{x:g} ms" if x < 10 else f"{x:,.0f} ms"


def _num(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------------------------------- topology


class Topology:
    """A loaded document's graph, with the questions hints and stories ask of it."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.nodes = {n.id: n for n in doc.nodes}
        self.out: dict[str, list[Edge]] = {}
        self.into: dict[str, list[Edge]] = {}
        for e in doc.edges:
            self.out.setdefault(e.src, []).append(e)
            self.into.setdefault(e.dst, []).append(e)

    def kind(self, node_id: str) -> str:
        return self.nodes[node_id].kind

    def param(self, node_id: str, key: str, default=None):
        return self.nodes[node_id].params.get(key, default)

    def clients(self) -> list[Node]:
        return [n for n in self.doc.nodes if n.kind == "client"]

    def sync_out(self, node_id: str) -> list[Edge]:
        """Synchronous calls a node makes (a queue's delivery to its worker is not one)."""
        if self.kind(node_id) == "queue":
            return []
        return [e for e in self.out.get(node_id, []) if e.mode == "sync"]

    def reach(self, start: str) -> list[str]:
        """Nodes reached from ``start`` by synchronous calls, breadth first."""
        seen, order, frontier = {start}, [], [start]
        while frontier:
            nxt = []
            for u in frontier:
                for e in self.sync_out(u):
                    if e.dst not in seen:
                        seen.add(e.dst)
                        order.append(e.dst)
                        nxt.append(e.dst)
            frontier = nxt
        return order

    def owner(self, client_id: str) -> str | None:
        """The node keeping this client's workflow state, if any (see *owner*)."""
        for n in self.reach(client_id):
            if self.kind(n) in ("service", "serverless") and self.param(n, "state", "none") != "none":
                return n
        return None

    def balancer_before(self, node_id: str, client_id: str) -> str | None:
        """The load balancer in front of ``node_id`` on the client's paths, if any."""
        reached = {client_id, *self.reach(client_id)}
        for e in self.into.get(node_id, []):
            if e.src in reached and self.kind(e.src) == "load_balancer":
                return e.src
        return None

    def routing(self, owner: str, client_id: str) -> tuple[str, str | None]:
        """How a client's requests are spread over the owner's instances: (algorithm in words,
        balancer id or None)."""
        lb = self.balancer_before(owner, client_id)
        if lb is None:
            return "round robin", None
        return str(self.param(lb, "algorithm")).replace("_", " "), lb

    def spreads(self, owner: str, client_id: str) -> bool:
        """Whether a user's requests can land on different instances of the owner."""
        if self.kind(owner) == "serverless":
            return True
        lb = self.balancer_before(owner, client_id)
        algorithm = self.param(lb, "algorithm") if lb else "round_robin"
        return algorithm in SPREADING and self._max_instances(owner) > 1

    def _max_instances(self, node_id: str) -> int:
        n = int(self.param(node_id, "instances", 1) or 1)
        auto = self.param(node_id, "autoscale")
        if auto is not None:
            n = max(n, auto.max)
        for ev in self.doc.scenario.events:
            if ev.node == node_id and ev.action == "scale":
                n = max(n, int(ev.args["instances"]))
        return n

    def retries_before(self, client_id: str, owner: str) -> list[tuple[str, int]]:
        """Who retries a call on the way from the client to the owner: (who, retries), the
        client first, then each edge with retries on a synchronous path between them."""
        out: list[tuple[str, int]] = []
        retries = int(self.param(client_id, "retries", 0) or 0)
        if retries:
            out.append((client_id, retries))
        on_path = self._between(client_id, owner)
        for e in self.doc.edges:
            if e.retries and e.src in on_path and e.dst in on_path and e.mode == "sync":
                out.append((f"{e.src}→{e.dst}", e.retries))
        return out

    def _between(self, src: str, dst: str) -> set[str]:
        """Nodes on some synchronous path from ``src`` to ``dst`` (both included)."""
        forward = {src, *self.reach(src)}
        if dst not in forward:
            return set()
        back, frontier = {dst}, [dst]
        while frontier:
            nxt = []
            for v in frontier:
                for e in self.into.get(v, []):
                    if e.mode == "sync" and self.kind(e.src) != "queue" and e.src in forward \
                            and e.src not in back:
                        back.add(e.src)
                        nxt.append(e.src)
            frontier = nxt
        return back

    def instance_events(self, node_id: str) -> list:
        return [ev for ev in self.doc.scenario.events
                if ev.node == node_id and ev.action in ("kill_instance", "rolling_deploy")]


# -------------------------------------------------------------------------------------- the load


def peak_multiplier(doc: Document) -> float:
    sc = doc.scenario
    points = traffic.profile((s.at_s, s.multiplier, s.ramp_s) for s in sc.traffic)
    times = [0.0, sc.duration_s, *(t for t, _ in points if 0 <= t <= sc.duration_s)]
    return max(traffic.value_at(points, t) for t in times)


@dataclass(frozen=True)
class Load:
    """A node's estimated load at the peak (see the module's terms)."""

    node: str
    arrivals_rps: float
    holding_ms: float
    servers: int

    @property
    def capacity_rps(self) -> float:
        return self.servers / (self.holding_ms / 1e3) if self.holding_ms > 0 else math.inf

    @property
    def utilization(self) -> float:
        return self.arrivals_rps * self.holding_ms / 1e3 / self.servers if self.servers else 0.0


def _own_ms(node: Node) -> float:
    key = "service_ms" if node.kind in ("service", "serverless", "worker") else "latency_ms"
    d = node.params.get(key)
    return float(d.mean) if d is not None else 0.0


def _miss(node: Node) -> float:
    """The share of visits that go on past a node (1 but for caches)."""
    if node.kind == "cdn" or (node.kind == "store" and node.params.get("role") == "cache"):
        return 1.0 - float(node.params.get("hit_ratio", 0.0))
    return 1.0


def loads(doc: Document) -> dict[str, Load]:
    """The estimated load of every node with servers that sees traffic."""
    topo = Topology(doc)
    peak = peak_multiplier(doc)
    rate_memo: dict[str, float] = {}

    def rate(n: str) -> float:
        if n not in rate_memo:
            rate_memo[n] = 0.0  # a mixed cycle (sync into async) counts once
            node = topo.nodes[n]
            own = float(node.params["rps"]) * peak if node.kind == "client" else 0.0
            rate_memo[n] = own + sum(rate(e.src) * e.calls * _miss(topo.nodes[e.src])
                                     for e in topo.into.get(n, []))
        return rate_memo[n]

    time_memo: dict[str, float] = {}

    def response_ms(n: str) -> float:
        """Mean time a caller waits for ``n`` without queueing."""
        if n not in time_memo:
            time_memo[n] = 0.0
            node = topo.nodes[n]
            down = 0.0
            for e in topo.sync_out(n):
                down += e.calls * (e.latency_ms.mean + response_ms(e.dst))
            for e in topo.out.get(n, []):
                if e.mode == "async":
                    down += e.calls * (e.latency_ms.mean + _own_ms(topo.nodes[e.dst]))
            time_memo[n] = _own_ms(node) + _miss(node) * down
        return time_memo[n]

    out: dict[str, Load] = {}
    for node in doc.nodes:
        if node.kind not in _SERVERS:
            continue
        lam = rate(node.id)
        if lam <= 0:
            continue
        if node.kind == "store":
            holding, servers = _own_ms(node), int(node.params["capacity"])
        elif node.kind == "database":
            holding, servers = _own_ms(node), int(node.params["connections"])
        else:
            holding = response_ms(node.id)
            if node.kind == "service":
                servers = int(node.params["instances"]) * int(node.params["workers"])
            elif node.kind == "serverless":
                servers = int(node.params["max_concurrency"])
            else:
                servers = int(node.params["workers"])
        if holding > 0 and servers > 0:
            out[node.id] = Load(node.id, lam, holding, servers)
    return out


# ------------------------------------------------------------------------------------------ hints


def _load_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    peak = peak_multiplier(doc)
    at_peak = f" at the traffic peak (x{_num(peak)})" if peak != 1 else ""
    for est in loads(doc).values():
        rho = est.utilization
        if rho < BUSY:
            continue
        node = topo.nodes[est.node]
        what = (f"{name(node)}: about {_pct(rho)} of its capacity{at_peak} "
                f"({est.arrivals_rps:,.0f} requests/s against about {est.capacity_rps:,.0f}/s: "
                f"{est.servers:,} servers each held {_ms(round(est.holding_ms, 2))} a request)")
        if rho >= OVERLOADED:
            text = f"{what}: expect overload; {_FIX[node.kind]}"
        else:
            text = f"{what}: its queue and latency will grow; leave headroom ({_FIX[node.kind]})"
        auto = node.params.get("autoscale") if node.kind == "service" else None
        if auto is not None and rho >= BUSY:
            at_max = rho * int(node.params["instances"]) / auto.max
            text += (f". Autoscaling can reach {auto.max} instances ({_pct(at_max)}), each serving "
                     f"{_num(float(node.params['startup_s']))} s after it is launched")
        yield {"node": est.node, "text": text}


def _state_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    for client in topo.clients():
        workflow = client.params.get("workflow", "stateless")
        if workflow == "stateless":
            continue
        owner = topo.owner(client.id)
        if owner is None:
            if workflow == "payment" and client.params.get("idempotency_keys"):
                yield {"node": client.id, "text": (
                    f"{name(client)} sends idempotency keys, but no service on its path keeps "
                    "state, so nothing checks them and a retried payment charges again; give the "
                    "service that charges a state (external, with a state store)")}
            elif workflow == "payment":
                yield from _payment_retries(topo, client, None)
            continue
        onode = topo.nodes[owner]
        state = onode.params.get("state")
        algorithm, lb = topo.routing(owner, client.id)
        behind = f"behind {algorithm}" + (f" ({name(topo.nodes[lb])})" if lb else "")
        if (owner, workflow) in seen:
            continue
        seen.add((owner, workflow))
        if state == "local" and topo.spreads(owner, client.id):
            n = int(onode.params.get("instances", 1))
            if workflow == "session":
                miss = f" (with {n} instances about {_pct((n - 1) / n)} of follow-up requests)" if n > 1 else ""
                yield {"node": owner, "text": (
                    f"{name(onode)} keeps sessions in instance memory (state local) {behind}: "
                    f"requests that land on another instance{miss} log the user out; keep "
                    "sessions in a state store (state external) or use a sticky balancer")}
            elif workflow == "upload":
                parts = int(client.params.get("parts", 4))
                share = 1 - n ** (1 - parts) if n > 1 else 0.0
                yield {"node": owner, "text": (
                    f"{name(onode)} keeps upload parts on local disk (state local) {behind}: "
                    f"the {parts} parts of an upload land on different instances and the upload "
                    f"fails (about {_pct(share)} with {n} instances at random); keep parts in "
                    "object storage (state external) or use a sticky balancer")}
            elif workflow == "payment" and client.params.get("idempotency_keys") \
                    and topo.retries_before(client.id, owner):
                yield {"node": owner, "text": (
                    f"{name(onode)} keeps idempotency keys in instance memory (state local) "
                    f"{behind}: a retried payment that lands on another instance charges again; "
                    "keep the keys in a state store (state external)")}
        elif state == "local" and topo.instance_events(owner):
            what = {"session": "logs its users out", "upload": "fails the uploads in progress",
                    "payment": "forgets its idempotency keys"}[workflow]
            actions = sorted({ev.action.replace("_", " ") for ev in topo.instance_events(owner)})
            yield {"node": owner, "text": (
                f"{name(onode)} keeps {workflow} state in instance memory (state local) and the "
                f"scenario has {' and '.join(actions)}: each instance that goes away {what}; keep the "
                "state in a store (state external)")}
        if workflow == "payment":
            yield from _payment_retries(topo, client, owner)


def _payment_retries(topo: Topology, client: Node, owner: str | None) -> Iterable[dict[str, str]]:
    if client.params.get("idempotency_keys"):
        return
    target = owner
    if target is None:
        target = next((n for n in topo.reach(client.id)
                       if topo.kind(n) in ("service", "serverless")), None)
    if target is None:
        return
    retries = topo.retries_before(client.id, target)
    if not retries:
        return
    who = ", ".join(f"{w} {r}x" for w, r in retries)
    yield {"node": client.id, "text": (
        f"{name(client)} retries payments ({who}) without idempotency keys: a payment "
        "retried after a timeout or a lost answer is charged again; set idempotency_keys on "
        f"{name(client)} (and keep the keys where every instance sees them)")}


def _retry_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    """Retries at several layers: the worst path's amplification (the product of tries)."""
    best: dict[str, tuple[float, list[tuple[str, int]]]] = {}

    def worst(n: str) -> tuple[float, list[tuple[str, int]]]:
        if n not in best:
            best[n] = (1.0, [])
            choice: tuple[float, list[tuple[str, int]]] = (1.0, [])
            for e in topo.sync_out(n):
                factor, layers = worst(e.dst)
                factor *= 1 + e.retries
                if e.retries:
                    layers = [(f"{e.src}→{e.dst}", e.retries), *layers]
                if factor > choice[0]:
                    choice = (factor, layers)
            best[n] = choice
        return best[n]

    for client in topo.clients():
        factor, layers = worst(client.id)
        retries = int(client.params.get("retries", 0) or 0)
        if retries:
            factor *= 1 + retries
            layers = [(client.id, retries), *layers]
        if len(layers) < 2:
            continue
        tries = " x ".join(str(r + 1) for _, r in layers)
        where = ", ".join(f"{w} {r}" for w, r in layers)
        yield {"node": client.id, "text": (
            f"retries at {len(layers)} layers ({where}): when the deepest call fails, one request "
            f"can make up to {tries} = {factor:,.0f} attempts of it, which turns a slowdown into "
            "overload; retry at one layer only, with a budget and backoff")}


def _timeout_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    """Calls without a timeout where one matters: retries on timeout that can never happen, or
    a path that can queue without bound."""
    estimated = loads(doc)
    memo: dict[str, str | None] = {}

    def unbounded_below(n: str) -> str | None:
        """A busy node with an unbounded queue reached from ``n`` by synchronous calls."""
        if n not in memo:
            memo[n] = None
            node = topo.nodes[n]
            if node.kind in ("service", "database") and node.params.get("queue") is None \
                    and n in estimated and estimated[n].utilization >= BUSY:
                memo[n] = n
            else:
                memo[n] = next((found for e in topo.sync_out(n)
                                if (found := unbounded_below(e.dst)) is not None), None)
        return memo[n]

    for client in topo.clients():
        if client.params.get("timeout_ms") is not None:
            continue
        retries = int(client.params.get("retries", 0) or 0)
        if retries and "timeout" in client.params.get("retry_on", ()):
            yield {"node": client.id, "text": (
                f"{name(client)} retries on timeout but has no timeout_ms: a slow request is "
                "never given up on, so it is never retried; set timeout_ms")}
            continue
        deep = unbounded_below(client.id)
        if deep is not None:
            yield {"node": client.id, "text": (
                f"{name(client)} has no timeout_ms and {name(topo.nodes[deep])} queues without "
                "bound when busy: requests wait there as long as the queue takes; set timeout_ms "
                f"(and a bounded queue on {name(topo.nodes[deep])})")}
    for e in doc.edges:
        if e.mode != "sync" or e.retries == 0 or e.timeout_ms is not None \
                or topo.kind(e.src) == "queue":
            continue
        yield {"node": e.src, "text": (
            f"{e.src}→{e.dst} retries {e.retries}x but has no timeout_ms: a call that hangs is "
            "never retried and holds the caller's worker until it ends; set timeout_ms")}


def _queue_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    """An unbounded queue with retries upstream: under overload the queue grows without end."""
    retried: dict[str, bool] = {}

    def upstream_retries(n: str) -> bool:
        if n not in retried:
            retried[n] = False
            node = topo.nodes[n]
            mine = node.kind == "client" and int(node.params.get("retries", 0) or 0) > 0
            retried[n] = mine or any(
                (e.retries > 0 and e.mode == "sync") or upstream_retries(e.src)
                for e in topo.into.get(n, []))
        return retried[n]

    for node in doc.nodes:
        if node.kind in ("service", "database") and node.params.get("queue") is None \
                and upstream_retries(node.id):
            yield {"node": node.id, "text": (
                f"{name(node)} has an unbounded queue (queue null) and its callers retry: once "
                "it falls behind, retries pile onto a queue that never refuses, and latency grows "
                "without end; bound the queue so overload fails fast")}


def _single_instance_hints(doc: Document, topo: Topology) -> Iterable[dict[str, str]]:
    for node in doc.nodes:
        if node.kind != "service" or int(node.params["instances"]) != 1:
            continue
        auto = node.params.get("autoscale")
        if auto is not None and auto.min > 1:
            continue
        events = topo.instance_events(node.id)
        if not events:
            continue
        first = min(events, key=lambda ev: ev.at_s)
        what = "kills" if first.action == "kill_instance" else "deploys"
        if first.action == "kill_instance" and not node.params.get("replace", True):
            outcome = "nothing replaces it, so it is down for the rest of the run"
        else:
            outcome = (f"nothing serves until its replacement starts ({_num(float(node.params['startup_s']))} s"
                       " of startup_s)")
        yield {"node": node.id, "text": (
            f"{name(node)} has a single instance and the scenario {what} it at "
            f"{_num(first.at_s)} s: {outcome}; run at least 2 instances")}


def hints(doc: Document) -> list[dict[str, str]]:
    """Every hint for a loaded document, in a fixed order: load, state, retries, timeouts,
    queues, single instances."""
    topo = Topology(doc)
    out: list[dict[str, str]] = []
    for make in (_load_hints, _state_hints, _retry_hints, _timeout_hints, _queue_hints,
                 _single_instance_hints):
        for hint in make(doc, topo):
            if hint not in out:
                out.append(hint)
    return out


def hints_for(obj) -> list[dict[str, str]]:
    """The hints for a document as data; [] while it does not load (its problems come first)."""
    try:
        doc = load(obj, _UNBOUNDED)
    except DocumentError:
        return []
    return hints(doc)
