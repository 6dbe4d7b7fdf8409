"""Chaos you can keep: a live run's recorded controls, written into a document as its scenario.

A live run records each control it applied (``Run.applied_events``: ``{"seq", "t", "control"}``,
``t`` the simulated time of the tick it applied at). "Run again" and "Fork" carry them into the new
run's (or design's) document: an event control ``{"kind": "event", "action", "node", ...}`` applied
at ``t`` becomes the scenario event ``{"at_s": t, "action", "node", ...}``, and a traffic control
``{"kind": "traffic", "multiplier", "ramp_s"}`` the traffic step ``{"at_s": t, "multiplier",
"ramp_s"}``. The engine applies both at the same simulated time, so the new run reproduces the
chaos (tests/runs/test_chaos.py holds a batch re-run to the live run's summary).
"""

from __future__ import annotations

import copy
from typing import Any


def _time(entry: dict[str, Any]) -> float:
    t = float(entry.get("t", 0))
    return int(t) if t == int(t) else t


def with_controls(document: dict[str, Any], applied_events: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A copy of ``document`` whose scenario also holds the recorded controls, in time order (a
    control goes before a scenario entry of the same time, as it applied at the tick's start)."""
    doc = copy.deepcopy(document)
    if not applied_events:
        return doc
    scenario = doc.setdefault("scenario", {})
    events = [(float(e.get("at_s", 0)), 1, i, e) for i, e in enumerate(scenario.get("events") or [])]
    steps = [(float(s.get("at_s", 0)), 1, i, s) for i, s in enumerate(scenario.get("traffic") or [])]
    for order, entry in enumerate(sorted(applied_events, key=lambda e: (float(e.get("t", 0)), int(e.get("seq", 0))))):
        control = entry.get("control") or {}
        fields = {k: v for k, v in control.items() if k != "kind"}
        item = {"at_s": _time(entry), **fields}
        if control.get("kind") == "traffic":
            item.setdefault("ramp_s", 0)
            steps.append((item["at_s"], 0, order, item))
        else:
            events.append((item["at_s"], 0, order, item))
    scenario["events"] = [e for *_, e in sorted(events, key=lambda x: x[:3])]
    scenario["traffic"] = [s for *_, s in sorted(steps, key=lambda x: x[:3])]
    return doc


def _label(document: dict[str, Any] | None, node_id: str) -> str:
    for node in (document or {}).get("nodes", []):
        if isinstance(node, dict) and node.get("id") == node_id:
            return str(node.get("label") or node_id)
    return node_id


def control_text(control: dict[str, Any], t: float, document: dict[str, Any] | None = None) -> str:
    """One control in words: "kill_instance of API at 12 s", "traffic x3 at 20 s"."""
    if control.get("kind") == "traffic":
        ramp = control.get("ramp_s") or 0
        ramp_text = f" over {ramp:g} s" if ramp else ""
        return f"traffic x{float(control.get('multiplier', 1)):g}{ramp_text} at {t:g} s"
    node = control.get("node")
    where = f" of {_label(document, node)}" if node else ""
    return f"{control.get('action', 'event')}{where} at {t:g} s"


def controls_text(applied_events: list[dict[str, Any]] | None, document: dict[str, Any] | None = None) -> str:
    """Every recorded control in words, comma-separated ("" when there is none)."""
    return ", ".join(control_text(e.get("control") or {}, float(e.get("t", 0)), document)
                     for e in applied_events or [])


def scenario_additions(document: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Scenario events and traffic steps in ``document`` that ``base`` (both frozen) lacks, in
    words: what a user added to a template's scenario, carried controls included."""
    out: list[str] = []
    mine, theirs = document.get("scenario", {}), base.get("scenario", {})
    for event in mine.get("events") or []:
        if event not in (theirs.get("events") or []):
            control = {"kind": "event", **{k: v for k, v in event.items() if k != "at_s"}}
            out.append(control_text(control, float(event.get("at_s", 0)), document))
    for step in mine.get("traffic") or []:
        if step not in (theirs.get("traffic") or []):
            out.append(control_text({"kind": "traffic", **step}, float(step.get("at_s", 0)), document))
    return out
