// The topology editor: the document lives here, in the browser; every change goes through
// ``commit`` (undo history, canvas, problems, autosave). Side panels are server-rendered partials:
// main.js posts them the document (through panel-order.js) and takes back the part they changed.

import { Graph } from "./graph.js";
import { History } from "./history.js";
import * as model from "./model.js";
import { PanelOrder } from "./panel-order.js";
import { csrfToken, postJSON, Saver } from "./sync.js";

const boot = JSON.parse(document.getElementById("editor-boot").textContent);
const $ = (id) => document.getElementById(id);
const root = $("editor");
const inspector = $("inspector");

let doc = model.normalize(boot.document);
let canEdit = boot.canEdit;
let selection = null; // {type: "node", id} | {type: "edge", index} | null
let tab = "selection";
let connectFrom = null;
let problems = [];
const history = new History();

// ---------------------------------------------------------------------------------------------
// Saving

const saveState = $("save-state");
const saver = new Saver(boot, {
  getDoc: () => doc,
  onState(state, text) {
    saveState.dataset.state = state;
    saveState.textContent = text;
    if (state === "readonly") setEditable(false);
  },
  onSaved(data) {
    // The problems of what was saved, unless the document has changed since.
    if (Array.isArray(data.problems) && !saver.dirty) showProblems(data.problems);
  },
  onConflict() {
    $("conflict-banner").hidden = false;
  },
  onCreated(data) {
    window.history.replaceState(null, "", data.url);
    root.dataset.mode = "design";
    boot.mode = "design";
    boot.slug = data.slug;
    const deleteLink = $("delete-link");
    if (deleteLink) {
      deleteLink.href = saver.url("delete");
      deleteLink.hidden = false;
    }
    const forkForm = $("fork-form");
    if (forkForm) forkForm.action = saver.url("fork");
  },
});

window.addEventListener("beforeunload", (e) => {
  if (saver.dirty && canEdit) {
    saver.save();
    e.preventDefault();
  }
});

// ---------------------------------------------------------------------------------------------
// Changes and history

function text() {
  return JSON.stringify(doc);
}

/** Change the document with ``mutate(doc)``; a change that changes nothing is not one. */
function commit(mutate, { refreshPanel = true } = {}) {
  if (!canEdit) return false;
  const before = text();
  mutate(doc);
  if (text() === before) return false;
  history.record(before);
  afterChange(refreshPanel);
  return true;
}

function afterChange(refreshPanel = true) {
  fixSelection();
  graph.render(doc, problemSets());
  graph.select(selection);
  renderOutline();
  updateButtons();
  const title = typeof doc.title === "string" ? doc.title : "";
  $("design-title").value = title;
  document.title = `${title || "Untitled design"} · Editor · System Design Playground`;
  if (refreshPanel) showPanel();
  updateSeedChoice();
  validateSoon();
  saver.changed();
}

function undo() {
  const previous = history.undo(text());
  if (previous === null) return;
  doc = model.normalize(JSON.parse(previous));
  afterChange();
}

function redo() {
  const next = history.redo(text());
  if (next === null) return;
  doc = model.normalize(JSON.parse(next));
  afterChange();
}

function fixSelection() {
  if (selection && selection.type === "node" && model.nodeIndex(doc, selection.id) < 0) selection = null;
  if (selection && selection.type === "edge" && !doc.edges[selection.index]) selection = null;
  if (connectFrom && model.nodeIndex(doc, connectFrom) < 0) cancelConnect();
}

// ---------------------------------------------------------------------------------------------
// Canvas

const graph = new Graph($("canvas"), {
  kinds: boot.kinds,
  editable: canEdit,
  onSelect: (sel) => {
    select(sel);
    $("canvas").focus({ preventScroll: true });
  },
  onTapNode(id, original) {
    if (canEdit && connectFrom && connectFrom !== id) {
      connect(connectFrom, id);
    } else if (canEdit && original.shiftKey && selection && selection.type === "node" && selection.id !== id) {
      connect(selection.id, id);
    } else {
      select({ type: "node", id });
    }
    $("canvas").focus({ preventScroll: true });
  },
  onMove(id, pos) {
    if (!canEdit) return;
    commit((d) => model.setPosition(d, id, pos), { refreshPanel: false });
  },
  onDrop(kind, pos) {
    addNode(kind, pos);
  },
});

