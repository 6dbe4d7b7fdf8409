"""The designs' pages: the editor (for a design, a template or an empty canvas), saving with
optimistic concurrency, fork, delete, "My designs" and the parameter reference.

Guards: ``_viewable`` (anyone with the link) and ``_editable`` (the owner; 403 otherwise). The
editor saves by ``fetch`` with the CSRF header, and answers JSON: 409 when another tab saved
first, with what it saved, so the losing tab can choose.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import jsontext
from playground.designs import documents, quota
from playground.designs.kinds import kinds
from playground.designs.models import Design, Template
from playground.designs.ownership import note_shared, owned_by
from playground.designs.patch import apply_variant
from playground.engine import DocumentError, params
from playground.limits import refusal

SLUG_PLACEHOLDER = "__slug__"


def _viewable(slug: str) -> Design:
    return get_object_or_404(Design, slug=slug)


def _editable(request: HttpRequest, slug: str) -> Design:
    design = _viewable(slug)
    if not design.is_owned_by(request):
        raise PermissionDenied("only the owner of a design may change it")
    return design


def _json_error(status: int, message: str, problems: list | None = None) -> JsonResponse:
    items = [{"path": p.path or "(document)", "message": p.message} for p in problems or []]
    return JsonResponse({"error": message, "problems": items}, status=status)


def _quota_refused(exc: quota.StorageRefused) -> JsonResponse:
    """The editor shows "Not saved: quota: <message>" and keeps its document."""
    response = JsonResponse({"error": exc.message, "problems": [{"path": "quota", "message": exc.message}]},
                            status=exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def refused_page(request: HttpRequest, exc: quota.StorageRefused) -> HttpResponse:
    """A fork or copy refused by the quota: a page (JSON for a script) naming the limit."""
    response = refusal(request, exc.status, exc.message, path="quota")
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _read_body(request: HttpRequest) -> dict[str, Any]:
    body = documents.read_json(request.body or b"{}")
    if not isinstance(body, dict):
        raise DocumentError([documents.Problem("", "the request body must be a JSON object")])
    return body


def _body_document(body: dict[str, Any]) -> dict[str, Any]:
    if "document" not in body:
        raise DocumentError([documents.Problem("document", "is required")])
    return documents.check_editable(body["document"])


def _design_urls() -> dict[str, str]:
    def url(name: str) -> str:
        return reverse(name, args=[SLUG_PLACEHOLDER])

    return {
        "create": reverse("design-create"),
        "editor": url("design-editor"),
        "save": url("design-save"),
        "document": url("design-document"),
        "fork": url("design-fork"),
        "delete": url("design-delete"),
        "panelNode": reverse("panel-node"),
        "panelEdge": reverse("panel-edge"),
        "panelScenario": reverse("panel-scenario"),
        "validate": reverse("editor-validate"),
        "export": reverse("editor-export"),
        "import": reverse("editor-import"),
    }


def _editor(request: HttpRequest, *, mode: str, document: dict[str, Any], design: Design | None = None,
            template: Template | None = None) -> HttpResponse:
    can_edit = design is None or design.is_owned_by(request)
    boot = {
        "mode": mode,
        "slug": design.slug if design else None,
        "version": design.version if design else 0,
        "canEdit": can_edit,
        "document": document,
        "template": template.slug if template else None,
        "forkedFrom": None,
        "placeholder": SLUG_PLACEHOLDER,
        "urls": _design_urls(),
        "kinds": kinds(),
    }
    context = {
        "boot": boot,
        "design": design,
        "template": template,
        "can_edit": can_edit,
        "title": documents.title_of(document) or documents.EMPTY_TITLE,
        "kinds": kinds(),
        "mode": mode,
    }
    return render(request, "designs/editor.html", context)


@require_GET
def editor_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, mode="new", document=documents.empty_document())


def _template_document(template: Template, variant: str) -> dict[str, Any]:
    """A template's document, or one of its variants (``?variant=``; an unknown one is a 404)."""
    document = template.document
    title = documents.title_of(document) or template.title
    if variant:
        if variant not in template.variants:
            raise Http404(f"the template has no variant '{variant[:40]}'")
        patch = template.variants[variant]
        document = apply_variant(document, patch)
        if "title" in patch:
            title = documents.title_of(document) or title
        else:
            note = template.variant_notes.get(variant) or {}
            title = f"{title}: {note.get('title') or variant}"[: documents.MAX_TITLE]
    document["title"] = title
    return document


