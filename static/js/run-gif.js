// The run page's "Animated GIF" panel: asks for /r/<id>/run.gif and shows its progress. The URL
// answers 202 (with Retry-After) while a worker makes the GIF, 200 with the GIF once it is made,
// 409 while the run has not ended, 503 if it could not be made (picture_views.run_gif).
const panel = document.getElementById("gif-panel");
if (panel) {
  const url = panel.dataset.url;
  const button = document.getElementById("gif-make");
  const status = document.getElementById("gif-status");
  const result = document.getElementById("gif-result");
  const started = Date.now();

  const say = (text) => { status.textContent = text; };

  async function poll() {
    let response;
    try {
      response = await fetch(url, { cache: "no-store" });
    } catch {
      say("Could not reach the site; trying again.");
      setTimeout(poll, 5000);
      return;
    }
    if (response.status === 200) {
      const blob = await response.blob();
      document.getElementById("gif-image").src = url;
      say(`Ready (${(blob.size / 1e6).toFixed(1)} MB).`);
      result.hidden = false;
      panel.dataset.state = "ready";
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) {
      const wait = Number(response.headers.get("Retry-After")) || 3;
      say(`Making the GIF… ${Math.round((Date.now() - started) / 1000)} s so far.`);
      panel.dataset.state = "pending";
      setTimeout(poll, wait * 1000);
      return;
    }
    panel.dataset.state = "failed";
    say(body.message || body.error || `The GIF could not be made (${response.status}).`);
    button.disabled = false;
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    say("Asking for the GIF…");
    poll();
  });
  // The run ended while the page was open: the GIF can be made now.
  document.body.addEventListener("run-done", () => { button.disabled = false; say(""); });
}
