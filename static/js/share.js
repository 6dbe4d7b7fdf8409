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

// Buttons with data-copy="<id>" copy that field's text (the run page's Embed snippet).
export function wireCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        field.select();
      }
    });
  }
}
