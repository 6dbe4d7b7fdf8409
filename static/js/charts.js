// Time-series charts on uPlot, shared by the run page, Compare and sweeps.
//
// A Series chart keeps growing column arrays and redraws at most once per animation frame. What
// it promises a reader:
// - a null in a frame (no request finished, so no latency) is a gap in the line, never a zero
//   and never a line drawn across (spanGaps off; values go in as null);
// - each metric has its colour from metrics-colors.js, whatever the chart;
// - the legend always shows values: those of the player's frame (the latest one while following),
//   or the hovered one while the pointer is on the chart;
// - event markers never overlap: markers closer than their labels' widths are grouped into one
//   labelled with a count, each event's words in the label's tooltip; a label is a button with
//   data-t, so clicking it seeks the player (run-view.js) to that moment.
import uPlot from "uplot";
import { COLORS, colorOf } from "./metrics-colors.js";

export { COLORS as palette };

const HEIGHT = 260;
const MARKER_GAP_PX = 6;     // the least room between two marker labels
const MARKER_MERGE_PX = 24;  // markers closer than this are one marker whatever their labels

function width(el) {
  return Math.max(240, Math.floor(el.clientWidth) - 2);
}

// A number for a legend: a few significant digits, not sixteen.
export function formatValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "none";
  const a = Math.abs(v);
  if (Number.isInteger(v)) return a >= 10000 ? v.toLocaleString("en") : String(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, "") || "0";
}

function specOf(s) {
  return typeof s === "string" ? { label: s, color: colorOf(s) } : s;
}

