"""Sweeps and replications: the arithmetic, without Django.

Terms
-----
axis
    One parameter to vary and its values: ``{"path": "nodes.api.params.instances", "values": [2, 3,
    4]}`` or a range ``{"path", "from", "to", "step"}``. A path names a node by id
    (``nodes.<id>.params.<name>``, with ``.mean``/``.cv``/... into a distribution), an edge by
    position (``edges[2].timeout_ms``), a scenario field (``scenario.duration_s``), or
    ``traffic.multiplier``, which multiplies every client's ``rps``.
point
    One combination of axis values (the grid of at most two axes); a sweep with no axes has one
    point, and its seeds are *replications*.
metric
    A number read from a run's summary, as the catalogue (``metrics.py``) defines it:
    ``p50``/``p90``/``p95``/``p99``/``p999``/``mean``/``max`` (latency of successes, ms), ``errors``
    (failed requests / requests, a fraction), ``throughput`` (ok per second), ``cost`` (dollars a
    month), ``logged_out``, ``duplicate_charges``, ``failed_uploads``, or any numeric
    ``summary.<path>``. "latency" alone is refused: it could mean any of them.
target
    Conditions on metrics joined by ``and``: ``p99 < 200 and errors < 0.1%``. A point meets the
    target when the mean of each metric over its seeds meets its condition.
confidence interval
    mean +- t(0.975, n-1) * s / sqrt(n) over a point's seeds (Student's t; none for one seed).
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

from playground.engine import Problem
from playground.runs import metrics

MAX_AXES = 2
MAX_VALUES_PER_AXIS = 200

# The names a target may use; their labels, units and formatting are the catalogue's (metrics.py).
LATENCY_METRICS = metrics.LATENCY
METRICS = metrics.TARGETS
OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}

# Student's t at 0.975 for 1..30 degrees of freedom; beyond, the normal quantile is close enough.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t975(df: int) -> float:
    if df < 1:
        raise ValueError("needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    return 1.960 + 2.4 / df  # within 0.3% of the true quantile for df > 30


# --- metrics --------------------------------------------------------------------------------


def _summary_path(summary: dict[str, Any], dotted: str) -> float | None:
    value: Any = summary
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metric(summary: dict[str, Any], name: str) -> float | None:
    """One metric of a run's summary (None where the run has no such value, e.g. p99 of nothing)."""
    if name in METRICS:
        return metrics.get(name).of(summary)
    if name.startswith("summary."):
        return _summary_path(summary, name[len("summary."):])
    raise KeyError(name)


def info(name: str) -> metrics.Metric:
    """The catalogue's entry for a target's metric (a ``summary.<path>`` the catalogue does not
    know gets a plain one)."""
    if name in metrics.BY_NAME:
        return metrics.get(name)
    known = metrics.for_path(name)
    if known is not None:
        return known
    path = name.removeprefix("summary.")
    return metrics.Metric(name, path, "", path, "rate", f"summary.{path}")


def metrics_of(summary: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, float | None]:
    return {name: metric(summary, name) for name in (*METRICS, *extra)}


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: float
    text: str

    def holds(self, measured: float | None) -> bool:
        return measured is not None and OPS[self.op](measured, self.value)


_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(%|ms)?\s*$")


#: Words a target may not use alone, and what to write instead.
AMBIGUOUS = {
    "latency": "'latency' could mean several figures: write p50, p95, p99 or mean (all in ms, of successful "
               "requests)",
}


def _metric_name(raw: str) -> str | None:
    if raw in METRICS:
        return raw
    if raw == "error_rate":
        return "errors"
    if raw.startswith("summary.") and len(raw) > len("summary."):
        known = metrics.for_path(raw)
        return known.name if known is not None and known.name in METRICS else raw
    return None


