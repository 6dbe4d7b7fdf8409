// Compare: the two runs' frames, overlaid.
import { Series } from "./charts.js";

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
const charts = {
  latency: [new Series(document.querySelector('[data-chart="latency"]'), ["A p99", "B p99"], { yLabel: "ms" }), (f) => f?.latency_ms?.p99 ?? null],
  throughput: [new Series(document.querySelector('[data-chart="throughput"]'), ["A ok/s", "B ok/s"], { yLabel: "req/s" }), (f) => f?.ok_rps ?? null],
  errors: [new Series(document.querySelector('[data-chart="errors"]'), ["A errors/s", "B errors/s"], { yLabel: "per s" }), errors],
};
for (const t of times) {
  const pair = byT.get(t);
  for (const [series, pick] of Object.values(charts)) series.push(t, [pick(pair.a), pick(pair.b)]);
}
document.body.dataset.compared = "true";