@require_GET
def template_edit(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(Template, slug=slug)
    document = _template_document(template, request.GET.get("variant", ""))
    return _editor(request, mode="template", document=document, template=template)


@require_GET
def design_editor(request: HttpRequest, slug: str) -> HttpResponse:
    design = _viewable(slug)
    note_shared(design, request)
    return _editor(request, mode="design", document=design.document, design=design)


@require_GET
def design_document(request: HttpRequest, slug: str) -> JsonResponse:
    design = _viewable(slug)
    return JsonResponse({"slug": design.slug, "version": design.version, "title": design.title,
                         "document": design.document, "can_edit": design.is_owned_by(request)})


def _saved(design: Design, document: dict[str, Any]) -> dict[str, Any]:
    problems = documents.check(document)
    return {
        "slug": design.slug,
        "version": design.version,
        "title": design.title,
        "url": reverse("design-editor", args=[design.slug]),
        "saved_at": timezone.localtime(design.updated_at).isoformat(timespec="seconds"),
        "problems": documents.describe(document, problems),
    }


@require_POST
def design_create(request: HttpRequest) -> JsonResponse:
    """A new design from the editor's first change (of an empty canvas, a template or a fork)."""
    try:
        body = _read_body(request)
        document = _body_document(body)
    except DocumentError as exc:
        return _json_error(400, "the design could not be read", exc.problems)
    design = Design(document_json=jsontext.dumps(document),
                    title=documents.title_of(document) or documents.EMPTY_TITLE)
    try:
        quota.check(request, design.document_json)
    except quota.StorageRefused as exc:
        return _quota_refused(exc)
    if isinstance(body.get("template"), str):
        design.template = Template.objects.filter(slug=body["template"]).first()
    if isinstance(body.get("forked_from"), str):
        design.forked_from = Design.objects.filter(slug=body["forked_from"]).first()
        if design.forked_from is not None:
            note_shared(design.forked_from, request)
    design.set_owner(request)
    design.save()
    return JsonResponse(_saved(design, document), status=201)


@require_POST
def design_save(request: HttpRequest, slug: str) -> JsonResponse:
    """Save the editor's document if the design is still at the version the editor started from
    (``version``); otherwise 409 with what was saved meanwhile. ``force`` overwrites it."""
    design = _editable(request, slug)
    try:
        body = _read_body(request)
        document = _body_document(body)
    except DocumentError as exc:
        return _json_error(400, "the design could not be read", exc.problems)
    base = body.get("version")
    if not body.get("force") and (isinstance(base, bool) or not isinstance(base, int)):
        return _json_error(400, "version: the version the editor started from is required")
    text = jsontext.dumps(document)
    try:
        quota.check(request, text, replacing=design)
    except quota.StorageRefused as exc:
        return _quota_refused(exc)
    with transaction.atomic():
        rows = Design.objects.filter(pk=design.pk)
        if not body.get("force"):
            rows = rows.filter(version=base)
        changed = rows.update(
            document_json=text,
            title=documents.title_of(document) or documents.EMPTY_TITLE,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
    design.refresh_from_db()
    if not changed:
        return JsonResponse({"error": "this design was saved elsewhere since you opened it",
                             "version": design.version, "title": design.title,
                             "document": design.document}, status=409)
    return JsonResponse(_saved(design, document))


def _fork(request: HttpRequest, source: Design, document: dict[str, Any]) -> Design:
    title = documents.title_of(document) or source.title
    suffix = " (fork)"
    if not title.endswith(suffix):
        title = title[: documents.MAX_TITLE - len(suffix)] + suffix
    document = dict(document, title=title)
    fork = Design(document_json=jsontext.dumps(document), title=title, forked_from=source,
                  template=source.template)
    quota.check(request, fork.document_json)
    fork.set_owner(request)
    fork.save()
    return fork


@require_POST
def design_fork(request: HttpRequest, slug: str) -> HttpResponse:
    source = _viewable(slug)
    note_shared(source, request)
    try:
        fork = _fork(request, source, source.document)
    except quota.StorageRefused as exc:
        return refused_page(request, exc)
    return redirect("design-editor", fork.slug)


@require_POST
def template_fork(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(Template, slug=slug)
    document = _template_document(template, request.POST.get("variant", "") or request.GET.get("variant", ""))
    design = Design(document_json=jsontext.dumps(document), title=document["title"] or documents.EMPTY_TITLE,
                    template=template)
    try:
        quota.check(request, design.document_json)
    except quota.StorageRefused as exc:
        return refused_page(request, exc)
    design.set_owner(request)
    design.save()
    return redirect("design-editor", design.slug)


@require_http_methods(["GET", "POST"])
def design_delete(request: HttpRequest, slug: str) -> HttpResponse:
    design = _editable(request, slug)
    if request.method == "POST":
        design.delete()
        return redirect("my-designs")
    return render(request, "designs/delete.html", {"design": design})


@require_GET
def my_designs(request: HttpRequest) -> HttpResponse:
    designs = list(owned_by(Design.objects.all(), request).select_related("template")[:500])
    for design in designs:
        doc = design.document
        design.node_count = len(doc.get("nodes", [])) if isinstance(doc.get("nodes"), list) else 0
        design.problem_count = len(documents.check(doc))
    return render(request, "designs/my_designs.html", {"designs": designs})


@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    from playground.designs.paramforms import default_text, range_text

    def rows(items: list[dict[str, Any]], table: tuple) -> list[dict[str, Any]]:
        by_name = {p.name: p for p in table}
        out = []
        for item in items:
            p = by_name[item["name"]]
            out.append({**item, "range": range_text(p), "default_text": "required" if p.required else default_text(p)})
        return out

    spec = params.spec()
    node_kinds = [{**info, "params": rows(spec["nodes"][info["kind"]], params.node_params(info["kind"]))}
                  for info in kinds()]
    actions = [{"action": a, "fits": v["fits"], "params": rows(v["params"], params.action_params(a))}
               for a, v in spec["actions"].items()]
    dists = [{"dist": d, "params": rows(items, params.DIST_FIELDS[d])} for d, items in spec["dist"].items()]
    context = {
        "kinds": node_kinds,
        "edge": rows(spec["edge"], params.EDGE_PARAMS),
        "scenario": rows(spec["scenario"], params.SCENARIO_PARAMS),
        "traffic": rows(spec["traffic"], params.TRAFFIC_PARAMS),
        "event": rows(spec["event"], params.EVENT_PARAMS),
        "actions": actions,
        "dists": dists,
        "causes": spec["error_causes"],
    }
    return render(request, "designs/reference.html", context)