function addNode(kind, pos) {
  let id = null;
  commit((d) => {
    id = model.addNode(d, kind, pos || graph.freeSpot(selection && selection.type === "node" ? selection.id : null));
  }, { refreshPanel: false });
  if (id) {
    select({ type: "node", id });
    if (!pos) graph.keepInView(id);
  }
}

function nodeName(id) {
  const node = doc.nodes[model.nodeIndex(doc, id)];
  return node && typeof node.label === "string" && node.label ? node.label : id;
}

/** ``from`` already calls ``to``: say so and select that call instead of adding a second one. */
function refuseDuplicate(from, to) {
  const existing = model.findEdge(doc, from, to);
  if (existing < 0) return false;
  cancelConnect();
  select({ type: "edge", index: existing });
  hint(`${nodeName(from)} already calls ${nodeName(to)}: edit that call instead.`);
  return true;
}

function connect(from, to) {
  if (refuseDuplicate(from, to)) return;
  let index = -1;
  commit((d) => {
    index = model.addEdge(d, from, to);
  }, { refreshPanel: false });
  cancelConnect();
  if (index >= 0) select({ type: "edge", index });
}

function startConnect() {
  if (!selection || selection.type !== "node") return;
  connectFrom = selection.id;
  graph.markConnectSource(connectFrom);
  hint(`Click the node that ${connectFrom} calls (Esc to cancel).`);
}

function cancelConnect() {
  connectFrom = null;
  graph.markConnectSource(null);
  hint("");
}

function hint(message) {
  $("canvas-hint").textContent = message;
}

function deleteSelection() {
  if (!selection) return;
  const sel = selection;
  commit((d) => {
    if (sel.type === "node") model.removeNode(d, sel.id);
    else model.removeEdge(d, sel.index);
  }, { refreshPanel: false });
  select(null);
}

function nudge(dx, dy) {
  if (!selection || selection.type !== "node") return;
  const ele = graph.cy.getElementById(selection.id);
  const pos = ele.position();
  commit((d) => model.setPosition(d, selection.id, { x: pos.x + dx, y: pos.y + dy }), { refreshPanel: false });
}

// ---------------------------------------------------------------------------------------------
// Selection and the side panel

function select(sel) {
  selection = sel;
  if (sel && sel.id !== connectFrom) cancelConnect();
  graph.select(selection);
  renderOutline();
  updateButtons();
  setTab("selection");
}

function setTab(name) {
  tab = name;
  $("tab-selection").setAttribute("aria-selected", String(name === "selection"));
  $("tab-scenario").setAttribute("aria-selected", String(name === "scenario"));
  showPanel();
}

function panelValues(extra) {
  return { document: text(), readonly: canEdit ? "" : "1", ...extra };
}

// Every request that can replace the inspector goes through one ordering protocol
// (panel-order.js): a load for each new selection, tab or undo, a post for each change in the
// panel's form. Its rules keep an older answer from replacing a newer choice.

let shownPanel = "";
let pressed = null; // the op button the user pressed (not the one an Enter in a field submits with)

const order = new PanelOrder(inspector, {
  apply(fragment, key) {
    // The field the user is in keeps the focus (and the caret) across the swap.
    const active = document.activeElement;
    const focusId = active && active !== inspector && inspector.contains(active) ? active.id : "";
    let caret = null;
    try {
      caret = focusId && active.selectionStart !== null ? [active.selectionStart, active.selectionEnd] : null;
    } catch {
      caret = null;
    }
    inspector.replaceChildren(fragment);
    // Another panel starts at its top; the same one keeps its scroll position.
    if (key !== shownPanel) inspector.scrollTop = 0;
    shownPanel = key;
    const again = focusId ? document.getElementById(focusId) : null;
    if (again && inspector.contains(again)) {
      again.focus({ preventScroll: true });
      if (caret && again.setSelectionRange) {
        try {
          again.setSelectionRange(caret[0], caret[1]);
        } catch {
          // not a text field
        }
      }
    }
  },
  take: (result) => takeResult(result),
  fail(status) {
    for (const form of inspector.querySelectorAll("form[inert]")) form.inert = false;
    hint(status ? `The panel could not be updated (the server answered ${status}).` : "The panel could not be updated: are you offline?");
  },
  onStale() {
    if (!panelForm(document.activeElement)) showPanel();
  },
});

