// The metrics catalogue (playground/runs/metrics.py), which a page gives its scripts with
// {% metrics_catalogue %}: each metric's label, unit and how to scale and round it, defined once.
const el = document.getElementById("metrics-catalogue");
const entries = el ? JSON.parse(el.textContent) : [];

export const CATALOGUE = Object.freeze(Object.fromEntries(entries.map((m) => [m.name, Object.freeze(m)])));

// A metric by name; one the catalogue does not know reads as its own name, unscaled.
export function metricOf(name) {
  return CATALOGUE[name] || { name, label: name, unit: "", kind: "rate", scale: 1, digits: 1 };
}

// "p99 latency (ms)", "error rate (%)", "cost ($/month)", "users logged out".
export function labelWithUnit(name) {
  const m = metricOf(name);
  return m.unit ? `${m.label} (${m.unit})` : m.label;
}
