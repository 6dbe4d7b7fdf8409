"""The editor's side panels (htmx partials) and its document tools: validate, export, import.

The editor keeps the document in the browser and sends it with each request (``document``, JSON
text), so these views store nothing. A panel request either renders the form for the selection, or,
with ``apply``, reads the submitted form into the selection, validates the whole document with the
engine, and renders the form again with each problem at its field. The changed part (a node, an
edge or the scenario) travels back in a ``json_script`` for the editor to take into its document
and its undo history.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import yaml
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from playground.designs import documents
from playground.designs.kinds import KIND_INFO
from playground.designs.paramforms import field_errors, fields_for, fmt_number, read_values
from playground.engine import DocumentError, params, parse
from playground.engine.hints import hints_for

ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_IMPORT_BYTES = 1024 * 1024


def _posted_document(request: HttpRequest) -> dict[str, Any]:
    return documents.check_editable(documents.read_json(request.POST.get("document", "")))


def _bad_document(exc: DocumentError) -> HttpResponse:
    lines = "; ".join(str(p) for p in exc.problems[:5])
    return HttpResponseBadRequest(f"The editor sent a document that could not be read: {lines}",
                                  content_type="text/plain")


def _split(by_field: dict[str, str], general: list[str], known: set[str]) -> list[str]:
    """Problems at names that are no field (unknown parameters) join the general list."""
    return general + [f"{name}: {msg}" for name, msg in by_field.items() if name not in known]


def _edge_rows(doc: dict[str, Any], problems: list, node_id: str) -> tuple[list, list]:
    outgoing, incoming = [], []
    for i, edge in enumerate(doc.get("edges", [])):
        if edge.get("from") == node_id:
            msgs = [p.message for p in problems if p.path == f"edges[{i}]" or p.path.startswith(f"edges[{i}].")]
            outgoing.append({"index": i, "edge": edge, "problems": msgs})
        elif edge.get("to") == node_id:
            incoming.append({"index": i, "edge": edge})
    for n, row in enumerate(outgoing):
        row["order"] = n + 1
        row["first"] = n == 0
        row["last"] = n == len(outgoing) - 1
    return outgoing, incoming


@require_POST
def panel_node(request: HttpRequest) -> HttpResponse:
    try:
        doc = _posted_document(request)
    except DocumentError as exc:
        return _bad_document(exc)
    node_id = request.POST.get("node", "")
    i = documents.node_index(doc, node_id)
    if i is None:
        return render(request, "designs/_empty_panel.html", {"message": "That node is no longer in the design."})
    node = doc["nodes"][i]
    kind = node.get("kind")
    table = params.NODE_PARAMS.get(kind, ()) if isinstance(kind, str) else ()
    result = None
    id_error = ""
    shown_id = node_id
    if request.POST.get("apply"):
        new = copy.deepcopy(node)
        new["params"] = read_values(table, node.get("params", {}), request.POST, "p.")
        if not new["params"] and "params" not in node:
            del new["params"]
        label = request.POST.get("label", "").strip()[:200]
        if label:
            new["label"] = label
        else:
            new.pop("label", None)
        wanted = request.POST.get("id", node_id).strip()
        if wanted != node_id:
            if not ID_RE.match(wanted):
                id_error = ("lowercase letters, digits, _ and -, starting with a letter "
                            "(at most 64)")
                shown_id = wanted
            elif documents.node_index(doc, wanted) is not None:
                id_error = f"another node is already called '{wanted}'"
                shown_id = wanted
            else:
                new["id"] = wanted
        doc["nodes"][i] = new
        if new["id"] != node_id:
            documents.rename_node(doc, node_id, new["id"])
        node = new
        result = {"node": node_id, "value": new}
    problems = documents.check(doc)
    base = f"nodes[{i}]"
    by_field, general = field_errors(problems, base + ".params")
    fields = fields_for(table, node.get("params", {}), "p.", by_field)
    node_fields, node_general = field_errors(problems, base)
    general = _split(by_field, general, {p.name for p in table})
    general = node_general + [f"{k}: {v}" for k, v in node_fields.items() if k not in ("id", "label", "params")] + general
    outgoing, incoming = _edge_rows(doc, problems, node["id"])
    others = [n["id"] for n in doc["nodes"] if n["id"] != node["id"]]
    context = {
        "node": node,
        "kind": kind,
        "kind_info": KIND_INFO.get(kind, {"name": str(kind)}),
        "shown_id": shown_id,
        "id_error": id_error or node_fields.get("id", ""),
        "label_error": node_fields.get("label", ""),
        "fields": fields,
        "general": general,
        "outgoing": outgoing,
        "incoming": incoming,
        "others": others,
        "result": result,
        "readonly": bool(request.POST.get("readonly")),
    }
    return render(request, "designs/_node_panel.html", context)


@require_POST
def panel_edge(request: HttpRequest) -> HttpResponse:
    try:
        doc = _posted_document(request)
    except DocumentError as exc:
        return _bad_document(exc)
    raw = request.POST.get("edge", "")
    edges = doc.get("edges", [])
    if not raw.isdigit() or int(raw) >= len(edges):
        return render(request, "designs/_empty_panel.html", {"message": "That call is no longer in the design."})
    i = int(raw)
    edge = edges[i]
    result = None
    if request.POST.get("apply"):
        ends = {k: edge[k] for k in ("from", "to") if k in edge}
        values = read_values(params.EDGE_PARAMS, {k: v for k, v in edge.items() if k not in ends}, request.POST, "p.")
        edge = {**ends, **values}
        edges[i] = edge
        result = {"edge": i, "value": edge}
    problems = documents.check(doc)
    by_field, general = field_errors(problems, f"edges[{i}]")
    general = _split(by_field, general, {p.name for p in params.EDGE_PARAMS} | {"from", "to"})
    general += [f"{k}: {by_field[k]}" for k in ("from", "to") if k in by_field]
    siblings = [j for j, e in enumerate(edges) if e.get("from") == edge.get("from")]
    context = {
        "edge": edge,
        "index": i,
        "fields": fields_for(params.EDGE_PARAMS, edge, "p.", by_field),
        "general": general,
        "order": siblings.index(i) + 1,
        "calls_out": len(siblings),
        "first": siblings[0] == i,
        "last": siblings[-1] == i,
        "result": result,
        "readonly": bool(request.POST.get("readonly")),
    }
    return render(request, "designs/_edge_panel.html", context)


def _event_fields(event: dict[str, Any], index: int, errors: dict[str, str]) -> dict[str, Any]:
    action = event.get("action")
    own = params.ACTION_PARAMS.get(action, ()) if isinstance(action, str) else ()
    return {"index": index, "event": event,
            "at": fields_for(params.EVENT_PARAMS[:1], event, f"e.{index}.", errors)[0],
            "action_error": errors.get("action", ""), "node_error": errors.get("node", ""),
            "fields": fields_for(own, event, f"e.{index}.", errors)}


def _read_scenario(scenario: dict[str, Any], data, doc: dict[str, Any]) -> dict[str, Any]:
    new = read_values(params.SCENARIO_PARAMS, scenario, data, "s.")
    op = data.get("op", "")
    traffic = []
    for t, step in enumerate(_list(scenario, "traffic")):
        if op == f"del-traffic-{t}":
            continue
        traffic.append(read_values(params.TRAFFIC_PARAMS, step, data, f"t.{t}."))
    events = []
    for e, event in enumerate(_list(scenario, "events")):
        if op == f"del-event-{e}" or not isinstance(event, dict):
            continue
        prefix = f"e.{e}."
        base = read_values(params.EVENT_PARAMS, event, data, prefix)
        action = base.get("action")
        own = params.ACTION_PARAMS.get(action, ()) if isinstance(action, str) else ()
        if action != event.get("action"):
            keep = {k: v for k, v in base.items() if k in ("at_s", "action", "node")}
            events.append(keep)  # the new action's fields start at their defaults
        else:
            events.append(read_values(own, base, data, prefix))
    duration = new.get("duration_s", 60)
    duration = duration if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 60
    if op == "add-traffic":
        traffic.append({"at_s": _round(duration / 2), "multiplier": 2})
    if op == "add-event":
        services = [n["id"] for n in doc.get("nodes", []) if n.get("kind") == "service"]
        target = services[0] if services else (doc["nodes"][0]["id"] if doc.get("nodes") else "")
        events.append({"at_s": _round(duration / 2), "action": "kill_instance", "node": target})
    new["traffic"] = traffic
    new["events"] = events
    return new


def _list(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _round(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 3)


def _timeline(scenario: dict[str, Any]) -> dict[str, Any]:
    """Where traffic steps and events sit along the run, in percent of its duration."""
    def number(v: Any, fallback: float) -> float:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else fallback

    duration = max(number(scenario.get("duration_s"), 60), 1e-9)
    marks = []
    for step in _list(scenario, "traffic"):
        at = number(step.get("at_s"), 0)
        marks.append({"kind": "traffic", "left": min(max(at / duration * 100, 0), 100),
                      "width": min(number(step.get("ramp_s"), 0) / duration * 100, 100),
                      "text": f"{fmt_number(at)} s: traffic x{fmt_number(step.get('multiplier'))}"})
    for event in _list(scenario, "events"):
        at = number(event.get("at_s"), 0)
        marks.append({"kind": "event", "left": min(max(at / duration * 100, 0), 100), "width": 0,
                      "text": f"{fmt_number(at)} s: {str(event.get('action', '?')).replace('_', ' ')} "
                              f"{event.get('node', '')}"})
    warmup = number(scenario.get("warmup_s"), 0)
    return {"duration": fmt_number(duration), "marks": sorted(marks, key=lambda m: m["left"]),
            "warmup": min(warmup / duration * 100, 100)}


@require_POST
def panel_scenario(request: HttpRequest) -> HttpResponse:
    try:
        doc = _posted_document(request)
    except DocumentError as exc:
        return _bad_document(exc)
    scenario = doc.get("scenario", {})
    result = None
    if request.POST.get("apply"):
        scenario = _read_scenario(scenario, request.POST, doc)
        doc["scenario"] = scenario
        result = {"scenario": scenario}
    problems = documents.check(doc)
    by_field, general = field_errors(problems, "scenario")
    names = {p.name for p in params.SCENARIO_PARAMS}
    general = [f"{k}: {v}" for k, v in by_field.items() if k not in names | {"traffic", "events"}] + general
    traffic_rows = []
    for t, step in enumerate(_list(scenario, "traffic")):
        errors, extra = field_errors(problems, f"scenario.traffic[{t}]")
        traffic_rows.append({"index": t, "fields": fields_for(params.TRAFFIC_PARAMS, step, f"t.{t}.", errors),
                             "general": extra})
    event_rows = []
    for e, event in enumerate(_list(scenario, "events")):
        errors, extra = field_errors(problems, f"scenario.events[{e}]")
        row = _event_fields(event if isinstance(event, dict) else {}, e, errors)
        row["general"] = extra
        event_rows.append(row)
    general += [p.message for p in problems if p.path in ("scenario.traffic", "scenario.events")]
    node_ids = [n["id"] for n in doc.get("nodes", [])]
    context = {
        "fields": fields_for(params.SCENARIO_PARAMS, scenario, "s.", by_field),
        "general": general,
        "traffic": traffic_rows,
        "events": event_rows,
        "actions": [(a, params.ACTION_TARGETS[a]) for a in params.ACTIONS],
        "node_ids": node_ids,
        "timeline": _timeline(scenario),
        "result": result,
        "readonly": bool(request.POST.get("readonly")),
    }
    return render(request, "designs/_scenario_panel.html", context)


@require_POST
def editor_validate(request: HttpRequest) -> JsonResponse:
    """The engine's problems with the posted document (JSON body ``{"document": ...}``)."""
    try:
        body = documents.read_json(request.body or b"")
        doc = documents.check_editable(body.get("document") if isinstance(body, dict) else None)
    except DocumentError as exc:
        return JsonResponse({"error": "the document could not be read",
                             "problems": [{"path": p.path, "message": p.message} for p in exc.problems]},
                            status=400)
    return JsonResponse({"problems": documents.describe(doc, documents.check(doc)),
                         "hints": hints_for(doc),
                         "estimate": documents.work_estimate(doc)})


