// The run page: topology coloured by load, live charts, events, and the summary, from frames
// streamed over the run's WebSocket. Frames with seq <= last are dropped; the socket reconnects
// with backoff and resumes with ?after=<last seq>.
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { Series } from "./charts.js";
import { COLORS, CAUSES, CAUSE_LABELS } from "./metrics-colors.js";
import { describeEvent, formatT, shortEvent } from "./events-text.js";
import { Player } from "./player.js";
import { metricOf } from "./metrics-catalogue.js";
import { wireCopyButtons, wireShareButton } from "./share.js";

cytoscape.use(dagre);

const data = JSON.parse(document.getElementById("run-data").textContent);
const expected = Math.round(data.duration_s / data.tick_s);
const events = [];
let lastSeq = 0;
let finished = false;

// --- topology --------------------------------------------------------------------------------
const doc = data.document;
const layout = doc.layout || {};
const hasLayout = doc.nodes.every((n) => layout[n.id]);
// On a phone a wide drawing would shrink to unreadable boxes: turn it on its side (x <-> y).
const topologyBox = document.getElementById("topology");
const narrow = topologyBox.clientWidth < 520;
const spread = (axis) => { const v = doc.nodes.map((n) => (layout[n.id] || {})[axis] || 0); return Math.max(...v) - Math.min(...v); };
const turn = narrow && hasLayout && spread("x") > 1.3 * spread("y");
if (narrow) topologyBox.classList.add("tall");
const spot = (id) => (turn ? { x: layout[id].y, y: layout[id].x } : { x: layout[id].x, y: layout[id].y });
const topologyEl = topologyBox;
const cy = cytoscape({
  container: topologyEl,
  elements: [
    ...doc.nodes.map((n) => ({
      data: { id: n.id, label: `${n.label || n.id}\n${n.kind.replace("_", " ")}`, kind: n.kind },
      position: layout[n.id] ? spot(n.id) : undefined,
    })),
    ...doc.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.from, target: e.to, async: e.mode === "async", breaker: breakerName(i) } })),
  ],
  layout: hasLayout ? { name: "preset" } : { name: "dagre", rankDir: narrow ? "TB" : "LR", nodeSep: 30, rankSep: narrow ? 40 : 70 },
  userZoomingEnabled: false,
  userPanningEnabled: false,
  autoungrabify: true,
  style: [
    { selector: "node", style: {
      "label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "font-size": 10,
      "shape": "round-rectangle", "width": 110, "height": 48, "background-color": "#e8f1ee",
      "border-width": 2, "border-color": "#2f7d6d", "color": "#1b2430" } },
    { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5, "line-color": "#8a96a3", "target-arrow-color": "#8a96a3" } },
    { selector: "edge[?async]", style: { "line-style": "dashed" } },
  ],
});
cy.fit(undefined, 16);

// A circuit breaker's state on its edge (frames' "breakers", keyed "caller->callee", the k-th edge
// between the same two nodes "caller->callee#k"): closed grey, half-open amber, open red and cut.
function breakerName(i) {
  const e = doc.edges[i];
  if (!e.circuit_breaker) return "";
  const same = doc.edges.slice(0, i + 1).filter((x) => x.from === e.from && x.to === e.to).length;
  return same > 1 ? `${e.from}->${e.to}#${same}` : `${e.from}->${e.to}`;
}
const BREAKER_STYLE = {
  closed: { color: "#8a96a3", width: 1.5, style: "solid" },
  half_open: { color: "#f28a1d", width: 3, style: "dashed" },
  open: { color: "#c0392b", width: 3, style: "dotted" },
};

function paintBreakers(frame) {
  for (const [name, state] of Object.entries(frame.breakers || {})) {
    const edge = cy.edges().filter((e) => e.data("breaker") === name);
    const look = BREAKER_STYLE[state] || BREAKER_STYLE.closed;
    edge.style({ "line-color": look.color, "target-arrow-color": look.color, "width": look.width, "line-style": look.style,
      "label": state === "closed" ? "" : state.replace("_", "-"), "font-size": 9, "color": look.color });
    edge.data("breakerState", state);
  }
}

function loadColour(u) {
  // idle green -> busy amber -> saturated red
  const x = Math.max(0, Math.min(1, u || 0));
  const hue = 150 - 150 * x;
  return `hsl(${hue}, 55%, ${88 - 30 * x}%)`;
}

