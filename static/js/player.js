// The run page's replay player: play, pause and scrub through a run's frames, at 1x, 5x or 20x
// the simulated clock. While a run is going the player follows its newest frame until the user
// scrubs back or presses Play; "Live" goes back to following.
//
// The player knows frame indexes (0 .. length-1) and their times; what a frame means is the
// page's business, through onIndex(index, following).
export class Player {
  constructor(root, { tickS = 1, onIndex = () => {} } = {}) {
    this.root = root;
    this.tickS = tickS;
    this.onIndex = onIndex;
    this.times = [];
    this.idx = -1;
    this.following = true;
    this.playing = false;
    this.finished = false;
    this.speed = 1;
    this.timer = null;
    this.playButton = root.querySelector("[data-player=play]");
    this.range = root.querySelector("[data-player=range]");
    this.timeEl = root.querySelector("[data-player=time]");
    this.liveButton = root.querySelector("[data-player=live]");
    this.speedButtons = [...root.querySelectorAll("[data-speed]")];
    this.playButton.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.range.addEventListener("input", () => this.scrub(Number(this.range.value)));
    this.liveButton.addEventListener("click", () => this.live());
    for (const b of this.speedButtons) b.addEventListener("click", () => this.setSpeed(Number(b.dataset.speed)));
    // Keys on the player: space or k plays and pauses, as on video players; the range input
    // already moves by arrows, Home and End.
    root.addEventListener("keydown", (e) => {
      if ((e.key === "k" || (e.key === " " && e.target === this.range)) && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.playing ? this.pause() : this.play();
      }
    });
    this.render();
  }

  get length() {
    return this.times.length;
  }

  // A new frame at time t arrived.
  add(t) {
    this.times.push(t);
    this.range.max = String(Math.max(0, this.length - 1));
    if (this.following) this.go(this.length - 1);
    else this.render();
  }

  // The run ended: no more frames will come.
  finish() {
    this.finished = true;
    this.following = false;
    this.render();
  }

  go(i) {
    if (!this.length) return;
    const next = Math.max(0, Math.min(this.length - 1, i));
    const changed = next !== this.idx;
    this.idx = next;
    this.render();
    if (changed || this.following) this.onIndex(this.idx, this.following);
  }

  scrub(i) {
    this.pause();
    this.following = !this.finished && i >= this.length - 1;
    this.go(i);
  }

  // The frame at or just after t (seconds); until it has arrived, seek there when it does.
  seekTime(t) {
    const i = this.times.findIndex((x) => x >= t - 1e-9);
    if (i < 0) {
      this.pendingT = t;
      this.following = false;
      this.pause();
      if (this.length) this.go(this.length - 1);
      return;
    }
    this.pendingT = null;
    this.pause();
    this.following = false;
    this.go(i);
  }

  // Called after add(): a seek that waited for its frame.
  settle() {
    if (this.pendingT === null || this.pendingT === undefined) return;
    const t = this.pendingT;
    if (this.times[this.length - 1] >= t - 1e-9) this.seekTime(t);
  }

  play() {
    if (!this.length) return;
    if (this.idx >= this.length - 1) {
      if (!this.finished) { this.live(); return; }
      this.go(0);  // a finished run plays from its start
    }
    this.following = false;
    this.playing = true;
    this.schedule();
    this.render();
  }

  pause() {
    this.playing = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.render();
  }

  live() {
    this.pause();
    this.following = true;
    this.pendingT = null;
    this.go(this.length - 1);
    this.render();
  }

  setSpeed(speed) {
    this.speed = speed;
    if (this.playing) { clearTimeout(this.timer); this.schedule(); }
    this.render();
  }

  schedule() {
    // One frame per tick of simulated time, at `speed` times the real clock; faster than the
    // screen refreshes, several frames a step.
    const ms = (this.tickS * 1000) / this.speed;
    const step = Math.max(1, Math.round(33 / ms));
    this.timer = setTimeout(() => {
      if (!this.playing) return;
      if (this.idx + step >= this.length - 1) {
        this.go(this.length - 1);
        if (this.finished) this.pause();
        else this.live();
        return;
      }
      this.go(this.idx + step);
      this.schedule();
    }, Math.max(ms * step, 16));
  }

  render() {
    const r = this.root;
    const t = this.idx >= 0 ? this.times[this.idx] : 0;
    const end = this.length ? this.times[this.length - 1] : 0;
    this.range.value = String(Math.max(0, this.idx));
    this.range.disabled = this.length < 2;
    const words = `${fmtT(t)} of ${fmtT(end)}${this.finished ? "" : " so far"}`;
    this.range.setAttribute("aria-valuetext", words);
    this.timeEl.textContent = `t = ${fmtT(t)} / ${fmtT(end)}`;
    this.playButton.textContent = this.playing ? "Pause" : "Play";
    this.playButton.setAttribute("aria-label", this.playing ? "Pause the replay" : "Play the replay");
    this.playButton.disabled = !this.length;
    this.liveButton.hidden = this.finished;
    this.liveButton.setAttribute("aria-pressed", String(this.following));
    for (const b of this.speedButtons) b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === this.speed));
    r.dataset.index = String(this.idx);
    r.dataset.playing = String(this.playing);
    r.dataset.following = String(this.following);
    r.dataset.finished = String(this.finished);
  }
}

function fmtT(t) {
  return Number.isInteger(Number(t)) ? `${Number(t)} s` : `${Number(t).toFixed(1)} s`;
}
