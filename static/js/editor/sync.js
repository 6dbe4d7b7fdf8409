// Saving: autosave shortly after each change, optimistic concurrency on the design's version, and
// a copy in this browser (localStorage) of whatever is not saved yet, so a tab that loses a race,
// goes offline or closes keeps its work.
//
// States shown to the user: saved, saving, dirty (unsaved changes), offline, conflict, readonly.

const AUTOSAVE_MS = 700;
const RETRY_MS = 5000;

export function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `the server answered ${response.status}` };
  }
  return { status: response.status, ok: response.ok, data };
}

function localKey(slug) {
  return `sdp:design:${slug}`;
}

export function readLocal(slug) {
  try {
    const raw = localStorage.getItem(localKey(slug));
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function writeLocal(slug, entry) {
  try {
    localStorage.setItem(localKey(slug), JSON.stringify(entry));
  } catch {
    // Storage full or blocked: saving to the server still works.
  }
}

function dropLocal(slug) {
  try {
    localStorage.removeItem(localKey(slug));
  } catch {
    // ignore
  }
}

export class Saver {
  /**
   * boot: the page's editor data; getDoc: the current document; onState(state, text): show it;
   * onSaved(response): problems and version after a save; onConflict(theirs): show the choices.
   */
  constructor(boot, { getDoc, onState, onSaved, onConflict, onCreated }) {
    this.urls = boot.urls;
    this.placeholder = boot.placeholder;
    this.slug = boot.slug;
    this.version = boot.version;
    this.template = boot.template;
    this.forkedFrom = boot.forkedFrom;
    this.canEdit = boot.canEdit;
    this.getDoc = getDoc;
    this.onState = onState;
    this.onSaved = onSaved;
    this.onConflict = onConflict;
    this.onCreated = onCreated;
    this.timer = null;
    this.inFlight = null;
    this.dirty = false;
    this.conflict = false;
    this.savedText = boot.slug ? JSON.stringify(getDoc()) : null;
  }

  url(name, slug = this.slug) {
    return this.urls[name].replace(this.placeholder, slug);
  }

  /** A change was made: keep it in this browser and save it soon. */
  changed() {
    if (!this.canEdit) return;
    this.dirty = true;
    if (this.slug) writeLocal(this.slug, { version: this.version, document: this.getDoc(), at: Date.now() });
    if (this.conflict) {
      this.onState("conflict", "Not saved: saved elsewhere meanwhile");
      return;
    }
    this.onState("dirty", "Unsaved changes");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  /** Save now (resolves when this and any save in flight are done). */
  async save({ force = false } = {}) {
    clearTimeout(this.timer);
    if (!this.canEdit || (this.conflict && !force)) return;
    if (this.inFlight) {
      await this.inFlight;
      if (!this.dirty) return;
    }
    this.inFlight = this._save(force).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async _save(force) {
    const doc = this.getDoc();
    const text = JSON.stringify(doc);
    if (this.slug && text === this.savedText && !force) {
      this.dirty = false;
      this.onState("saved", "Saved");
      return;
    }
    this.onState("saving", "Saving…");
    let result;
    try {
      if (!this.slug) {
        result = await postJSON(this.urls.create, { document: doc, template: this.template, forked_from: this.forkedFrom });
      } else {
        result = await postJSON(this.url("save"), { document: doc, version: this.version, force });
      }
    } catch {
      this.onState("offline", "Not saved: offline (kept in this browser)");
      this.timer = setTimeout(() => this.save(), RETRY_MS);
      return;
    }
    const { status, data } = result;
    if (status === 201 || status === 200) {
      const created = !this.slug;
      this.slug = data.slug;
      this.version = data.version;
      this.savedText = text;
      if (created) this.onCreated(data);
      const stillDirty = JSON.stringify(this.getDoc()) !== text;
      this.dirty = stillDirty;
      if (stillDirty) {
        writeLocal(this.slug, { version: this.version, document: this.getDoc(), at: Date.now() });
        this.timer = setTimeout(() => this.save(), AUTOSAVE_MS);
        this.onState("dirty", "Unsaved changes");
      } else {
        dropLocal(this.slug);
        this.onState("saved", "Saved");
      }
      this.conflict = false;
      this.onSaved(data);
    } else if (status === 409) {
      this.conflict = true;
      writeLocal(this.slug, { version: this.version, document: doc, at: Date.now(), conflict: data.version });
      this.onState("conflict", "Not saved: saved elsewhere meanwhile");
      this.onConflict(data);
    } else if (status === 403) {
      this.canEdit = false;
      this.onState("readonly", "Not saved: only the owner can change this design");
    } else {
      const why = (data.problems && data.problems[0] && `${data.problems[0].path}: ${data.problems[0].message}`) || data.error;
      // A refusal (a quota, the create rate) keeps the work: in the editor, and in this browser.
      if (this.slug) writeLocal(this.slug, { version: this.version, document: doc, at: Date.now() });
      this.onState("error", `Not saved: ${why || status}`);
    }
  }

  /** Conflict choice: save this tab's document over the other one. */
  overwrite() {
    this.conflict = false;
    return this.save({ force: true });
  }

  /** Conflict choice: this tab's document becomes a new design; resolves to its URL. */
  async fork() {
    const doc = this.getDoc();
    const { status, data } = await postJSON(this.urls.create, { document: doc, forked_from: this.slug, template: this.template });
    if (status !== 201) throw new Error(data.error || `the server answered ${status}`);
    dropLocal(this.slug);
    this.dirty = false; // saved, as the fork: leaving the page loses nothing
    return data.url;
  }

  /** Conflict choice: forget this tab's changes. */
  discardLocal() {
    if (this.slug) dropLocal(this.slug);
    this.dirty = false;
  }

  /** The saved design, if it changed elsewhere while this tab had nothing unsaved. */
  async fetchNewer() {
    if (!this.slug || this.dirty || this.inFlight || this.conflict) return null;
    const response = await fetch(this.url("document"), { credentials: "same-origin" });
    if (!response.ok) return null;
    const data = await response.json();
    if (data.version <= this.version || this.dirty) return null;
    this.version = data.version;
    this.savedText = JSON.stringify(data.document);
    return data;
  }

  /** A copy of this design kept in this browser: newer work to restore, or a lost race. */
  pendingLocal() {
    if (!this.slug || !this.canEdit) return null;
    const entry = readLocal(this.slug);
    if (!entry || !entry.document) return null;
    if (JSON.stringify(entry.document) === this.savedText) {
      dropLocal(this.slug);
      return null;
    }
    return entry;
  }

  /** After a restore: the base version decides between saving and a conflict. */
  restored(entry) {
    if (entry.version === this.version) {
      this.changed();
    } else {
      this.dirty = true;
      this.conflict = true;
      this.onState("conflict", "Not saved: saved elsewhere meanwhile");
      this.onConflict({ version: this.version });
    }
  }
}
