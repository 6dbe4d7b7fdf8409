// Events in words: the one place a frame's event ({"t", "action", "node", ...}) becomes text,
// for the run page's event list and the charts' marker tooltips. Nodes are named by their label.

const plural = (n, one, many = `${one}s`) => `${n} ${Number(n) === 1 ? one : many}`;
const num = (v) => (Number.isInteger(Number(v)) ? String(Number(v)) : Number(v).toFixed(1));

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
  };
  return words[e.action] || (e.action || "event").replace(/_/g, " ");
}

export function formatT(t) {
  return Number.isInteger(Number(t)) ? `${Number(t)} s` : `${Number(t).toFixed(1)} s`;
}
