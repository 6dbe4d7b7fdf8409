// One ordering protocol for every request that can replace the editor's inspector: panel loads
// (a new selection, the Scenario tab, an undo) and form posts (a field changed, an op button).
// Without it, an answer to an earlier request could replace a newer choice on a slow connection.
//
// - A panel has a key ("node:api", "edge:2", "scenario"). Every request takes a ticket from one
//   counter; each panel remembers its newest ticket, and the inspector the panel it should show
//   (the key of the latest load, or of a panel drawn here, like the empty one).
// - Every edit in the panel's form (input, change, submit: ``edit()``) raises the edit generation.
// - An answer replaces the inspector only if its ticket is still its panel's newest, its panel is
//   the one wanted, and no edit was made after it was sent. Otherwise it is dropped (counted in
//   ``stats.dropped``). A form's answer always gives its change to the document, swapped or not.
// - Form posts go one at a time. While one is in flight a new one waits, and a newer waiting post
//   of the same panel replaces the older one: a post reads its form when it goes, so the last one
//   carries every edit. (A post that changes the form's shape, adding or removing a row, is sent
//   with the form made inert by the editor, so no edit can be made on the form it reshapes.)
// - A load waits while any post is in flight or waiting, so it is rendered from a document that
//   holds every edit; of the loads waiting only the latest goes.
// - An answer dropped only because of an edit, with no newer request coming, leaves the panel
//   stale (``stale``); ``onStale`` asks the editor to load it again once the user leaves the form.
//
// ``target.dataset.pending`` is the number of requests in flight or waiting ("0": settled), and
// ``target.dataset.dropped`` the answers dropped so far: tests wait on them, not on time.

import { csrfToken } from "./sync.js";

export class PanelOrder {
  /**
   * target: the element replaced; apply(fragment, key): replace its content; take(result): a
   * form's change into the document; fail(status, request): the server or the network failed;
   * onStale(): the panel shown is older than the document and nothing newer is coming.
   */
  constructor(target, { apply, take, fail, onStale }) {
    this.target = target;
    this.apply = apply;
    this.take = take;
    this.fail = fail;
    this.onStale = onStale;
    this.counter = 0;
    this.generation = 0;
    this.newest = new Map(); // panel key -> its newest ticket
    this.wanted = null; // the panel the inspector should show
    this.shown = null; // the panel it shows
    this.inFlight = new Set();
    this.posting = null; // the post in flight
    this.waitingPosts = new Map(); // panel key -> the post waiting for it (oldest first)
    this.waitingLoad = null;
    this.stale = false;
    this.stats = { sent: 0, applied: 0, dropped: 0, replaced: 0 };
    this.update();
  }

  get pending() {
    return this.inFlight.size + this.waitingPosts.size + (this.waitingLoad ? 1 : 0);
  }

  /** True while a post for ``key`` is in flight or waiting. */
  posts(key) {
    return (this.posting && this.posting.key === key) || this.waitingPosts.has(key);
  }

  ticket(key) {
    this.counter += 1;
    this.newest.set(key, this.counter);
    return this.counter;
  }

  /** The user edited the panel's form. */
  edit() {
    this.generation += 1;
  }

  /** The inspector shows ``key`` drawn here (no request): older answers no longer apply. */
  show(key) {
    this.ticket(key);
    this.wanted = key;
    this.shown = key;
    this.stale = false;
    if (this.waitingLoad) this.stats.replaced += 1;
    this.waitingLoad = null;
    this.update();
  }

  /** Load panel ``key``: POST ``values()`` (read when it goes) to ``url``. */
  load(key, url, values) {
    const request = { kind: "load", key, url, values, ticket: this.ticket(key) };
    this.wanted = key;
    if (this.waitingLoad) this.stats.replaced += 1;
    this.waitingLoad = null;
    if (this.posting || this.waitingPosts.size) this.waitingLoad = request;
    else this.send(request);
    this.update();
  }

  /** Post panel ``key``'s form: ``values()`` is read when the post goes. */
  post(key, url, values) {
    const request = { kind: "post", key, url, values, ticket: this.ticket(key) };
    if (this.posting) {
      if (this.waitingPosts.has(key)) this.stats.replaced += 1;
      this.waitingPosts.delete(key);
      this.waitingPosts.set(key, request);
    } else {
      this.send(request);
    }
    this.update();
  }

  async send(request) {
    const generation = this.generation;
    const body = new URLSearchParams(formData(request.values()));
    this.inFlight.add(request);
    if (request.kind === "post") this.posting = request;
    this.stats.sent += 1;
    this.update();
    let status = 0;
    let html = null;
    try {
      const response = await fetch(request.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
      status = response.status;
      if (response.ok) html = await response.text();
    } catch {
      status = 0;
    }
    this.inFlight.delete(request);
    if (this.posting === request) this.posting = null;
    try {
      if (html === null) this.failed(request, status);
      else this.answer(request, generation, html);
    } finally {
      this.next();
      this.update();
    }
  }

  answer(request, generation, html) {
    // Decided before the change is taken: taking it may rename the panel (``rename``).
    const newest = this.newest.get(request.key) === request.ticket && this.wanted === request.key;
    const answer = document.createElement("template");
    answer.innerHTML = html;
    const script = answer.content.querySelector("#panel-result");
    if (script) {
      script.remove();
      this.take(JSON.parse(script.textContent));
    }
    if (newest && generation === this.generation) {
      this.shown = this.wanted;
      this.stale = false;
      this.stats.applied += 1;
      this.apply(answer.content, this.wanted);
      return;
    }
    this.stats.dropped += 1;
    if (newest && !this.stale) {
      this.stale = true;
      queueMicrotask(() => this.onStale());
    }
  }

  /** A panel's key changed (a node renamed in its own form): it stays the same panel. */
  rename(from, to) {
    if (from === to) return;
    if (this.newest.has(from)) this.newest.set(to, Math.max(this.newest.get(from), this.newest.get(to) || 0));
    if (this.wanted === from) this.wanted = to;
    if (this.shown === from) this.shown = to;
  }

  failed(request, status) {
    this.fail(status, request);
  }

  /** After a request: the next waiting post, else (no post left) the latest waiting load. */
  next() {
    if (this.posting) return;
    const [post] = this.waitingPosts.values();
    if (post) {
      this.waitingPosts.delete(post.key);
      this.send(post);
      return;
    }
    const load = this.waitingLoad;
    if (!load) return;
    this.waitingLoad = null;
    if (this.newest.get(load.key) === load.ticket && this.wanted === load.key) this.send(load);
    else this.stats.dropped += 1;
  }

  update() {
    this.target.dataset.pending = String(this.pending);
    this.target.dataset.dropped = String(this.stats.dropped);
  }
}

function formData(values) {
  if (values instanceof FormData) return values;
  const body = new FormData();
  for (const [name, value] of Object.entries(values)) {
    if (Array.isArray(value)) for (const v of value) body.append(name, v);
    else if (value !== undefined && value !== null) body.append(name, value);
  }
  return body;
}