function paintNodes(frame) {
  for (const [id, stats] of Object.entries(frame.nodes || {})) {
    const node = cy.getElementById(id);
    if (!node.nonempty()) continue;
    const errors = Object.values(stats.errors || {}).reduce((a, b) => a + b, 0);
    node.style("background-color", loadColour(stats.utilization));
    node.style("border-color", errors > 0 ? "#c0392b" : "#2f7d6d");
    node.style("border-width", errors > 0 ? 4 : 2);
    const base = doc.nodes.find((n) => n.id === id);
    const extra = stats.up !== undefined && base && base.kind === "service" ? `\n${stats.up} up${stats.starting ? `, ${stats.starting} starting` : ""}` : "";
    node.data("label", `${(base && base.label) || id}\n${Math.round((stats.utilization || 0) * 100)}% busy${extra}`);
  }
}

// --- charts ----------------------------------------------------------------------------------
const labelOf = (id) => (doc.nodes.find((n) => n.id === id) || {}).label || id;
const fleetIds = new Set(doc.nodes.filter((n) => n.kind === "service" || n.kind === "serverless").map((n) => n.id));
// Chart markers for the operations themselves; the instance life they cause is in the events list.
const markers = () => events
  .filter((e) => !(e.action || "").startsWith("instance_"))
  .map((e) => ({ t: e.t, label: shortEvent(e), detail: `${formatT(e.t)}: ${describeEvent(e, labelOf)}` }));
const chartEl = (name) => document.querySelector(`[data-chart="${name}"]`);
const seek = (i) => player.scrub(i);
const opts = (yLabel) => ({ markers, yLabel, onSeek: seek });
// Units and names of the metrics the catalogue defines (playground/runs/metrics.py) come from it.
const charts = {
  throughput: new Series(chartEl("throughput"), [
    { label: "offered", color: COLORS.offered, dash: [5, 4] }, { label: "ok", color: COLORS.ok, width: 2.25 },
    { label: "attempts", color: COLORS.attempts }], opts(metricOf("throughput").unit || "req/s")),
  latency: new Series(chartEl("latency"), ["p50", "p95", "p99"], opts(metricOf("p99").unit || "ms")),
  errors: new Series(chartEl("errors"), CAUSES.map((c) => ({ label: CAUSE_LABELS[c], color: COLORS[c] })), opts("per s")),
  users: new Series(chartEl("users"), [
    { label: metricOf("logged_out").label, color: COLORS.logged_out },
    { label: metricOf("duplicate_charges").label, color: COLORS.duplicate },
    { label: metricOf("failed_uploads").label, color: COLORS.upload_failures }], opts("per s")),
  instances: new Series(chartEl("instances"), ["up", "starting"], opts("instances")),
  cost: new Series(chartEl("cost"), [{ label: "$/hour", color: COLORS.cost }], opts("$/h")),
};
window.__charts = charts;  // for the browser tests

function plot(frame) {
  const t = frame.t;
  const lat = frame.latency_ms || {};
  const nodes = Object.entries(frame.nodes || {}).filter(([id]) => fleetIds.has(id)).map(([, n]) => n);
  charts.throughput.push(t, [frame.offered_rps, frame.ok_rps, frame.attempts_rps]);
  charts.latency.push(t, [lat.p50, lat.p95, lat.p99]);
  charts.errors.push(t, CAUSES.map((c) => (frame.errors || {})[c] || 0));
  charts.users.push(t, [(frame.users || {}).logged_out, (frame.charges || {}).duplicate, (frame.uploads || {}).failed]);
  charts.instances.push(t, [nodes.reduce((a, n) => a + (n.up || 0), 0), nodes.reduce((a, n) => a + (n.starting || 0), 0)]);
  charts.cost.push(t, [frame.cost_per_hour]);
}

// --- the player: the topology, the charts' cursor and the events follow its frame ------------------
const frames = [];
let painted = null;
let paintQueued = false;
function showFrame() {
  paintQueued = false;
  const i = player.idx;
  const frame = frames[i];
  if (!frame || painted === frame) return;
  painted = frame;
  paintNodes(frame);
  paintBreakers(frame);
  topologyEl.dataset.seq = String(frame.seq);
  if (frame.breakers) topologyEl.dataset.breakers = JSON.stringify(frame.breakers);
  for (const chart of Object.values(charts)) chart.setIndex(player.following ? null : i);
  for (const li of eventsList.children) li.classList.toggle("later", Number(li.dataset.t) > frame.t + 1e-9);
}
const player = new Player(document.getElementById("player"), {
  tickS: data.tick_s,
  onIndex: () => {
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(showFrame);
  },
});
window.__run = { player, charts, frames, cy };

function seekFromHash() {
  const m = /^#t=([0-9.]+)$/.exec(location.hash);
  if (m) player.seekTime(Number(m[1]));
}
// Any element with data-t (an event's time, a chart marker, a "What happened" sentence) seeks.
document.addEventListener("click", (e) => {
  const target = e.target.closest("[data-t]");
  if (!target || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  const t = Number(target.dataset.t);
  if (!Number.isFinite(t)) return;
  history.replaceState(null, "", `#t=${t}`);
  player.seekTime(t);
  const box = document.getElementById("player").getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) document.getElementById("run-view").scrollIntoView({ block: "start" });
});
window.addEventListener("hashchange", seekFromHash);

