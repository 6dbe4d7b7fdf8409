"""Sweep pages: the form that starts one (or replications of a run), the sweep page with its
progress, knee curves, heat map and answer, cancel, and fork at a chosen point."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.designs.models import Design, Template
from playground.designs.ownership import owned_by
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, dump, load
from playground.runs import lifecycle, metrics, service, sweep_service, sweeps
from playground.runs.models import Run, Sweep
from playground.runs.service import RunRefused
from playground.runs.views import _editor_url, browser_owner

_RANGE = re.compile(r"^\s*(-?[0-9.]+)\s*(?:\.\.|to|-)\s*(-?[0-9.]+)\s*(?:step\s*(-?[0-9.]+))?\s*$")
DEFAULT_TARGET = "p99 < 200 and errors < 0.1%"


def _source(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document a sweep form is about, and the hidden fields that name it."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("run"):
        run = get_object_or_404(Run, slug=data["run"])
        return run.document, {"run": run.slug}
    if data.get("design"):
        design = get_object_or_404(Design, slug=data["design"])
        return design.document, {"design": design.slug}
    if data.get("template"):
        template = get_object_or_404(Template, slug=data["template"])
        variant = data.get("variant", "")
        document = template.document
        if variant:
            if variant not in template.variants:
                raise Sweep.DoesNotExist(f"no variant {variant!r}")
            document = apply_variant(document, template.variants[variant])
        return document, {"template": template.slug, "variant": variant}
    raise Sweep.DoesNotExist("no design given")


def _now(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("mean")
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def param_choices(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters a sweep can vary, grouped by node label, with their current values:
    ``[{"group": "API", "options": [{"path": "nodes.api.params.instances",
    "text": "API · instances (now 4)"}]}]``. ``document`` is canonical (defaults filled)."""
    nodes = {n["id"]: n for n in document["nodes"]}
    groups: dict[str, list[dict[str, str]]] = {}
    for path in sweeps.numeric_paths(document):
        if path == "traffic.multiplier":
            groups.setdefault("Traffic", []).append(
                {"path": path, "text": "Traffic · multiplier of every client's rps (now 1)"})
            continue
        _, node_id, _, name = path.split(".", 3)
        node = nodes[node_id]
        label = node.get("label") or node_id
        value = node["params"][name]
        mean = " mean" if isinstance(value, dict) else ""
        groups.setdefault(label, []).append(
            {"path": path, "text": f"{label} · {name.replace('_', ' ')}{mean} (now {_now(value)})"})
    return [{"group": group, "options": options} for group, options in groups.items()]


def target_metrics() -> list[metrics.Metric]:
    """What a target may name, for the form's documentation."""
    return [metrics.get(name) for name in sweeps.METRICS]


def parse_values(text: str) -> dict[str, Any] | None:
    """'2, 3, 4' or '2..8' or '2..8 step 2' as an axis's values or range (None if unreadable)."""
    text = text.strip()
    if not text:
        return None
    match = _RANGE.match(text)
    try:
        if match:
            start, stop, step = match.groups()
            return {"from": float(start), "to": float(stop), "step": float(step or 1)}
        return {"values": [float(part) for part in re.split(r"[,\s]+", text) if part]}
    except ValueError:
        return None


def _int_or(value: str, default: int) -> int | str:
    value = (value or "").strip()
    if not value:
        return default
    return int(value) if value.isdigit() else value


