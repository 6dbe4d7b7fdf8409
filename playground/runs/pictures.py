"""Pictures of a run: the topology (SVG and PNG, optionally coloured by load at a moment), the
run page's charts as PNG, link-preview images, and the pieces the animated GIF (``gif.py``) is
made of. Everything is drawn with matplotlib's Agg renderer (no display, no pyplot: each picture
is its own ``Figure``), so PNG, SVG and the GIF's frames come from the same drawing code.

Terms
-----
scene
    The topology as drawn: every node's box at the centre ``designs.drawing`` gives it (the
    document's ``layout``, the site's gallery drawing), its kind's colour from ``designs.kinds``,
    its label and kind's name, and the edges as arrows between box borders (dashed when
    asynchronous). ``draw_topology`` puts a scene on an ``Axes``; ``paint`` colours its nodes by
    one frame's load (the GIF calls it once per image).
load colour
    A node's fill at a moment: its utilization from green (idle) through amber to red
    (saturated), as the run page's topology does (``run-view.js`` ``loadColour``); a node with
    no instance up is grey, its label struck through, and says "down".
chart
    One of ``CHARTS``: the run page's six charts (``charts.js``/``run-view.js``), the same series
    and colours (read from ``static/js/metrics-colors.js``, the site's one table of metric
    colours). A null in a frame is a gap in its line. Event markers are dashed lines, their labels
    grouped when closer than ``MARKER_MERGE_PX`` or when their labels would touch.
"""

from __future__ import annotations

import colorsys
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from django.conf import settings
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.text import Text

from playground.designs.drawing import BOX_H, BOX_W, _border, _positions, _short
from playground.designs.kinds import KIND_INFO

# --- limits -------------------------------------------------------------------------------------
#: Nodes drawn at most (the engine allows 200); the rest are left out and the picture says so.
MAX_NODES = 200
#: Frames drawn at most on a chart (a run has at most RUN_MAX_FRAMES, 3,600).
MAX_FRAMES = 3600
#: A chart's default size in pixels, and the bounds of ``?w=`` and ``?h=``.
CHART_SIZE = (1200, 600)
WIDTH_BOUNDS = (400, 2400)
HEIGHT_BOUNDS = (300, 1600)
#: The longest side of a topology picture, in pixels.
TOPOLOGY_MAX_PX = 1600
#: Link previews: the size Open Graph and Twitter cards show best.
PREVIEW_SIZE = (1200, 630)
DPI = 100

MARKER_GAP_PX = 6
MARKER_MERGE_PX = 24

INK = "#1b2430"
MUTED = "#5b6675"
GRID = "#e3e7ec"
EDGE = "#8a96a6"
DOWN_FILL = "#c9ced4"
FAILING = "#c0392b"
FONT = "DejaVu Sans"  # ships with matplotlib, so every machine draws the same glyphs (× … included)


# --- the site's metric colours ----------------------------------------------------------------------
_COLORS_JS = Path(settings.BASE_DIR) / "static" / "js" / "metrics-colors.js"


def _read_colors() -> dict[str, str]:
    """The site's one table of metric colours (``metrics-colors.js``' ``COLORS``), so a PNG's
    lines have the run page's colours."""
    text = _COLORS_JS.read_text()
    block = text[text.index("COLORS = Object.freeze({"):]
    block = block[: block.index("});")]
    return dict(re.findall(r'^\s*(\w+):\s*"(#[0-9a-fA-F]{6})"', block, flags=re.M))


COLORS = _read_colors()
CAUSES = ("overload", "timeout", "unavailable", "session_lost", "upload_failed", "error")


def color_of(name: str) -> str:
    return COLORS.get(name, MUTED)


# --- words, as the run page has them (events-text.js) --------------------------------------------
def _num(v: Any) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def format_t(t: float) -> str:
    return f"{_num(t)} s"


