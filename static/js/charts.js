// Time-series charts on uPlot, shared by the run page and Compare.
// A Series chart keeps growing column arrays and redraws at most once per animation frame.
import uPlot from "uplot";

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function width(el) {
  return Math.max(280, Math.floor(el.getBoundingClientRect().width) - 8);
}

export class Series {
  // labels: the series' names; markers: a function giving [{t, text}] to draw as vertical lines.
  constructor(el, labels, { markers = () => [], height = 170, yLabel = "" } = {}) {
    this.el = el;
    this.columns = [[], ...labels.map(() => [])];
    this.markers = markers;
    this.pending = false;
    const series = [{ label: "t (s)" }, ...labels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))];
    const opts = {
      width: width(el), height, series,
      scales: { x: { time: false } },
      axes: [{ label: "simulated seconds" }, { label: yLabel, size: 60 }],
      legend: { live: true },
      hooks: { draw: [(u) => this.drawMarkers(u)] },
    };
    this.plot = new uPlot(opts, this.columns, el);
    new ResizeObserver(() => this.plot.setSize({ width: width(el), height })).observe(el);
  }

  push(t, values) {
    this.columns[0].push(t);
    values.forEach((v, i) => this.columns[i + 1].push(v ?? null));
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData(this.columns);
    });
  }

  drawMarkers(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#b3541e";
    ctx.fillStyle = "#b3541e";
    ctx.setLineDash([4, 3]);
    ctx.font = `${Math.round(10 * devicePixelRatio)}px system-ui`;
    for (const m of this.markers()) {
      const x = u.valToPos(m.t, "x", true);
      if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(m.text, x + 3, u.bbox.top + 12 * devicePixelRatio);
    }
    ctx.restore();
  }

  get points() {
    return this.columns[0].length;
  }
}
