"""What happened in a run, in plain sentences, each about a moment ``t`` of simulated time.

Pure functions over plain data: the run's canonical document, its summary and its frames (SCHEMA
"Output"). Nothing here knows a template: every sentence comes from the numbers.

Terms
-----
moment
    The simulated time (s) a sentence is about: a frame's ``t`` is the end of its tick, so a
    moment taken from a frame is that end; one taken from an event is the event's own ``t``.
error share
    Failed requests over requests emitted; in frames, errors per second over offered requests
    per second.
saturated
    A node whose utilization reached ``SATURATED`` in a frame, or whose queue grew in each of
    ``GROWING_TICKS`` ticks in a row to at least ``GROWING_MIN`` requests.
baseline
    Before a fault: the mean error share and p99 of the ``BASELINE_TICKS`` frames before the
    fault's tick (fewer at the start of a run).
recovered
    The first frame after a fault from which ``STEADY_TICKS`` frames in a row have an error share
    within ``ERROR_SLACK`` of the baseline's (absolute, or twice it) and a p99 within
    ``P99_SLACK`` times the baseline's (plus 5 ms); a frame with no successful request is never
    recovered.
capacity
    In client requests per second: the least, over the nodes with servers, of the node's capacity
    (``hints.loads``) times the client requests per visit it receives.
stayed down (a metastable failure)
    After the last transient fault ended (an outage or slowdown ending, a traffic spike falling
    back), and ``SETTLE_S`` more, goodput stayed under ``DOWN_SHARE`` of the offered requests
    for at least ``DOWN_S`` although the offered load alone was below capacity, while the
    clients' attempts stayed above capacity: retries hold the system down once the trigger is
    gone (Bronson et al., HotOS 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from playground.engine import DocumentError, Limits, load
from playground.engine.hints import Topology, loads, name, peak_multiplier

SATURATED = 0.95
GROWING_TICKS = 3
GROWING_MIN = 5.0
BASELINE_TICKS = 10
STEADY_TICKS = 3
ERROR_SLACK = 0.01
P99_SLACK = 1.5
#: Frames with fewer errors than this share of requests are not "errors started".
ERROR_ONSET = 0.01
#: Clients' attempts per request from which retries are worth a sentence.
AMPLIFIED = 1.05

#: Stayed down: seconds after a fault's end before looking, the goodput share that counts as down,
#: and how long it must last.
SETTLE_S = 10.0
DOWN_SHARE = 0.5
DOWN_S = 20.0
#: Events that end a transient fault (a traffic step down ends a spike).
FAULT_ENDS = ("outage_end", "slowdown_end")

FAULTS = ("kill_instance", "outage", "slowdown", "rolling_deploy", "traffic", "flush_cache", "scale")

_UNBOUNDED = Limits(max_expected_requests=math.inf, max_calls_per_request=math.inf, max_work=math.inf,
                    max_nodes=10**6, max_edges=10**6, max_bytes=1 << 40, max_depth=10**3)

_CAUSE_WORDS = {"session_lost": "session lost", "upload_failed": "upload failed"}


def _t(x: float) -> str:
    return f"{x:g} s" if x == int(x) else f"{x:.1f} s"


def _pct(x: float) -> str:
    if 0 < x < 0.001:
        return "under 0.1%"
    if 0 < x < 0.01:
        return f"{x * 100:.1f}%"
    return f"{x * 100:.0f}%"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _ms(x: float) -> str:
    return f"{x:.1f} ms" if x < 100 else f"{x:,.0f} ms"


def _moment(t: float) -> float:
    return float(round(t, 3))


def _errors_per_s(frame: dict[str, Any]) -> float:
    return sum(v for v in (frame.get("errors") or {}).values() if v)


def _share(frame: dict[str, Any]) -> float:
    offered = frame.get("offered_rps") or 0.0
    errors = _errors_per_s(frame)
    if offered <= 0:
        return 1.0 if errors > 0 else 0.0
    return min(1.0, errors / offered)


def _tick(frames: Sequence[dict[str, Any]]) -> float:
    if len(frames) >= 2:
        return frames[1]["t"] - frames[0]["t"]
    return frames[0]["t"] if frames else 1.0


# ------------------------------------------------------------------------------------------ saturation


def saturation(frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    """Which node saturated first, and when; others that followed."""
    first: dict[str, tuple[float, str]] = {}
    growing: dict[str, int] = {}
    last_queue: dict[str, float] = {}
    for frame in frames:
        for nid, stats in (frame.get("nodes") or {}).items():
            if nid in first or nid not in topo.nodes or topo.kind(nid) in ("client", "load_balancer"):
                continue
            util = stats.get("utilization") or 0.0
            queue = stats.get("queue") or 0.0
            growing[nid] = growing.get(nid, 0) + 1 if queue > last_queue.get(nid, 0.0) else 0
            last_queue[nid] = queue
            if topo.kind(nid) == "queue":
                if util >= SATURATED:
                    first[nid] = (frame["t"], f"it held {_pct(util)} of its max_depth")
            elif util >= SATURATED:
                busy = f"{_pct(util)} of its servers busy"
                first[nid] = (frame["t"], busy + (f", {_n(queue)} requests queued" if queue >= 1 else ""))
            elif growing[nid] >= GROWING_TICKS and queue >= GROWING_MIN:
                first[nid] = (frame["t"], f"its queue grew {GROWING_TICKS} ticks in a row to {_n(queue)} requests")
    if not first:
        return []
    order = sorted(first.items(), key=lambda kv: (kv[1][0], kv[0]))
    nid, (t, how) = order[0]
    text = f"{name(topo.nodes[nid])} saturated first, at {_t(t)}: {how}"
    cause = _traffic_before(frames, t)
    if cause is not None:
        text += f", {_t(t - cause[0])} after traffic went to x{cause[1]:g}"
    others = [name(topo.nodes[o]) + f" ({_t(ot)})" for o, (ot, _) in order[1:4]]
    if others:
        text += f". Then {', '.join(others)}" + (" and more" if len(order) > 4 else "")
    return [{"t": _moment(t), "text": text + "."}]


def _traffic_before(frames: Sequence[dict[str, Any]], t: float) -> tuple[float, float] | None:
    step = None
    for frame in frames:
        if frame["t"] > t:
            break
        for ev in frame.get("events") or ():
            if ev.get("action") == "traffic" and ev.get("multiplier", 1) > 1:
                step = (float(ev["t"]), float(ev["multiplier"]))
    return step


# ---------------------------------------------------------------------------------------------- errors


def errors(summary: dict[str, Any], frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    """Where errors started, the share of requests that failed from then, and their causes by
    the node where each started."""
    requests = summary.get("requests") or 0
    failed = sum((summary.get("errors") or {}).values())
    if not failed or not requests:
        return []
    start = next((f for f in frames if _errors_per_s(f) > 0 and _share(f) >= ERROR_ONSET), None)
    if start is None:
        start = next((f for f in frames if _errors_per_s(f) > 0), None)
    tick = _tick(frames)
    by_origin: dict[tuple[str, str], float] = {}
    for frame in frames:
        for nid, stats in (frame.get("nodes") or {}).items():
            for cause, rate in (stats.get("errors") or {}).items():
                by_origin[(cause, nid)] = by_origin.get((cause, nid), 0.0) + rate * tick
    total = sum(by_origin.values()) or 1.0
    parts = sorted(by_origin.items(), key=lambda kv: (-kv[1], kv[0]))
    causes = ", ".join(
        f"{_CAUSE_WORDS.get(cause, cause)} at {name(topo.nodes[nid]) if nid in topo.nodes else nid} "
        f"({_pct(count / total)})" for (cause, nid), count in parts[:4] if count > 0)
    share = failed / requests
    if start is None:
        return [{"t": 0.0, "text": f"{_pct(share)} of requests failed ({_n(failed)} of {_n(requests)}): {causes}."}]
    after = [f for f in frames if f["t"] >= start["t"]]
    offered = sum(f.get("offered_rps") or 0 for f in after)
    share_after = min(1.0, sum(_errors_per_s(f) for f in after) / offered) if offered else share
    whole = "" if abs(share_after - share) < 0.005 else f"{_pct(share)} of the whole run: "
    text = (f"From {_t(start['t'] - tick)}, {_pct(share_after)} of requests failed "
            f"({whole}{_n(failed)} of {_n(requests)}): {causes}.")
    return [{"t": _moment(start["t"] - tick), "text": text}]


# ------------------------------------------------------------------------------------- workflows


def _first(frames: Sequence[dict[str, Any]], group: str, key: str) -> float | None:
    tick = _tick(frames)
    for frame in frames:
        if (frame.get(group) or {}).get(key):
            return frame["t"] - tick
    return None


def _client_with(topo: Topology, workflow: str) -> list:
    return [c for c in topo.clients() if c.params.get("workflow") == workflow]


def _instance_losses(frames: Sequence[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    return [ev for f in frames for ev in (f.get("events") or ())
            if ev.get("node") == node and ev.get("action") in ("instance_lost", "instance_draining",
                                                                  "instance_stopped")]


def sessions(summary: dict[str, Any], frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    users = summary.get("users") or {}
    lost = users.get("logged_out") or 0
    if not lost:
        return []
    followups = (summary.get("requests") or 0) - (users.get("logins") or 0)
    share = lost / followups if followups > 0 else 1.0
    t = _first(frames, "users", "logged_out") or 0.0
    head = (f"{_n(lost)} times a user was logged out: {_pct(share)} of follow-up requests landed on "
            "an instance that did not hold the session")
    for client in _client_with(topo, "session"):
        owner = topo.owner(client.id)
        if owner is None:
            continue
        onode = topo.nodes[owner]
        if onode.params.get("state") != "local":
            continue
        algorithm, lb = topo.routing(owner, client.id)
        losses = _instance_losses(frames, owner)
        if topo.spreads(owner, client.id):
            via = f" ({name(topo.nodes[lb])})" if lb else ""
            return [{"t": _moment(t), "text": (
                f"{head}; the session lived in instance memory of {name(onode)} (state local) "
                f"behind {algorithm}{via}. Keep sessions in a state store (state external) or pin "
                "users with a sticky balancer.")}]
        if losses:
            t_loss = float(losses[0]["t"])
            return [{"t": _moment(t_loss), "text": (
                f"{_n(lost)} times a user was logged out after {name(onode)}'s instances went away "
                f"(from {_t(t_loss)}): sessions lived in instance memory (state local); "
                f"{algorithm} keeps a user on one instance only while it lives. Keep sessions in a "
                "state store (state external).")}]
    return [{"t": _moment(t), "text": head + "."}]


def uploads(summary: dict[str, Any], frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    up = summary.get("uploads") or {}
    failed, started = up.get("failed") or 0, up.get("started") or 0
    if not failed:
        return []
    t = _first(frames, "uploads", "failed") or 0.0
    disk = (summary.get("errors") or {}).get("upload_failed") or 0
    text = f"{_n(failed)} of {_n(started)} uploads failed ({_pct(failed / started if started else 1)})"
    for client in _client_with(topo, "upload"):
        owner = topo.owner(client.id)
        if owner is None or topo.nodes[owner].params.get("state") != "local":
            continue
        algorithm, lb = topo.routing(owner, client.id)
        via = f" ({name(topo.nodes[lb])})" if lb else ""
        parts = int(client.params.get("parts", 4))
        rest = "" if disk >= failed else f"; the other {_n(failed - disk)} when a part itself failed"
        return [{"t": _moment(t), "text": (
            f"{text}; {_n(disk)} of them because their parts were on the local disks of different "
            f"instances of {name(topo.nodes[owner])} (state local; the {parts} parts of an upload "
            f"were spread {algorithm}{via}){rest}. Keep parts in object storage (state external) or "
            "use a sticky balancer.")}]
    return [{"t": _moment(t), "text": text + "."}]


def payments(summary: dict[str, Any], frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    charges = summary.get("charges") or {}
    dup, total = charges.get("duplicate") or 0, charges.get("total") or 0
    if not dup:
        return []
    t = _first(frames, "charges", "duplicate") or 0.0
    head = f"{_n(dup)} of {_n(total)} charges were duplicates (a payment charged again)"
    for client in _client_with(topo, "payment"):
        owner = topo.owner(client.id)
        target = owner or next((n for n in topo.reach(client.id)
                                if topo.kind(n) in ("service", "serverless")), None)
        if target is None:
            continue
        retries = topo.retries_before(client.id, target)
        who = ", ".join(f"{w} up to {r}x" for w, r in retries) or "retries"
        if not client.params.get("idempotency_keys"):
            why = f"the payment was retried ({who}) without idempotency keys"
            fix = f"Set idempotency_keys on {name(client)}"
        elif owner is None:
            why = f"the payment was retried ({who}) and no service on the path keeps the keys"
            fix = "Give the charging service a state store (state external)"
        elif topo.nodes[owner].params.get("state") == "local":
            why = (f"the payment was retried ({who}) and its idempotency key lived in one instance's "
                   f"memory of {name(topo.nodes[owner])} (state local); a retry on another instance "
                   "found no key")
            fix = "Keep the keys in a state store (state external)"
        else:
            why = f"the payment was retried ({who})"
            fix = "Check where the keys live"
        return [{"t": _moment(t), "text": f"{head}, because {why}. {fix}."}]
    return [{"t": _moment(t), "text": head + "."}]


def retries(summary: dict[str, Any], frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    """Retry amplification as observed: clients' attempts per request, and each retrying edge's
    calls at the callee per call made (when the callee has no other caller)."""
    out: list[str] = []
    requests, attempts = summary.get("requests") or 0, summary.get("attempts") or 0
    t = None
    tick = _tick(frames)
    if requests and attempts / requests >= AMPLIFIED:
        out.append(f"clients made {attempts / requests:.2f} attempts per request ({_n(attempts)} for "
                   f"{_n(requests)}: retries added {_pct(attempts / requests - 1)} more load)")
        t = next((f["t"] - tick for f in frames
                  if (f.get("attempts_rps") or 0) > (f.get("offered_rps") or 0) * AMPLIFIED), None)
    nodes = summary.get("nodes") or {}
    for e in topo.doc.edges:
        if not e.retries or e.mode != "sync" or len(topo.into.get(e.dst, [])) != 1:
            continue
        made = (nodes.get(e.src) or {}).get("arrivals", 0) * e.calls
        got = (nodes.get(e.dst) or {}).get("arrivals", 0)
        if made > 0 and got / made >= AMPLIFIED:
            out.append(f"{name(topo.nodes[e.dst])} received {got / made:.2f} calls per call "
                       f"{name(topo.nodes[e.src])} made (retries {e.retries} on {e.src}→{e.dst})")
    if not out:
        return []
    text = "Retries amplified the load: " + "; ".join(out) + "."
    return [{"t": _moment(t if t is not None else 0.0), "text": text}]


# ---------------------------------------------------------------------------------------- stayed down


def client_capacity(topo: Topology) -> float:
    """Client requests per second the design can serve (see *capacity*); inf if nothing bounds it."""
    offered = sum(float(n.params["rps"]) for n in topo.clients()) * peak_multiplier(topo.doc)
    per_node = [load.capacity_rps * offered / load.arrivals_rps
                for load in loads(topo.doc).values() if load.arrivals_rps > 0]
    return min(per_node, default=math.inf)


def _fault_ends(frames: Sequence[dict[str, Any]]) -> list[tuple[float, str]]:
    """When each transient fault ended, and what it was."""
    out = []
    level = 1.0
    for frame in frames:
        for ev in frame.get("events") or ():
            action = ev.get("action")
            if action in FAULT_ENDS:
                out.append((float(ev["t"]), action.removesuffix("_end")))
            elif action == "traffic":
                mult = float(ev.get("multiplier", 1))
                if mult < level:
                    out.append((float(ev["t"]) + float(ev.get("ramp_s", 0) or 0), "traffic spike"))
                level = mult
    return out


def stayed_down(summary: dict[str, Any], frames: Sequence[dict[str, Any]],
                topo: Topology) -> list[dict[str, Any]]:
    """The metastable signature, named with its loop and its cures (see *stayed down*)."""
    ends = _fault_ends(frames)
    if not ends or not frames:
        return []
    end, what = max(ends)
    tick = _tick(frames)
    after = [f for f in frames if f["t"] - tick >= end + SETTLE_S]
    if len(after) * tick < DOWN_S:
        return []
    capacity = client_capacity(topo)

    def down(f: dict[str, Any]) -> bool:
        return (f.get("ok_rps") or 0) < DOWN_SHARE * (f.get("offered_rps") or 0)

    recovered = next((j for j in range(len(after) - STEADY_TICKS + 1)
                      if not any(down(f) for f in after[j:j + STEADY_TICKS])), None)
    held = after[:recovered] if recovered is not None else after
    if not held or len(held) * tick < DOWN_S - SETTLE_S:
        return []
    n = len(held)
    offered = sum(f.get("offered_rps") or 0 for f in held) / n
    attempts = sum(f.get("attempts_rps") or 0 for f in held) / n
    ok = sum(f.get("ok_rps") or 0 for f in held) / n
    if not (offered < capacity < attempts and attempts > offered * AMPLIFIED):
        return []
    last = held[-1]["t"]
    span = last - end
    if recovered is None:
        until = f"for the {_t(span)} after the {what} ended, to the end of the run"
    else:
        until = f"for {_t(span)} after the {what} ended, until it recovered at {_t(last)}"
    text = (f"Retries kept {_n(attempts)} attempts/s against a capacity of {_n(capacity)} {until}: "
            f"goodput stayed at {_n(ok)} of {_n(offered)} requests/s offered. The system stayed down "
            "after its trigger was gone (a metastable failure): requests time out, are retried, "
            "and the retries keep the load above capacity, so the next requests time out too. "
            "A retry budget (retry_budget), deadline shedding (max_queue_wait_ms below the "
            "clients' timeout), a LIFO queue (queue_policy lifo) or a circuit breaker "
            "(circuit_breaker) ends it.")
    return [{"t": _moment(end), "text": text}]


# ---------------------------------------------------------------------------------------------- faults


def _describe_fault(ev: dict[str, Any], topo: Topology) -> str:
    node = ev.get("node")
    who = name(topo.nodes[node]) if node in topo.nodes else (node or "")
    action = ev.get("action")
    if action == "kill_instance":
        count = int(ev.get("count", 1))
        return f"{'an instance' if count == 1 else f'{count} instances'} of {who} {'was' if count == 1 else 'were'} killed"
    if action == "outage":
        return f"{who} went down for {_t(float(ev.get('duration_s', 0)))}"
    if action == "slowdown":
        return f"{who} slowed down {ev.get('factor', 1):g}x for {_t(float(ev.get('duration_s', 0)))}"
    if action == "rolling_deploy":
        return f"a rolling deploy of {who} began"
    if action == "traffic":
        return f"traffic went to x{ev.get('multiplier', 1):g}"
    if action == "flush_cache":
        return f"{who} was flushed"
    if action == "scale":
        return f"{who} was scaled to {ev.get('instances')} instances"
    return f"{action} on {who}"


def _p99(frame: dict[str, Any]) -> float | None:
    return (frame.get("latency_ms") or {}).get("p99")


def _near(frame: dict[str, Any], base_err: float, base_p99: float | None) -> bool:
    share = _share(frame)
    if share > max(base_err + ERROR_SLACK, 2 * base_err):
        return False
    p99 = _p99(frame)
    if p99 is None:
        return (frame.get("offered_rps") or 0) == 0
    return base_p99 is None or p99 <= base_p99 * P99_SLACK + 5.0


def faults(frames: Sequence[dict[str, Any]], topo: Topology) -> list[dict[str, Any]]:
    out = []
    tick = _tick(frames)
    for k, frame in enumerate(frames):
        for ev in frame.get("events") or ():
            if ev.get("action") not in FAULTS:
                continue
            if ev.get("action") in ("traffic", "scale") and ev.get("multiplier", 2) <= 1:
                continue
            out.append(_fault(frames, k, ev, tick, topo))
    return out


def _fault(frames: Sequence[dict[str, Any]], k: int, ev: dict[str, Any], tick: float,
           topo: Topology) -> dict[str, Any]:
    t0 = float(ev["t"])
    what = f"At {_t(t0)} {_describe_fault(ev, topo)}"
    before = frames[max(0, k - BASELINE_TICKS):k]
    base_err = sum(_share(f) for f in before) / len(before) if before else 0.0
    p99s = [p for f in before if (p := _p99(f)) is not None]
    base_p99 = sum(p99s) / len(p99s) if p99s else None
    after = frames[k:]
    # Where to look for its effect: a deploy or a traffic change may bite late; an outage or a
    # slowdown while it lasts, and a few ticks more.
    if ev.get("action") in ("rolling_deploy", "traffic", "scale"):
        horizon = len(after)
    else:
        last = t0 + float(ev.get("duration_s", 0) or 0) + BASELINE_TICKS * tick
        horizon = sum(1 for f in after if f["t"] <= last)
    first_bad = next((j for j in range(horizon) if not _near(after[j], base_err, base_p99)), None)
    if first_bad is None:
        return {"t": _moment(t0), "text": f"{what}: no visible effect; errors and p99 stayed near their "
                                          "level before it."}
    recovered_at = next((j for j in range(first_bad + 1, len(after) - STEADY_TICKS + 1)
                         if all(_near(f, base_err, base_p99) for f in after[j:j + STEADY_TICKS])), None)
    effect_frames = after[: recovered_at if recovered_at is not None else len(after)]
    failed = sum(_errors_per_s(f) for f in effect_frames) * tick
    peak_share = max(_share(f) for f in effect_frames)
    p99_peak = max((p for f in effect_frames if (p := _p99(f)) is not None), default=None)
    effects = []
    if peak_share > base_err + ERROR_SLACK / 2:
        causes: dict[str, float] = {}
        for f in effect_frames:
            for cause, rate in (f.get("errors") or {}).items():
                causes[cause] = causes.get(cause, 0.0) + rate
        main = ", ".join(_CAUSE_WORDS.get(c, c) for c, v in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
                         if v > 0)
        effects.append(f"errors rose to {_pct(peak_share)} of requests ({_n(failed)} failed: {main})")
    if p99_peak is not None and base_p99 is not None and p99_peak > base_p99 * P99_SLACK + 5.0:
        effects.append(f"p99 rose to {_ms(p99_peak)} (from {_ms(base_p99)})")
    if any(_p99(f) is None and (f.get("offered_rps") or 0) > 0 for f in effect_frames):
        effects.append("for a while no request succeeded")
    effect = " and ".join(effects) or "errors or latency moved away from their level before it"
    if recovered_at is None:
        tail = f"it had not recovered by the end of the run ({_t(frames[-1]['t'])})"
    else:
        back = after[recovered_at]["t"] - tick
        tail = f"back to the level before it {_t(max(0.0, back - t0))} later, at {_t(back)}"
    return {"t": _moment(t0), "text": f"{what}: {effect}; {tail}."}


# ------------------------------------------------------------------------------------------ the story


def calm(summary: dict[str, Any], topo: Topology) -> list[dict[str, Any]]:
    nodes = summary.get("nodes") or {}
    busiest = max(((nid, (s or {}).get("utilization") or 0.0) for nid, s in nodes.items()
                   if nid in topo.nodes and topo.kind(nid) not in ("client", "load_balancer")),
                  key=lambda kv: kv[1], default=None)
    p99 = (summary.get("latency_ms") or {}).get("p99")
    text = "Nothing went wrong: no request failed"
    if p99 is not None:
        text += f", p99 was {_ms(p99)}"
    if busiest is not None:
        text += f", and the busiest node, {name(topo.nodes[busiest[0]])}, was {_pct(busiest[1])} busy on average"
    return [{"t": 0.0, "text": text + "."}]


def what_happened(document: dict[str, Any], summary: dict[str, Any] | None,
                  frames: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's story: ``[{"t", "text"}]`` in order of ``t``."""
    if not summary:
        return []
    try:
        doc = load(document, _UNBOUNDED)
    except DocumentError:
        return []
    topo = Topology(doc)
    frames = [f for f in frames if isinstance(f, dict) and "t" in f]
    items: list[dict[str, Any]] = []
    for part in (errors(summary, frames, topo), saturation(frames, topo), sessions(summary, frames, topo),
                 uploads(summary, frames, topo), payments(summary, frames, topo),
                 retries(summary, frames, topo), faults(frames, topo),
                 stayed_down(summary, frames, topo)):
        items.extend(part)
    if not items:
        items = calm(summary, topo)
    return sorted(items, key=lambda item: item["t"])


