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
from playground.engine.histogram import Histogram

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
        # Faults and deploys: a stream per service for each draw they make (made only where
        # they apply), each service's versions ((error_rate, slowdown) by version number; 0 is
        # the design's), the version it deploys now and the one before (a rollback's), and the
        # canaries and blue-green switches under way.
        def streams(purpose: str) -> list[rng.Sampler | None]:
            return [rng.uniform(self.seed, node.id, purpose) if self.n_kind[n] == SERVICE
                    else None for n, node in enumerate(nodes)]

        self.n_can_u = streams("canary")
        self.n_fault_u = streams("instance_errors")
        self.n_rel_u = streams("release")
        self.n_canary = [-1] * nn        # the core's: the canary under watch, once it serves
        self.n_cweight = [0.0] * nn
        self.canary_ms: list[list[float]] = [[] for _ in range(nn)]
        self.n_versions: list[list[tuple[float, float]]] = [[(0.0, 1.0)] for _ in range(nn)]
        self.n_ver = [0] * nn
        self.n_prev_ver: list[int | None] = [None] * nn
        self.canaries: dict[int, dict[str, Any]] = {}
        self.bluegreens: dict[int, dict[str, Any]] = {}
        self.fail_serial: dict[int, int] = {}
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
            out = self.i_out  # held out of the views: a canary, a blue-green fleet not serving
            self.n_up[n][:] = [i for i in self.n_insts[n] if self.i_state[i] == UP and not out[i]]
            for lb in self.n_lbs[n]:
                hc = self.lb_hc[lb]
                self.lb_view[lb][:] = [
                    i for i in self.n_insts[n]
                    if (self.i_state[i] == UP and not out[i])
                    or (self.i_state[i] == DEAD and t < self.i_dead_t[i] + hc)]

    # ------------------------------------------------------------------ instance life

    def _instance_action(self: Any, n: int, action: str, args: dict[str, Any],
                         t: float, note: dict[str, Any] | None = None) -> None:
        note = {} if note is None else note
        if action == "kill_instance":
            healthy = [i for i in self.n_insts[n] if self.i_state[i] == UP]
            for i in healthy[:int(args.get("count", 1))]:
                self._stop(i, t, "instance_lost")
                if self.n_params[n].get("replace", True):
                    self._launch(n, t)
        elif action == "rolling_deploy":
            # A deploy started while another is under way replaces it: the old one's next
            # batch, when it comes due, finds it is no longer the node's deploy and stops.
            self._end_deploys(n, t)
            self._set_current(n, self._make_version(n, args.get("release")))
            self._rolling(n, t, self._fleet(n), int(args.get("batch", 1)),
                          float(args.get("interval_s", 30.0)), bool(args.get("drain", True)))
        elif action == "scale":
            self._scale(n, int(args["instances"]), t)
        elif action == "instance_errors":
            self._instance_errors(n, args, t, note)
        elif action == "canary":
            self._canary(n, args, t)
        elif action == "blue_green":
            self._end_deploys(n, t)
            ver = self._make_version(n, args.get("release"))
            self._set_current(n, ver)
            self._blue_green(n, t, ver, float(args.get("keep_s", 300.0)))
        elif action == "rollback":
            self._rollback(n, t, note)

    def _fleet(self: Any, n: int) -> list[int]:
        """The instances of ``n`` a deploy replaces: starting or up, and in the views (not a
        canary, not a blue-green fleet waiting or kept)."""
        return [i for i in self.n_insts[n]
                if self.i_state[i] in (UP, STARTING) and not self.i_out[i]]

    def _rolling(self: Any, n: int, t: float, old: list[int], batch: int = 1,
                 interval: float = 30.0, drain: bool = True) -> None:
        self.deploys[n] = {"old": old, "pos": 0, "batch": batch, "interval": interval,
                           "drain": drain, "waiting": []}
        self._deploy_batch(n, t)

    def _launch(self: Any, n: int, t: float, ver: int | None = None) -> int:
        """A new instance of ``n`` (of version ``ver``; None: the one ``n`` deploys now)."""
        p = self.n_params[n]
        qcap = p.get("queue")
        i = self._add_instance(n, int(p["workers"]), (1 << 62) if qcap is None else int(qcap),
                               STARTING)
        self._set_version(i, self.n_ver[n] if ver is None else ver)
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
        if n in self.canaries:
            self._canary_ready(n, i, t)
        if n in self.bluegreens:
            self._bg_progress(n, t)

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
        self.i_dead_t[i] = t if was == UP and not self.i_out[i] else -math.inf
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
        live = self._fleet(n)
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
        live = len(self._fleet(n))
        if desired != live and t - self.last_change[n] >= float(auto.cooldown_s):
            self._note({"t": t, "action": "autoscale", "node": self.ids[n],
                        "instances": desired})
            self._scale(n, desired, t)

    # ------------------------------------------------------------------ faults and deploys

    def _make_version(self: Any, n: int, release: Any) -> int:
        """A new version of ``n``: the release's, or (None) the same as the current one."""
        rel = self.n_versions[n][self.n_ver[n]] if release is None \
            else (float(release.error_rate), float(release.slowdown))
        self.n_versions[n].append(rel)
        return len(self.n_versions[n]) - 1

    def _set_current(self: Any, n: int, ver: int) -> None:
        """``n`` deploys ``ver`` from now on (every instance launched runs it); the version it
        ran before is what a rollback brings back."""
        self.n_prev_ver[n] = self.n_ver[n]
        self.n_ver[n] = ver

    def _set_version(self: Any, i: int, ver: int) -> None:
        self.i_ver[i] = ver
        self.i_rerr[i], self.i_slow[i] = self.n_versions[self.i_node[i]][ver]

    def _retire(self: Any, i: int, t: float) -> None:
        """Instance ``i`` goes: drained if up (at once if idle), stopped if starting."""
        if self.i_state[i] == UP:
            self._drain(i, t)
        elif self.i_state[i] == STARTING:
            self._stop(i, t, "instance_stopped")

    def _end_deploys(self: Any, n: int, t: float) -> None:
        """A deploy (or rollback) starts on ``n``: a canary under way is cancelled (drained and
        stopped), a blue-green fleet that does not serve yet is stopped and an old one kept idle
        after a switch is drained and stopped, a rolling deploy under way starts no further
        batch."""
        self.deploys.pop(n, None)
        c = self.canaries.pop(n, None)
        if c is not None:
            self.n_canary[n] = -1
            self.n_cweight[n] = 0.0
            self._note({"t": t, "action": "canary_cancelled", "node": self.ids[n],
                        "instance": self.i_num[c["inst"]]})
            self._retire(c["inst"], t)
        bg = self.bluegreens.pop(n, None)
        if bg is not None:
            # A new fleet that does not serve yet stops; an old one kept idle after a switch goes
            # too: a rollback now returns to the version before the new deploy, not to it.
            for i in bg["blue"] if bg["switched"] else bg["green"]:
                self._retire(i, t)

    def _instance_errors(self: Any, n: int, args: dict[str, Any], t: float,
                         note: dict[str, Any]) -> None:
        want = args.get("instance")
        insts = self.n_insts[n]
        if want is None:
            i = next((i for i in insts if self.i_state[i] == UP), -1)
        else:
            i = insts[want] if want < len(insts) and self.i_state[insts[want]] != DEAD else -1
        if i < 0:
            note["skipped"] = "no such instance" if want is not None else "no instance up"
            return
        note["instance"] = self.i_num[i]
        serial = self.fail_serial.get(i, 0) + 1
        self.fail_serial[i] = serial
        self.i_fail[i] = float(args.get("error_rate", 1.0))
        duration = args.get("duration_s")
        if duration is not None:
            self._schedule(t + float(duration),
                           lambda t2: self._end_instance_errors(i, serial, t2))

    def _end_instance_errors(self: Any, i: int, serial: int, t: float) -> None:
        if self.fail_serial.get(i) != serial:  # a later instance_errors on it holds
            return
        self.i_fail[i] = 0.0
        self._note({"t": t, "action": "instance_errors_end", "node": self.ids[self.i_node[i]],
                    "instance": self.i_num[i]})

    def _canary(self: Any, n: int, args: dict[str, Any], t: float) -> None:
        self._end_deploys(n, t)
        ver = self._make_version(n, args.get("release"))
        i = self._launch(n, t, ver)
        self.i_out[i] = True
        gate = args["gate"]
        self.canaries[n] = {
            "inst": i, "ver": ver, "weight": float(args.get("weight", 0.05)),
            "watch": float(args.get("watch_s", 60.0)),
            "max_error_ratio": float(gate.max_error_ratio), "max_p99_ms": gate.max_p99_ms,
            "then": args.get("then", "rolling"), "base": (0, 0)}

    def _canary_ready(self: Any, n: int, i: int, t: float) -> None:
        c = self.canaries[n]
        if c["inst"] != i:
            return
        self.n_canary[n] = i
        self.n_cweight[n] = c["weight"]
        c["base"] = self.core.canary_counts(n)
        self.canary_ms[n] = []
        self._note({"t": t, "action": "canary_started", "node": self.ids[n],
                    "instance": self.i_num[i], "weight": c["weight"]})
        self._schedule(t + c["watch"], lambda t2, c=c: self._canary_gate(n, c, t2))

    def _canary_gate(self: Any, n: int, c: dict[str, Any], t: float) -> None:
        """``watch_s`` after the canary serves: its own requests against the gate."""
        if self.canaries.get(n) is not c:  # cancelled meanwhile
            return
        del self.canaries[n]
        i = c["inst"]
        self.n_canary[n] = -1
        self.n_cweight[n] = 0.0
        req, err = self.core.canary_counts(n)
        req -= c["base"][0]
        err -= c["base"][1]
        ratio = err / req if req else 0.0
        p99 = None
        if self.canary_ms[n]:
            h = Histogram()
            h.add_many(self.canary_ms[n])
            p99 = h.quantiles((0.99,))[0]
        self.canary_ms[n] = []
        passed = (self.i_state[i] == UP and ratio <= c["max_error_ratio"]
                  and (c["max_p99_ms"] is None or p99 is None or p99 <= c["max_p99_ms"]))
        self._note({"t": t, "action": "canary_passed" if passed else "canary_failed",
                    "node": self.ids[n], "instance": self.i_num[i], "requests": req,
                    "errors": err, "error_ratio": round(ratio, 6),
                    "p99_ms": None if p99 is None else round(p99, 4)})
        if not passed:
            self._retire(i, t)
            return
        self.i_out[i] = False
        self._set_current(n, c["ver"])
        old = [j for j in self._fleet(n) if self.i_ver[j] != c["ver"]]
        if c["then"] == "blue_green":
            self._refresh_views(n, t)
            self._blue_green(n, t, c["ver"], 300.0, green=[i])
            return
        if old:  # the canary takes the place of the newest old instance
            self._retire(old.pop(), t)
        self._refresh_views(n, t)
        self._rolling(n, t, old)

    def _blue_green(self: Any, n: int, t: float, ver: int, keep: float,
                    green: list[int] | None = None) -> None:
        """A second fleet of ``ver`` (with ``green`` in it), the size of the serving one,
        launches out of the views; ``_bg_progress`` switches once all of it serves."""
        green = list(green or [])
        blue = [i for i in self._fleet(n) if i not in green]
        for _ in range(max(len(blue), 1) - len(green)):
            g = self._launch(n, t, ver)
            self.i_out[g] = True
            green.append(g)
        self.bluegreens[n] = {"blue": blue, "green": green, "keep": keep, "switched": False}
        self._bg_progress(n, t)

    def _bg_progress(self: Any, n: int, t: float) -> None:
        bg = self.bluegreens[n]
        if bg["switched"]:
            return
        live = [g for g in bg["green"] if self.i_state[g] != DEAD]
        if not live or any(self.i_state[g] != UP for g in live):
            return
        bg["switched"] = True
        for g in live:
            self.i_out[g] = False
        for b in bg["blue"]:
            if self.i_state[b] == UP:
                self.i_out[b] = True
            elif self.i_state[b] == STARTING:
                self._stop(b, t, "instance_stopped")
        self._refresh_views(n, t)
        self._note({"t": t, "action": "blue_green_switched", "node": self.ids[n],
                    "instances": [self.i_num[g] for g in live],
                    "kept": [self.i_num[b] for b in bg["blue"] if self.i_state[b] == UP]})
        self._schedule(t + bg["keep"], lambda t2, bg=bg: self._bg_end(n, bg, t2))

    def _bg_end(self: Any, n: int, bg: dict[str, Any], t: float) -> None:
        """``keep_s`` after the switch: the kept fleet stops (drained first, if it still holds
        requests)."""
        if self.bluegreens.get(n) is not bg:  # rolled back meanwhile
            return
        del self.bluegreens[n]
        for b in bg["blue"]:
            self._retire(b, t)

    def _rollback(self: Any, n: int, t: float, note: dict[str, Any]) -> None:
        bg = self.bluegreens.get(n)
        prev = self.n_prev_ver[n]
        if bg is not None and bg["switched"] and prev is not None \
                and any(self.i_state[b] == UP for b in bg["blue"]):
            # Within keep_s of a switch: the kept fleet serves again at once; the new drains.
            del self.bluegreens[n]
            self.n_ver[n], self.n_prev_ver[n] = prev, None
            for b in bg["blue"]:
                self.i_out[b] = False
            self._refresh_views(n, t)
            for g in bg["green"]:
                self._retire(g, t)
            note["to"] = "kept fleet"
            return
        if n in self.canaries:  # a canary under way: it stops; nothing else had changed
            self._end_deploys(n, t)
            note["to"] = "canary cancelled"
            return
        if prev is None:
            note["skipped"] = "no deploy to roll back"
            return
        # Instances of the old version that the deploy under way is draining serve again.
        d = self.deploys.get(n)
        for i in d["old"] if d is not None else ():
            if self.i_state[i] == DRAINING and self.i_ver[i] == prev:
                self.i_state[i] = UP
        self._end_deploys(n, t)
        self.n_ver[n], self.n_prev_ver[n] = prev, None
        self._refresh_views(n, t)
        note["to"] = "rolling"
        self._rolling(n, t, [i for i in self._fleet(n) if self.i_ver[i] != prev])

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