def _filename(doc: dict[str, Any], ext: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", documents.title_of(doc).lower()).strip("-")[:60] or "design"
    return f"{stem}.{ext}"


def dump_text(doc: Any, fmt: str) -> str:
    if fmt == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@require_POST
def editor_export(request: HttpRequest) -> HttpResponse:
    """The posted document as a JSON or YAML file to download, exactly as the editor holds it."""
    fmt = request.POST.get("format", "json")
    if fmt not in ("json", "yaml"):
        return HttpResponseBadRequest("format must be json or yaml", content_type="text/plain")
    try:
        doc = documents.read_json(request.POST.get("document", ""))
        if not isinstance(doc, dict):
            raise DocumentError([documents.Problem("document", "must be a JSON object")])
    except DocumentError as exc:
        return _bad_document(exc)
    content_type = "application/json" if fmt == "json" else "application/yaml"
    response = HttpResponse(dump_text(doc, fmt), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(doc, fmt)}"'
    return response


@require_POST
def editor_import(request: HttpRequest) -> JsonResponse:
    """A document file (JSON or YAML) read and validated by the engine. A file that cannot be read
    (not JSON or YAML, not an object, past the editor's bounds) is a 400 naming why; a readable
    document with problems is imported as a draft, its problems listed beside it."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "choose a file to import", "problems": []}, status=400)
    if upload.size > MAX_IMPORT_BYTES:
        return JsonResponse({"error": f"the file is larger than {MAX_IMPORT_BYTES // 1024} KiB",
                             "problems": []}, status=400)
    name = (upload.name or "").lower()
    fmt = "json" if name.endswith(".json") else "yaml" if name.endswith((".yaml", ".yml")) else None
    try:
        doc = parse(upload.read(), fmt)
        documents.check_editable(doc)
    except DocumentError as exc:
        return JsonResponse({"error": "the file could not be read",
                             "problems": [{"path": p.path or "(document)", "message": p.message}
                                          for p in exc.problems]}, status=400)
    return JsonResponse({"document": doc, "problems": documents.describe(doc, documents.check(doc))})

