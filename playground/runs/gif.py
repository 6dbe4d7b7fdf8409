"""The animated GIF of a whole run (``/r/<id>/run.gif``), made once by a worker and kept.

Terms
-----
sampled frames
    ``sample(n)``: at most ``MAX_IMAGES`` (120) of the run's n frames, evenly spaced, the first
    and the last always among them. The GIF has exactly one image per sampled frame, shown
    ``FRAME_MS`` (100 ms) each, so it lasts at most 12 s.
image
    800 x 400 pixels: the topology coloured by the sampled frame's load (``pictures.paint``, the
    drawing code of the topology SVG and PNG) beside the throughput and latency charts drawn up to
    that frame, the simulated time above, and the latest event in words below (each event is shown
    from the first sampled frame at or after it, for ``EVENT_HOLD`` images).
palette
    One palette of at most ``COLORS`` colours for every image, made from a few images spread over
    the run, with no dithering; Pillow's GIF writer with ``optimize`` stores only what changed.

``request(run)`` answers the view: ready, pending (and sends ``runs.render_gif`` to the ``batch``
queue the first time, or again if a message seems lost), or failed. ``render_and_store(run_id)``
is the task's body; it is bounded by the task's soft time limit (``TIME_LIMIT_S``) and by
``MAX_BYTES``, and stores a failure instead of raising.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from playground.celery import app
from playground.runs import pictures, service
from playground.runs.models import Run, RunImage

log = logging.getLogger(__name__)

KIND = "gif"
MAX_IMAGES = 120
FRAME_MS = 100
SIZE = (800, 400)
COLORS = 255
EVENT_HOLD = 12
MAX_BYTES = 5 * 1024 * 1024
TIME_LIMIT_S = 120
#: A pending GIF whose row has not changed for this long is sent to a worker again.
RESEND_AFTER = timedelta(seconds=TIME_LIMIT_S + 60)
TASK = "runs.render_gif"
QUEUE = "batch"


def sample(n: int, limit: int = MAX_IMAGES) -> list[int]:
    """Indices of the frames the GIF shows: all of them up to ``limit``, else ``limit`` evenly
    spaced from the first to the last."""
    if n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})


def render(run: Run, frames: list[dict[str, Any]]) -> bytes:
    """The GIF's bytes: one image per sampled frame."""
    document = run.document
    duration = float(document["scenario"]["duration_s"])
    w, h = SIZE
    fig = pictures.new_figure(w, h)
    title = fig.text(12 / w, 1 - 10 / h, pictures._short(run.title or "Untitled design", 48), ha="left", va="top",
                     fontsize=12, fontweight="bold", color=pictures.INK, family=pictures.FONT)
    clock = fig.text(1 - 12 / w, 1 - 10 / h, "", ha="right", va="top", fontsize=12, color=pictures.INK,
                     family=pictures.FONT)
    del title
    _, _, ew, eh = pictures.topology_extent(document)
    wide = ew / eh > 1.6  # a long row of nodes: the topology across the top, the charts below it
    topo_box = (8, h - 40 - 150, w - 16, 150) if wide else (8, 40, 372, h - 90)  # left, bottom, width, height
    chart_boxes = ([(60, 62, 300, 118), (470, 62, 315, 118)] if wide
                   else [(440, 52 + 160, 345, 118), (440, 52, 345, 118)])
    topo_ax = fig.add_axes((topo_box[0] / w, topo_box[1] / h, topo_box[2] / w, topo_box[3] / h))
    art = pictures.draw_topology(topo_ax, document, px_per_unit=min(topo_box[2] / ew, topo_box[3] / eh))
    charts = {}
    for (left, bottom, width, height), name in zip(chart_boxes, ("throughput", "latency"), strict=True):
        ax = fig.add_axes((left / w, bottom / h, width / w, height / h))
        charts[name] = pictures.draw_chart(ax, pictures.CHARTS[name], document, frames, duration=duration, upto=0,
                                           fontsize=8)
        ax.set_title(pictures.chart_heading(pictures.CHARTS[name]), loc="left", fontsize=9,
                     color=pictures.INK, family=pictures.FONT, pad=16)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, ncol=3, borderaxespad=0.2,
                  prop={"family": pictures.FONT, "size": 7}, handlelength=1.4, columnspacing=0.8)
        charts[name]["ax"] = ax
    event_text = fig.text(12 / w, 12 / h, "", ha="left", va="bottom", fontsize=10, color=pictures.color_of("marker"),
                          family=pictures.FONT)
    label_of = {n["id"]: str(n.get("label") or n["id"]) for n in document.get("nodes", [])}.get
    events = pictures.marker_events(frames)
    images: list[Image.Image] = []
    shown = 0  # events already marked on the charts
    latest: tuple[int, str] | None = None  # (image index it appeared at, its words)
    for k, i in enumerate(sample(len(frames))):
        frame = frames[i]
        pictures.paint(art, frame)
        for chart in charts.values():
            for artist, values in chart["lines"].values():
                artist.set_data(chart["ts"][: i + 1], values[: i + 1])
        while shown < len(events) and events[shown]["t"] <= frame["t"] + 1e-9:
            e = events[shown]
            for chart in charts.values():
                chart["ax"].axvline(e["t"], color=pictures.color_of("marker"), linewidth=0.8, linestyle=(0, (3, 2)))
            latest = (k, f"{pictures.format_t(e['t'])}: {pictures.describe_event(e, lambda n: label_of(n, n))}")
            shown += 1
        event_text.set_text(latest[1] if latest and k - latest[0] < EVENT_HOLD else "")
        clock.set_text(f"t = {pictures.format_t(frame['t'])} of {pictures.format_t(duration)}")
        fig.canvas.draw()
        images.append(Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba(), "raw",
                                       "RGBA", 0, 1).convert("RGB"))
    if not images:
        raise ValueError("the run has no frames to draw")
    palette = _palette(images)
    quantized = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    buffer = io.BytesIO()
    quantized[0].save(buffer, format="GIF", save_all=True, append_images=quantized[1:], duration=FRAME_MS, loop=0,
                      optimize=True, disposal=1)
    return buffer.getvalue()