def short_event(e: dict[str, Any]) -> str:
    """A few words for a chart marker (``events-text.js`` ``shortEvent``)."""
    action = str(e.get("action") or "event")
    words = {
        "traffic": f"traffic ×{_num(e.get('multiplier', 1))}", "kill_instance": "kill", "rolling_deploy": "deploy",
        "scale": "scale", "autoscale": "autoscale", "outage": "outage", "outage_end": "back", "slowdown": "slow",
        "slowdown_end": "speed back", "flush_cache": "flush",
    }
    return words.get(action, action.replace("_", " "))


def describe_event(e: dict[str, Any], label_of: Callable[[str], str] = str) -> str:
    """An event in a sentence (``events-text.js`` ``describeEvent``, the common actions)."""
    node = label_of(e["node"]) if e.get("node") else ""
    action = e.get("action")
    n = e.get("count", 1)
    if action == "traffic":
        ramp = float(e.get("ramp_s") or 0)
        return f"Traffic set to ×{_num(e.get('multiplier', 1))}" + (f" over {_num(ramp)} s" if ramp > 0 else "")
    if action == "kill_instance":
        return f"Kill {n} instance{'s' if n != 1 else ''} of {node}"
    if action == "rolling_deploy":
        return f"Rolling deploy of {node}"
    if action in ("scale", "autoscale"):
        return f"{'Scale' if action == 'scale' else 'Autoscaler sets'} {node} to {e.get('instances')} instances"
    if action == "outage":
        return f"{node} unreachable for {_num(e.get('duration_s', 0))} s"
    if action == "outage_end":
        return f"{node} reachable again"
    if action == "slowdown":
        return f"{node} slowed down {_num(e.get('factor', 1))}× for {_num(e.get('duration_s', 0))} s"
    if action == "slowdown_end":
        return f"{node} back to normal speed"
    if action == "flush_cache":
        return f"{node} flushed: every key is cold"
    what = str(action or "event").replace("_", " ")
    return what[:1].upper() + what[1:] + (f" on {node}" if node else "")


def marker_events(frames: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events a chart marks: the operations, not the instance life they cause (as the run
    page's charts)."""
    return [e for f in frames for e in (f.get("events") or []) if not str(e.get("action", "")).startswith("instance_")]


# --- load colours -----------------------------------------------------------------------------------
def load_colour(utilization: float | None) -> str:
    """Idle green through busy amber to saturated red (``run-view.js`` ``loadColour``)."""
    x = max(0.0, min(1.0, float(utilization or 0)))
    hue, light = (150 - 150 * x) / 360, (88 - 30 * x) / 100
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.55)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def frame_at(frames: Sequence[dict[str, Any]], t: float) -> dict[str, Any] | None:
    """The frame whose tick covers ``t``: the first whose end time is at or after it."""
    for frame in frames:
        if frame["t"] >= t - 1e-9:
            return frame
    return None


# --- the topology ---------------------------------------------------------------------------------
@dataclass
class NodeArt:
    id: str
    label: str
    kind: str
    box: FancyBboxPatch
    name: Text
    kind_text: Text
    strike: Line2D


@dataclass
class Topology:
    """What ``draw_topology`` drew, for ``paint``."""

    nodes: dict[str, NodeArt] = field(default_factory=dict)
    extent: tuple[float, float, float, float] = (0, 0, 1, 1)  # x0, y0, width, height in layout px
    left_out: int = 0


def _nodes_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in document.get("nodes", []) if isinstance(n, dict) and "id" in n][:MAX_NODES]


def topology_extent(document: dict[str, Any]) -> tuple[float, float, float, float]:
    """The drawing's box in layout pixels (``drawing.topology_svg``'s viewBox)."""
    nodes = _nodes_of(document)
    at = _positions({**document, "nodes": nodes})
    if not at:
        return (0.0, 0.0, 200.0, 60.0)
    xs = [x for x, _ in at.values()]
    ys = [y for _, y in at.values()]
    pad = 14
    return (min(xs) - BOX_W / 2 - pad, min(ys) - BOX_H / 2 - pad,
            max(xs) - min(xs) + BOX_W + 2 * pad, max(ys) - min(ys) + BOX_H + 2 * pad)


