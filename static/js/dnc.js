// The do-not-call page: a list upload goes to /api/dnc/upload (the edge's upload route), then
// the page reloads to show the list. Adding and removing are plain form posts.
import { csrfToken, el } from "./dom.js";

const form = document.getElementById("dnc-upload-form");
const result = document.getElementById("dnc-upload-result");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("dnc-file").files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  result.replaceChildren(el("p", { className: "muted" }, `Uploading ${file.name}…`));
  let data = null;
  let response;
  try {
    response = await fetch("/api/dnc/upload", {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    data = await response.json();
  } catch {
    result.replaceChildren(el("p", { className: "notice error" }, "The upload failed; try again."));
    return;
  }
  if (!response.ok) {
    result.replaceChildren(el("p", { className: "notice error" }, (data && data.error) || `HTTP ${response.status}`));
    return;
  }
  const invalid = data.invalidRows.map((row) => el("li", {}, `line ${row.line}: “${row.value}”`));
  result.replaceChildren(
    el("p", { className: "notice" }, `${data.added} added, ${data.alreadyListed} already listed, ${data.invalid} invalid.`),
    invalid.length ? el("ul", { className: "invalid-rows" }, invalid) : null,
    el("p", {}, el("a", { href: window.location.pathname }, "Show the list")),
  );
});
