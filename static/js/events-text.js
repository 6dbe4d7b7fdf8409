// Events in words: the one place a frame's event ({"t", "action", "node", ...}) becomes text,
// for the run page's event list and the charts' marker tooltips. Nodes are named by their label.

const plural = (n, one, many = `${one}s`) => `${n} ${Number(n) === 1 ? one : many}`;
const num = (v) => (Number.isInteger(Number(v)) ? String(Number(v)) : Number(v).toFixed(1));

// A deploy's release in words: what the new version does wrong, if anything.
const release = (e) => {
  const r = e.release || {};
  const parts = [];
  if (Number(r.error_rate) > 0) parts.push(`fails ${Math.round(Number(r.error_rate) * 100)}% of requests`);
  if (r.slowdown != null && Number(r.slowdown) !== 1) parts.push(`${num(r.slowdown)}× the service time`);
  return parts.length ? `; the new version ${parts.join(" and ")}` : "";
};

// labelOf: node id -> the label the user gave it (falls back to the id).
export function describeEvent(e, labelOf = (id) => id) {
  const node = e.node ? labelOf(e.node) : "";
  const inst = e.instance !== undefined ? `Instance ${e.instance} of ${node}` : node;
  // An edge is "caller->callee", "#k" for the k-th edge between the same two nodes.
  const edge = e.edge ? e.edge.replace(/^(.*)->([^#]*)(#\d+)?$/,
    (_, a, b, k) => `${labelOf(a)} → ${labelOf(b)}${k ? ` (${k})` : ""}`) : "";
  switch (e.action) {
    case "breaker_open":
      return `Circuit breaker ${edge} opens: its calls fail at once`;
    case "breaker_half_open":
      return `Circuit breaker ${edge} half-open: probe calls go through`;
    case "breaker_closed":
      return `Circuit breaker ${edge} closes`;
    case "instance_errors":
      return e.skipped ? `Instance errors on ${node} skipped (${e.skipped})`
        : `Instance ${e.instance} of ${node} fails ${Math.round(Number(e.error_rate ?? 1) * 100)}% of its requests at once${e.duration_s ? ` for ${num(e.duration_s)} s` : ""}`;
    case "instance_errors_end":
      return `Instance ${e.instance} of ${node} stops failing`;
    case "canary":
      return `Canary of ${node}: ${Math.round(Number(e.weight ?? 0.05) * 100)}% of its traffic to one new instance for ${num(e.watch_s ?? 60)} s${release(e)}`;
    case "canary_started":
      return `Canary instance ${e.instance} of ${node} takes traffic`;
    case "canary_passed":
    case "canary_failed": {
      const verdict = e.action === "canary_passed" ? "passes" : "fails";
      const p99 = e.p99_ms != null ? `, p99 ${num(e.p99_ms)} ms` : "";
      return `Canary of ${node} ${verdict} its gate: ${e.errors ?? 0} of ${e.requests ?? 0} requests failed (${(Number(e.error_ratio ?? 0) * 100).toFixed(1)}%${p99})`;
    }
    case "canary_cancelled":
      return `Canary of ${node} cancelled`;
    case "blue_green":
      return `Blue-green deploy of ${node}: a second fleet launches${release(e)}`;
    case "blue_green_switched":
      return `${node}: all traffic switched to the new fleet; the old one is kept idle`;
    case "rollback":
      return e.skipped ? `Roll back ${node}: nothing to roll back` : `Roll back ${node}${e.to ? ` (to the ${e.to})` : ""}`;
    case "traffic":
      return `Traffic set to ×${num(e.multiplier)}${Number(e.ramp_s) > 0 ? ` over ${num(e.ramp_s)} s` : ""}`;
    case "kill_instance":
      return `Kill ${plural(e.count ?? 1, "instance")} of ${node}`;
    case "rolling_deploy": {
      const drain = e.drain === false ? "without draining" : "draining";
      return `Rolling deploy of ${node} in batches of ${e.batch ?? 1}, ${drain}, every ${num(e.interval_s ?? 30)} s`;
    }
    case "scale":
      return `Scale ${node} to ${plural(e.instances, "instance")}`;
    case "autoscale":
      return `Autoscaler sets ${node} to ${plural(e.instances, "instance")}`;
    case "outage":
      return `${node} unreachable for ${num(e.duration_s)} s`;
    case "outage_end":
      return `${node} reachable again`;
    case "slowdown":
      return `${node} slowed down ${num(e.factor)}× for ${num(e.duration_s)} s`;
    case "slowdown_end":
      return `${node} back to normal speed`;
    case "flush_cache":
      return `${node} flushed: every key is cold`;
    case "instance_started":
      return `${inst} starting`;
    case "instance_ready":
      return `${inst} ready`;
    case "instance_draining":
      return `${inst} draining`;
    case "instance_stopped":
      return `${inst} stopped`;
    case "instance_lost":
      return `${inst} killed`;
    default: {
      const rest = Object.entries(e).filter(([k]) => !["t", "action", "node"].includes(k))
        .map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`).join(", ");
      const what = (e.action || e.kind || "event").replace(/_/g, " ");
      return `${what[0].toUpperCase()}${what.slice(1)}${node ? ` on ${node}` : ""}${rest ? ` (${rest})` : ""}`;
    }
  }
}

// A few words for a chart marker's label.
export function shortEvent(e) {
  const words = {
    traffic: `traffic ×${num(e.multiplier)}`, kill_instance: "kill", rolling_deploy: "deploy",
    scale: "scale", autoscale: "autoscale", outage: "outage", outage_end: "back", slowdown: "slow",
    slowdown_end: "speed back", flush_cache: "flush", breaker_open: "breaker open",
    breaker_half_open: "breaker half-open", breaker_closed: "breaker closed",
    instance_errors: "fails fast", canary: "canary", canary_passed: "canary passed",
    canary_failed: "canary failed", blue_green: "blue-green", blue_green_switched: "switch",
    rollback: "rollback",
  };
  return words[e.action] || (e.action || "event").replace(/_/g, " ");
}

export function formatT(t) {
  return Number.isInteger(Number(t)) ? `${Number(t)} s` : `${Number(t).toFixed(1)} s`;
}