def kind_words(node: dict[str, Any]) -> str:
    info = KIND_INFO.get(node.get("kind", ""), {})
    words = info.get("name", str(node.get("kind", "")))
    count = (node.get("params") or {}).get("instances")
    if node.get("kind") == "service" and isinstance(count, int) and count > 1:
        words = f"{words} ×{count}"
    return words


def draw_topology(ax: Axes, document: dict[str, Any], *, px_per_unit: float) -> Topology:
    """Draw the design on ``ax`` at ``designs.drawing``'s positions. ``px_per_unit`` is how many
    output pixels one layout pixel takes, so the text keeps its size relative to the boxes."""
    all_nodes = [n for n in document.get("nodes", []) if isinstance(n, dict) and "id" in n]
    nodes = all_nodes[:MAX_NODES]
    at = _positions({**document, "nodes": nodes})
    x0, y0, width, height = topology_extent(document)
    ax.set_xlim(x0, x0 + width)
    ax.set_ylim(y0 + height, y0)  # the layout's y grows downwards, as in SVG
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    pt = px_per_unit * 72 / DPI  # points per layout pixel
    art = Topology(extent=(x0, y0, width, height), left_out=len(all_nodes) - len(nodes))
    if not nodes:
        ax.text(x0 + width / 2, y0 + height / 2, "No nodes", ha="center", va="center", color=MUTED,
                fontsize=14 * pt, family=FONT)
        return art
    for edge in document.get("edges", []):
        a, b = at.get(edge.get("from")), at.get(edge.get("to"))
        if a is None or b is None:
            continue
        (x1, y1), (x2, y2) = _border(*a, *b), _border(*b, *a)
        ax.add_patch(FancyArrowPatch(
            (x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=12 * pt, color=EDGE,
            linewidth=max(0.6, 1.5 * pt), linestyle=(0, (5, 4)) if edge.get("mode") == "async" else "-",
            shrinkA=0, shrinkB=0, zorder=1,
        ))
        calls = edge.get("calls")
        if isinstance(calls, (int, float)) and calls != 1:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2 - 5, f"×{calls:g}", ha="center", va="bottom", color=MUTED,
                    fontsize=11 * pt, family=FONT, zorder=2)
    for node in nodes:
        x, y = at[node["id"]]
        color = KIND_INFO.get(node.get("kind", ""), {}).get("color", MUTED)
        label = str(node.get("label") or node["id"])
        box = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=9",
                             facecolor="#ffffff", edgecolor=color, linewidth=2 * pt, zorder=3)
        box.set_gid(f"node-{node['id']}")
        ax.add_patch(box)
        ax.add_patch(Rectangle((x - BOX_W / 2, y - BOX_H / 2), 6, BOX_H, facecolor=color, edgecolor="none", zorder=4))
        name = ax.text(x + 3, y - 3, _short(label, 19), ha="center", va="baseline", color=INK, fontsize=13 * pt,
                       fontweight="bold", family=FONT, zorder=5)
        name.set_gid(f"label-{node['id']}")
        kind = ax.text(x + 3, y + 13, _short(kind_words(node), 24), ha="center", va="baseline", color=MUTED,
                       fontsize=11 * pt, family=FONT, zorder=5)
        strike = Line2D([x - BOX_W / 2 + 14, x + BOX_W / 2 - 8], [y - 7, y - 7], color=INK, linewidth=1.5 * pt,
                        zorder=6, visible=False)
        ax.add_line(strike)
        art.nodes[node["id"]] = NodeArt(node["id"], label, kind_words(node), box, name, kind, strike)
    if art.left_out:
        ax.text(x0 + width - 4, y0 + height - 4, f"{art.left_out} more nodes not drawn", ha="right", va="bottom",
                color=MUTED, fontsize=11 * pt, family=FONT)
    return art


