"""Sweep pages: the form that starts one (or replications of a run), the sweep page with its
progress, knee curves, heat map and answer, cancel, and fork at a chosen point."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.designs.models import Design, Template
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, dump, load
from playground.runs import sweep_service, sweeps
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
        paths = sweeps.numeric_paths(dump(load(document)))
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
        "paths": paths, "hidden": hidden, "form": form, "problems": problems,
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
    rows = []
    if result:
        for point in result["points"]:
            errors = point["metrics"]["errors"]["mean"]
            rows.append({**point, "label": sweeps.point_label(axes, point["values"]) if axes else "all seeds",
                         "errors_pct": None if errors is None else 100 * errors,
                         "extra": [point["metrics"][m] for m in extra]})
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
    return {
        "sweep": sweep,
        "axes": axes,
        "rows": rows,
        "heat": heat,
        "is_owner": sweep.is_owned_by(request),
        "percent": round(100 * sweep.cells_done / sweep.cells_total) if sweep.cells_total else 100,
        "extra_metrics": [sweeps.info(m).label for m in extra],
        "page_data": {"result": result, "axes": [a.to_json() | {"label": a.label} for a in axes],
                      "target": sweep.target,
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
    document = sweeps.apply_point(sweep.document, axes, values)
    suffix = f" ({sweeps.point_label(axes, list(values))})" if axes else ""
    document["title"] = ((sweep.title or "Design") + suffix)[:200]
    design = Design(title=document["title"], template=sweep.template)
    design.document = document
    design.set_owner(request)
    design.save()
    url = _editor_url(design)
    return redirect(url) if url else redirect("sweep", slug=sweep.slug)
