"""Design documents as the editor and the views handle them: read from a request, checked,
described problem by problem, and changed in the few ways the panels need.

Terms
-----
draft
    A document saved while the engine still finds problems in it (a design being drawn). The site
    saves drafts from the editor; it refuses to run them.
editable
    A document the editor can show: an object whose ``nodes`` are objects with distinct string ids
    and whose ``edges`` are objects. Anything that parses and validates is editable; an editable
    draft may still have problems.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings

from playground.engine import DocumentError, Limits, Problem, estimate_document, load, parse, validate
from playground.limits import engine_limits

EMPTY_TITLE = "Untitled design"
MAX_TITLE = 200
_INDEX = re.compile(r"^(nodes|edges)\[(\d+)\]")


def empty_document(title: str = EMPTY_TITLE) -> dict[str, Any]:
    return {"schema_version": 1, "title": title, "nodes": [], "edges": [],
            "scenario": {"duration_s": 60, "seed": 0, "traffic": [], "events": []}, "layout": {}}


def read_json(text: str | bytes) -> Any:
    """JSON text from a request, parsed with the engine's limits (size, depth, NaN, huge ints)."""
    return parse(text, "json")


def editable_problems(doc: Any) -> list[Problem]:
    """Why the editor could not show ``doc`` (see *editable*); [] when it can."""
    if not isinstance(doc, dict):
        return [Problem("", "must be a JSON object")]
    problems = []
    nodes = doc.get("nodes", [])
    if not isinstance(nodes, list):
        return [Problem("nodes", "must be a list")]
    seen = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node.get("id"):
            problems.append(Problem(f"nodes[{i}]", "must be an object with a string id"))
        elif node["id"] in seen:
            problems.append(Problem(f"nodes[{i}].id", f"duplicate id '{node['id'][:64]}'"))
        else:
            seen.add(node["id"])
    edges = doc.get("edges", [])
    if not isinstance(edges, list) or not all(isinstance(e, dict) for e in edges):
        problems.append(Problem("edges", "must be a list of objects"))
    for key in ("scenario", "layout"):
        if key in doc and not isinstance(doc[key], dict):
            problems.append(Problem(key, "must be an object"))
    return problems


def panel_problems(doc: dict[str, Any]) -> list[Problem]:
    """Caps on what the editor's panel, validate and import endpoints work through, so one request
    costs milliseconds: ``EDITOR_MAX_EVENTS`` scenario events and as many traffic steps, and the
    engine's node and edge bounds (every one is a form to render)."""
    from django.conf import settings

    from playground.engine import Limits

    caps = {"nodes": Limits().max_nodes, "edges": Limits().max_edges}
    scenario = doc.get("scenario") if isinstance(doc.get("scenario"), dict) else {}
    problems = [Problem(key, f"has {len(doc[key])} entries; at most {cap}")
                for key, cap in caps.items() if isinstance(doc.get(key), list) and len(doc[key]) > cap]
    for key in ("events", "traffic"):
        items = scenario.get(key)
        if isinstance(items, list) and len(items) > settings.EDITOR_MAX_EVENTS:
            problems.append(Problem(f"scenario.{key}", f"has {len(items)} entries; at most {settings.EDITOR_MAX_EVENTS}"))
    return problems


def check_editable(doc: Any) -> dict[str, Any]:
    problems = editable_problems(doc) or panel_problems(doc)
    if problems:
        raise DocumentError(problems)
    return doc


def title_of(doc: dict[str, Any]) -> str:
    title = doc.get("title")
    return title.strip()[:MAX_TITLE] if isinstance(title, str) else ""


def node_index(doc: dict[str, Any], node_id: str) -> int | None:
    for i, node in enumerate(doc.get("nodes", [])):
        if isinstance(node, dict) and node.get("id") == node_id:
            return i
    return None


_PARAM_PATH = re.compile(r"^nodes\[(\d+)\]\.params\.([A-Za-z0-9_]+)(?:\.(.+))?$")
_NODE_FIELD = re.compile(r"^nodes\[(\d+)\]\.?(.*)$")
_EDGE_FIELD = re.compile(r"^edges\[(\d+)\]\.?(.*)$")
_EVENT_FIELD = re.compile(r"^scenario\.(events|traffic)\[(\d+)\]\.?(.*)$")


def _shown(value: Any) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _param_words(kind: str, name: str, sub: str | None, message: str, value: Any) -> str:
    """One parameter's problem as a fix: "workers must be a whole number of at least 1, not "4x"."""
    from playground.designs.paramforms import fmt_number
    from playground.engine import params as table

    try:
        param = next((p for p in table.node_params(kind) if p.name == name), None)
    except KeyError:
        param = None
    field = f"{name}.{sub}" if sub else name
    if message.startswith("unknown parameter"):
        return f"{name} is not a parameter of a {kind}: remove it (every parameter: /reference/)"
    limits = []
    if param is not None and not sub and param.type in ("int", "number", "dist"):
        if param.min is not None:
            limits.append(f"{'more than' if param.min_exclusive else 'at least'} {fmt_number(param.min)}")
        if param.max is not None and param.max < 1e9:
            limits.append(f"at most {fmt_number(param.max)}")
    bounds = f" of {' and '.join(limits)}" if limits else ""
    got = f", not {_shown(value)}" if value is not None else ""
    if message.startswith("must be an integer"):
        return f"{field} must be a whole number{bounds}{got}"
    if message.startswith("must be a number"):
        return f"{field} must be a number{bounds}{got}"
    if message.startswith(("must be >", "must be <")):
        noun = "a whole number" if param is not None and param.type == "int" and not sub else "a number"
        return f"{field} must be {noun}{bounds or ' ' + message[len('must be '):]}{got}"
    if message.startswith("must be one of"):
        return f"{field} {message}{got}"
    return f"{field} {message}"