@require_http_methods(["GET", "POST"])
def new_sweep(request: HttpRequest) -> HttpResponse:
    try:
        document, hidden = _source(request)
    except Sweep.DoesNotExist as exc:
        return render(request, "runs/refused.html", {"problems": [str(exc)]}, status=404)
    try:
        choices = param_choices(dump(load(document)))
    except DocumentError as exc:
        return render(request, "runs/refused.html", {"problems": [str(p) for p in exc.problems]}, status=400)
    data = request.POST if request.method == "POST" else request.GET
    replicating = data.get("kind") == "replicate"
    hidden["kind"] = "replicate" if replicating else "sweep"
    form = {"target": DEFAULT_TARGET, "seeds": "10" if replicating else "3"}
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        form = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        axes = []
        for i in () if replicating else (1, 2):
            path = form.get(f"axis{i}_path", "")
            if not path:
                continue
            values = parse_values(form.get(f"axis{i}_values", ""))
            if values is None:
                problems.append(f"values of {path}: write '2, 3, 4' or '2..8' or '2..8 step 2'")
                continue
            axes.append({"path": path, **values})
        seeds = _int_or(form.get("seeds", ""), 3)
        seed = _int_or(form.get("seed", ""), None) if form.get("seed") else None
        if not problems:
            source_objects = {
                "template": Template.objects.filter(slug=hidden.get("template")).first(),
                "variant": hidden.get("variant") or "",
                "design": Design.objects.filter(slug=hidden.get("design")).first(),
                "run": Run.objects.filter(slug=hidden.get("run")).first(),
            }
            try:
                sweep, _token = sweep_service.create_sweep(
                    document, owner=browser_owner(request), axes=axes, target=form.get("target", ""),
                    seeds=seeds, seed=seed, **source_objects,
                )
            except DocumentError as exc:
                problems = [str(p) for p in exc.problems]
            except RunRefused as exc:
                problems, status = [exc.message], exc.status
            else:
                return redirect("sweep", slug=sweep.slug)
    response = render(request, "runs/sweep_new.html", {
        "choices": choices, "target_metrics": target_metrics(), "ambiguous": sweeps.AMBIGUOUS, "hidden": hidden, "form": form, "problems": problems,
        "title": document.get("title") or "Untitled design", "replicating": replicating,
    }, status=status if status != 200 else 400 if problems else 200)
    if status == 429:
        response["Retry-After"] = "30"
    return response


def _context(sweep: Sweep, request: HttpRequest) -> dict[str, Any]:
    result = sweep.result
    axes = sweep_service.axes_of(sweep)
    conditions = sweeps.parse_target(sweep.target)[0]
    extra = [m for m in dict.fromkeys(c.metric for c in conditions) if m not in ("p50", "p99", "errors", "cost")]
    names = ("p50", "p99", *extra, "errors", "cost")
    columns = [sweeps.info(m) for m in names]
    rows = []
    if result:
        for point in result["points"]:
            cells = []
            for name, m in zip(names, columns, strict=True):
                stats = point["metrics"].get(name) or {"mean": None, "half_width": None}
                cells.append(m.format(stats["mean"], stats["half_width"]))
            rows.append({**point, "label": sweeps.point_label(axes, point["values"]) if axes else "all seeds",
                         "cells": cells})
    heat = None
    if result and len(axes) == 2:
        metric = (sweeps.parse_target(sweep.target)[0] or [sweeps.Condition("p99", "<", 0, "")])[0].metric
        by_values = {tuple(p["values"]): p for p in result["points"]}
        values = [p["metrics"][metric]["mean"] for p in result["points"] if p["metrics"][metric]["mean"] is not None]
        top = max(values, default=1) or 1
        heat = {
            "metric": sweeps.info(metric).label,
            "columns": list(axes[1].values),
            "rows": [
                {"value": v0, "cells": [
                    {"point": by_values[(v0, v1)], "mean": by_values[(v0, v1)]["metrics"][metric]["mean"],
                     "shade": round(100 * (by_values[(v0, v1)]["metrics"][metric]["mean"] or 0) / top)}
                    for v1 in axes[1].values
                ]}
                for v0 in axes[0].values
            ],
        }
    charted = {"errors", *sweeps.LATENCY_METRICS}
    extra_charts = [metrics.get(m) for m in dict.fromkeys(c.metric for c in conditions)
                    if m in sweeps.METRICS and m not in charted]
    return {
        "sweep": sweep,
        "axes": axes,
        "rows": rows,
        "seeds": list(range(sweep.base_seed, sweep.base_seed + sweep.seeds)),
        "extra_charts": extra_charts,
        "heat": heat,
        "is_owner": sweep.is_owned_by(request),
        "percent": round(100 * sweep.cells_done / sweep.cells_total) if sweep.cells_total else 100,
        "columns": columns,
        "page_data": {"result": result, "axes": [a.to_json() | {"label": a.label} for a in axes],
                      "target": sweep.target,
                      "thresholds": [{"metric": c.metric, "op": c.op, "value": c.value, "text": c.text}
                                     for c in conditions if c.metric in sweeps.METRICS],
                      "extra_charts": [m.name for m in extra_charts],
                      "latency": [m for m in dict.fromkeys(["p50", "p99", *(c.metric for c in conditions)])
                                  if m in sweeps.LATENCY_METRICS]},
    }