/** The panel the selection and tab call for: {key, url, values}, or null for the empty panel. */
function panelFor() {
  if (tab === "scenario") return { key: "scenario", url: boot.urls.panelScenario, values: {} };
  if (selection && selection.type === "node") return { key: `node:${selection.id}`, url: boot.urls.panelNode, values: { node: selection.id } };
  if (selection && selection.type === "edge") return { key: `edge:${selection.index}`, url: boot.urls.panelEdge, values: { edge: String(selection.index) } };
  return null;
}

function showPanel() {
  // A value typed and not sent yet goes first: leaving its field fires the change that posts it,
  // and the load waits for that post.
  const active = document.activeElement;
  if (panelForm(active) && active.blur) active.blur();
  const panel = panelFor();
  if (panel) {
    order.load(panel.key, panel.url, () => panelValues(panel.values));
    return;
  }
  order.show("");
  shownPanel = "";
  const box = document.createElement("div");
  box.className = "panel-empty";
  const p = document.createElement("p");
  p.textContent = canEdit
    ? "Select a node or a call to edit it, or add a node from the palette. To connect two nodes, select the caller, press “Connect to…”, then click the node it calls."
    : "Select a node or a call to see its parameters.";
  box.append(p);
  inspector.replaceChildren(box);
}

function panelForm(elt) {
  return elt instanceof Element && inspector.contains(elt) ? elt.closest("form[data-post]") : null;
}

function formKey(form) {
  const panel = form.dataset.panel;
  if (panel === "node") return `node:${form.elements.node.value}`;
  if (panel === "edge") return `edge:${form.elements.edge.value}`;
  return panel;
}

/** Post a panel form: its fields and the document as they are when the post goes. */
function postForm(form, op) {
  // A post that reshapes the form (a row added or removed) leaves nothing to edit meanwhile.
  if (op) form.inert = true;
  order.post(formKey(form), form.dataset.post, () => {
    const body = new FormData(form);
    body.delete("op");
    if (op) body.set("op", op);
    body.set("document", text());
    if (!canEdit) body.set("readonly", "1");
    return body;
  });
}

/** An emptied field that needs a value: the value stays, and the field says so until one is typed. */
function emptyRequired(el) {
  return el instanceof HTMLInputElement && el.hasAttribute("data-required") && el.value.trim() === "";
}

function markRequired(el) {
  if (!(el instanceof HTMLInputElement) || !el.hasAttribute("data-required")) return;
  const field = el.closest(".field") || el.parentElement;
  let note = field.querySelector(".pending-required");
  if (!emptyRequired(el)) {
    if (note) note.remove();
    return;
  }
  if (!note) {
    note = document.createElement("p");
    note.className = "error pending-required";
    note.setAttribute("role", "status");
    field.append(note);
  }
  note.textContent = el.defaultValue
    ? `required: type a value (it stays ${el.defaultValue} until then)`
    : "required: type a value";
}

// Capture: an edit counts before the handlers below post it.
for (const name of ["input", "change", "submit"]) {
  inspector.addEventListener(name, (e) => {
    if (panelForm(e.target)) order.edit();
  }, true);
}
inspector.addEventListener("input", (e) => {
  if (panelForm(e.target)) markRequired(e.target);
});
inspector.addEventListener("change", (e) => {
  const form = panelForm(e.target);
  if (!form || !canEdit || emptyRequired(e.target)) return;
  postForm(form, "");
});
for (const name of ["pointerdown", "keydown"]) {
  inspector.addEventListener(name, (e) => {
    const button = e.target instanceof Element ? e.target.closest("button[name=op]") : null;
    if (button && (name === "pointerdown" || e.key === "Enter" || e.key === " ")) pressed = button;
  }, true);
}
inspector.addEventListener("submit", (e) => {
  const form = panelForm(e.target);
  if (!form) return;
  e.preventDefault();
  const submitter = e.submitter;
  const op = submitter && submitter.name === "op" && (submitter === pressed || submitter === document.activeElement) ? submitter.value : "";
  pressed = null;
  if (canEdit) postForm(form, op);
});
// Leaving the form: a panel left behind by an answer dropped for an edit is loaded again.
inspector.addEventListener("focusout", (e) => {
  if (!panelForm(e.target)) return;
  setTimeout(() => {
    if (order.stale && order.pending === 0 && !panelForm(document.activeElement)) showPanel();
  }, 0);
});