def paint(art: Topology, frame: dict[str, Any] | None) -> None:
    """Colour every node by its load in ``frame`` (white and its kind when ``frame`` is None)."""
    for node_id, node in art.nodes.items():
        stats = (frame or {}).get("nodes", {}).get(node_id) if frame else None
        if stats is None:
            node.box.set_facecolor("#ffffff")
            node.kind_text.set_text(_short(node.kind, 24))
            node.kind_text.set_color(MUTED)
            node.strike.set_visible(False)
            node.name.set_color(INK)
            continue
        down = stats.get("up") == 0 and not stats.get("starting")
        failing = sum((stats.get("errors") or {}).values()) > 0
        node.box.set_facecolor(DOWN_FILL if down else load_colour(stats.get("utilization")))
        if failing:
            node.box.set_edgecolor(FAILING)
        busy = "down" if down else f"{round(100 * float(stats.get('utilization') or 0))}% busy"
        node.kind_text.set_text(_short(f"{node.kind} · {busy}", 26))
        node.kind_text.set_color(INK)  # readable on a coloured fill
        node.strike.set_visible(down)
        node.name.set_color(MUTED if down else INK)


def topology_size(document: dict[str, Any], longest: int = TOPOLOGY_MAX_PX) -> tuple[int, int, float]:
    """The picture's size in pixels and the pixels per layout pixel: the layout at 1:1 (at least
    600 px wide so a small design is legible), shrunk to fit ``longest``."""
    _, _, width, height = topology_extent(document)
    scale = min(max(1.0, 600 / width), longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale)) + 40, scale


def topology_figure(document: dict[str, Any], frame: dict[str, Any] | None = None, caption: str = "") -> Figure:
    w, h, scale = topology_size(document)
    fig = new_figure(w, h)
    ax = fig.add_axes((0, 0, 1, (h - 40) / h))
    art = draw_topology(ax, document, px_per_unit=scale)
    paint(art, frame)
    fig.text(10 / w, 1 - 12 / h, caption, ha="left", va="top", fontsize=12, color=INK, family=FONT)
    return fig


def new_figure(w: int, h: int) -> Figure:
    """A white figure of w x h pixels on its own Agg canvas (no pyplot, no global state, so
    workers' threads can draw at once)."""
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, facecolor="#ffffff")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes. SVG keeps its text as text (so labels can be searched and
    read), in the DejaVu Sans it was laid out with."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "playground"}):
        fig.savefig(buffer, format=fmt, dpi=DPI, facecolor=fig.get_facecolor(),
                    metadata={"Software": None} if fmt == "png" else {"Date": None})
    return buffer.getvalue()


def topology_picture(document: dict[str, Any], fmt: str, frame: dict[str, Any] | None = None,
                     caption: str = "") -> bytes:
    return save(topology_figure(document, frame, caption), fmt)


# --- charts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    label: str
    color: str
    value: Callable[[dict[str, Any]], Any]
    width: float = 1.75
    dash: tuple[int, int] | None = None


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    unit: str
    lines: Callable[[dict[str, Any], Sequence[dict[str, Any]]], list[Line]]


def _fleet(document: dict[str, Any]) -> set[str]:
    return {n["id"] for n in document.get("nodes", []) if n.get("kind") in ("service", "serverless")}


def _fleet_sum(document: dict[str, Any], key: str) -> Callable[[dict[str, Any]], float]:
    fleet = _fleet(document)
    return lambda f: sum((n.get(key) or 0) for i, n in (f.get("nodes") or {}).items() if i in fleet)


def _get(*path: str) -> Callable[[dict[str, Any]], Any]:
    def value(frame: dict[str, Any]) -> Any:
        v: Any = frame
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        return v
    return value


def _error_lines(document: dict[str, Any], frames: Sequence[dict[str, Any]]) -> list[Line]:
    """The six causes the run page draws, then any other cause (the resilience extensions') that
    happened, so the picture hides no error."""
    others = sorted({c for f in frames for c, v in (f.get("errors") or {}).items() if v and c not in CAUSES})
    return [Line(c.replace("_", " "), color_of(c), _cause(c)) for c in (*CAUSES, *others)]