def target_choices() -> str:
    """The metrics a target may name, in words: "p50 (p50 latency, ms), ..., errors (error rate, %)"."""
    return ", ".join(f"{m.name} ({m.label}{', ' + m.unit if m.unit else ''})" for m in map(metrics.get, METRICS))


def parse_target(text: str, path: str = "target") -> tuple[list[Condition], list[Problem]]:
    """``p99 < 200 and errors < 0.1%`` as conditions, or the problems with it."""
    conditions: list[Condition] = []
    problems: list[Problem] = []
    if not isinstance(text, str):
        return [], [Problem(path, "must be text such as 'p99 < 200 and errors < 0.1%'")]
    if len(text) > 500:
        return [], [Problem(path, "must be at most 500 characters")]
    if not text.strip():
        return [], []
    for i, part in enumerate(re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)):
        match = _CONDITION.match(part)
        if not match:
            problems.append(Problem(f"{path}[{i}]", f"{part.strip()!r} is not 'metric op number' (e.g. p99 < 200)"))
            continue
        raw, op, number, unit = match.groups()
        if raw.lower() in AMBIGUOUS:
            problems.append(Problem(f"{path}[{i}]", AMBIGUOUS[raw.lower()]))
            continue
        name = _metric_name(raw)
        if name is None:
            problems.append(Problem(f"{path}[{i}]", f"unknown metric {raw!r}; known: {target_choices()}, "
                                                    "or summary.<path>"))
            continue
        value = float(number)
        if unit == "%":
            if name != "errors":
                problems.append(Problem(f"{path}[{i}]", "only errors is given in %"))
                continue
            value /= 100
        conditions.append(Condition(name, op, value, part.strip()))
    return conditions, problems


# --- axes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    path: str
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        return axis_label(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "values": list(self.values)}


def axis_label(path: str) -> str:
    m = re.match(r"^nodes\.([^.]+)\.params\.(.+)$", path)
    if m:
        return f"{m.group(1)} {m.group(2).replace('.', ' ')}"
    if path == "traffic.multiplier":
        return "traffic multiplier"
    return path


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _tidy(x: float) -> float | int:
    rounded = round(x, 9)
    return int(rounded) if float(rounded).is_integer() else rounded


def parse_axis(raw: Any, path: str) -> tuple[Axis | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(path, "must be an object with path and values (or from, to, step)")]
    unknown = sorted(set(raw) - {"path", "values", "from", "to", "step"})
    if unknown:
        return None, [Problem(f"{path}.{name}", "is not a known field") for name in unknown]
    target = raw.get("path")
    if not isinstance(target, str) or not target:
        return None, [Problem(f"{path}.path", "must name a parameter, e.g. nodes.api.params.instances")]
    if "values" in raw:
        values = raw["values"]
        if not isinstance(values, list) or not values or not all(_number(v) for v in values):
            return None, [Problem(f"{path}.values", "must be a non-empty list of numbers")]
    else:
        start, stop, step = raw.get("from"), raw.get("to"), raw.get("step", 1)
        if not all(_number(v) for v in (start, stop, step)):
            return None, [Problem(f"{path}", "give values, or from, to and step as numbers")]
        if step <= 0 or stop < start:
            return None, [Problem(f"{path}.step", "must be > 0, with from <= to")]
        span = (stop - start) / step  # inf when it overflows a float (from 1 to 1e18 in steps of 1e-300)
        if not math.isfinite(span):
            return None, [Problem(f"{path}", f"gives more values than can be counted; at most {MAX_VALUES_PER_AXIS}")]
        count = math.floor(span + 1e-9) + 1
        if count > MAX_VALUES_PER_AXIS:
            return None, [Problem(f"{path}", f"gives {count} values; at most {MAX_VALUES_PER_AXIS}")]
        values = [_tidy(start + i * step) for i in range(count)]
    if len(values) > MAX_VALUES_PER_AXIS:
        return None, [Problem(f"{path}.values", f"at most {MAX_VALUES_PER_AXIS} values")]
    if len(set(values)) != len(values):
        return None, [Problem(f"{path}.values", "has a value twice")]
    return Axis(target, tuple(values)), []


