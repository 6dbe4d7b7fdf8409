"""Pictures of runs, designs, templates and sweeps, for anyone with the link (``pictures.py``,
``gif.py``): the topology as SVG or PNG (``?t=`` colours it by load at that moment), the run
page's charts as PNG, the run's animated GIF, link-preview cards, and Compare's side-by-side PNG.

A finished run never changes, so its pictures are made once: those with default parameters are
kept in ``RunImage`` rows, the others in Django's cache for ``PARAM_CACHE_S``. A running run's
pictures are drawn on each request and never cached. Bad requests are a JSON 4xx naming the
problem: an unknown chart 404, ``t`` or ``w``/``h`` out of range 400, a running run's GIF 409.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from playground import jsontext
from playground.designs.models import Design, Template
from playground.limits import client_address
from playground.runs import gif, lifecycle, pictures, service
from playground.runs.models import Run, RunImage, Sweep
from playground.runs.views import _slug_from

#: How long a picture with parameters (``?t=``, ``?w=``) of a finished run stays in the cache.
PARAM_CACHE_S = 7 * 24 * 3600
#: Previews of designs and templates (which can change): keyed by their document's hash.
PREVIEW_CACHE_S = 24 * 3600
FINISHED_MAX_AGE = "public, max-age=86400"

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after, self.extra = status, message, retry_after, extra

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.message, **self.extra}, status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def _render(request: HttpRequest, make: Callable[[], bytes]) -> bytes:
    """Draw a picture that no store holds yet, within the render budget: at most
    PICTURE_RENDERS_PER_MINUTE per client address and PICTURE_RENDERS_PER_MINUTE_SITE on the whole
    site (a render costs a fraction of a second of a web process's CPU, and sizes and running
    runs give a script endless pictures that are not stored). 0 lifts the budget."""
    per_client, site = settings.PICTURE_RENDERS_PER_MINUTE, settings.PICTURE_RENDERS_PER_MINUTE_SITE
    if per_client > 0:
        try:
            lifecycle.take_rate(f"ratelimit:pictures:addr:{client_address(request)[:64]}", per_client,
                                f"at most {per_client} pictures may be drawn a minute for one address")
            lifecycle.take_rate("ratelimit:pictures:site", site,
                                f"the site draws at most {site} pictures a minute")
        except lifecycle.RunRefused as exc:
            raise BadRequest(429, exc.message, retry_after=exc.retry_after) from None
    return make()


def _picture(body: bytes, content_type: str, *, cacheable: bool, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = FINISHED_MAX_AGE if cacheable else "no-store"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _filename(run: Run, what: str) -> str:
    return f"{slugify(run.title or 'run')[:60] or 'run'}-{run.slug[:8]}-{what}"


def _kept(request: HttpRequest, run: Run, kind: str, params: str, make: Callable[[], bytes],
          content_type: str) -> bytes:
    """The picture ``kind`` of ``run`` with ``params``: made once for a finished run (a row without
    parameters, the cache with them), made each time for a running one; every making is within
    the render budget (``_render``)."""
    if not run.is_terminal:
        return _render(request, make)
    if params:
        key = "pictures:" + hashlib.sha256(f"{run.slug}|{kind}|{params}".encode()).hexdigest()
        body = cache.get(key)
        if body is None:
            body = _render(request, make)
            cache.set(key, body, PARAM_CACHE_S)
        return body
    image = RunImage.objects.filter(run=run, kind=kind, status=RunImage.Status.READY).first()
    if image is not None:
        return bytes(image.content)
    body = _render(request, make)
    try:
        with transaction.atomic():
            RunImage.objects.create(run=run, kind=kind, content=body, content_type=content_type)
    except IntegrityError:  # made at the same time by another request
        pass
    return body


def _frames(run: Run) -> list[dict[str, Any]]:
    return service.frames_after(run, 0, limit=pictures.MAX_FRAMES)


def _run_link(request: HttpRequest, run: Run) -> str:
    return request.build_absolute_uri(reverse("run", args=[run.slug]))


def _moment(request: HttpRequest, run: Run) -> float | None:
    raw = request.GET.get("t")
    if raw is None or raw == "":
        return None
    duration = float(run.document["scenario"]["duration_s"])
    try:
        t = float(raw)
    except ValueError:
        t = math.nan
    if not math.isfinite(t) or not 0 <= t <= duration:
        raise BadRequest(400, f"t: must be a number of seconds from 0 to {pictures._num(duration)} (the run's length); "
                              f"got {raw[:40]!r}")
    return t


def _size(request: HttpRequest) -> tuple[int, int]:
    size = []
    for name, default, (low, high) in (("w", pictures.CHART_SIZE[0], pictures.WIDTH_BOUNDS),
                                       ("h", pictures.CHART_SIZE[1], pictures.HEIGHT_BOUNDS)):
        raw = request.GET.get(name)
        if raw is None or raw == "":
            size.append(default)
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise BadRequest(400, f"{name}: must be a whole number of pixels from {low} to {high}; got {raw[:40]!r}")
        size.append(int(raw))
    return size[0], size[1]


def _answer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return exc.response()
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_safe(wrapped)


@_answer
def topology(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The run's design drawn as the site draws it; ``?t=`` coloured by load at that moment."""
    run = get_object_or_404(Run, slug=slug)
    t = _moment(request, run)
    frame = None
    if t is not None:
        frame = pictures.frame_at(_frames(run), t)
        if frame is None:
            raise BadRequest(409, f"t: the run has no frame at {pictures.format_t(t)} yet "
                                  f"({run.frames_saved} frames so far)")
    caption = (f"{run.title or 'Untitled design'}: load at t = {pictures.format_t(frame['t'])}" if frame
               else run.title or "")

    def make() -> bytes:
        return pictures.topology_picture(run.document, fmt, frame, caption)

    params = f"t={frame['seq']}" if frame else ""
    body = _kept(request, run, f"topology.{fmt}", params, make, FORMATS[fmt])
    suffix = f"-t{pictures._num(frame['t'])}" if frame else ""
    return _picture(body, FORMATS[fmt], cacheable=run.is_terminal, filename=_filename(run, f"topology{suffix}.{fmt}"))