function takeResult(result) {
  if (result.node !== undefined) {
    const followed = selection && selection.type === "node" && selection.id === result.node;
    const previous = selection;
    if (followed) selection = { type: "node", id: result.value.id };
    if (!commit((d) => model.replaceNode(d, result.node, result.value), { refreshPanel: false })) selection = previous;
    else if (result.value.id !== result.node) order.rename(`node:${result.node}`, `node:${result.value.id}`);
  } else if (result.edge !== undefined) {
    const current = doc.edges[result.edge];
    if (current && current.from === result.value.from && current.to === result.value.to) {
      commit((d) => {
        d.edges[result.edge] = result.value;
      }, { refreshPanel: false });
    }
  } else if (result.scenario !== undefined) {
    commit((d) => {
      d.scenario = result.scenario;
    }, { refreshPanel: false });
  }
}

inspector.addEventListener("click", (e) => {
  const button = e.target.closest("[data-action]");
  if (!button || !inspector.contains(button)) return;
  const action = button.dataset.action;
  const index = Number(button.dataset.edge);
  if (action === "select-edge") select({ type: "edge", index });
  else if (action === "select-node") select({ type: "node", id: button.dataset.node });
  else if (action === "delete-selection") deleteSelection();
  else if (action === "edge-up" || action === "edge-down") {
    let moved = index;
    commit((d) => {
      moved = model.moveEdge(d, index, action === "edge-up" ? -1 : 1);
    }, { refreshPanel: false });
    if (selection && selection.type === "edge") selection = { type: "edge", index: moved };
    graph.select(selection);
    showPanel();
  } else if (action === "edge-delete") {
    commit((d) => model.removeEdge(d, index));
  } else if (action === "add-call") {
    const target = inspector.querySelector("[data-role=call-target]");
    if (target && selection && selection.type === "node" && !refuseDuplicate(selection.id, target.value)) {
      commit((d) => model.addEdge(d, selection.id, target.value));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Problems, outline and buttons

function problemSets() {
  const nodes = new Set();
  const edges = new Set();
  for (const p of problems) {
    if (p.node) nodes.add(p.node);
    if (p.edge !== null && p.edge !== undefined) edges.add(p.edge);
  }
  return { nodes, edges };
}

function showProblems(list) {
  problems = list;
  const ul = $("problems");
  ul.replaceChildren();
  $("problem-count").textContent = list.length ? `(${list.length})` : "";
  if (!list.length) {
    const li = document.createElement("li");
    li.className = doc.nodes.length ? "ok" : "muted";
    li.textContent = doc.nodes.length ? "None: this design can run." : "Add a client and what it calls.";
    ul.append(li);
  }
  for (const p of list) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "problem";
    const path = document.createElement("code");
    path.textContent = p.path;
    const message = document.createElement("span");
    message.textContent = ` ${p.message}`;
    button.append(path, message);
    button.addEventListener("click", () => {
      if (p.node) select({ type: "node", id: p.node });
      else if (p.edge !== null && p.edge !== undefined) select({ type: "edge", index: p.edge });
      else if (p.scenario) setTab("scenario");
    });
    li.append(button);
    ul.append(li);
  }
  graph.render(doc, problemSets());
  graph.select(selection);
  renderOutline();
  const run = $("run-button");
  const valid = list.length === 0 && doc.nodes.length > 0;
  run.dataset.valid = String(valid);
  run.disabled = !(valid && run.hasAttribute("data-runs-enabled"));
  root.dispatchEvent(new CustomEvent("design:state", { detail: { valid, problems: list, slug: saver.slug, version: saver.version } }));
}

// What a run would cost: requests, and calls with retries at their worst, against the site's limit.
function showEstimate(estimate) {
  const el = $("work-estimate");
  if (!estimate || !estimate.requests) {
    el.hidden = true;
    return;
  }
  const n = (x) => Math.round(x).toLocaleString("en-US");
  const share = estimate.calls / estimate.limit;
  el.textContent = `A run: about ${n(estimate.requests)} requests and ${n(estimate.calls)} calls at worst ` +
    `(${estimate.calls_per_request.toLocaleString("en-US")} per request, retries included); ` +
    `the site runs up to ${n(estimate.limit)} calls${share > 1 ? "." : ` (${Math.max(1, Math.round(share * 100))}% of it).`}`;
  el.dataset.over = String(share > 1);
  el.hidden = false;
}

// Hints before running (engine/hints.py): warnings with their fix, listed under the problems.
// They never block Run. Each names a node; choosing it selects the node.
function showHints(hints) {
  let ul = $("hints");
  if (!ul) {
    ul = document.createElement("ul");
    ul.id = "hints";
    ul.className = "problem-list hint-list";
    ul.setAttribute("aria-label", "Hints before running");
    $("problems").after(ul);
  }
  ul.replaceChildren();
  for (const h of hints || []) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "problem hint";
    button.dataset.node = h.node;
    const tag = document.createElement("strong");
    tag.textContent = "Warning";
    button.append(tag, ` ${h.text}`);
    button.addEventListener("click", () => {
      if (doc.nodes.some((n) => n.id === h.node)) select({ type: "node", id: h.node });
    });
    li.append(button);
    ul.append(li);
  }
  ul.hidden = !ul.children.length;
}

let validateTimer = null;
let validateSeq = 0;
function validateSoon() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 250);
}