def points(axes: list[Axis]) -> list[tuple[float, ...]]:
    """Every combination of the axes' values, first axis slowest; one empty point for none."""
    return [tuple(p) for p in itertools.product(*(a.values for a in axes))]


_NODE_PATH = re.compile(r"^nodes\.([a-z][a-z0-9_-]*)\.params\.([a-z_]+)(?:\.([a-z_]+))?$")
_EDGE_PATH = re.compile(r"^edges\[(\d+)\]\.([a-z_]+)$")
_SCENARIO_PATH = re.compile(r"^scenario\.([a-z_]+)$")


def set_value(document: dict[str, Any], path: str, value: float) -> None:
    """Set one axis's value in a (canonical, defaults-filled) document, in place.

    Raises KeyError with a message naming what the path does not find."""
    if path == "traffic.multiplier":
        clients = [n for n in document["nodes"] if n["kind"] == "client"]
        if not clients:
            raise KeyError("the design has no client")
        for node in clients:
            node["params"]["rps"] = node["params"]["rps"] * value
        return
    if m := _NODE_PATH.match(path):
        node_id, name, field = m.groups()
        node = next((n for n in document["nodes"] if n["id"] == node_id), None)
        if node is None:
            raise KeyError(f"no node is called {node_id!r}")
        params = node.setdefault("params", {})
        if name not in params:
            raise KeyError(f"a {node['kind']} has no parameter {name!r}")
        current = params[name]
        if field is None:
            if isinstance(current, dict):  # a distribution: the number sets its mean
                params[name] = {**current, "mean": value}
            elif _number(current) or current is None:
                params[name] = value
            else:
                raise KeyError(f"{name} is not a number")
        elif isinstance(current, dict) and field in current:
            current[field] = value
        elif _number(current) and field == "mean":
            params[name] = value
        else:
            raise KeyError(f"{name} has no field {field!r}")
        return
    if m := _EDGE_PATH.match(path):
        index, name = int(m.group(1)), m.group(2)
        if index >= len(document["edges"]):
            raise KeyError(f"there is no edge {index}")
        edge = document["edges"][index]
        if name not in edge or not (_number(edge[name]) or edge[name] is None or isinstance(edge[name], dict)):
            raise KeyError(f"an edge has no number {name!r}")
        edge[name] = {**edge[name], "mean": value} if isinstance(edge[name], dict) else value
        return
    if m := _SCENARIO_PATH.match(path):
        name = m.group(1)
        if name not in document["scenario"] or not _number(document["scenario"][name]):
            raise KeyError(f"the scenario has no number {name!r}")
        document["scenario"][name] = value
        return
    raise KeyError("use nodes.<id>.params.<name>, edges[<n>].<field>, scenario.<field> or traffic.multiplier")


def apply_point(document: dict[str, Any], axes: list[Axis], values: tuple[float, ...]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    for axis, value in zip(axes, values, strict=True):
        set_value(doc, axis.path, value)
    return doc


def numeric_paths(document: dict[str, Any]) -> list[str]:
    """The paths a sweep can vary in this document, for the form's choices."""
    out = ["traffic.multiplier"]
    for node in document["nodes"]:
        for name, value in node.get("params", {}).items():
            if _number(value):
                out.append(f"nodes.{node['id']}.params.{name}")
            elif isinstance(value, dict) and _number(value.get("mean")):
                out.append(f"nodes.{node['id']}.params.{name}")
    return out


# --- statistics -----------------------------------------------------------------------------


def interval(samples: list[float]) -> dict[str, float | int | None]:
    """Mean and 95% confidence interval of independent samples (one per seed)."""
    values = [v for v in samples if v is not None]
    n = len(values)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "half_width": None, "n": 0}
    mean = math.fsum(values) / n
    if n == 1:
        return {"mean": mean, "low": None, "high": None, "half_width": None, "n": 1}
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "half_width": half, "n": n}