@require_GET
def sweep_page(request: HttpRequest, slug: str) -> HttpResponse:
    sweep = get_object_or_404(Sweep, slug=slug)
    return render(request, "runs/sweep.html", _context(sweep, request))


@require_GET
def sweep_progress(request: HttpRequest, slug: str) -> HttpResponse:
    """The progress partial the page polls; once the sweep ends it asks htmx to reload the page."""
    sweep = get_object_or_404(Sweep, slug=slug)
    response = render(request, "runs/sweep_progress.html", _context(sweep, request))
    if sweep.is_terminal:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def sweep_cancel(request: HttpRequest, slug: str) -> HttpResponse:
    sweep = get_object_or_404(Sweep, slug=slug)
    if not sweep.is_owned_by(request):
        return render(request, "runs/forbidden.html", {"message": "Only the person who started this sweep can cancel it."},
                      status=403)
    sweep_service.cancel_sweep(sweep)
    return redirect("sweep", slug=sweep.slug)


@require_POST
def sweep_fork(request: HttpRequest, slug: str) -> HttpResponse:
    """A new design at one of the sweep's points (its values applied), opened in the editor."""
    sweep = get_object_or_404(Sweep, slug=slug)
    axes = sweep_service.axes_of(sweep)
    grid = sweeps.points(axes)
    try:
        index = int(request.POST.get("point", ""))
        values = grid[index]
    except (ValueError, IndexError):
        return render(request, "runs/refused.html", {"problems": ["point: not a point of this sweep"]}, status=400)
    document = _cell_document(sweep, axes, values)
    design = Design(title=document["title"], template=sweep.template)
    design.document = document
    design.set_owner(request)
    design.save()
    url = _editor_url(design)
    return redirect(url) if url else redirect("sweep", slug=sweep.slug)


def _cell_document(sweep: Sweep, axes: list[sweeps.Axis], values: tuple[float, ...]) -> dict[str, Any]:
    document = sweeps.apply_point(sweep.document, axes, values)
    suffix = f" ({sweeps.point_label(axes, list(values))})" if axes else ""
    document["title"] = ((sweep.title or "Design") + suffix)[:200]
    return document


@require_POST
def sweep_point_run(request: HttpRequest, slug: str, point: int) -> HttpResponse:
    """A run of exactly one cell of the sweep (its point's document on one of its seeds), opened:
    this browser's run of that document, seed and engine version if it has one, else a new batch
    run (which reuses a stored result of the same document, seed and engine version: service)."""
    sweep = get_object_or_404(Sweep, slug=slug)
    axes = sweep_service.axes_of(sweep)
    grid = sweeps.points(axes)
    seeds = range(sweep.base_seed, sweep.base_seed + sweep.seeds)
    try:
        seed = int(request.POST.get("seed", ""))
    except ValueError:
        seed = None
    if not 0 <= point < len(grid) or seed not in seeds:
        return render(request, "runs/refused.html", {"problems": [
            f"point {point}, seed {request.POST.get('seed', '')}: not a cell of this sweep (points 0 to "
            f"{len(grid) - 1}, seeds {seeds.start} to {seeds.stop - 1})"]}, status=400)
    document = _cell_document(sweep, axes, grid[point])
    try:
        sha = service.identity(dump(load(document)))
    except DocumentError as exc:
        return render(request, "runs/refused.html", {"problems": [str(p) for p in exc.problems]}, status=400)
    mine = owned_by(Run.objects.filter(document_sha256=sha, seed=seed, engine_version=sweep.engine_version,
                                       mode=Run.Mode.BATCH, status__in=(*lifecycle.ACTIVE, Run.Status.DONE)),
                    request).order_by("-created_at").first()
    if mine is not None:
        return redirect("run", slug=mine.slug)
    try:
        run, _token = service.create_run(document, owner=browser_owner(request), seed=seed,
                                         template=sweep.template, variant=sweep.variant, design=sweep.design)
    except DocumentError as exc:
        return render(request, "runs/refused.html", {"problems": [str(p) for p in exc.problems]}, status=400)
    except RunRefused as exc:
        response = render(request, "runs/refused.html", {"problems": [exc.message]}, status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    return redirect("run", slug=run.slug)