@_answer
def chart(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """One of the run page's charts as a PNG (``?w=&h=`` in pixels, within bounds)."""
    run = get_object_or_404(Run, slug=slug)
    if name not in pictures.CHARTS:
        raise BadRequest(404, f"no chart named {name[:40]!r}: the charts are {', '.join(pictures.CHARTS)}",
                         charts=list(pictures.CHARTS))
    size = _size(request)
    params = "" if size == pictures.CHART_SIZE else f"{size[0]}x{size[1]}"
    body = _kept(request, run, f"chart:{name}", params,
                 lambda: pictures.chart_png(run, _frames(run), name, _run_link(request, run), size), "image/png")
    return _picture(body, "image/png", cacheable=run.is_terminal, filename=_filename(run, f"{name}.png"))


def _gif_status(run: Run, image: RunImage | None, message: str, status: int) -> JsonResponse:
    return JsonResponse({"status": image.status if image else "unavailable", "message": message}, status=status)


@_answer
def run_gif(request: HttpRequest, slug: str) -> HttpResponse:
    """The run's animated GIF: 200 once a worker made it; 202 with ``Retry-After`` while it is
    being made (the first request asks for it); 409 for a run that has not ended or has no
    frames; 503 naming why if it could not be made."""
    run = get_object_or_404(Run, slug=slug)
    if not run.is_terminal:
        verb = "queued" if run.status == Run.Status.QUEUED else "running"
        return _gif_status(run, None, f"the run is still {verb}: its GIF can be made once it ends", 409)
    if run.frames_saved == 0 and run.frames_total == 0:
        return _gif_status(run, None, f"the run {run.status} before its first frame: there is nothing to draw", 409)
    image = gif.request(run)
    if image.status == RunImage.Status.READY:
        return _picture(bytes(image.content), "image/gif", cacheable=True, filename=_filename(run, "run.gif"))
    if image.status == RunImage.Status.FAILED:
        return _gif_status(run, image, image.error or "the GIF could not be made", 503)
    response = _gif_status(run, image, "The GIF is being made by a worker; ask again in a few seconds.", 202)
    response["Retry-After"] = "3"
    response["Cache-Control"] = "no-store"
    return response


def run_description(run: Run) -> str:
    numbers = pictures.headline(run.summary)
    if numbers:
        return "; ".join(f"{label} {value}" for label, value in numbers)
    return f"A {run.get_mode_display().lower()} run, {run.status}"


@_answer
def run_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The run's link-preview card: the topology and the headline numbers."""
    run = get_object_or_404(Run, slug=slug)
    subtitle = f"{run.get_mode_display()} run · seed {run.seed} · {run.status}"
    if run.template is not None:
        subtitle = f"{run.template.title} · " + subtitle

    def make() -> bytes:
        return pictures.preview_png(run.document, run.title or "Untitled design", subtitle,
                                    pictures.headline(run.summary), footer=_run_link(request, run))

    body = _kept(request, run, "preview", "", make, "image/png")
    return _picture(body, "image/png", cacheable=run.is_terminal, filename=_filename(run, "preview.png"))


def _document_preview(request: HttpRequest, document: dict[str, Any], title: str, subtitle: str, link: str) -> bytes:
    key = "pictures:preview:" + hashlib.sha256(
        jsontext.dumps({"d": document, "t": title, "s": subtitle, "l": link}).encode()).hexdigest()
    body = cache.get(key)
    if body is None:
        body = _render(request, lambda: pictures.preview_png(document, title, subtitle, footer=link))
        cache.set(key, body, PREVIEW_CACHE_S)
    return body


@_answer
def template_preview(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(Template, slug=slug)
    link = request.build_absolute_uri(reverse("template", args=[template.slug]))
    body = _document_preview(request, template.document, template.title, template.summary, link)
    return _picture(body, "image/png", cacheable=False, filename=f"{slugify(template.title)}-preview.png")


@_answer
def design_preview(request: HttpRequest, slug: str) -> HttpResponse:
    design = get_object_or_404(Design, slug=slug)
    document = design.document
    title = design.title or document.get("title") or "Untitled design"
    nodes = len(document.get("nodes", []))
    link = request.build_absolute_uri(reverse("design-editor", args=[design.slug]))
    body = _document_preview(request, document, title, f"A design of {nodes} node{'s' if nodes != 1 else ''}", link)
    return _picture(body, "image/png", cacheable=False, filename=f"{slugify(title) or 'design'}-preview.png")


def sweep_lines(sweep: Sweep) -> list[str]:
    """A sweep's answer in a few lines, for its preview card and its description."""
    result = sweep.result or {}
    lines = []
    if sweep.status != Sweep.Status.DONE:
        lines.append(f"Sweep {sweep.status}: {sweep.cells_done} of {sweep.cells_total} cells done")
    if result.get("answer"):
        lines.append(str(result["answer"]))
    if sweep.target:
        lines.append(f"Target: {sweep.target}")
    axes = ", ".join(str(a.get("param") or a.get("label") or "") for a in (sweep.axes or []) if isinstance(a, dict))
    lines.append(f"{len(result.get('points') or [])} points x {sweep.seeds} seeds" + (f" over {axes}" if axes else ""))
    return [line for line in lines if line]


@_answer
def sweep_preview(request: HttpRequest, slug: str) -> HttpResponse:
    sweep = get_object_or_404(Sweep, slug=slug)
    link = request.build_absolute_uri(reverse("sweep", args=[sweep.slug]))
    key = "pictures:sweep:" + hashlib.sha256(
        f"{sweep.slug}|{sweep.status}|{sweep.cells_done}|{link}".encode()).hexdigest()
    body = cache.get(key)
    if body is None:
        body = _render(request, lambda: pictures.text_preview_png(sweep.title or "Sweep", sweep_lines(sweep),
                                                                   footer=link))
        cache.set(key, body, PREVIEW_CACHE_S)
    return _picture(body, "image/png", cacheable=False, filename=f"sweep-{sweep.slug[:8]}-preview.png")


@_answer
def compare_image(request: HttpRequest) -> HttpResponse:
    """Two runs' throughput and latency charts side by side (``?a=&b=``: links or ids, as Compare)."""
    runs = []
    for letter in ("a", "b"):
        link = request.GET.get(letter, "")
        slug = _slug_from(link) if link else None
        run = Run.objects.filter(slug=slug).first() if slug else None
        if run is None:
            raise BadRequest(404 if link else 400, f"{letter}: no run at that link" if link else f"{letter}: a run's link is required")
        runs.append((letter.upper(), run, _frames(run)))
    link = request.build_absolute_uri(reverse("compare") + f"?a={runs[0][1].slug}&b={runs[1][1].slug}")
    finished = all(run.is_terminal for _, run, _ in runs)
    if finished:
        key = "pictures:compare:" + hashlib.sha256(f"{runs[0][1].slug}|{runs[1][1].slug}|{link}".encode()).hexdigest()
        body = cache.get(key)
        if body is None:
            body = _render(request, lambda: pictures.compare_png(runs, link))
            cache.set(key, body, PARAM_CACHE_S)
    else:
        body = _render(request, lambda: pictures.compare_png(runs, link))
    return _picture(body, "image/png", cacheable=finished, filename=f"compare-{runs[0][1].slug[:8]}-{runs[1][1].slug[:8]}.png")