def aggregate(
    axes: list[Axis], conditions: list[Condition], cells: list[tuple[int, int, dict[str, Any] | None]]
) -> dict[str, Any]:
    """The sweep's result from its cells ``(point index, seed, summary or None if it failed)``."""
    grid = points(axes)
    extra = tuple(sorted({c.metric for c in conditions if c.metric not in METRICS}))
    per_point: list[dict[str, Any]] = []
    for index, values in enumerate(grid):
        summaries = [s for p, _seed, s in sorted(cells, key=lambda c: (c[0], c[1])) if p == index and s is not None]
        failed = sum(1 for p, _seed, s in cells if p == index and s is None)
        measured = [metrics_of(s, extra) for s in summaries]
        stats = {name: interval([m[name] for m in measured]) for name in (*METRICS, *extra)}
        holds = {
            c.text: sum(1 for m in measured if c.holds(m[c.metric])) for c in conditions
        }
        meets = bool(conditions) and bool(summaries) and all(c.holds(stats[c.metric]["mean"]) for c in conditions)
        per_point.append({
            "index": index,
            "values": list(values),
            "seeds": len(summaries),
            "failed_seeds": failed,
            "metrics": stats,
            "holds": holds,
            "meets": meets,
        })
    meeting = [p for p in per_point if p["meets"]]
    cheapest = None
    if meeting:
        cheapest = min(meeting, key=lambda p: (
            p["metrics"]["cost"]["mean"] if p["metrics"]["cost"]["mean"] is not None else math.inf,
            tuple(p["values"]),
        ))
    return {
        "axes": [a.to_json() for a in axes],
        "target": [c.text for c in conditions],
        "points": per_point,
        "meeting": [p["index"] for p in meeting],
        "cheapest": None if cheapest is None else cheapest["index"],
        "answer": answer(axes, conditions, per_point, cheapest),
    }


def _fmt(name: str, stats: dict[str, Any]) -> str:
    """"p99 142 ± 9 ms", "errors 0.12 ± 0.03%", "$438/month" (no ± for one seed or no spread),
    formatted by the catalogue."""
    m = info(name)
    mean, half = stats["mean"], stats["half_width"]
    word = m.name if m.kind == "latency" else m.noun if m.name in METRICS else m.label
    if mean is None:
        return f"{m.label} unknown"
    if m.kind == "money":
        return m.format(mean, half)
    return f"{word} {m.format(mean, half)}"


def point_label(axes: list[Axis], values: list[float]) -> str:
    return ", ".join(f"{a.label} {v:g}" for a, v in zip(axes, values, strict=True))


def answer(axes: list[Axis], conditions: list[Condition], per_point: list[dict[str, Any]],
           cheapest: dict[str, Any] | None) -> str:
    """The result in a sentence: "api instances 6: p99 142 ms ± 9, $438 a month"."""
    shown = list(dict.fromkeys([c.metric for c in conditions] or ["p99", "errors"]))
    if not axes:  # replications
        point = per_point[0]
        parts = [_fmt(name, point["metrics"][name]) for name in shown]
        for c in conditions:
            parts.append(f"{c.text} in {point['holds'][c.text]} of {point['seeds']} seeds")
        return f"Over {point['seeds']} seeds: " + "; ".join(parts)
    if not conditions:
        return "No target was given: compare the points below."
    if cheapest is None:
        return f"No point meets {' and '.join(c.text for c in conditions)}."
    parts = [_fmt(name, cheapest["metrics"][name]) for name in shown]
    if "cost" not in shown and cheapest["metrics"]["cost"]["mean"]:
        parts.append(_fmt("cost", cheapest["metrics"]["cost"]))
    return f"{point_label(axes, cheapest['values'])}: " + ", ".join(parts)
