// The topology editor: the document lives here, in the browser; every change goes through
// ``commit`` (undo history, canvas, problems, autosave). Side panels are server-rendered htmx
// partials: main.js posts them the document and takes back the part they changed.

import { Graph } from "./graph.js";
import { History } from "./history.js";
import * as model from "./model.js";
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

function connect(from, to) {
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

// Panel requests and the user's edits. A panel form sends itself on each change and its answer
// replaces the panel; a load (a new selection, an undo) replaces it too. An answer is rendered
// from the document and form as they were sent, so two rules keep it from reverting a newer edit:
// - an answer to a request sent before the user's latest edit in the panel does not replace the
//   panel (a form's answer still gives its change to the document); the form on screen is newer;
// - a load waits while the form has an edit in progress or a request in flight, so that it goes
//   out with the document that holds the edit.
// An *edit* is an input, change or submit in a panel form; ``editing`` means one that no request
// has carried yet (the change that sends it has not happened, or is queued behind another).

let shownPanel = "";
let edits = 0;
let editing = false;
let formRequests = 0;
let clock = 0; // orders panel loads wanted and requests sent
let wanted = null; // {at}: a load held back, or overtaken, that still has to happen
let lastForm = null; // {at, key}: the latest form request sent
const requests = new WeakMap(); // xhr -> {at, edits, key, form}

function panelKey(url, values) {
  return `${url} ${values.node || ""} ${values.edge || ""}`;
}

/** The panel the selection and tab call for: [url, values], or null for the empty panel. */
function panelFor() {
  if (tab === "scenario") return [boot.urls.panelScenario, {}];
  if (selection && selection.type === "node") return [boot.urls.panelNode, { node: selection.id }];
  if (selection && selection.type === "edge") return [boot.urls.panelEdge, { edge: String(selection.index) }];
  return null;
}

function loadPanel(url, values) {
  // Another selection starts at the top of the panel; the same one keeps its scroll position.
  const key = panelKey(url, values);
  const fresh = key !== shownPanel;
  shownPanel = key;
  htmx.ajax("POST", url, { target: "#inspector", swap: "innerHTML", values: panelValues(values) }).then(() => {
    if (fresh) inspector.scrollTop = 0;
  });
}

function showPanel() {
  if (editing || formRequests > 0) {
    wanted = { at: ++clock };
    return;
  }
  wanted = null;
  const panel = panelFor();
  if (panel) {
    loadPanel(...panel);
    return;
  }
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

/** The load held back happens once the form is quiet. */
function settlePanel() {
  if (wanted && !editing && formRequests === 0) showPanel();
}

function panelForm(elt) {
  return elt instanceof Element && inspector.contains(elt) ? elt.closest("form[hx-post]") : null;
}

// Capture: an edit counts before htmx, listening on the form, sends the request that carries it.
for (const name of ["input", "change", "submit"]) {
  inspector.addEventListener(name, (e) => {
    if (!panelForm(e.target)) return;
    edits += 1;
    editing = true;
  }, true);
}
// Leaving a field ends its edit: its change, if any, fired first and is sent or queued (a queued
// request keeps ``formRequests`` above zero: htmx sends it before the one ahead of it ends).
inspector.addEventListener("focusout", (e) => {
  if (!panelForm(e.target)) return;
  editing = false;
  settlePanel();
});

// A form in the panel posts the current document along with its fields.
document.body.addEventListener("htmx:configRequest", (e) => {
  if (!inspector.contains(e.detail.elt)) return;
  e.detail.parameters.document = text();
  if (!canEdit) e.detail.parameters.readonly = "1";
});

document.body.addEventListener("htmx:beforeRequest", (e) => {
  if (e.detail.target !== inspector) return;
  const form = panelForm(e.detail.elt);
  const params = e.detail.requestConfig.parameters;
  const info = { at: ++clock, edits, key: panelKey(e.detail.requestConfig.path, { node: params.node, edge: params.edge }), form: Boolean(form) };
  requests.set(e.detail.xhr, info);
  if (!form) return;
  editing = false; // this request carries every edit so far
  formRequests += 1;
  lastForm = info;
  // On the request (not the form, which its answer may replace): it ends on any outcome.
  e.detail.xhr.addEventListener("loadend", () => {
    formRequests -= 1;
    settlePanel();
  });
});

inspector.addEventListener("htmx:beforeSwap", (e) => {
  const info = requests.get(e.detail.xhr);
  if (!info || !e.detail.shouldSwap) return;
  const current = panelFor();
  if (info.edits === edits) {
    // A form's answer for the panel wanted, sent after the load was wanted, stands for that load.
    if (info.form && wanted && info.at > wanted.at && current && info.key === panelKey(...current)) wanted = null;
    return;
  }
  e.detail.shouldSwap = false;
  if (info.form) {
    const answer = document.createElement("template");
    answer.innerHTML = e.detail.serverResponse;
    const script = answer.content.querySelector("#panel-result");
    if (script) takeResult(JSON.parse(script.textContent));
  } else if (!(lastForm && lastForm.at > info.at && current && lastForm.key === panelKey(...current))) {
    // An overtaken load happens again, unless a later form request renders the same panel.
    wanted = { at: ++clock };
    settlePanel();
  }
});

for (const name of ["htmx:responseError", "htmx:sendError"]) {
  document.body.addEventListener(name, (e) => {
    if (!inspector.contains(e.detail.elt) && e.detail.elt !== inspector) return;
    const status = e.detail.xhr && e.detail.xhr.status;
    hint(status ? `The panel could not be updated (the server answered ${status}).` : "The panel could not be updated: are you offline?");
  });
}

// The panel sends back what its form changed; take it into the document.
inspector.addEventListener("htmx:afterSwap", () => {
  const script = inspector.querySelector("#panel-result");
  if (!script) return;
  const result = JSON.parse(script.textContent);
  script.remove();
  takeResult(result);
});

function takeResult(result) {
  if (result.node !== undefined) {
    const followed = selection && selection.type === "node" && selection.id === result.node;
    const previous = selection;
    if (followed) selection = { type: "node", id: result.value.id };
    if (!commit((d) => model.replaceNode(d, result.node, result.value), { refreshPanel: false })) selection = previous;
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
    if (target && selection && selection.type === "node") {
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
      showHints(data.hints);
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
if (runForm) {
  runForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const run = $("run-button");
    if (run.disabled) return;
    run.disabled = true;
    const [mode, speed] = $("run-pace").value.split("-");
    runForm.elements.mode.value = mode;
    runForm.elements.speed.value = speed;
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
    $("import-problems").hidden = true;
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
validate();

const pending = saver.pendingLocal();
if (pending) {
  history.record(text());
  doc = model.normalize(pending.document);
  graph.render(doc);
  renderOutline();
  updateButtons();
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
};
root.dataset.ready = "true";
