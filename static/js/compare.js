// Compare: the two runs' frames, overlaid.
import { Series } from "./charts.js";
import { metricOf } from "./metrics-catalogue.js";
import { COLORS } from "./metrics-colors.js";

const data = JSON.parse(document.getElementById("compare-data").textContent);

async function frames(url) {
  const response = await fetch(url);
  return (await response.json()).frames || [];
}

const [a, b] = await Promise.all([frames(data.a.frames), frames(data.b.frames)]);
const byT = new Map();
for (const f of a) byT.set(f.t, { a: f });
for (const f of b) byT.set(f.t, { ...(byT.get(f.t) || {}), b: f });
const times = [...byT.keys()].sort((x, y) => x - y);
const errors = (f) => (f ? Object.values(f.errors || {}).reduce((s, v) => s + v, 0) : null);
// Each metric keeps its colour (metrics-colors.js); A is the solid line, B the dashed one.
const pair = (name, color) => [{ label: `A ${name}`, color }, { label: `B ${name}`, color, dash: [7, 4], width: 2 }];
const chart = (name) => document.querySelector(`[data-chart="${name}"]`);
const charts = {
  // Labels and units from the metrics catalogue (playground/runs/metrics.py).
  latency: [new Series(chart("latency"), pair(metricOf("p99").name, COLORS.p99), { yLabel: metricOf("p99").unit }),
    (f) => f?.latency_ms?.p99 ?? null],
  throughput: [new Series(chart("throughput"), pair("ok/s", COLORS.ok), { yLabel: metricOf("throughput").unit }),
    (f) => f?.ok_rps ?? null],
  errors: [new Series(chart("errors"), pair("errors/s", COLORS.errors), { yLabel: "per s" }), errors],
};
window.__charts = Object.fromEntries(Object.entries(charts).map(([k, [s]]) => [k, s]));
for (const t of times) {
  const both = byT.get(t);
  for (const [series, pick] of Object.values(charts)) series.push(t, [pick(both.a), pick(both.b)]);
}
document.body.dataset.compared = "true";