// --- events, progress, status, summary ---------------------------------------------------------
const eventsList = document.getElementById("events-list");
function addEvents(frame) {
  for (const e of frame.events || []) {
    events.push(e);
    const li = document.createElement("li");
    li.dataset.t = String(e.t);
    const a = document.createElement("a");
    a.href = `#t=${e.t}`;
    a.className = "moment";
    a.dataset.t = String(e.t);
    a.textContent = formatT(e.t);
    li.append(a, ` ${describeEvent(e, labelOf)}`);
    eventsList.appendChild(li);
  }
}

const progress = document.getElementById("run-progress");
const statusEl = document.getElementById("run-status");
const reasonEl = document.getElementById("run-reason");
function setStatus(status, reason) {
  statusEl.textContent = status;
  statusEl.dataset.status = status;
  reasonEl.textContent = reason || "";
  reasonEl.hidden = !reason;
  if (["done", "failed", "cancelled"].includes(status)) {
    document.getElementById("chaos")?.remove();
    document.getElementById("cancel-form")?.remove();
    eventsList.dataset.done = "true";  // "No events in this run" rather than "yet"
    player.finish();
  }
}

function fmt(v, digits = 1) {
  return v === null || v === undefined ? "-" : Number(v).toFixed(digits);
}

function showSummary(summary) {
  const panel = document.getElementById("summary-panel");
  const box = document.getElementById("summary");
  if (!box || box.querySelector("[data-source=server]")) return;  // the server's summary is already there
  const rows = [
    ["Requests", summary.requests], ["OK", summary.ok], ["Throughput", `${fmt(summary.throughput_rps)} /s`],
    ["p50", `${fmt(summary.latency_ms.p50)} ms`], ["p95", `${fmt(summary.latency_ms.p95)} ms`], ["p99", `${fmt(summary.latency_ms.p99)} ms`],
    ["Users logged out", summary.users.logged_out], ["Duplicate charges", summary.charges.duplicate],
    ["Failed uploads", summary.uploads.failed], ["Cost", `$${fmt(summary.cost.per_hour, 2)}/hour`],
  ];
  const dl = document.createElement("dl");
  dl.className = "summary";
  for (const [k, v] of rows) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = String(v);
    div.append(dt, dd);
    dl.appendChild(div);
  }
  box.replaceChildren(dl);
  const errs = Object.entries(summary.errors || {}).filter(([, n]) => n > 0);
  if (errs.length) {
    const p = document.createElement("p");
    p.className = "errors-line";
    p.textContent = "Errors: " + errs.map(([c, n]) => `${c} ${n}`).join(", ");
    box.appendChild(p);
  }
  panel.hidden = false;
}

function onFrame(frame) {
  if (frame.seq <= lastSeq) return;
  lastSeq = frame.seq;
  frames.push(frame);
  addEvents(frame);
  plot(frame);
  player.add(frame.t);
  player.settle();
  progress.textContent = `${lastSeq} / ${expected} frames`;
  document.body.dataset.frames = String(lastSeq);
}

// --- the socket ------------------------------------------------------------------------------
let backoff = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}${data.ws}?after=${lastSeq}`);
  ws.onmessage = (msg) => {
    backoff = 500;
    const m = JSON.parse(msg.data);
    if (m.type === "frame") onFrame(m.frame);
    else if (m.type === "status") setStatus(m.status, m.reason);
    else if (m.type === "done") {
      finished = true;
      setStatus("done");
      showSummary(m.summary);
      document.body.dispatchEvent(new Event("run-done"));  // htmx reloads the template's checks
      document.body.dataset.done = "true";
      ws.close();
    }
    else if (m.type === "end") { finished = true; setStatus(m.status, m.reason); document.body.dataset.done = "true"; ws.close(); }
  };
  ws.onclose = () => {
    if (finished) return;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
}
seekFromHash();
connect();

// --- buttons ---------------------------------------------------------------------------------
function csrfToken() {
  const headers = document.body.getAttribute("hx-headers");
  return headers ? JSON.parse(headers)["X-CSRFToken"] : "";
}

wireShareButton();
wireCopyButtons();

const chaosStatus = document.getElementById("chaos-status");
for (const button of document.querySelectorAll("[data-control]")) {
  button.addEventListener("click", async () => {
    const response = await fetch(data.control, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: button.dataset.control,
    });
    const body = await response.json().catch(() => ({}));
    chaosStatus.textContent = response.ok ? `Sent: ${button.textContent}. It applies at the next tick.` : `Refused: ${body.error || response.status}`;
  });
}