async function validate() {
  const seq = ++validateSeq;
  try {
    const { ok, data } = await postJSON(boot.urls.validate, { document: doc });
    if (seq === validateSeq && ok) {
      showProblems(data.problems);
      showEstimate(data.estimate);
      showHints(data.hints);
    }
  } catch {
    // Offline: the last list stays; saving says so.
  }
}

function renderOutline() {
  $("canvas").parentElement.dataset.empty = String(doc.nodes.length === 0);
  const ul = $("outline");
  ul.replaceChildren();
  $("node-count").textContent = doc.nodes.length ? `(${doc.nodes.length})` : "";
  const bad = problemSets().nodes;
  const kinds = Object.fromEntries(boot.kinds.map((k) => [k.kind, k]));
  for (const node of doc.nodes) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "outline-item";
    button.dataset.node = node.id;
    const selected = selection && selection.type === "node" && selection.id === node.id;
    button.setAttribute("aria-pressed", String(Boolean(selected)));
    const dot = document.createElement("span");
    dot.className = "kind-dot";
    dot.style.setProperty("--kind", (kinds[node.kind] || {}).color || "#5b6675");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = node.label || node.id;
    const kind = document.createElement("span");
    kind.className = "muted small";
    kind.textContent = (kinds[node.kind] || {}).name || String(node.kind);
    button.append(dot, name, kind);
    if (bad.has(node.id)) {
      const flag = document.createElement("span");
      flag.className = "flag";
      flag.textContent = "problem";
      button.append(flag);
    }
    button.addEventListener("click", () => select({ type: "node", id: node.id }));
    li.append(button);
    ul.append(li);
  }
}

function updateButtons() {
  $("undo").disabled = !canEdit || !history.canUndo;
  $("redo").disabled = !canEdit || !history.canRedo;
  $("connect-button").disabled = !canEdit || !selection || selection.type !== "node";
  $("delete-button").disabled = !canEdit || !selection;
}

function setEditable(editable) {
  canEdit = editable;
  graph.setEditable(editable);
  for (const b of document.querySelectorAll(".palette-item")) b.disabled = !editable;
  $("design-title").readOnly = !editable;
  updateButtons();
}

// ---------------------------------------------------------------------------------------------
// Toolbar, palette, keyboard