def _cause(cause: str) -> Callable[[dict[str, Any]], float]:
    return lambda frame: (frame.get("errors") or {}).get(cause) or 0


CHARTS: dict[str, Chart] = {chart.name: chart for chart in (
    Chart("throughput", "Throughput", "requests/s", lambda d, fr: [
        Line("offered", color_of("offered"), _get("offered_rps"), dash=(5, 4)),
        Line("ok", color_of("ok"), _get("ok_rps"), width=2.25),
        Line("attempts", color_of("attempts"), _get("attempts_rps"))]),
    Chart("latency", "Latency of successes", "ms", lambda d, fr: [
        Line(p, color_of(p), _get("latency_ms", p)) for p in ("p50", "p95", "p99")]),
    Chart("errors", "Errors by cause", "errors/s", _error_lines),
    Chart("state", "Users logged out, duplicate charges, failed uploads", "per s", lambda d, fr: [
        Line("logged out", color_of("logged_out"), _get("users", "logged_out")),
        Line("duplicate charges", color_of("duplicate"), _get("charges", "duplicate")),
        Line("failed uploads", color_of("upload_failures"), _get("uploads", "failed"))]),
    Chart("instances", "Instances up and starting", "instances", lambda d, fr: [
        Line("up", color_of("up"), _fleet_sum(d, "up")),
        Line("starting", color_of("starting"), _fleet_sum(d, "starting"))]),
    Chart("cost", "Cost", "$/hour", lambda d, fr: [Line("$/hour", color_of("cost"), _get("cost_per_hour"))]),
)}


