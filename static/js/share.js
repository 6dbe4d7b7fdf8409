// The "Copy share link" button of the run and sweep pages.
export function wireShareButton(id = "share-button") {
  document.getElementById(id)?.addEventListener("click", async (ev) => {
    const button = ev.currentTarget;
    try {
      await navigator.clipboard.writeText(button.dataset.url);
      button.textContent = "Link copied";
    } catch {
      window.prompt("Copy this link", button.dataset.url);
    }
  });
}
