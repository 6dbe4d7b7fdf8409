"""Taking a run elsewhere as data: its frames as CSV and JSON, a sweep's points as CSV, and the
oEmbed description of a run's embeddable player. Anyone with a run's link may download it.

Frames stream from the database a page at a time (``exports``), through an asynchronous iterator
so that Daphne sends them as they are read instead of Django collecting the whole body first.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import Resolver404, resolve, reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from playground.runs import exports
from playground.runs.models import Run, Sweep

#: The embedded player's default size (oEmbed ``width`` and ``height``), and the smallest it fits.
EMBED_WIDTH, EMBED_HEIGHT = 720, 540
EMBED_MIN_WIDTH, EMBED_MIN_HEIGHT = 320, 300


def _download(response: HttpResponse, name: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def frames_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    run = get_object_or_404(Run, slug=slug)
    response = StreamingHttpResponse(exports.csv_chunks(run), content_type="text/csv; charset=utf-8")
    return _download(response, exports.filename(run.title, "run", "csv"))


@require_GET
def frames_json(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    run = get_object_or_404(Run, slug=slug)
    url = request.build_absolute_uri(reverse("run", args=[run.slug]))
    response = StreamingHttpResponse(exports.json_chunks(run, url), content_type="application/json")
    return _download(response, exports.filename(run.title, "run", "json"))


@require_GET
def sweep_points_csv(request: HttpRequest, slug: str) -> HttpResponse:
    sweep = get_object_or_404(Sweep, slug=slug)
    if sweep.result is None:
        return JsonResponse({"error": f"the sweep has no result yet ({sweep.status})"}, status=409)
    response = HttpResponse(exports.sweep_csv(sweep), content_type="text/csv; charset=utf-8")
    return _download(response, exports.filename(sweep.title, "sweep", "csv"))


def embed_html(request: HttpRequest, run: Run, width: int = EMBED_WIDTH, height: int = EMBED_HEIGHT) -> str:
    """The ``<iframe>`` snippet that embeds the run's player (oEmbed's ``html``, the run page's
    Embed box)."""
    src = request.build_absolute_uri(reverse("run-embed", args=[run.slug]))
    title = run.title or "Untitled design"
    return (f'<iframe src="{src}" width="{width}" height="{height}" title="{escape(title)}: a run on '
            f'System Design Playground" style="border:0" loading="lazy" allowfullscreen></iframe>')


def _bounded(raw: str | None, default: int, least: int, name: str) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of pixels") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}: the player does not fit in less")
    return min(value, default)


def _run_of(url: str, request: HttpRequest) -> Run | None:
    """The run a link points at: a run page (or its embed) on this site."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or (parsed.netloc and parsed.netloc != request.get_host()):
        return None
    try:
        match = resolve(parsed.path or "/")
    except Resolver404:
        return None
    if match.url_name not in ("run", "run-embed"):
        return None
    return Run.objects.filter(slug=match.kwargs["slug"]).first()


@require_GET
def oembed(request: HttpRequest) -> JsonResponse:
    """oEmbed 1.0 (oembed.com) for a run's link: type ``rich``, the embed's ``<iframe>``."""
    if request.GET.get("format", "json") != "json":
        return JsonResponse({"error": "only format=json is offered"}, status=501)
    url = request.GET.get("url", "")
    if not url:
        return JsonResponse({"error": "url is required: a run's link, /r/<id>/"}, status=400)
    run = _run_of(url, request)
    if run is None:
        return JsonResponse({"error": "url is not the link of a run on this site"}, status=404)
    try:
        width = _bounded(request.GET.get("maxwidth"), EMBED_WIDTH, EMBED_MIN_WIDTH, "maxwidth")
        height = _bounded(request.GET.get("maxheight"), EMBED_HEIGHT, EMBED_MIN_HEIGHT, "maxheight")
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    title = run.title or "Untitled design"
    html = embed_html(request, run, width, height)
    return JsonResponse({
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": "System Design Playground",
        "provider_url": request.build_absolute_uri("/"),
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 86400 if run.is_terminal else 60,
    })