# --------------------------------------------------------------------------------- an honest summary

#: An error share from which the summary leads with its failures.
ALARMING = 0.05


def summary_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """What the run page's summary says beside its figures: the failed share of requests, which
    causes, and the latency rows labelled: of successes, and (engine 1.5 on) of all requests,
    failed ones counted from their emission to their failure."""
    requests = summary.get("requests") or 0
    errors = {c: n for c, n in sorted((summary.get("errors") or {}).items()) if n}
    failed = sum(errors.values())
    share = failed / requests if requests else 0.0
    latency = summary.get("latency_ms") or {}
    every = summary.get("latency_all_ms")  # engine 1.5 on: failed requests too, emission to failure
    beside = f"successes only; {_pct(share)} of requests failed" if failed else "successes only; none failed"
    rows = []
    for key in ("p50", "p95", "p99"):
        rows.append({"key": key, "label": f"{key} latency", "value": latency.get(key), "beside": beside})
        if every is not None:
            rows.append({"key": f"{key}_all", "label": f"{key} latency, all requests",
                         "value": every.get(key),
                         "beside": f"failures included, {_pct(share)} of them" if failed else "all succeeded"})
    if not failed:
        note = "Latency is measured over successful requests; every request succeeded."
    elif every is not None:
        note = (f"Latency of successes leaves out the {_n(failed)} failed requests ({_pct(share)}); "
                "“all requests” counts each of them too, from its emission to its failure.")
    else:
        note = (f"Latency is measured over successful requests only; this run's engine recorded no "
                f"latency for the {_n(failed)} failed ones ({_pct(share)}).")
    return {
        "requests": requests,
        "failed": failed,
        "error_share": share,
        "error_pct": _pct(share) if failed else "0%",
        "alarming": share >= ALARMING,
        "causes": ", ".join(f"{_CAUSE_WORDS.get(c, c)} {_n(n)}" for c, n in
                            sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))),
        "latency_rows": rows,
        "latency_note": note,
    }
