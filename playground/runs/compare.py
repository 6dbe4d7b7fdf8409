"""Two runs' summaries side by side, and their differences in words
("p99 -170 ms, logouts -100%, cost +$73/month").

Terms
-----
delta
    One metric's change from run A to run B: its label, both values, and a phrase. Metrics whose
    values are equal (or both missing) say "same".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.runs import metrics


@dataclass(frozen=True)
class Delta:
    label: str
    a: str
    b: str
    phrase: str
    changed: bool


#: What Compare shows, in order; counts that are 0 in both runs are left out.
COMPARED = ("p50", "p95", "p99", "throughput", "errors", "logged_out", "duplicate_charges", "failed_uploads", "cost")
_HIDDEN_WHEN_ZERO = {"logged_out", "duplicate_charges", "failed_uploads"}


def error_rate(summary: dict[str, Any] | None) -> float | None:
    return metrics.error_share(summary)


def deltas(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[Delta]:
    """Each compared metric's values in A and B and its change in words, labelled and formatted by
    the catalogue (metrics.py). A latency is shown even when a run has none ("-")."""
    out: list[Delta] = []
    for name in COMPARED:
        m = metrics.get(name)
        va, vb = m.of(a), m.of(b)
        if m.kind != "latency" and (va is None or vb is None):
            continue
        if name in _HIDDEN_WHEN_ZERO and va == 0 and vb == 0:
            continue
        if va is None or vb is None:
            out.append(Delta(m.name if m.kind == "latency" else m.label, m.format(va), m.format(vb),
                             f"{m.noun} same", False))
            continue
        phrase = m.change(va, vb)
        changed = not phrase.endswith(" same")
        out.append(Delta(m.name if m.kind == "latency" else m.label, m.format(va), m.format(vb), phrase, changed))
    return out


def sentence(items: list[Delta]) -> str:
    changed = [d.phrase for d in items if d.changed]
    return ", ".join(changed) if changed else "no difference in the summary"


# --- the design difference ------------------------------------------------------------------


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _node_name(node: dict[str, Any]) -> str:
    label = node.get("label")
    return f"{label} ({node['id']})" if label and label != node["id"] else str(node["id"])


def _edge_key(edge: dict[str, Any]) -> tuple[str, str]:
    return (str(edge.get("from")), str(edge.get("to")))


def design_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[str]]:
    """What B's design changes from A's, in words: nodes added and removed, parameters changed
    (old -> new, by node label), edges, and the scenario (its fields, events and traffic steps).
    Both are frozen documents (defaults filled), so a parameter left at its default compares as
    that default."""
    from playground.runs import chaos

    nodes_a = {n["id"]: n for n in a.get("nodes", [])}
    nodes_b = {n["id"]: n for n in b.get("nodes", [])}
    out: dict[str, list[str]] = {"nodes": [], "params": [], "edges": [], "scenario": []}
    for node_id, node in nodes_b.items():
        if node_id not in nodes_a:
            out["nodes"].append(f"added {_node_name(node)}, a {node['kind']}")
    for node_id, node in nodes_a.items():
        if node_id not in nodes_b:
            out["nodes"].append(f"removed {_node_name(node)}, a {node['kind']}")
    for node_id, old in nodes_a.items():
        new = nodes_b.get(node_id)
        if new is None:
            continue
        name = _node_name(new)
        if old.get("kind") != new.get("kind"):
            out["params"].append(f"{name}: kind {old.get('kind')} -> {new.get('kind')}")
            continue
        if (old.get("label") or "") != (new.get("label") or ""):
            out["params"].append(f"{node_id}: label {old.get('label') or '(none)'} -> {new.get('label') or '(none)'}")
        pa, pb = old.get("params", {}), new.get("params", {})
        for key in sorted(set(pa) | set(pb)):
            if pa.get(key) != pb.get(key):
                out["params"].append(f"{name}: {key} {_value_text(pa.get(key))} -> {_value_text(pb.get(key))}")
    edges_a = {_edge_key(e): e for e in a.get("edges", [])}
    edges_b = {_edge_key(e): e for e in b.get("edges", [])}
    for key, edge in edges_b.items():
        if key not in edges_a:
            out["edges"].append(f"added the call {key[0]} -> {key[1]}")
        else:
            old = edges_a[key]
            for field in sorted((set(edge) | set(old)) - {"from", "to"}):
                if old.get(field) != edge.get(field):
                    out["edges"].append(f"{key[0]} -> {key[1]}: {field} {_value_text(old.get(field))} -> "
                                        f"{_value_text(edge.get(field))}")
    for key in edges_a:
        if key not in edges_b:
            out["edges"].append(f"removed the call {key[0]} -> {key[1]}")
    sa, sb = a.get("scenario", {}), b.get("scenario", {})
    for key in sorted((set(sa) | set(sb)) - {"events", "traffic", "seed"}):
        if sa.get(key) != sb.get(key):
            out["scenario"].append(f"{key} {_value_text(sa.get(key))} -> {_value_text(sb.get(key))}")
    out["scenario"] += [f"added {text}" for text in chaos.scenario_additions(b, a)]
    out["scenario"] += [f"removed {text}" for text in chaos.scenario_additions(a, b)]
    return out


def diff_count(diff: dict[str, list[str]]) -> int:
    return sum(len(v) for v in diff.values())
