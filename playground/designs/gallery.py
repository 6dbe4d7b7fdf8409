"""The template gallery and a template's own page.

Terms
-----
filters
    ``concept`` (one of a template's tags), ``company`` (as written: Netflix, Stripe, ...) and
    ``q`` (words to find in the title, summary, story, company and tags, all of them, any case).
    They come as a plain GET form, so the gallery works without JavaScript; with htmx the same
    request answers only the cards.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from playground.designs import expectations as ex
from playground.designs.drawing import topology_svg
from playground.designs.models import Template
from playground.designs.patch import apply_variant
from playground.designs.scale import scale_of
from playground.markup import markdown, markdown_inline


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _matches(template: Template, concept: str, company: str, words: list[str]) -> bool:
    if concept and concept not in template.concepts:
        return False
    if company and template.company != company:
        return False
    haystack = " ".join([template.title, template.summary, template.story, template.company,
                         template.slug, *template.concepts]).casefold()
    return all(word in haystack for word in words)


@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    templates = list(Template.objects.all())
    concept = request.GET.get("concept", "").strip()[:60]
    company = request.GET.get("company", "").strip()[:100]
    q = request.GET.get("q", "").strip()[:200]
    words = q.casefold().split()
    shown = [t for t in templates if _matches(t, concept, company, words)]
    for template in shown:
        document = template.document
        template.drawing = topology_svg(document, template.title, "topology-svg card-svg", compact=True)
        template.scale = scale_of(document)
    context = {
        "templates": shown,
        "total": len(templates),
        "concepts": sorted({c for t in templates for c in t.concepts}),
        "companies": sorted({t.company for t in templates if t.company}),
        "concept": concept,
        "company": company,
        "q": q,
        "filtered": bool(concept or company or q),
    }
    name = "designs/_gallery_results.html" if request.htmx else "designs/gallery.html"
    return render(request, name, context)


_ACTIONS = {
    "kill_instance": "an instance of {node} dies",
    "rolling_deploy": "a rolling deploy of {node} begins",
    "scale": "{node} is scaled to {instances} instances",
    "outage": "{node} is unreachable for {duration_s} s",
    "slowdown": "{node} slows down {factor}×",
    "flush_cache": "{node} is flushed",
}


def timeline(document: dict[str, Any]) -> list[str]:
    """The scenario's events and traffic steps in words, in time order."""
    scenario = document.get("scenario", {})
    labels = {n["id"]: n.get("label") or n["id"] for n in document.get("nodes", [])}
    items = []
    for e in scenario.get("events", []):
        text = _ACTIONS.get(e.get("action"), "{action} on {node}")
        fields = {k: v for k, v in e.items() if k != "node"}
        items.append((e.get("at_s", 0), f"at {e.get('at_s', 0):g} s, " + text.format_map(
            {"node": labels.get(e.get("node"), e.get("node")), "instances": "?", "duration_s": "?", "factor": "?",
             **fields})))
    for step in scenario.get("traffic", []):
        items.append((step.get("at_s", 0), f"at {step.get('at_s', 0):g} s, traffic goes to ×{step.get('multiplier', 1):g}"))
    return [text for _, text in sorted(items, key=lambda item: item[0])]


def _run_label(ref: ex.RunRef, template: Template, others: dict[str, Template]) -> dict[str, Any]:
    owner = template if ref.template == template.slug else others.get(ref.template)
    if owner is None:
        return {"text": ref.label, "url": None}
    if ref.variant:
        title = owner.variant_notes.get(ref.variant, {}).get("title", ref.variant)
    else:
        title = "base design"
    text = f"“{title}”" if ref.variant else title
    if owner is not template:
        text = f"{owner.title}, {text}"
    return {"text": text, "url": None if owner is template else _url("template", owner.slug)}


def _expectations(template: Template) -> list[dict[str, Any]]:
    parsed = []
    for i, raw in enumerate(template.expectations):
        try:
            parsed.append(ex.parse(raw, template.slug, f"expectations[{i}]"))
        except ex.ExpectationError:
            continue  # The loader refuses these; a stale row just shows less.
    others = {t.slug: t for t in Template.objects.filter(
        slug__in={e.run.template for e in parsed} | {e.minus.template for e in parsed if e.minus})}
    rows = []
    for e in parsed:
        value = f"[{e.value[0]:g}, {e.value[1]:g}]" if isinstance(e.value, tuple) else f"{e.value:g}"
        rows.append({
            "says": e.says,
            "run": _run_label(e.run, template, others),
            "minus": _run_label(e.minus, template, others) if e.minus else None,
            "check": f"{e.metric_text} {e.op} {value}",
        })
    return rows


@require_GET
def template_page(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(Template, slug=slug)
    document = template.document
    edit_url = _url("template-edit", template.slug)
    runs = [{"variant": "", "title": "Base design", "about": template.summary, "edit_url": edit_url}]
    for name, patch in template.variants.items():
        note = template.variant_notes.get(name, {})
        runs.append({
            "variant": name,
            "title": note.get("title", name),
            "about": note.get("about", ""),
            "edit_url": f"{edit_url}?variant={name}" if edit_url else None,
            "drawing": topology_svg(apply_variant(document, patch), note.get("title", name),
                                    "topology-svg variant-svg"),
        })
    context = {
        "template": template,
        "drawing": topology_svg(document, template.title),
        "story": markdown(template.story),
        "steps": [markdown_inline(step) for step in template.steps],
        "expectations": _expectations(template),
        "runs": runs,
        "run_url": _url("run-start"),
        "fork_url": _url("template-fork", template.slug),
        "scenario": document.get("scenario", {}),
        "scale": scale_of(document),
        "timeline": timeline(document),
    }
    return render(request, "designs/template.html", context)