$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("connect-button").addEventListener("click", () => (connectFrom ? cancelConnect() : startConnect()));
$("delete-button").addEventListener("click", deleteSelection);
$("fit-button").addEventListener("click", () => graph.fit());
$("layout-button").addEventListener("click", () => {
  const positions = graph.layoutNodes(doc, true);
  commit((d) => {
    for (const [id, pos] of Object.entries(positions)) model.setPosition(d, id, pos);
  }, { refreshPanel: false });
  graph.fit();
});
$("tab-selection").addEventListener("click", () => setTab("selection"));
$("tab-scenario").addEventListener("click", () => setTab("scenario"));
$("design-title").addEventListener("change", (e) => {
  const value = e.target.value.trim().slice(0, 200);
  commit((d) => {
    d.title = value;
  }, { refreshPanel: false });
});

for (const button of document.querySelectorAll(".palette-item")) {
  button.addEventListener("click", () => addNode(button.dataset.kind));
  button.addEventListener("dragstart", (e) => {
    e.dataTransfer.setData("text/x-node-kind", button.dataset.kind);
    e.dataTransfer.effectAllowed = "copy";
  });
}

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (e) => {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !typing(e.target)) {
    const key = e.key.toLowerCase();
    if (key === "z" && !e.shiftKey) {
      e.preventDefault();
      undo();
    } else if ((key === "z" && e.shiftKey) || key === "y") {
      e.preventDefault();
      redo();
    }
    return;
  }
  if (typing(e.target) || mod || e.altKey) return;
  const onCanvas = e.target === document.body || e.target === $("canvas") || $("canvas").contains(e.target);
  if ((e.key === "Delete" || (e.key === "Backspace" && onCanvas)) && canEdit && selection && !inspector.contains(e.target)) {
    e.preventDefault();
    deleteSelection();
    return;
  }
  if (!onCanvas) {
    if (e.key === "Escape" && connectFrom) cancelConnect();
    return;
  }
  if (e.key === "Escape") {
    if (connectFrom) cancelConnect();
    else select(null);
  } else if (e.key.startsWith("Arrow") && canEdit) {
    e.preventDefault();
    const step = e.shiftKey ? 50 : 10;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
    nudge(d[0], d[1]);
  } else if (e.key.toLowerCase() === "c" && canEdit) {
    startConnect();
  }
});

// ---------------------------------------------------------------------------------------------
// Run: save first, then start a run of the saved design (or of the untouched template)

const runForm = $("run-form");
const seedChoice = $("run-seed");
let seedTouched = false;

/** The seed the scenario sets, or null when it sets none (the engine's default is 0). */
function scenarioSeed() {
  const seed = doc.scenario && doc.scenario.seed;
  return Number.isInteger(seed) && seed >= 0 ? seed : null;
}

/** "From the scenario (7)" names the seed; it is the default when the scenario sets one. */
function updateSeedChoice() {
  if (!seedChoice) return;
  const seed = scenarioSeed();
  seedChoice.options[0].textContent = `seed: from the scenario (${seed === null ? 0 : seed})`;
  if (!seedTouched) seedChoice.value = seed === null ? "fresh" : "scenario";
}

if (seedChoice) {
  seedChoice.addEventListener("change", () => {
    seedTouched = true;
  });
}
if (runForm) {
  runForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const run = $("run-button");
    if (run.disabled) return;
    run.disabled = true;
    const [mode, speed] = $("run-pace").value.split("-");
    runForm.elements.mode.value = mode;
    runForm.elements.speed.value = speed;
    // The scenario's seed, or none: the server draws a fresh one.
    const seed = scenarioSeed();
    runForm.elements.seed.value = seedChoice && seedChoice.value === "scenario" ? String(seed === null ? 0 : seed) : "";
    if (canEdit && (saver.dirty || (!saver.slug && history.canUndo))) await saver.save();
    if (saver.dirty || saver.conflict) {
      hint("Save the design first (see the saved state above), then run it.");
      run.disabled = false;
      return;
    }
    if (saver.slug) {
      runForm.elements.design.value = saver.slug;
      if (runForm.elements.template) runForm.elements.template.disabled = true;
    }
    runForm.submit();
  });
}

// ---------------------------------------------------------------------------------------------
// Conflicts between tabs

$("conflict-overwrite").addEventListener("click", async () => {
  $("conflict-banner").hidden = true;
  await saver.overwrite();
});
$("conflict-fork").addEventListener("click", async () => {
  try {
    const url = await saver.fork();
    window.location.assign(url);
  } catch (err) {
    saveState.textContent = `Could not fork: ${err.message}`;
  }
});
$("conflict-reload").addEventListener("click", () => {
  saver.discardLocal();
  window.location.reload();
});

