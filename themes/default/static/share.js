// "Copy link" on award pages: shown only when the Clipboard API is there (works without JS).
for (const button of document.querySelectorAll("button.copy-link")) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.url);
      button.textContent = button.dataset.done;
    } catch (error) {
      button.hidden = true;
    }
  });
}
