"""Run pages: start a run from the site, the run (and share) page, cancel and chaos for its owner,
fork, "My runs", and Compare."""

from __future__ import annotations

import re

from csp.decorators import csp_replace
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from playground import jsontext
from playground.designs import quota
from playground.designs.models import Design, Template
from playground.designs.ownership import note_shared, owned_by, owner_token
from playground.designs.patch import apply_variant
from playground.designs.views import refused_page
from playground.engine import DocumentError, Problem, parse
from playground.limits import client_address
from playground.runs import (
    chaos,
    checks,
    compare,
    export_views,
    picker,
    pictures,
    queues,
    service,
    stories,
    story,
)
from playground.runs.models import Run

SLUG_IN_LINK = re.compile(r"(?:/r/)?([A-Za-z0-9_-]{16,32})/?$")


def browser_owner(request: HttpRequest) -> service.Owner:
    address = client_address(request)
    if request.user.is_authenticated:
        return service.Owner(key=f"user:{request.user.pk}", user=request.user, is_user=True, address=address)
    token = owner_token(request)
    return service.Owner(key=f"browser:{token}", token=token, address=address)


def _get_run(slug: str) -> Run:
    return get_object_or_404(Run, slug=slug)


def _owned_run(request: HttpRequest, slug: str) -> Run:
    run = _get_run(slug)
    if not run.is_owned_by(request):
        raise PermissionError
    return run


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "runs/forbidden.html", {"message": message}, status=403)


def _seed_from(request: HttpRequest) -> int | None:
    raw = request.POST.get("seed", "").strip()
    if request.POST.get("new_seed") or not raw:
        return service.fresh_seed()
    if not raw.isdigit():
        raise DocumentError([Problem("seed", "must be a whole number")])
    return int(raw)


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Start a run from a form: a template (and variant), a saved design, or a run to repeat."""
    template = None
    variant = request.POST.get("variant", "")
    design = None
    if request.POST.get("run"):
        source = _get_run(request.POST["run"])
        # The recorded live controls come along as scenario events, so the chaos is kept (chaos.py).
        document = chaos.with_controls(source.document, source.applied_events)
        template, variant, design = source.template, source.variant, source.design
    elif request.POST.get("design"):
        design = get_object_or_404(Design, slug=request.POST["design"])
        document = design.document
    elif request.POST.get("template"):
        template = get_object_or_404(Template, slug=request.POST["template"])
        if variant and variant not in template.variants:
            raise Http404("no such variant")
        document = apply_variant(template.document, template.variants[variant]) if variant else template.document
    else:
        return render(request, "runs/refused.html", {"problems": ["say what to run: a template, a design or a run"]},
                      status=400)
    mode = request.POST.get("mode", Run.Mode.BATCH)
    try:
        speed = int(request.POST.get("speed", "1") or 1)
        seed = _seed_from(request)
        run, _token = service.create_run(
            document, owner=browser_owner(request), seed=seed, mode=mode, speed=speed,
            template=template, variant=variant, design=design,
        )
    except DocumentError as exc:  # Before ValueError, which it extends.
        problems = [str(p) for p in exc.problems]
        return render(request, "runs/refused.html", {"problems": problems}, status=400)
    except ValueError:
        return render(request, "runs/refused.html", {"problems": ["speed: must be 1, 5 or 20"]}, status=400)
    except service.RunRefused as exc:
        response = render(request, "runs/refused.html", {"problems": [exc.message]}, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    return redirect("run", slug=run.slug)


def _editor_url(design: Design) -> str | None:
    for name in ("design-editor",):
        try:
            return reverse(name, args=[design.slug])
        except NoReverseMatch:
            continue
    return None


@require_GET
def run_page(request: HttpRequest, slug: str) -> HttpResponse:
    run = _get_run(slug)
    note_shared(run, request)
    scenario = run.document["scenario"]
    template_url = None
    if run.template is not None:
        try:
            template_url = reverse("template", args=[run.template.slug])
        except NoReverseMatch:
            pass
    summary = run.summary or {}
    context = {
        "run": run,
        "reason": queues.reason_of(run),
        # As the page's script writes it when a run ends: the causes that happened, in order.
        "summary_errors": [f"{cause} {count}" for cause, count in sorted(summary.get("errors", {}).items()) if count],
        "checks": checks.checks_for(run),
        "facts": story.summary_facts(summary) if run.summary else None,
        "what_happened": stories.what_happened_for(run),
        "template_url": template_url,
        "origin": picker.origin_links(run),
        "compare_choices": picker.compare_choices(run, request),
        "is_owner": run.is_owned_by(request),
        "frames_expected": int(round(scenario["duration_s"] / scenario["tick_s"])),
        "page_data": _page_data(run),
        "downloads": _downloads(run),
        "embed_snippet": export_views.embed_html(request, run),
        "service_nodes": [n["id"] for n in run.document["nodes"] if n["kind"] == "service"],
        "work_nodes": [n["id"] for n in run.document["nodes"] if n["kind"] not in ("client", "load_balancer")],
        "cache_nodes": [n["id"] for n in run.document["nodes"]
                        if n["kind"] == "cdn" or (n["kind"] == "store" and n["params"].get("role") == "cache")],
    }
    return render(request, "runs/run.html", context)


def _downloads(run: Run) -> list[tuple[str, str]]:
    """The run page's Download menu: the frames as data, each chart and the topology as a picture."""
    links = [("Frames as CSV", reverse("run-frames-csv", args=[run.slug])),
             ("Frames as JSON", reverse("run-frames-json", args=[run.slug]))]
    links += [(f"{chart.title} chart (PNG)", reverse("run-chart", args=[run.slug, name]))
              for name, chart in pictures.CHARTS.items()]
    links += [("Topology (SVG)", reverse("run-topology", kwargs={"slug": run.slug, "fmt": "svg"})),
              ("Topology (PNG)", reverse("run-topology", kwargs={"slug": run.slug, "fmt": "png"}))]
    return links