def _number(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def series(chart: Chart, document: dict[str, Any], frames: Sequence[dict[str, Any]]) -> tuple[list[float], list[tuple[Line, list[float]]]]:
    """The chart's x (t) and each line's values, a null as NaN (a gap)."""
    frames = frames[:MAX_FRAMES]
    ts = [float(f["t"]) for f in frames]
    return ts, [(line, [_number(line.value(f)) for f in frames]) for line in chart.lines(document, frames)]


def group_markers(events: Sequence[dict[str, Any]], x_of: Callable[[float], float],
                  width_of: Callable[[str], float], plot_w: float) -> list[dict[str, Any]]:
    """Marker labels that never overlap (``charts.js`` ``layoutMarkers``): events within
    ``MARKER_MERGE_PX`` are one group, then a label that would touch the one before it joins it.
    Each group: ``{"x", "left", "w", "text", "items"}`` in pixels."""
    items = sorted(({"t": float(e["t"]), "x": x_of(float(e["t"])), "e": e} for e in events), key=lambda m: m["x"])
    items = [m for m in items if -0.5 <= m["x"] <= plot_w + 0.5]
    groups: list[dict[str, Any]] = []
    for m in items:
        if groups and m["x"] - groups[-1]["x1"] < MARKER_MERGE_PX:
            groups[-1]["items"].append(m)
            groups[-1]["x1"] = m["x"]
        else:
            groups.append({"x0": m["x"], "x1": m["x"], "items": [m]})

    def place(g: dict[str, Any]) -> None:
        n = len(g["items"])
        g["text"] = short_event(g["items"][0]["e"]) if n == 1 else f"{n} events"
        g["w"] = width_of(g["text"]) + 8
        g["left"] = max(0.0, min(plot_w - g["w"], g["x0"] - g["w"] / 2))

    for g in groups:
        place(g)
    i = 1
    while i < len(groups):
        prev, g = groups[i - 1], groups[i]
        if g["left"] < prev["left"] + prev["w"] + MARKER_GAP_PX:
            prev["items"].extend(g["items"])
            prev["x1"] = g["x1"]
            del groups[i]
            place(prev)
            i = max(1, i - 1)
        else:
            i += 1
    return groups


def draw_chart(ax: Axes, chart: Chart, document: dict[str, Any], frames: Sequence[dict[str, Any]], *,
               duration: float, upto: int | None = None, fontsize: float = 10) -> dict[str, Any]:
    """The chart's lines on ``ax`` (the first ``upto`` frames, all by default), x over the whole
    run. Returns the line artists by label and each full column, for the GIF to grow them."""
    ts, columns = series(chart, document, frames)
    n = len(ts) if upto is None else upto
    drawn = {}
    top = 0.0
    for line, values in columns:
        (artist,) = ax.plot(ts[:n], values[:n], color=line.color, linewidth=line.width, label=line.label,
                            linestyle=(0, line.dash) if line.dash else "-", solid_capstyle="butt",
                            zorder=3 if line.dash else 2)  # a dashed line stays visible over a solid one
        drawn[line.label] = (artist, values)
        finite = [v for v in values if not math.isnan(v)]
        top = max(top, max(finite, default=0.0))
    ax.set_xlim(0, duration)
    ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#b8c0ca")
    ax.tick_params(labelsize=fontsize * 0.9, colors=MUTED)
    return {"ts": ts, "lines": drawn}


def chart_heading(chart: Chart) -> str:
    return chart.title if chart.unit in chart.title.lower() else f"{chart.title} ({chart.unit})"


def _fit_width(fig: Figure, text: Text, room: float, smallest: float = 9) -> None:
    """Shrink a text's font, then cut it short with an ellipsis, until it fits ``room`` pixels."""
    renderer = fig.canvas.get_renderer()
    while text.get_window_extent(renderer).width > room and text.get_fontsize() > smallest:
        text.set_fontsize(text.get_fontsize() - 1)
    words = text.get_text()
    while text.get_window_extent(renderer).width > room and len(words) > 4:
        words = words[:-2]
        text.set_text(words + "…")


def _footer(run: Any, link: str) -> tuple[str, str]:
    return (f"{_short(run.title or 'Untitled design', 60)} · seed {run.seed} · engine {run.engine_version}", link)


def chart_png(run: Any, frames: Sequence[dict[str, Any]], name: str, link: str,
              size: tuple[int, int] = CHART_SIZE) -> bytes:
    """The run page's chart ``name`` as a PNG of ``size`` pixels: title, axes with units, event
    markers, gaps where frames hold null, a legend and a footer naming the run and its link."""
    chart = CHARTS[name]
    document = run.document
    w, h = size
    duration = float(document["scenario"]["duration_s"])
    fig = new_figure(w, h)
    left, right, top, bottom = 78, 24, 74, 112  # pixels: y ticks; right margin; title + markers; x axis, legend, footer
    ax = fig.add_axes((left / w, bottom / h, (w - left - right) / w, (h - top - bottom) / h))
    drawn = draw_chart(ax, chart, document, frames, duration=duration)
    ax.set_xlabel("simulated time (s)", fontsize=10, color=MUTED, family=FONT)
    ax.set_ylabel(chart.unit, fontsize=10, color=MUTED, family=FONT)
    heading = fig.text(left / w, 1 - 14 / h, chart_heading(chart), ha="left", va="top", fontsize=15,
                       fontweight="bold", color=INK, family=FONT)
    _fit_width(fig, heading, w - left - 10)
    if not drawn["ts"]:
        ax.text(0.5, 0.5, "No frames yet", transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=13)
    if name == "latency" and any(math.isnan(v) for _, values in drawn["lines"].values() for v in values):
        ax.text(1, 1.005, "gaps: no request finished", transform=ax.transAxes, ha="right", va="bottom",
                color=MUTED, fontsize=8.5, family=FONT)
    _markers(fig, ax, marker_events(frames), plot_px=(w - left - right, h - top - bottom))
    handles = [artist for artist, _ in drawn["lines"].values()]
    fig.legend(handles=handles, labels=[a.get_label() for a in handles], loc="lower center",
               bbox_to_anchor=(0.5, 30 / h), ncol=min(len(handles), 8), frameon=False, fontsize=10,
               handlelength=2.6, prop={"family": FONT, "size": 10})
    text, url = _footer(run, link)
    fig.add_artist(Line2D([0, 1], [26 / h, 26 / h], color=GRID, linewidth=1, transform=fig.transFigure))
    fig.text(12 / w, 8 / h, text, ha="left", va="bottom", fontsize=9, color=MUTED, family=FONT)
    fig.text(1 - 12 / w, 8 / h, url, ha="right", va="bottom", fontsize=9, color=MUTED, family=FONT)
    return save(fig, "png")


def _markers(fig: Figure, ax: Axes, events: list[dict[str, Any]], plot_px: tuple[float, float],
             fontsize: float = 8.5) -> list[dict[str, Any]]:
    """Dashed lines at each event and grouped labels above the plot that never overlap."""
    if not events:
        return []
    renderer = fig.canvas.get_renderer()
    x0, x1 = ax.get_xlim()
    plot_w = plot_px[0]

    def x_of(t: float) -> float:
        return (t - x0) / (x1 - x0) * plot_w if x1 > x0 else 0.0

    def width_of(text: str) -> float:
        probe = fig.text(0, 0, text, fontsize=fontsize, family=FONT)
        width = probe.get_window_extent(renderer).width
        probe.remove()
        return width

    groups = group_markers(events, x_of, width_of, plot_w)
    for t in sorted({float(e["t"]) for e in events}):
        ax.axvline(t, color=color_of("marker"), linewidth=1, linestyle=(0, (4, 3)), zorder=1)
    for g in groups:
        ax.annotate(g["text"], xy=((g["left"] + g["w"] / 2) / plot_w, 1.0), xycoords="axes fraction",
                    xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=fontsize,
                    color=color_of("marker"), family=FONT,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "#fff7f0", "edgecolor": color_of("marker"),
                          "linewidth": 0.8})
    return groups