export class Series {
  // specs: [{label, color, dash?}] (or names of metrics in metrics-colors.js);
  // markers: a function giving [{t, label, detail}] to draw as grouped vertical lines;
  // onSeek: called with a frame index when the plot is clicked.
  constructor(el, specs, { markers = () => [], height = HEIGHT, yLabel = "", xLabel = "simulated seconds", onSeek = null } = {}) {
    this.el = el;
    specs = specs.map(specOf);
    this.columns = [[], ...specs.map(() => [])];
    this.markers = markers;
    this.onSeek = onSeek;
    this.idx = null;          // the player's frame index; null: the last
    this.hovering = false;
    this.pending = false;
    this.height = height;
    const series = [
      { label: "t", value: (u, v) => (v == null ? "" : `${formatValue(v)} s`) },
      ...specs.map((s) => ({
        label: s.label, stroke: s.color, width: s.width || 1.75, dash: s.dash, spanGaps: false,
        points: { show: false }, value: (u, v) => formatValue(v),
      })),
    ];
    const opts = {
      width: width(el), height, series,
      scales: { x: { time: false } },
      axes: [{ label: xLabel, labelSize: 18, size: 40 }, { label: yLabel, size: 56, labelSize: 20 }],
      legend: { live: true },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 6 } },
      hooks: {
        draw: [(u) => { this.drawMarkerLines(u); this.layout(); }],
        setSize: [() => this.layout()],
      },
    };
    this.plot = new uPlot(opts, this.columns, el);
    this.layer = document.createElement("div");
    this.layer.className = "chart-layer";
    this.now = document.createElement("div");
    this.now.className = "chart-now";
    this.now.hidden = true;
    this.labels = document.createElement("div");
    this.labels.className = "chart-markers";
    this.layer.append(this.now, this.labels);
    this.plot.root.querySelector(".u-wrap").appendChild(this.layer);
    const over = this.plot.over;
    over.addEventListener("mouseenter", () => { this.hovering = true; });
    over.addEventListener("mouseleave", () => { this.hovering = false; this.syncLegend(); });
    over.addEventListener("click", () => {
      const i = this.plot.cursor.idx;
      if (this.onSeek && i !== null && i !== undefined) this.onSeek(i);
    });
    let lastWidth = width(el);
    new ResizeObserver(() => {
      const w = width(el);
      if (w !== lastWidth) { lastWidth = w; this.plot.setSize({ width: w, height }); }
    }).observe(el);
  }

  push(t, values) {
    this.columns[0].push(t);
    values.forEach((v, i) => this.columns[i + 1].push(v === undefined || v === null || !Number.isFinite(Number(v)) ? null : Number(v)));
    this.schedule();
  }

  // Replace every column at once (Compare, sweeps).
  setColumns(columns) {
    this.columns = columns;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData(this.columns);
      this.syncLegend();
    });
  }

  // The player's frame: a line on the chart and the legend's values (unless hovered).
  setIndex(idx) {
    this.idx = idx;
    this.syncLegend();
    this.placeNow();
  }

  currentIndex() {
    const n = this.columns[0].length;
    if (!n) return null;
    return this.idx === null ? n - 1 : Math.min(this.idx, n - 1);
  }

  syncLegend() {
    if (this.hovering) return;
    const i = this.currentIndex();
    if (i !== null) this.plot.setLegend({ idx: i });
  }

  placeNow() {
    const i = this.currentIndex();
    const u = this.plot;
    if (i === null || this.idx === null) { this.now.hidden = true; return; }
    const x = u.valToPos(this.columns[0][i], "x");
    this.now.hidden = !Number.isFinite(x);
    this.now.style.left = `${x}px`;
  }

  drawMarkerLines(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = COLORS.marker;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    for (const m of this.markers()) {
      const x = Math.round(u.valToPos(m.t, "x", true));
      if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  // Place the layer over the plot area, then lay the marker labels out without overlap.
  layout() {
    const u = this.plot;
    const over = u.over;
    this.layer.style.left = over.style.left;
    this.layer.style.top = over.style.top;
    this.layer.style.width = over.style.width;
    this.layer.style.height = over.style.height;
    this.placeNow();
    this.layoutMarkers();
  }

  layoutMarkers() {
    const u = this.plot;
    const plotW = u.bbox.width / devicePixelRatio;
    const items = this.markers()
      .map((m) => ({ ...m, x: u.valToPos(m.t, "x") }))
      .filter((m) => Number.isFinite(m.x) && m.x >= -0.5 && m.x <= plotW + 0.5)
      .sort((a, b) => a.x - b.x);
    const key = JSON.stringify([plotW, items.map((m) => [m.t, m.label, Math.round(m.x)])]);
    if (key === this.markerKey) return;
    this.markerKey = key;
    // First pass: markers within MARKER_MERGE_PX of each other are one group.
    const groups = [];
    for (const m of items) {
      const g = groups[groups.length - 1];
      if (g && m.x - g.x1 < MARKER_MERGE_PX) { g.items.push(m); g.x1 = m.x; } else groups.push({ x0: m.x, x1: m.x, items: [m] });
    }
    const render = (g) => {
      if (!g.el) {
        g.el = document.createElement("button");
        g.el.type = "button";
        g.el.className = "chart-marker";
        this.labels.appendChild(g.el);
      }
      const n = g.items.length;
      g.el.textContent = n === 1 ? g.items[0].label : `${n} events`;
      g.el.dataset.count = String(n);
      g.el.dataset.t = String(g.items[0].t);
      const detail = g.items.map((m) => m.detail || m.label).join("\n");
      g.el.title = detail;
      g.el.setAttribute("aria-label", `${n === 1 ? "Event" : `${n} events`}: ${detail.replace(/\n/g, "; ")}. Go to this moment.`);
      g.w = g.el.offsetWidth;
      g.left = Math.max(0, Math.min(plotW - g.w, g.x0 - g.w / 2));
      g.el.style.left = `${g.left}px`;
    };
    this.labels.replaceChildren();
    groups.forEach(render);
    // Second pass: a label that would touch the one before it joins that group.
    for (let i = 1; i < groups.length; i++) {
      const prev = groups[i - 1];
      const g = groups[i];
      if (g.left < prev.left + prev.w + MARKER_GAP_PX) {
        prev.items.push(...g.items);
        prev.x1 = g.x1;
        g.el.remove();
        groups.splice(i, 1);
        render(prev);
        i = Math.max(0, i - 2);  // the grown label may now touch the one before it
      }
    }
  }

  get points() {
    return this.columns[0].length;
  }
}