async function pullNewer() {
  const newer = await saver.fetchNewer();
  if (!newer) return;
  // Undo must not reach back past another tab's save, so the history starts again here.
  doc = model.normalize(newer.document);
  history.clear();
  graph.render(doc, problemSets());
  fixSelection();
  renderOutline();
  updateButtons();
  showPanel();
  updateSeedChoice();
  validateSoon();
  saveState.textContent = "Saved (updated from another tab)";
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") pullNewer();
});
window.addEventListener("focus", pullNewer);

// ---------------------------------------------------------------------------------------------
// Import and export

async function exportAs(format) {
  const body = new FormData();
  body.append("document", text());
  body.append("format", format);
  const response = await fetch(boot.urls.export, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
  if (!response.ok) {
    saveState.textContent = "Export failed";
    return;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = match ? match[1] : `design.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

$("export-json").addEventListener("click", () => exportAs("json"));
$("export-yaml").addEventListener("click", () => exportAs("yaml"));

function showImportProblems(title, list) {
  $("import-problems-title").textContent = title;
  const ul = $("import-problems-list");
  ul.replaceChildren();
  for (const p of list) {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = p.path;
    li.append(code, document.createTextNode(` ${p.message}`));
    ul.append(li);
  }
  $("import-problems").hidden = false;
}

$("import-problems-close").addEventListener("click", () => {
  $("import-problems").hidden = true;
});

const importFile = $("import-file");
if (importFile) {
  importFile.addEventListener("change", async () => {
    const file = importFile.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    importFile.value = "";
    let response;
    try {
      response = await fetch(boot.urls.import, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
    } catch {
      showImportProblems("The file could not be sent: are you offline?", []);
      return;
    }
    const data = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) {
      showImportProblems(`Not imported: ${data.error || response.status}.`, data.problems || []);
      return;
    }
    const found = Array.isArray(data.problems) ? data.problems : [];
    if (found.length) {
      // A draft: imported as it is, to be fixed here; its problems are under Problems too.
      showImportProblems(`Imported as a draft with ${found.length} problem${found.length === 1 ? "" : "s"}: fix ${found.length === 1 ? "it" : "them"} before running.`, found);
    } else {
      $("import-problems").hidden = true;
    }
    const imported = model.normalize(data.document);
    selection = null;
    commit((d) => {
      for (const key of Object.keys(d)) delete d[key];
      Object.assign(d, imported);
    });
    placeLooseNodes();
    graph.fit();
  });
}

// ---------------------------------------------------------------------------------------------
// Start

/** Give nodes without a position one (dagre), without counting it as a change. */
function placeLooseNodes() {
  graph.render(doc);
  const positions = graph.layoutNodes(doc);
  for (const [id, pos] of Object.entries(positions)) model.setPosition(doc, id, pos);
}

placeLooseNodes();
graph.render(doc);
graph.fit();
renderOutline();
updateButtons();
showPanel();
updateSeedChoice();
validate();

const pending = saver.pendingLocal();
if (pending) {
  history.record(text());
  doc = model.normalize(pending.document);
  graph.render(doc);
  renderOutline();
  updateButtons();
  updateSeedChoice();
  saveState.textContent = "Restored unsaved changes from this browser";
  saver.restored(pending);
  validateSoon();
}

// For the live-run page and tests: the editor's current state.
root.editor = {
  document: () => model.clone(doc),
  slug: () => saver.slug,
  version: () => saver.version,
  save: () => saver.save(),
  valid: () => problems.length === 0 && doc.nodes.length > 0,
  /** Where a node is drawn, in pixels from the canvas's top left (for tests and tours). */
  nodePosition: (id) => graph.cy.getElementById(id).renderedPosition(),
  /** Where edge ``index`` is drawn: its midpoint, in model coordinates. */
  edgeMidpoint: (index) => graph.cy.getElementById(`e${index}`).midpoint(),
  /** The panel ordering protocol's counts: sent, applied, dropped, replaced, pending. */
  panels: () => ({ ...order.stats, pending: order.pending, stale: order.stale }),
};
root.dataset.ready = "true";