# --- link previews ------------------------------------------------------------------------------------
def _fmt(v: Any, digits: int = 0, unit: str = "") -> str:
    if v is None:
        return "none"
    x = float(v)
    text = f"{x:,.{digits}f}" if abs(x) < 1e6 else f"{x:,.0f}"
    return f"{text}{unit}"


def headline(summary: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The run's headline numbers for its preview: p99, errors, throughput, cost."""
    if not summary:
        return []
    requests = summary.get("requests") or 0
    errors = sum((summary.get("errors") or {}).values())
    share = 100 * errors / requests if requests else 0.0
    p99 = (summary.get("latency_ms") or {}).get("p99")
    return [
        ("p99 latency", _fmt(p99, 0 if (p99 or 0) >= 100 else 1, " ms")),
        ("errors", f"{share:.1f}%" if share < 10 else f"{share:.0f}%"),
        ("throughput", _fmt(summary.get("throughput_rps"), 0, " req/s")),
        ("cost", "$" + _fmt((summary.get("cost") or {}).get("per_hour"), 2, "/hour")),
    ]


def preview_png(document: dict[str, Any], title: str, subtitle: str = "",
                numbers: Sequence[tuple[str, str]] = (), frame: dict[str, Any] | None = None,
                footer: str = "") -> bytes:
    """A link-preview card (1200 x 630): the title, the topology, and beside it the headline
    numbers when there are any."""
    w, h = PREVIEW_SIZE
    fig = new_figure(w, h)
    fig.text(40 / w, 1 - 34 / h, _short(title or "Untitled design", 52), ha="left", va="top", fontsize=30,
             fontweight="bold", color=INK, family=FONT)
    if subtitle:
        fig.text(40 / w, 1 - 88 / h, _short(subtitle, 95), ha="left", va="top", fontsize=15, color=MUTED, family=FONT)
    side = 380 if numbers else 0
    top_px, bottom_px = 130, 60
    ax = fig.add_axes((30 / w, bottom_px / h, (w - 60 - side) / w, (h - top_px - bottom_px) / h))
    _, _, ew, eh = topology_extent(document)
    scale = min((w - 60 - side) / ew, (h - top_px - bottom_px) / eh)
    art = draw_topology(ax, document, px_per_unit=scale)
    paint(art, frame)
    for i, (label, value) in enumerate(numbers):
        y = 1 - (top_px + 20 + i * 105) / h
        fig.text((w - side + 10) / w, y, label, ha="left", va="top", fontsize=15, color=MUTED, family=FONT)
        fig.text((w - side + 10) / w, y - 28 / h, value, ha="left", va="top", fontsize=30, fontweight="bold",
                 color=INK, family=FONT)
    fig.add_artist(Rectangle((0, 0), 1, 8 / h, transform=fig.transFigure, facecolor=color_of("ok"), edgecolor="none"))
    fig.text(40 / w, 24 / h, footer or "System Design Playground", ha="left", va="bottom", fontsize=13, color=MUTED,
             family=FONT)
    return save(fig, "png")


def text_preview_png(title: str, lines: Sequence[str], footer: str = "") -> bytes:
    """A preview card with a title and a few lines of text (a sweep's answer)."""
    w, h = PREVIEW_SIZE
    fig = new_figure(w, h)
    fig.text(40 / w, 1 - 40 / h, _short(title or "Sweep", 52), ha="left", va="top", fontsize=30, fontweight="bold",
             color=INK, family=FONT)
    for i, line in enumerate(lines[:8]):
        fig.text(40 / w, 1 - (130 + i * 50) / h, _short(line, 80), ha="left", va="top", fontsize=20,
                 color=INK if i == 0 else MUTED, family=FONT)
    fig.add_artist(Rectangle((0, 0), 1, 8 / h, transform=fig.transFigure, facecolor=color_of("ok"), edgecolor="none"))
    fig.text(40 / w, 24 / h, footer or "System Design Playground", ha="left", va="bottom", fontsize=13, color=MUTED,
             family=FONT)
    return save(fig, "png")


# --- compare -------------------------------------------------------------------------------------------
def compare_png(runs: Sequence[tuple[str, Any, Sequence[dict[str, Any]]]], link: str,
                size: tuple[int, int] = (1600, 900)) -> bytes:
    """Two runs' main charts side by side: throughput above latency, one column per run, the same
    y scale in each row so the columns can be compared by eye."""
    w, h = size
    fig = new_figure(w, h)
    fig.text(30 / w, 1 - 14 / h, "Compare", ha="left", va="top", fontsize=16, fontweight="bold", color=INK,
             family=FONT)
    col_w = (w - 60) / len(runs)
    rows = ("throughput", "latency")
    row_h = (h - 120 - 70) / len(rows)
    axes: dict[str, list[Axes]] = {name: [] for name in rows}
    for c, (letter, run, frames) in enumerate(runs):
        left = 30 + c * col_w + 60
        fig.text(left / w, 1 - 48 / h, f"{letter}: {_short(run.title or 'Untitled design', 50)} (seed {run.seed})",
                 ha="left", va="top", fontsize=12, fontweight="bold", color=INK, family=FONT)
        for r, name in enumerate(rows):
            bottom = 70 + (len(rows) - 1 - r) * row_h + 40
            ax = fig.add_axes((left / w, bottom / h, (col_w - 90) / w, (row_h - 70) / h))
            draw_chart(ax, CHARTS[name], run.document, frames, duration=float(run.document["scenario"]["duration_s"]))
            ax.set_title(chart_heading(CHARTS[name]), loc="left", fontsize=11, color=INK,
                         family=FONT)
            ax.legend(loc="upper right", fontsize=8.5, frameon=True, framealpha=0.85, prop={"family": FONT, "size": 8.5})
            if r == len(rows) - 1:
                ax.set_xlabel("simulated time (s)", fontsize=9.5, color=MUTED, family=FONT)
            axes[name].append(ax)
    for name in rows:  # one y scale per row
        top = max(ax.get_ylim()[1] for ax in axes[name])
        for ax in axes[name]:
            ax.set_ylim(0, top)
    fig.text(30 / w, 10 / h, link, ha="left", va="bottom", fontsize=9, color=MUTED, family=FONT)
    return save(fig, "png")
