"""Instance life, balancer views, serverless containers and cost (SCHEMA.md "Instance life and
operations").

Terms
-----
instance number
    Instances of a service are numbered from 0 in launch order; a replacement takes the next
    number. Frames name instances by number (``"instance": 3``).
running
    An instance launched and not yet stopped (starting, up or draining): what a fleet pays for.
balancer view
    The instances a balancer routes to: those up, plus dead ones for ``health_check_s`` after
    their death (requests sent there fail ``unavailable`` at once). Draining and starting
    instances are never in it. Kept as one list per balancer, updated in place when instances
    change and when a health-check window ends.
pin
    A sticky balancer's choice for a user key; made round robin among up instances on the user's
    first request, remade when the pinned instance is found dead or starts draining, never
    rebalanced.
container
    A serverless node's unit of concurrency: warm (idle since some time) or busy. A request takes
    the most recently idle warm container, else starts one (``cold_start_ms`` added) while under
    ``max_concurrency``, else fails ``overload``; a container idle for ``keep_warm_s`` is gone.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from playground.engine import rng
from playground.engine.codes import (
    A_OTHER,
    CDN,
    DATABASE,
    DEAD,
    DRAINING,
    LB,
    SERVERLESS,
    SERVERLESS_POOL,
    SERVICE,
    STARTING,
    STORE,
    UP,
    WORKER,
)

_HOURLY = (LB, SERVICE, DATABASE, STORE, WORKER, CDN)


class OperationsMixin:
    """Instance life and cost for ``Simulation`` (which provides every attribute used here)."""

    def _compile_ops(self: Any) -> None:
        nodes = self.document.nodes
        nn = len(nodes)
        self.n_hook = [False] * nn
        self.lb_view: list[list[int]] = [[] for _ in range(nn)]
        self.lb_target = [-1] * nn
        self.lb_hc = [float(n.params.get("health_check_s", 0.0)) for n in nodes]
        self.n_lbs: list[list[int]] = [[] for _ in range(nn)]  # balancers in front of a node
        for lb in range(nn):
            if self.n_kind[lb] == LB and self.n_out[lb]:
                target = self.e_dst[self.n_out[lb][0]]
                self.lb_target[lb] = target
                self.n_lbs[target].append(lb)
        # Serverless: one container pool per node.
        self.n_idle: list[deque[float]] = [deque() for _ in range(nn)]
        self.n_cold: list[rng.Sampler | None] = [None] * nn
        self.n_keep = [0.0] * nn
        for n, node in enumerate(nodes):
            if self.n_kind[n] == SERVERLESS:
                i = self._add_instance(n, int(node.params["max_concurrency"]), -1, UP)
                self.i_state[i] = SERVERLESS_POOL
                self.n_inst0[n] = i
                self.n_amode[n] = A_OTHER
                self.n_plain[n] = True
                self.n_cold[n] = rng.sampler(node.params["cold_start_ms"], self.seed, node.id,
                                             "cold_start")
                self.n_keep[n] = float(node.params["keep_warm_s"])
        # Cost: hourly prices (per running instance for services), serverless per invocation.
        self.n_price = [float(n.params.get("cost_per_hour", 0.0))
                        if self.n_kind[i] in _HOURLY else 0.0 for i, n in enumerate(nodes)]
        self.n_per_call = [float(n.params.get("cost_per_million", 0.0)) / 1e6
                           if self.n_kind[i] == SERVERLESS else 0.0
                           for i, n in enumerate(nodes)]
        self.n_run = [len(self.n_insts[n]) if self.n_kind[n] == SERVICE else 1
                      for n in range(nn)]
        self.run_acc = [0.0] * nn
        self.n_calls = [0] * nn          # serverless invocations this tick
        self.cost_window = 0.0
        # Autoscaling and operations in progress.
        self.last_change = [-math.inf] * nn
        self.as_prev: dict[int, tuple[float, float, float]] = {}
        self.cum_b = [0.0] * nn
        self.cum_cap = [0.0] * nn
        self.deploys: dict[int, dict[str, Any]] = {}
        self._refresh_views()

    def _start_ops(self: Any) -> None:
        for n, node in enumerate(self.document.nodes):
            auto = node.params.get("autoscale") if self.n_kind[n] == SERVICE else None
            if auto is not None:
                self.as_prev[n] = (0.0, 0.0, 0.0)
                self._schedule(float(auto.eval_s),
                               lambda t, n=n, a=auto: self._autoscale(n, a, t))

    # ------------------------------------------------------------------ views and picks

    def _refresh_views(self: Any, node: int | None = None, t: float = 0.0) -> None:
        """Recompute who is up, and each balancer's view, for ``node`` (all services if None)."""
        targets = range(len(self.ids)) if node is None else (node,)
        for n in targets:
            if self.n_kind[n] != SERVICE:
                continue
            self.n_up[n][:] = [i for i in self.n_insts[n] if self.i_state[i] == UP]
            for lb in self.n_lbs[n]:
                hc = self.lb_hc[lb]
                self.lb_view[lb][:] = [
                    i for i in self.n_insts[n]
                    if self.i_state[i] == UP
                    or (self.i_state[i] == DEAD and t < self.i_dead_t[i] + hc)]

    # ------------------------------------------------------------------ instance life

    def _instance_action(self: Any, n: int, action: str, args: dict[str, Any],
                         t: float) -> None:
        if action == "kill_instance":
            healthy = [i for i in self.n_insts[n] if self.i_state[i] == UP]
            for i in healthy[:int(args.get("count", 1))]:
                self._stop(i, t, "instance_lost")
                if self.n_params[n].get("replace", True):
                    self._launch(n, t)
        elif action == "rolling_deploy":
            old = [i for i in self.n_insts[n] if self.i_state[i] in (UP, STARTING)]
            # A deploy started while another is under way replaces it: the old one's next
            # batch, when it comes due, finds it is no longer the node's deploy and stops.
            self.deploys[n] = {"old": old, "pos": 0, "batch": int(args.get("batch", 1)),
                               "interval": float(args.get("interval_s", 30.0)),
                               "drain": bool(args.get("drain", True)), "waiting": []}
            self._deploy_batch(n, t)
        elif action == "scale":
            self._scale(n, int(args["instances"]), t)

    def _launch(self: Any, n: int, t: float) -> int:
        p = self.n_params[n]
        qcap = p.get("queue")
        i = self._add_instance(n, int(p["workers"]), (1 << 62) if qcap is None else int(qcap),
                               STARTING)
        self._set_run(n, self.n_run[n] + 1, t)
        self._note({"t": t, "action": "instance_started", "node": self.ids[n],
                    "instance": self.i_num[i]})
        self._schedule(t + float(p.get("startup_s", 0.0)), lambda t2: self._ready(i, t2))
        return i

    def _ready(self: Any, i: int, t: float) -> None:
        if self.i_state[i] != STARTING:
            return
        n = self.i_node[i]
        self.i_state[i] = UP
        self._set_cap(n, self.n_cap[n] + self.i_cap[i], t)
        self._refresh_views(n, t)
        self._note({"t": t, "action": "instance_ready", "node": self.ids[n],
                    "instance": self.i_num[i]})
        self._deploy_progress(n, i, t)

    def _set_run(self: Any, n: int, count: int, t: float) -> None:
        self.run_acc[n] += (self.n_run[n] - count) * t
        self.n_run[n] = count

    def _stop(self: Any, i: int, t: float, action: str) -> None:
        """Instance ``i`` stops now: what it holds or queues fails ``unavailable``; its local
        state is gone with it (nothing will ever be taken up there again)."""
        n = self.i_node[i]
        was = self.i_state[i]
        self.i_state[i] = DEAD
        # Balancers keep routing for their health check only to an instance they were routing
        # to: a drained or never-ready one left their view before it stopped.
        self.i_dead_t[i] = t if was == UP else -math.inf
        if was in (UP, DRAINING):
            self._set_cap(n, self.n_cap[n] - self.i_cap[i], t)
        self._set_run(n, self.n_run[n] - 1, t)
        self._refresh_views(n, t)
        for lb in self.n_lbs[n]:
            if self.lb_hc[lb] > 0:
                self._schedule(t + self.lb_hc[lb], lambda t2, n=n: self._refresh_views(n, t2))
        self._note({"t": t, "action": action, "node": self.ids[n], "instance": self.i_num[i]})
        self.core.stop_visits(n, i, t)  # its requests fail in the core's arrays

    def _drained(self: Any, i: int, t: float) -> None:
        n = self.i_node[i]
        self._stop(i, t, "instance_stopped")
        d = self.deploys.get(n)
        if d is not None and i in d["old"]:
            d["waiting"].append(self._launch(n, t))

    def _drain(self: Any, i: int, t: float) -> None:
        n = self.i_node[i]
        self.i_state[i] = DRAINING
        self._refresh_views(n, t)
        self._note({"t": t, "action": "instance_draining", "node": self.ids[n],
                    "instance": self.i_num[i]})
        if not self.i_busy[i] and not self.core.queue_len(i):
            self._drained(i, t)

    def _deploy_batch(self: Any, n: int, t: float, d: dict[str, Any] | None = None) -> None:
        if d is None:
            d = self.deploys.get(n)
        if d is None or self.deploys.get(n) is not d:  # over, or replaced by a newer deploy
            return
        batch = [i for i in d["old"][d["pos"]:d["pos"] + d["batch"]]
                 if self.i_state[i] in (UP, STARTING)]
        d["pos"] += d["batch"]
        if not batch:
            if d["pos"] < len(d["old"]):
                self._deploy_batch(n, t)
            else:
                del self.deploys[n]
            return
        for i in batch:
            if d["drain"] and self.i_state[i] == UP:
                self._drain(i, t)
            else:
                self._stop(i, t, "instance_stopped")
                d["waiting"].append(self._launch(n, t))

    def _deploy_progress(self: Any, n: int, ready: int, t: float) -> None:
        """Instance ``ready`` serves: if it replaced one of the deploy's batch and the whole
        batch serves, the next batch starts ``interval_s`` later."""
        d = self.deploys.get(n)
        if d is None or ready not in d["waiting"] \
                or any(self.i_state[i] != UP for i in d["waiting"]):
            return
        if any(self.i_state[i] == DRAINING for i in d["old"]):
            return
        d["waiting"] = []
        if d["pos"] >= len(d["old"]):
            del self.deploys[n]
            return
        self._schedule(t + d["interval"], lambda t2, d=d: self._deploy_batch(n, t2, d))

    def _scale(self: Any, n: int, count: int, t: float) -> None:
        """Set the number of running instances: launch new ones, or drain the newest."""
        live = [i for i in self.n_insts[n] if self.i_state[i] in (UP, STARTING)]
        self.last_change[n] = t
        for _ in range(count - len(live)):
            self._launch(n, t)
        for i in reversed(live[count:] if count < len(live) else []):
            if self.i_state[i] == STARTING:
                self._stop(i, t, "instance_stopped")
            else:
                self._drain(i, t)

    def _autoscale(self: Any, n: int, auto: Any, t: float) -> None:
        """Every ``eval_s``: desired = ceil(n x utilization over the last ``eval_s`` /
        target), within [min, max], and not within ``cooldown_s`` of the last change."""
        self._schedule(t + float(auto.eval_s), lambda t2: self._autoscale(n, auto, t2))
        busy = self.cum_b[n] + self.b_acc[n] + self.n_busy[n] * t
        cap = self.cum_cap[n] + self.cap_acc[n] + self.n_cap[n] * t
        _, b0, c0 = self.as_prev[n]
        self.as_prev[n] = (t, busy, cap)
        if cap - c0 <= 0:
            return
        util = (busy - b0) / (cap - c0)
        up = len(self.n_up[n])
        desired = min(max(math.ceil(up * util / auto.target_utilization - 1e-9), auto.min),
                      auto.max)
        live = sum(1 for i in self.n_insts[n] if self.i_state[i] in (UP, STARTING))
        if desired != live and t - self.last_change[n] >= float(auto.cooldown_s):
            self._note({"t": t, "action": "autoscale", "node": self.ids[n],
                        "instances": desired})
            self._scale(n, desired, t)

    # ------------------------------------------------------------------ serverless

    def containers(self: Any, n: int, t: float) -> int:
        idle = self.n_idle[n]
        while idle and idle[0] + self.n_keep[n] <= t:
            idle.popleft()
        return len(idle) + self.i_busy[self.n_inst0[n]]

    # ------------------------------------------------------------------ cost

    def _tick_spend(self: Any, end: float) -> float:
        """Dollars spent in the tick ending at ``end``; resets the tick's meters."""
        spend = 0.0
        tick = self.tick_s
        for n in range(len(self.ids)):
            price = self.n_price[n]
            if price:
                if self.n_kind[n] == SERVICE:
                    area = self.run_acc[n] + self.n_run[n] * end
                    self.run_acc[n] = -self.n_run[n] * end
                else:
                    area = tick
                spend += price * area / 3600.0
            if self.n_calls[n]:
                spend += self.n_calls[n] * self.n_per_call[n]
                self.n_calls[n] = 0
        return spend

    def _cost_per_hour(self: Any, end: float) -> float:
        spend = self._tick_spend(end)
        if self.k > self.warm_ticks:
            self.cost_window += spend
        return spend * 3600.0 / self.tick_s

    def _cost_totals(self: Any) -> tuple[float, float]:
        hours = (self.w1 - self.w0) / 3600.0
        return (self.cost_window / hours if hours else 0.0), self.cost_window
