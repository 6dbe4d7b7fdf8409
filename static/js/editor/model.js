// The design document as the editor changes it (SCHEMA.md). Pure functions on plain data: no DOM,
// no network. Edge order is call order, so edges are only ever appended, removed or swapped with
// a sibling of the same caller.

const SHORT_IDS = {
  client: "users", load_balancer: "lb", service: "api", serverless: "fn", database: "db",
  store: "redis", queue: "queue", worker: "worker", cdn: "cdn", object_storage: "objects",
  external: "external",
};

export function clone(doc) {
  return JSON.parse(JSON.stringify(doc));
}

/** Fill the containers the editor relies on, so a sparse document still opens. */
export function normalize(doc) {
  const out = doc && typeof doc === "object" && !Array.isArray(doc) ? doc : {};
  if (!Array.isArray(out.nodes)) out.nodes = [];
  if (!Array.isArray(out.edges)) out.edges = [];
  if (!out.layout || typeof out.layout !== "object" || Array.isArray(out.layout)) out.layout = {};
  return out;
}

export function nodeIndex(doc, id) {
  return doc.nodes.findIndex((n) => n && n.id === id);
}

export function uniqueId(doc, kind) {
  const base = SHORT_IDS[kind] || kind.replace(/[^a-z0-9_-]/g, "") || "node";
  const taken = new Set(doc.nodes.map((n) => n.id));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
  }
}

export function addNode(doc, kind, pos) {
  const id = uniqueId(doc, kind);
  doc.nodes.push({ id, kind, params: {} });
  if (pos) setPosition(doc, id, pos);
  return id;
}

export function removeNode(doc, id) {
  doc.nodes = doc.nodes.filter((n) => n.id !== id);
  doc.edges = doc.edges.filter((e) => e.from !== id && e.to !== id);
  delete doc.layout[id];
  const events = doc.scenario && doc.scenario.events;
  if (Array.isArray(events)) doc.scenario.events = events.filter((ev) => !ev || ev.node !== id);
}

/** The index of the call from ``from`` to ``to``, or -1. */
export function findEdge(doc, from, to) {
  return doc.edges.findIndex((e) => e && e.from === from && e.to === to);
}

/** Append a call from ``from`` to ``to`` (the caller's last call); -1 when it makes no sense or
 * ``from`` already calls ``to`` (one edge per direction: edit that call instead). */
export function addEdge(doc, from, to) {
  if (from === to || nodeIndex(doc, from) < 0 || nodeIndex(doc, to) < 0 || findEdge(doc, from, to) >= 0) return -1;
  doc.edges.push({ from, to });
  return doc.edges.length - 1;
}

export function removeEdge(doc, index) {
  doc.edges.splice(index, 1);
}

/** Swap call ``index`` with the caller's previous (dir -1) or next (dir 1) call; the new index. */
export function moveEdge(doc, index, dir) {
  const from = doc.edges[index] && doc.edges[index].from;
  const siblings = doc.edges.map((e, i) => (e.from === from ? i : -1)).filter((i) => i >= 0);
  const at = siblings.indexOf(index);
  const other = siblings[at + dir];
  if (other === undefined) return index;
  [doc.edges[index], doc.edges[other]] = [doc.edges[other], doc.edges[index]];
  return other;
}

export function renameNode(doc, oldId, newId) {
  for (const n of doc.nodes) if (n.id === oldId) n.id = newId;
  for (const e of doc.edges) {
    if (e.from === oldId) e.from = newId;
    if (e.to === oldId) e.to = newId;
  }
  const events = doc.scenario && doc.scenario.events;
  if (Array.isArray(events)) for (const ev of events) if (ev && ev.node === oldId) ev.node = newId;
  if (oldId in doc.layout) {
    doc.layout[newId] = doc.layout[oldId];
    delete doc.layout[oldId];
  }
}

/** Put ``node`` (as the side panel returned it) where node ``oldId`` was. */
export function replaceNode(doc, oldId, node) {
  const i = nodeIndex(doc, oldId);
  if (i < 0) return false;
  if (node.id !== oldId) {
    if (nodeIndex(doc, node.id) >= 0) return false;
    renameNode(doc, oldId, node.id);
  }
  doc.nodes[i] = node;
  return true;
}

export function setPosition(doc, id, pos) {
  doc.layout[id] = { x: Math.round(pos.x), y: Math.round(pos.y) };
}

/** Outgoing calls of a node, as edge indexes in call order. */
export function callsOf(doc, id) {
  return doc.edges.map((e, i) => (e.from === id ? i : -1)).filter((i) => i >= 0);
}
