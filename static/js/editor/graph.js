// The canvas: Cytoscape.js showing the document. (Shapes come from designs/kinds.py; plain "diamond"
// misses taps at its very centre in Cytoscape 3.34, so the balancer is a "round-diamond".)
// It never changes the document itself; it reports
// what the user did (select, move, connect, drop) and main.js turns that into document changes.

import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";

cytoscape.use(dagre);

const STYLE = [
  {
    selector: "node",
    style: {
      shape: "data(shape)",
      "background-color": "#ffffff",
      "border-width": 2,
      "border-color": "data(color)",
      label: "data(display)",
      "text-wrap": "wrap",
      "text-max-width": 124,
      "text-valign": "center",
      "text-halign": "center",
      "font-size": 12,
      "font-family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
      color: "#1b2430",
      width: 136,
      height: 52,
    },
  },
  { selector: "node[kindColor]", style: { "background-color": "data(fill)" } },
  { selector: "node.problem", style: { "border-color": "#c0392b", "border-style": "dashed", "border-width": 3 } },
  { selector: "node:selected", style: { "border-width": 4, "overlay-color": "#1f3a5f", "overlay-opacity": 0.08, "overlay-padding": 6 } },
  { selector: "node.connect-source", style: { "border-color": "#f4a259", "border-width": 4 } },
  {
    selector: "edge",
    style: {
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      width: 2,
      "line-color": "#8a96a6",
      "target-arrow-color": "#8a96a6",
      label: "data(label)",
      "font-size": 10,
      color: "#334",
      "text-background-color": "#ffffff",
      "text-background-opacity": 1,
      "text-background-padding": 2,
      "text-rotation": "autorotate",
    },
  },
  // A call with a reverse twin (A -> B and B -> A) bends to its own left, so the two stay apart
  // (bundled bezier curves of opposite directions can fall on one line).
  {
    selector: "edge.reverse",
    style: { "curve-style": "unbundled-bezier", "control-point-distances": -36, "control-point-weights": 0.5 },
  },
  { selector: "edge.async", style: { "line-style": "dashed" } },
  { selector: "edge.problem", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b" } },
  { selector: "edge:selected", style: { "line-color": "#1f3a5f", "target-arrow-color": "#1f3a5f", width: 4 } },
];

function lighten(hex) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c + (255 - c) * 0.88);
  return `rgb(${mix((n >> 16) & 255)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

export class Graph {
  constructor(container, { kinds, editable, onSelect, onMove, onTapNode, onDrop }) {
    this.container = container;
    this.kinds = Object.fromEntries(kinds.map((k) => [k.kind, k]));
    this.editable = editable;
    this.cy = cytoscape({
      container,
      style: STYLE,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      selectionType: "single",
      minZoom: 0.2,
      maxZoom: 3,
      autoungrabify: !editable,
    });
    this.cy.on("tap", "node", (evt) => onTapNode(evt.target.id(), evt.originalEvent || {}));
    this.cy.on("tap", "edge", (evt) => onSelect({ type: "edge", index: evt.target.data("index") }));
    this.cy.on("tap", (evt) => {
      if (evt.target === this.cy) onSelect(null);
    });
    this.cy.on("dragfree", "node", (evt) => onMove(evt.target.id(), evt.target.position()));
    container.addEventListener("dragover", (e) => {
      if (this.editable && e.dataTransfer.types.includes("text/x-node-kind")) e.preventDefault();
    });
    container.addEventListener("drop", (e) => {
      const kind = e.dataTransfer.getData("text/x-node-kind");
      if (!kind || !this.editable) return;
      e.preventDefault();
      onDrop(kind, this.toModel(e.clientX, e.clientY));
    });
  }

  toModel(clientX, clientY) {
    const rect = this.container.getBoundingClientRect();
    const pan = this.cy.pan();
    const zoom = this.cy.zoom();
    return { x: (clientX - rect.left - pan.x) / zoom, y: (clientY - rect.top - pan.y) / zoom };
  }

  /** Where a new node goes: the middle of the view, nudged off any node already there. */
  freeSpot(after = null) {
    const ext = this.cy.extent();
    let x = (ext.x1 + ext.x2) / 2;
    let y = (ext.y1 + ext.y2) / 2;
    const prev = after ? this.cy.getElementById(after) : null;
    if (prev && prev.nonempty()) {
      // Next in the chain: to the right of the node the user was working on.
      x = prev.position("x") + 190;
      y = prev.position("y");
    }
    const busy = (px, py) => this.cy.nodes().some((n) => Math.abs(n.position("x") - px) < 140 && Math.abs(n.position("y") - py) < 60);
    for (let i = 0; i < 40 && busy(x, y); i++) y += 80;
    return { x, y };
  }

  /** Zoom out to show every node when ``id`` was placed outside the view. */
  keepInView(id) {
    const node = this.cy.getElementById(id);
    const ext = this.cy.extent();
    const bb = node.boundingBox();
    if (bb.x1 >= ext.x1 && bb.x2 <= ext.x2 && bb.y1 >= ext.y1 && bb.y2 <= ext.y2) return;
    this.fit();
  }

  /** Show ``doc``: nodes kept where they are, edges rebuilt (their index is their identity). */
  render(doc, problems = { nodes: new Set(), edges: new Set() }) {
    const cy = this.cy;
    const callCount = {};
    for (const e of doc.edges) callCount[e.from] = (callCount[e.from] || 0) + 1;
    cy.batch(() => {
      const ids = new Set(doc.nodes.map((n) => n.id));
      cy.nodes().forEach((n) => {
        if (!ids.has(n.id())) n.remove();
      });
      cy.edges().remove();
      for (const node of doc.nodes) {
        const info = this.kinds[node.kind] || { name: String(node.kind), color: "#5b6675", shape: "round-rectangle" };
        const name = typeof node.label === "string" && node.label ? node.label : node.id;
        const data = {
          id: node.id,
          display: name === info.name ? name : `${name}\n${info.name}`,
          color: info.color,
          fill: lighten(info.color),
          kindColor: info.color,
          shape: info.shape,
        };
        let ele = cy.getElementById(node.id);
        if (ele.empty()) ele = cy.add({ group: "nodes", data });
        else ele.data(data);
        const pos = doc.layout[node.id];
        if (pos && Number.isFinite(pos.x) && Number.isFinite(pos.y)) ele.position({ x: pos.x, y: pos.y });
        ele.toggleClass("problem", problems.nodes.has(node.id));
      }
      const order = {};
      const pairs = new Set(doc.edges.map((e) => `${e.from}\u0000${e.to}`));
      doc.edges.forEach((edge, i) => {
        if (!ids.has(edge.from) || !ids.has(edge.to)) return;
        order[edge.from] = (order[edge.from] || 0) + 1;
        const parts = [];
        if (callCount[edge.from] > 1) parts.push(`${order[edge.from]}`);
        if (typeof edge.calls === "number" && edge.calls !== 1) parts.push(`×${edge.calls}`);
        if (edge.mode === "async") parts.push("async");
        const ele = cy.add({ group: "edges", data: { id: `e${i}`, source: edge.from, target: edge.to, index: i, label: parts.join(" · ") } });
        ele.toggleClass("async", edge.mode === "async");
        ele.toggleClass("reverse", pairs.has(`${edge.to}\u0000${edge.from}`));
        ele.toggleClass("problem", problems.edges.has(i));
      });
    });
  }

  /** Lay out the nodes with no position (all of them when ``all``); their new positions. */
  layoutNodes(doc, all = false) {
    const placed = all ? [] : doc.nodes.filter((n) => doc.layout[n.id]).map((n) => n.id);
    const placedSet = new Set(placed);
    const loose = this.cy.nodes().filter((n) => !placedSet.has(n.id()));
    if (loose.empty()) return {};
    const parts = loose.union(loose.edgesWith(loose));
    parts.layout({ name: "dagre", rankDir: "LR", nodeSep: 40, rankSep: 90, fit: false, animate: false }).run();
    if (placed.length) {
      // Put the new arrivals to the right of what the user already arranged.
      const box = this.cy.collection(placed.map((id) => this.cy.getElementById(id))).boundingBox();
      const theirs = loose.boundingBox();
      const dx = box.x2 + 120 - theirs.x1;
      const dy = box.y1 - theirs.y1;
      loose.positions((n) => ({ x: n.position("x") + dx, y: n.position("y") + dy }));
    }
    const out = {};
    loose.forEach((n) => {
      out[n.id()] = n.position();
    });
    return out;
  }

  select(selection) {
    this.cy.elements().unselect();
    if (!selection) return;
    const ele = selection.type === "node" ? this.cy.getElementById(selection.id) : this.cy.getElementById(`e${selection.index}`);
    if (ele.nonempty()) ele.select();
  }

  markConnectSource(id) {
    this.cy.nodes().removeClass("connect-source");
    if (id) this.cy.getElementById(id).addClass("connect-source");
  }

  fit() {
    if (this.cy.nodes().nonempty()) this.cy.fit(undefined, 40);
    if (this.cy.zoom() > 1.4) this.cy.zoom({ level: 1.4, renderedPosition: { x: this.container.clientWidth / 2, y: this.container.clientHeight / 2 } });
  }

  setEditable(editable) {
    this.editable = editable;
    this.cy.autoungrabify(!editable);
  }
}
