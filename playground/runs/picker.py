"""What a run page offers to compare with ("Compare with..."), and where the run came from.

Choices
-------
mine
    The viewer's own recent runs (this browser's, or the account's), this one left out.
variants
    For a template run, each other variant of the template (the base design included): its newest
    finished run on the same seed if one exists, else a button that starts one on that seed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from playground.designs.ownership import owned_by
from playground.runs.models import Run

RECENT = 20


def _label(run: Run) -> str:
    title = run.title or "Untitled"
    variant = f" ({run.variant})" if run.variant else ""
    return f"{title}{variant} · {run.mode} · seed {run.seed} · {run.status}"


def compare_url(a: Run | str, b: Run | str) -> str:
    slug_a = a if isinstance(a, str) else a.slug
    slug_b = b if isinstance(b, str) else b.slug
    return reverse("compare") + "?" + urlencode({"a": slug_a, "b": slug_b})


def compare_choices(run: Run, request: HttpRequest) -> dict[str, Any]:
    mine = [{"slug": r.slug, "label": _label(r)}
            for r in owned_by(Run.objects.all(), request).exclude(pk=run.pk).only(
                "slug", "title", "variant", "mode", "seed", "status")[:RECENT]]
    variants: list[dict[str, Any]] = []
    if run.template is not None:
        names = ["", *sorted((run.template.variants or {}).keys())]
        for name in names:
            if name == run.variant:
                continue
            other = (Run.objects.filter(template=run.template, variant=name, seed=run.seed, status=Run.Status.DONE)
                     .exclude(pk=run.pk).order_by("-created_at").first())
            variants.append({
                "name": name or "base",
                "variant": name,
                "run": other.slug if other else None,
                "compare_url": compare_url(run, other) if other else None,
            })
    return {"mine": mine, "variants": variants}


def origin_links(run: Run) -> dict[str, str | None]:
    """Where the run came from: its design's editor, or its template's page and the template in
    the editor (at the run's variant)."""
    design_url = reverse("design-editor", args=[run.design.slug]) if run.design_id and run.design else None
    template_url = template_edit_url = None
    if run.template is not None:
        template_url = reverse("template", args=[run.template.slug])
        template_edit_url = reverse("template-edit", args=[run.template.slug])
        if run.variant:
            template_edit_url += "?" + urlencode({"variant": run.variant})
    return {"design_url": design_url, "template_url": template_url, "template_edit_url": template_edit_url}