def _page_data(run: Run) -> dict:
    """What run-view.js needs to play the run (run page and embed alike)."""
    scenario = run.document["scenario"]
    return {
        "slug": run.slug,
        "ws": f"/ws/runs/{run.slug}/",
        "frames": reverse("api:get_frames", args=[run.slug]),
        "status": run.status,
        "mode": run.mode,
        "document": run.document,
        "duration_s": scenario["duration_s"],
        "tick_s": scenario["tick_s"],
        "applied_events": run.applied_events,
        "control": reverse("run-control", args=[run.slug]),
    }


@require_GET
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def run_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """The run's player (topology, main charts, play and scrub) without the site's header, for an
    ``<iframe>`` on any site: the one page that may be framed (X-Frame-Options and the CSP's
    frame-ancestors are lifted here only)."""
    run = _get_run(slug)
    scenario = run.document["scenario"]
    return render(request, "runs/embed.html", {
        "run": run,
        "reason": queues.reason_of(run),
        "frames_expected": int(round(scenario["duration_s"] / scenario["tick_s"])),
        "page_data": _page_data(run),
        "run_url": request.build_absolute_uri(reverse("run", args=[run.slug])),
    })


@require_GET
def run_story(request: HttpRequest, slug: str) -> HttpResponse:
    """The "What happened" section of a done run (an htmx partial asked for when the run ends);
    204 while the run is not done, so the page keeps what it has."""
    run = _get_run(slug)
    told = stories.what_happened_for(run)
    if told is None:
        return HttpResponse(status=204)
    return render(request, "runs/_what_happened.html", {"run": run, "what_happened": told})


@require_GET
def run_summary(request: HttpRequest, slug: str) -> HttpResponse:
    """The summary panel of a done run (an htmx partial); 204 while it has no summary."""
    run = _get_run(slug)
    if not run.summary:
        return HttpResponse(status=204)
    return render(request, "runs/_summary_panel.html", {"run": run, "facts": story.summary_facts(run.summary)})