def _palette(images: list[Image.Image]) -> Image.Image:
    """One palette for every image, from a few spread over the run (the last has the most drawn)."""
    picks = [images[j] for j in sorted({0, len(images) // 3, 2 * len(images) // 3, len(images) - 1})]
    strip = Image.new("RGB", (picks[0].width, picks[0].height * len(picks)))
    for j, image in enumerate(picks):
        strip.paste(image, (0, j * image.height))
    palette = strip.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    # Median cut averages the white background with the anti-aliased pixels next to it: the
    # lightest entry is made pure white again.
    entries = palette.getpalette()[: 3 * COLORS]
    lightest = max(range(len(entries) // 3), key=lambda j: sum(entries[3 * j: 3 * j + 3]))
    entries[3 * lightest: 3 * lightest + 3] = [255, 255, 255]
    palette.putpalette(entries)
    return palette


def _store(run_id: int, **fields: Any) -> None:
    RunImage.objects.update_or_create(run_id=run_id, kind=KIND, defaults=fields)


def render_and_store(run_id: int) -> str:
    """The task's body: make the run's GIF and keep it, or keep why it could not be made."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return "gone"
    try:
        frames = service.frames_after(run, 0, limit=pictures.MAX_FRAMES)
        data = render(run, frames)
        if len(data) > MAX_BYTES:
            raise ValueError(f"the GIF came out at {len(data) / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit")
    except SoftTimeLimitExceeded:
        _store(run_id, status=RunImage.Status.FAILED, content=b"", error=f"making the GIF took longer than {TIME_LIMIT_S} s")
        return "failed"
    except Exception as exc:  # any failure is kept and told, never a 500
        log.exception("run %s: the GIF could not be made", run.slug)
        _store(run_id, status=RunImage.Status.FAILED, content=b"", error=f"the GIF could not be made: {exc}")
        return "failed"
    _store(run_id, status=RunImage.Status.READY, content=data, content_type="image/gif", error="")
    return "ready"


def send(run: Run) -> None:
    def go() -> None:
        try:
            app.send_task(TASK, (run.pk,), queue=QUEUE, soft_time_limit=TIME_LIMIT_S, time_limit=TIME_LIMIT_S + 30)
        except Exception:  # Redis away: the row stays pending and is sent again after RESEND_AFTER
            log.warning("run %s: could not send the GIF task now", run.slug, exc_info=True)

    transaction.on_commit(go)


def request(run: Run) -> RunImage:
    """The run's GIF row as it stands, after asking a worker for it if nobody has (or the message
    seems lost). Only for a finished run."""
    image = RunImage.objects.filter(run=run, kind=KIND).first()
    if image is None:
        try:
            with transaction.atomic():
                image = RunImage.objects.create(run=run, kind=KIND, status=RunImage.Status.PENDING,
                                                content_type="image/gif")
        except IntegrityError:  # another request made it first
            return RunImage.objects.get(run=run, kind=KIND)
        send(run)
    elif image.status == RunImage.Status.PENDING and timezone.now() - image.updated_at > RESEND_AFTER:
        RunImage.objects.filter(pk=image.pk).update(updated_at=timezone.now())
        send(run)
    return image
