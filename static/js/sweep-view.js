// The sweep page: knee curves (a metric's mean against the swept value, with its 95% band).
import uPlot from "uplot";
import { colorOf } from "./metrics-colors.js";
import { wireShareButton } from "./share.js";

const data = JSON.parse(document.getElementById("sweep-data").textContent);

wireShareButton();

function knee(el, xs, lines, yLabel, xLabel) {
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
  const plot = new uPlot({
    width: width(), height: 220, series, bands,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
  }, columns, el);
  new ResizeObserver(() => plot.setSize({ width: width(), height: 220 })).observe(el);
}

const result = data.result;
if (result && data.axes.length === 1) {
  const xs = result.points.map((p) => p.values[0]);
  const pick = (name, scale = 1) => ({
    mean: result.points.map((p) => (p.metrics[name].mean ?? null) === null ? null : p.metrics[name].mean * scale),
    low: result.points.map((p) => (p.metrics[name].low ?? null) === null ? null : p.metrics[name].low * scale),
    high: result.points.map((p) => (p.metrics[name].high ?? null) === null ? null : p.metrics[name].high * scale),
  });
  knee(document.querySelector('[data-chart="latency"]'), xs,
    data.latency.map((name) => ({ label: name, metric: name, ...pick(name) })), "ms", data.axes[0].label);
  knee(document.querySelector('[data-chart="errors"]'), xs,
    [{ label: "errors %", metric: "errors", ...pick("errors", 100) }], "%", data.axes[0].label);
}
document.body.dataset.ready = "true";
