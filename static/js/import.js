// CSV import: upload with progress, then the server's progress (import_progress), the summary
// (import_finished), and the history table.
import { onLiveEvent, onReconnect } from "./app.js";
import { api, csrfToken, el } from "./dom.js";

const form = document.getElementById("import-form");
const fileInput = document.getElementById("import-file");
const statusBox = document.getElementById("import-status");
const phase = document.getElementById("import-phase");
const bar = document.getElementById("import-progress");
const barText = document.getElementById("import-progress-text");
const errorBox = document.getElementById("import-error");
const summary = document.getElementById("import-summary");
const history = document.querySelector("#import-history tbody");
const FINISHED = new Set(["done", "failed"]);

// Events may arrive before the upload's answer says which import is ours: keep the latest of each.
const latest = new Map();
let currentId = null;
// While the upload is in flight its id is unknown; a new import of the same file name is ours.
let uploading = null;
let pollTimer = null;

function newer(a, b) {
  if (!a) return b;
  if (FINISHED.has(b.status)) return b;
  if (FINISHED.has(a.status)) return a;
  return b.stats.processed >= a.stats.processed ? b : a;
}

function remember(job) {
  const known = newer(latest.get(job.id), job);
  latest.set(job.id, known);
  return known;
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
}

function historyRow(job) {
  const when = new Date(job.createdAt);
  return el(
    "tr",
    { dataset: { importId: job.id } },
    el("td", {}, job.fileName),
    el("td", {}, job.vendor),
    el("td", {}, el("span", { className: "status", dataset: { status: job.status } }, job.status)),
    el("td", {}, job.stats.imported),
    el("td", {}, job.stats.updated),
    el("td", {}, job.stats.skipped),
    el("td", {}, job.stats.failed),
    el("td", {}, el("time", { datetime: job.createdAt }, when.toLocaleString())),
    el("td", {}, job.stats.failed ? el("a", { href: job.errorsUrl }, "Rejected rows") : null),
  );
}

function showInHistory(job) {
  const row = historyRow(job);
  const existing = history.querySelector(`tr[data-import-id="${job.id}"]`);
  if (existing) existing.replaceWith(row);
  else history.prepend(row);
  document.getElementById("history-empty").hidden = true;
}

function showJob(job) {
  if (currentId === null && uploading && job.fileName === uploading.name && !uploading.knownIds.has(String(job.id))) {
    currentId = job.id;
  }
  showInHistory(job);
  if (job.id !== currentId) return;
  if (!FINISHED.has(job.status)) {
    phase.textContent = job.status === "queued" ? "Waiting for the importer…" : "Importing…";
    const total = job.totalRows || 0;
    if (total) {
      bar.max = total;
      bar.value = job.stats.processed;
      barText.textContent = `${job.stats.processed.toLocaleString()} of ${total.toLocaleString()} rows`;
    } else {
      bar.removeAttribute("value");
      barText.textContent = `${job.stats.processed.toLocaleString()} rows so far`;
    }
    return;
  }
  clearInterval(pollTimer);
  phase.textContent = job.status === "done" ? "Finished" : "Failed";
  bar.max = 1;
  bar.value = 1;
  barText.textContent = `${job.stats.processed.toLocaleString()} rows processed`;
  for (const name of ["imported", "updated", "skipped", "failed", "doNotCall"]) {
    document.getElementById(`sum-${name}`).textContent = job.stats[name].toLocaleString();
  }
  document.getElementById("sum-vendor").textContent = job.vendor;
  const errorsLink = document.getElementById("sum-errors");
  errorsLink.hidden = !job.stats.failed;
  errorsLink.href = job.errorsUrl;
  const failure = document.getElementById("sum-failure");
  failure.hidden = !job.failure;
  failure.textContent = job.failure || "";
  summary.hidden = false;
  form.classList.remove("busy");
}

async function poll() {
  if (currentId === null) return;
  try {
    showJob(remember(await api(`/api/imports/${currentId}`)));
  } catch {
    // the socket or the next poll brings it
  }
}

function upload(file) {
  if (!file) return;
  if (!/\.csv$/i.test(file.name)) {
    showError("Choose a .csv file.");
    return;
  }
  errorBox.hidden = true;
  summary.hidden = true;
  statusBox.hidden = false;
  form.classList.add("busy");
  currentId = null;
  uploading = { name: file.name, knownIds: new Set([...history.querySelectorAll("tr[data-import-id]")].map((row) => row.dataset.importId)) };
  document.getElementById("import-file-name").textContent = file.name;
  phase.textContent = "Uploading…";
  bar.max = 100;
  bar.value = 0;
  barText.textContent = "";

  const request = new XMLHttpRequest();
  request.open("POST", "/api/csv-upload");
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    bar.value = Math.round((event.loaded / event.total) * 100);
    barText.textContent = `Uploaded ${Math.round(event.loaded / 1024).toLocaleString()} of ${Math.round(event.total / 1024).toLocaleString()} KB`;
  });
  request.upload.addEventListener("load", () => {
    phase.textContent = "Reading the file…";
  });
  request.addEventListener("load", () => {
    let body = null;
    try {
      body = JSON.parse(request.responseText);
    } catch {
      body = null;
    }
    if (request.status !== 201 && request.status !== 202) {
      uploading = null;
      form.classList.remove("busy");
      statusBox.hidden = true;
      const fields = body && body.fields ? Object.values(body.fields).flat().join(" ") : "";
      showError(fields || (body && body.error) || `The upload failed (HTTP ${request.status}).`);
      return;
    }
    uploading = null;
    currentId = body.id;
    showJob(remember(body));
    if (!FINISHED.has(latest.get(currentId).status)) pollTimer = setInterval(poll, 3000);
  });
  request.addEventListener("error", () => {
    form.classList.remove("busy");
    statusBox.hidden = true;
    showError("The upload did not reach the server. Check the connection and try again.");
  });
  const body = new FormData();
  body.append("file", file);
  request.send(body);
}

fileInput.addEventListener("change", () => {
  upload(fileInput.files[0]);
  fileInput.value = "";
});
document.getElementById("pick-file").addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    fileInput.click();
  }
});
for (const type of ["dragenter", "dragover"]) {
  form.addEventListener(type, (event) => {
    event.preventDefault();
    form.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  form.addEventListener(type, () => form.classList.remove("over"));
}
form.addEventListener("drop", (event) => {
  event.preventDefault();
  upload(event.dataTransfer.files[0]);
});

onLiveEvent((event) => {
  if (event.type === "import_progress" || event.type === "import_finished") showJob(remember(event.import));
});
onReconnect(poll);
