// The sweep page: knee curves (a metric's mean against the swept value, with its 95% band), the
// target's thresholds as dashed lines, and a click on a point opening a run of it.
import uPlot from "uplot";
import { colorOf, COLORS } from "./metrics-colors.js";
import { metricOf } from "./metrics-catalogue.js";
import { wireShareButton } from "./share.js";

const data = JSON.parse(document.getElementById("sweep-data").textContent);

wireShareButton();

// A dashed horizontal line at each threshold, labelled with its condition ("target p99 < 200").
function thresholdsPlugin(lines) {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        const dpr = window.devicePixelRatio || 1;
        for (const line of lines) {
          const y = Math.round(u.valToPos(line.value, "y", true));
          ctx.save();
          ctx.strokeStyle = COLORS.marker;
          ctx.lineWidth = 2 * dpr;
          ctx.setLineDash([6 * dpr, 4 * dpr]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = COLORS.marker;
          ctx.font = `${12 * dpr}px system-ui, sans-serif`;
          ctx.textAlign = "right";
          ctx.fillText(`target ${line.text}`, u.bbox.left + u.bbox.width - 4 * dpr, y - 5 * dpr);
          ctx.restore();
        }
      }],
    },
  };
}

function openPoint(index) {
  const form = document.querySelector(`#points tr[data-point="${index}"] form.point-runs`);
  const button = form && form.querySelector("button");
  if (button) form.requestSubmit(button);
}

function knee(el, xs, lines, yLabel, xLabel, thresholds) {
  // lines: [{label, mean: [], low: [], high: []}]; each gets a shaded band between low and high.
  const series = [{ label: xLabel }];
  const columns = [xs];
  const bands = [];
  lines.forEach((line) => {
    const colour = colorOf(line.metric || line.label);
    const base = columns.length;
    columns.push(line.mean, line.high, line.low);
    series.push({ label: line.label, stroke: colour, width: 2, points: { show: true } });
    series.push({ label: `${line.label} high`, stroke: colour, width: 0.5, dash: [3, 3] });
    series.push({ label: `${line.label} low`, stroke: colour, width: 0.5, dash: [3, 3] });
    bands.push({ series: [base + 1, base + 2], fill: `${colour}22` });
  });
  const width = () => Math.max(280, Math.floor(el.getBoundingClientRect().width) - 8);
  const limits = thresholds.map((t) => t.value);
  const plot = new uPlot({
    width: width(), height: 220, series, bands,
    scales: {
      x: { time: false },
      // The y range always shows the threshold, even when every point is far below it.
      y: { range: (u, min, max) => {
        const lo = Math.min(0, min ?? 0, ...limits);
        const hi = Math.max(max ?? 1, ...limits);
        return [lo, hi + (hi - lo) * 0.08 || 1];
      } },
    },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    plugins: [thresholdsPlugin(thresholds)],
  }, columns, el);
  plot.over.addEventListener("click", () => {
    if (plot.cursor.idx !== null && plot.cursor.idx !== undefined) openPoint(plot.cursor.idx);
  });
  plot.over.style.cursor = "pointer";
  new ResizeObserver(() => plot.setSize({ width: width(), height: 220 })).observe(el);
  return plot;
}

const result = data.result;
window.__knees = {};
if (result && data.axes.length === 1) {
  const xs = result.points.map((p) => p.values[0]);
  const pick = (name, scale = 1) => {
    const column = (field) => result.points.map((p) => {
      const v = p.metrics[name]?.[field] ?? null;
      return v === null ? null : v * scale;
    });
    return { mean: column("mean"), low: column("low"), high: column("high") };
  };
  // Which chart each target condition belongs on, in the chart's units.
  const chartOf = (name) => (data.latency.includes(name) ? "latency" : name);
  const thresholdsFor = (chart) => data.thresholds
    .filter((t) => chartOf(t.metric) === chart)
    .map((t) => ({ ...t, value: t.value * metricOf(t.metric).scale }));
  const charts = {
    latency: { lines: data.latency.map((name) => ({ label: name, metric: name, ...pick(name) })), unit: "ms" },
  };
  for (const name of ["errors", ...data.extra_charts]) {
    const m = metricOf(name);
    charts[name] = { lines: [{ label: m.label, metric: name, ...pick(name, m.scale) }], unit: m.unit };
  }
  for (const [name, chart] of Object.entries(charts)) {
    const el = document.querySelector(`[data-chart="${name}"]`);
    if (!el) continue;
    const thresholds = thresholdsFor(name);
    const plot = knee(el, xs, chart.lines, chart.unit, data.axes[0].label, thresholds);
    window.__knees[name] = { plot, thresholds };
    const key = document.querySelector(`[data-target-for="${name}"]`);
    if (key && thresholds.length) {
      key.textContent = `target: ${thresholds.map((t) => t.text).join(", ")}`;
      key.hidden = false;
    }
  }
}
document.body.dataset.ready = "true";
