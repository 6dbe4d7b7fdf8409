"""A design's topology as a static SVG, drawn on the server from the document's ``layout``.

Terms
-----
layout
    ``{node id: {"x", "y"}}``: the centre of each node, in the editor's coordinates, so the
    gallery's drawing and the editor's canvas agree. A node without a position is placed in a row
    below the others.
box
    Each node is a rounded rectangle of ``BOX_W`` x ``BOX_H`` in its kind's colour (``kinds.py``),
    with its label (or id) and its kind's name. Edges are straight arrows between box borders; an
    asynchronous edge is dashed.

Every text comes from the document, so every text is escaped; the result is safe to insert.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from playground.designs.kinds import KIND_INFO

BOX_W, BOX_H = 150, 46
PAD = 14


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(name: str) -> tuple[str, float]:
    """A compact label and its font size: as large as fits the box (bold glyphs average about 0.6
    of the font size), never below 12 px, cut short if even that does not fit."""
    room = BOX_W - 16
    size = max(12.0, min(19.0, room / (0.6 * max(len(name), 1))))
    return _short(name, int(room / (0.6 * size) + 0.5)), size


def _positions(document: dict[str, Any]) -> dict[str, tuple[float, float]]:
    layout = document.get("layout") or {}
    placed: dict[str, tuple[float, float]] = {}
    missing = []
    for node in document.get("nodes", []):
        spot = layout.get(node["id"])
        if isinstance(spot, dict) and isinstance(spot.get("x"), (int, float)) and isinstance(spot.get("y"), (int, float)):
            placed[node["id"]] = (float(spot["x"]), float(spot["y"]))
        else:
            missing.append(node["id"])
    bottom = max((y for _, y in placed.values()), default=0.0) + (BOX_H + 40 if placed else 0.0)
    for i, node_id in enumerate(missing):
        placed[node_id] = (BOX_W / 2 + i * (BOX_W + 40), bottom)
    return placed


def _border(cx: float, cy: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from a box's centre towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min((BOX_W / 2 + 3) / abs(dx) if dx else math.inf, (BOX_H / 2 + 3) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def topology_svg(document: dict[str, Any], title: str = "", css_class: str = "topology-svg",
                 compact: bool = False) -> SafeString:
    """The SVG of ``document``'s nodes and edges; ``compact`` (for small cards) writes each label
    larger and leaves the kind to the colour and the tooltip."""
    nodes = [n for n in document.get("nodes", []) if isinstance(n, dict) and "id" in n]
    at = _positions(document)
    if not nodes:
        return mark_safe(f'<svg class="{css_class}" viewBox="0 0 200 60" role="img" aria-label="An empty design">'
                         '<text x="100" y="34" text-anchor="middle" class="svg-empty">No nodes</text></svg>')
    xs = [x for x, _ in at.values()]
    ys = [y for _, y in at.values()]
    x0, y0 = min(xs) - BOX_W / 2 - PAD, min(ys) - BOX_H / 2 - PAD
    width, height = max(xs) - min(xs) + BOX_W + 2 * PAD, max(ys) - min(ys) + BOX_H + 2 * PAD
    label = title or document.get("title") or "Topology"
    parts = [
        f'<svg class="{css_class}" viewBox="{x0:.0f} {y0:.0f} {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(_short(str(label), 120))}: '
        f'{escape(", ".join(str(n.get("label") or n["id"]) for n in nodes)[:300])}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a96a6"/></marker></defs>',
    ]
    for edge in document.get("edges", []):
        a, b = at.get(edge.get("from")), at.get(edge.get("to"))
        if a is None or b is None:
            continue
        (x1, y1), (x2, y2) = _border(*a, *b), _border(*b, *a)
        dash = ' stroke-dasharray="5 4"' if edge.get("mode") == "async" else ""
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="svg-edge"{dash} '
                     'marker-end="url(#arrow)"/>')
        calls = edge.get("calls")
        if isinstance(calls, (int, float)) and calls != 1:
            parts.append(f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 5:.1f}" class="svg-calls" '
                         f'text-anchor="middle">×{calls:g}</text>')
    for node in nodes:
        x, y = at[node["id"]]
        info = KIND_INFO.get(node.get("kind", ""), {})
        color = info.get("color", "#5b6675")
        name = str(node.get("label") or node["id"])
        kind = info.get("name", str(node.get("kind", "")))
        count = (node.get("params") or {}).get("instances")
        if node.get("kind") == "service" and isinstance(count, int) and count > 1:
            kind = f"{kind} ×{count}"
        parts.append(
            f'<g class="svg-node" data-kind="{escape(node.get("kind", ""))}">'
            f'<title>{escape(name)} ({escape(info.get("name", node.get("kind", "")))})</title>'
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" height="{BOX_H}" rx="9" '
            f'fill="#fff" stroke="{color}" stroke-width="2"/>'
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="6" height="{BOX_H}" rx="3" fill="{color}"/>'
            + (f'<text x="{x + 3:.1f}" y="{y + 6:.1f}" text-anchor="middle" class="svg-label-lg" '
               f'style="font-size:{_fit(name)[1]:.1f}px">{escape(_fit(name)[0])}</text>' if compact else
               f'<text x="{x + 3:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="svg-label">{escape(_short(name, 19))}</text>'
               f'<text x="{x + 3:.1f}" y="{y + 13:.1f}" text-anchor="middle" class="svg-kind">{escape(_short(kind, 24))}</text>')
            + "</g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