def _value_at(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(value, list) or index >= len(value):
                return None
            value = value[index]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _node_name(node: Any, index: int) -> str:
    if not isinstance(node, dict):
        return f"node {index + 1}"
    label, node_id, kind = node.get("label"), node.get("id"), node.get("kind")
    name = label if isinstance(label, str) and label.strip() else node_id if isinstance(node_id, str) else f"node {index + 1}"
    return f"{name} ({kind})" if isinstance(kind, str) else str(name)


def problem_words(doc: dict[str, Any], problem: Problem) -> str:
    """A problem in words: the node by its label (or id), then what to change, e.g. "API
    (service): workers must be a whole number of at least 1, not "4x"". The path stays a detail."""
    path, message = problem.path, problem.message
    nodes = doc.get("nodes") if isinstance(doc.get("nodes"), list) else []
    edges = doc.get("edges") if isinstance(doc.get("edges"), list) else []
    if m := _PARAM_PATH.match(path):
        i = int(m.group(1))
        node = nodes[i] if i < len(nodes) else None
        kind = node.get("kind") if isinstance(node, dict) and isinstance(node.get("kind"), str) else "node"
        words = _param_words(kind, m.group(2), m.group(3), message, _value_at(doc, path))
        return f"{_node_name(node, i)}: {words}"
    if m := _NODE_FIELD.match(path):
        i = int(m.group(1))
        node = nodes[i] if i < len(nodes) else None
        field = m.group(2)
        return f"{_node_name(node, i)}: {field + ' ' if field else ''}{message}"
    if m := _EDGE_FIELD.match(path):
        i = int(m.group(1))
        edge = edges[i] if i < len(edges) else None
        ends = (f"the call {edge.get('from')} -> {edge.get('to')}" if isinstance(edge, dict) else f"call {i + 1}")
        field = m.group(2)
        return f"{ends}: {field + ' ' if field else ''}{message}"
    if m := _EVENT_FIELD.match(path):
        which, i, field = m.group(1), int(m.group(2)), m.group(3)
        item = _value_at(doc, f"scenario.{which}[{i}]")
        if which == "events":
            what = item.get("action") if isinstance(item, dict) else None
            name = f"scenario event {i + 1}" + (f" ({what})" if isinstance(what, str) else "")
        else:
            name = f"traffic step {i + 1}"
        return f"{name}: {field + ' ' if field else ''}{message}"
    if path.startswith("scenario"):
        field = path[len("scenario."):] if path.startswith("scenario.") else ""
        return f"scenario: {field + ' ' if field else ''}{message}"
    return f"{path}: {message}" if path else message


def describe(doc: dict[str, Any], problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as the editor lists them: ``message`` in words (the node by its label, and the fix),
    ``detail`` the engine's own message, ``path`` for scripts, and the node or edge they sit on."""
    nodes = doc.get("nodes") if isinstance(doc.get("nodes"), list) else []
    out = []
    for p in problems:
        item: dict[str, Any] = {"path": p.path or "(document)", "message": problem_words(doc, p),
                                "detail": p.message, "node": None, "edge": None}
        m = _INDEX.match(p.path)
        if m and m.group(1) == "nodes":
            i = int(m.group(2))
            if i < len(nodes) and isinstance(nodes[i], dict) and isinstance(nodes[i].get("id"), str):
                item["node"] = nodes[i]["id"]
        elif m:
            item["edge"] = int(m.group(2))
        elif p.path.startswith("scenario"):
            item["scenario"] = True
        out.append(item)
    return out


def check(doc: dict[str, Any]) -> list[Problem]:
    """The engine's problems with ``doc``; never raises."""
    try:
        return validate(doc, engine_limits())
    except DocumentError as exc:
        return exc.problems


#: Loads a document whatever its size, to estimate it: the editor shows how far over a limit it is.
_UNBOUNDED = Limits(max_expected_requests=math.inf, max_calls_per_request=math.inf, max_work=math.inf)


def work_estimate(doc: dict[str, Any]) -> dict[str, Any] | None:
    """What a run of ``doc`` would cost (the engine's work estimate: requests, and calls with
    retries at their worst) beside the site's limit; None while the document has other problems."""
    try:
        est = estimate_document(load(doc, _UNBOUNDED))
    except DocumentError:
        return None
    return {**est.to_json(), "limit": settings.RUN_MAX_WORK}


def rename_node(doc: dict[str, Any], old: str, new: str) -> None:
    """Give node ``old`` the id ``new`` everywhere: the node, edges, events and layout."""
    for node in doc.get("nodes", []):
        if isinstance(node, dict) and node.get("id") == old:
            node["id"] = new
    for edge in doc.get("edges", []):
        for end in ("from", "to"):
            if isinstance(edge, dict) and edge.get(end) == old:
                edge[end] = new
    scenario = doc.get("scenario")
    if isinstance(scenario, dict) and isinstance(scenario.get("events"), list):
        for event in scenario["events"]:
            if isinstance(event, dict) and event.get("node") == old:
                event["node"] = new
    layout = doc.get("layout")
    if isinstance(layout, dict) and old in layout:
        layout[new] = layout.pop(old)