@require_GET
def run_checks(request: HttpRequest, slug: str) -> HttpResponse:
    """The template's expectations for this run (an htmx partial, reloaded when the run ends)."""
    run = _get_run(slug)
    return render(request, "runs/checks.html", {"run": run, "checks": checks.checks_for(run)})


@require_POST
def cancel(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        run = _owned_run(request, slug)
    except PermissionError:
        return _forbidden(request, "Only the person who started this run can cancel it.")
    if not service.cancel_run(run):
        messages.info(request, f"The run had already ended ({run.status}).")
    return redirect("run", slug=run.slug)


@require_POST
def control(request: HttpRequest, slug: str) -> HttpResponse:
    """A chaos button: the control's fields come as form fields or as a JSON body."""
    try:
        run = _owned_run(request, slug)
    except PermissionError:
        return JsonResponse({"error": "only the run's owner can send it controls"}, status=403)
    try:
        if request.content_type == "application/json":
            body = parse(request.body, "json")
        else:
            body = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
            for key in ("multiplier", "ramp_s", "factor", "duration_s", "count", "batch", "interval_s", "instances"):
                if key in body and body[key] != "":
                    body[key] = float(body[key]) if "." in body[key] else int(body[key])
        service.send_control(run, body)
    except DocumentError as exc:  # Before ValueError, which it extends.
        return JsonResponse({"error": "the control is not valid",
                             "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}, status=400)
    except ValueError:
        return JsonResponse({"error": "the control's numbers are not numbers"}, status=400)
    except service.RunRefused as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse({"queued": True}, status=202)


@require_POST
def fork(request: HttpRequest, slug: str) -> HttpResponse:
    """A new design of the requester's own from the run's document."""
    run = _get_run(slug)
    note_shared(run, request)
    document = chaos.with_controls(run.document, run.applied_events)  # the live controls, as scenario events
    design = Design(title=(run.title or "Design") + " (fork)", template=run.template,
                    document_json=jsontext.dumps(document))
    try:
        quota.check(request, design.document_json)
    except quota.StorageRefused as exc:
        return refused_page(request, exc)
    design.set_owner(request)
    design.save()
    url = _editor_url(design)
    if url is None:
        messages.success(request, "Forked into a new design.")
        return redirect("run", slug=run.slug)
    return redirect(url)


@require_GET
def my_runs(request: HttpRequest) -> HttpResponse:
    runs = owned_by(Run.objects.all(), request)
    design = None
    if request.GET.get("design"):
        design = get_object_or_404(Design, slug=request.GET["design"])
        runs = runs.filter(design=design)  # still only the viewer's own runs of it
    return render(request, "runs/list.html", {"runs": runs.select_related("template")[:200], "design": design})


def _slug_from(link: str) -> str | None:
    match = SLUG_IN_LINK.search(link.strip())
    return match.group(1) if match else None


@require_GET
def compare_page(request: HttpRequest) -> HttpResponse:
    a_link, b_link = request.GET.get("a", ""), request.GET.get("b", "")
    context: dict = {"a_link": a_link, "b_link": b_link, "mine": owned_by(Run.objects.all(), request)[:50]}
    if a_link and b_link:
        slugs = (_slug_from(a_link), _slug_from(b_link))
        runs = [Run.objects.filter(slug=s).first() if s else None for s in slugs]
        problems = [f"{label}: no run at that link" for label, r in zip("AB", runs, strict=True) if r is None]
        if problems:
            context["problems"] = problems
        else:
            a, b = runs
            items = compare.deltas(a.summary, b.summary)
            diff = compare.design_diff(a.document, b.document)
            context.update(
                a=a, b=b, deltas=items, sentence=compare.sentence(items),
                diff=diff, diff_count=compare.diff_count(diff),
                page_data={
                    "a": {"slug": a.slug, "frames": reverse("api:get_frames", args=[a.slug])},
                    "b": {"slug": b.slug, "frames": reverse("api:get_frames", args=[b.slug])},
                },
            )
    return render(request, "runs/compare.html", context)
