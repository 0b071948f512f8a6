// The import page: a file goes to the preview first (CONTRACT §6); the agent checks how each
// column will be read, changes the field pickers where needed, tries the mapping (dry run) and
// runs it. Then the server's progress (import_progress), the summary (import_finished), the
// history, and undoing an import from the history. URLs come from the page (#import-urls).
import { onLiveEvent, onReconnect } from "./app.js";
import { api, csrfToken, el, jsonScript } from "./dom.js";

const urls = jsonScript("import-urls");
const form = document.getElementById("import-form");
const fileInput = document.getElementById("import-file");
const statusBox = document.getElementById("import-status");
const phase = document.getElementById("import-phase");
const bar = document.getElementById("import-progress");
const barText = document.getElementById("import-progress-text");
const errorBox = document.getElementById("import-error");
const summary = document.getElementById("import-summary");
const history = document.querySelector("#import-history tbody");
const previewBox = document.getElementById("import-preview");
const previewTable = document.getElementById("import-preview-table");
const mappingError = document.getElementById("import-mapping-error");
const dryRunBox = document.getElementById("import-dry-run");
const tryButton = document.getElementById("import-try");
const runButton = document.getElementById("import-run");
const undoDialog = document.getElementById("import-undo-dialog");
const undoResult = document.getElementById("import-undo-result");
const FINISHED = new Set(["done", "failed"]);
const UNDOABLE = FINISHED;
const COUNTS = ["imported", "updated", "skipped", "failed", "doNotCall"];
const REASONS = {
  exact: "the column has the field's name",
  alias: "a known name for this field",
  learned: "learned from your earlier import of this layout",
  fuzzy: "a guess from a similar name: check it",
  none: "not recognised",
};

const urlFor = (template, id) => template.replace("{id}", encodeURIComponent(String(id)));

// Events may arrive before the run's answer: keep the latest of each import.
const latest = new Map();
let currentId = null;
let pollTimer = null;
// The import in preview: its id, columns (with suggestions) and sample rows.
let preview = null;

function newer(a, b) {
  if (!a) return b;
  // undone comes after done; done or failed after any progress
  if (b.status === "undone") return b;
  if (a.status === "undone") return a;
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

function errorText(error, fallback) {
  return (error && error.data && error.data.error) || (error && error.message) || fallback;
}

// --- History and undo -------------------------------------------------------------------------

function undoButton(job) {
  return el(
    "button",
    { type: "button", className: "ghost import-undo", dataset: { undoUrl: urlFor(urls.undo, job.id), fileName: job.fileName } },
    "Undo",
    el("span", { className: "visually-hidden" }, ` ${job.fileName}`),
  );
}

function undoNote(job) {
  if (!job.undo) return null;
  const { deleted, restored, kept } = job.undo;
  return el("span", { className: "import-undone-note" }, ` (${deleted} deleted, ${restored} restored, ${kept} kept)`);
}

function historyRow(job) {
  const when = new Date(job.createdAt);
  return el(
    "tr",
    { dataset: { importId: job.id } },
    el("td", {}, job.fileName),
    el("td", {}, job.vendor),
    el("td", {}, el("span", { className: "status", dataset: { status: job.status } }, job.status), undoNote(job)),
    el("td", {}, job.stats.imported),
    el("td", {}, job.stats.updated),
    el("td", {}, job.stats.skipped),
    el("td", {}, job.stats.failed),
    el("td", {}, el("time", { datetime: job.createdAt }, when.toLocaleString())),
    el("td", {}, job.stats.failed ? el("a", { href: job.errorsUrl }, "Rejected rows") : null),
    el("td", {}, UNDOABLE.has(job.status) ? undoButton(job) : null),
  );
}

function showInHistory(job) {
  if (job.status === "preview") return;
  const row = historyRow(job);
  const existing = history.querySelector(`tr[data-import-id="${CSS.escape(String(job.id))}"]`);
  if (existing) existing.replaceWith(row);
  else history.prepend(row);
  document.getElementById("history-empty").hidden = true;
}

function planItem(count, text) {
  return el("li", {}, el("strong", {}, count.toLocaleString()), ` ${text}`);
}

let undoing = null;

async function askUndo(button) {
  undoResult.hidden = true;
  let plan;
  try {
    plan = await api(button.dataset.undoUrl);
  } catch (error) {
    showUndoResult(errorText(error, "The undo could not be prepared."), true);
    return;
  }
  undoing = button;
  document.getElementById("undo-file").textContent = button.dataset.fileName;
  const kept = plan.keptLeads.length ? [el("p", { className: "muted" }, `Kept lead ids: ${plan.keptLeads.join(", ")}${plan.keep > plan.keptLeads.length ? " …" : ""}`)] : [];
  document.getElementById("undo-plan").replaceChildren(
    el("p", {}, "Undoing it will:"),
    el(
      "ul",
      { id: "undo-plan-list" },
      planItem(plan.delete, `lead${plan.delete === 1 ? "" : "s"} it created deleted`),
      planItem(plan.restore, `lead${plan.restore === 1 ? "" : "s"} it updated given their old values back`),
      planItem(plan.keep, `lead${plan.keep === 1 ? "" : "s"} changed since the import kept as they are`),
    ),
    ...kept,
  );
  undoDialog.showModal();
  document.getElementById("undo-cancel").focus();
}

function showUndoResult(text, isError = false) {
  undoResult.textContent = text;
  undoResult.classList.toggle("error", isError);
  undoResult.classList.toggle("info", !isError);
  undoResult.hidden = false;
  undoResult.setAttribute("tabindex", "-1");
  undoResult.focus();
}

async function confirmUndo() {
  const button = undoing;
  undoing = null;
  if (!button) return;
  const confirmButton = document.getElementById("undo-confirm");
  confirmButton.disabled = true;
  try {
    const job = await api(button.dataset.undoUrl, { method: "POST" });
    undoDialog.close();
    showInHistory(remember(job));
    if (job.id === currentId) {
      // The summary on screen describes leads that are gone now.
      summary.hidden = true;
      statusBox.hidden = true;
      currentId = null;
    }
    const { deleted, restored, kept } = job.undo;
    showUndoResult(
      `Undone: ${deleted} lead${deleted === 1 ? "" : "s"} deleted, ${restored} restored, ${kept} kept because they changed since.`,
    );
  } catch (error) {
    undoDialog.close();
    showUndoResult(errorText(error, "The undo failed."), true);
  } finally {
    confirmButton.disabled = false;
  }
}

history.addEventListener("click", (event) => {
  const button = event.target.closest("button.import-undo");
  if (button) askUndo(button);
});
document.getElementById("undo-confirm").addEventListener("click", confirmUndo);
document.getElementById("undo-cancel").addEventListener("click", () => {
  undoing = null;
  undoDialog.close();
});

// --- Progress of a run --------------------------------------------------------------------------

function showJob(job) {
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
  for (const name of COUNTS) {
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
    showJob(remember(await api(urlFor(urls.detail, currentId))));
  } catch {
    // the socket or the next poll brings it
  }
}

// --- The preview: pickers, the first rows as in the file and as stored --------------------------

const fieldOptions = document.getElementById("import-field-options");

function picker(column, index) {
  const select = el("select", {
    id: `import-map-${index}`,
    className: "import-picker",
    dataset: { header: column.header, suggestion: column.suggestion },
    "aria-describedby": `import-why-${index} import-map-error-${index}`,
  });
  select.append(fieldOptions.content.cloneNode(true));
  select.value = column.suggestion;
  return select;
}

// The order of a date column's dates (CONTRACT §6 dateOrder), decided from the whole file and
// shown while the column is stored as the date of birth; "mixed" is only what the file says.
const dateOrderOptions = document.getElementById("import-date-order-options");

function orderField(column, index) {
  if (!column.dateOrder) return null;
  const select = el("select", {
    id: `import-order-${index}`,
    className: "import-date-order",
    dataset: { header: column.header, detected: column.dateOrder },
    "aria-describedby": `import-order-note-${index}`,
  });
  select.append(dateOrderOptions.content.cloneNode(true));
  if (column.dateOrder !== "mixed") select.querySelector("option[value='mixed']").remove();
  select.value = column.dateOrder;
  const note = column.dateOrder === "mixed"
    ? "dates written both ways: the unclear ones are left empty"
    : column.dateOrderAssumed
      ? `order assumed ${column.dateOrder === "dmy" ? "day" : "month"} first: no date in the file tells`
      : "order found in the file";
  return el(
    "span",
    { className: "import-order", id: `import-order-box-${index}`, hidden: column.suggestion !== "dob" },
    el("label", { for: `import-order-${index}`, className: "import-picker-label" }, "Dates read", el("span", { className: "visually-hidden" }, ` (column ${column.header})`)),
    select,
    el("span", { className: "import-why", id: `import-order-note-${index}` }, note),
  );
}

function showOrderFields() {
  for (const select of previewTable.querySelectorAll("select.import-picker")) {
    const box = document.getElementById(select.id.replace("import-map-", "import-order-box-"));
    if (box) box.hidden = select.value !== "dob";
  }
}

// The order the agent chose for the column stored as the date of birth, if it is one.
function dateOrderChoice() {
  const dob = [...previewTable.querySelectorAll("select.import-picker")].find((select) => select.value === "dob");
  const order = dob && document.getElementById(dob.id.replace("import-map-", "import-order-"));
  return order && order.value !== "mixed" ? { dateOrder: order.value } : {};
}

function confidenceText(column) {
  if (column.reason === "none") return "Not recognised";
  return `${Math.round(column.confidence * 100)} % sure`;
}

function columnHead(column, index) {
  const unknown = column.reason === "none";
  return el(
    "th",
    { scope: "col", className: `import-col${unknown ? " import-col-unknown" : ""}`, dataset: { reason: column.reason } },
    el("span", { className: "import-header" }, column.header),
    el("label", { for: `import-map-${index}`, className: "import-picker-label" }, "Store as", el("span", { className: "visually-hidden" }, ` (column ${column.header})`)),
    picker(column, index),
    orderField(column, index),
    el(
      "span",
      { className: "import-why", id: `import-why-${index}` },
      el("span", { className: "import-confidence", dataset: { reason: column.reason } }, confidenceText(column)),
      el("span", { className: "import-reason" }, unknown ? "kept as vendor data unless you pick a field" : REASONS[column.reason] || column.reason),
    ),
    el("p", { className: "import-field-error error", id: `import-map-error-${index}`, hidden: true }),
  );
}

function storedValue(lead, choice, header) {
  if (choice === "ignore") return "";
  if (choice === "keep") return (lead.vendorData || {})[header] ?? "";
  if (choice === "name") return [lead.firstName, lead.lastName].filter(Boolean).join(" ");
  const value = lead[choice];
  return value === null || value === undefined ? "" : String(value);
}

function storedCell(row, index) {
  const column = preview.columns[index];
  const select = document.getElementById(`import-map-${index}`);
  const choice = select ? select.value : column.suggestion;
  const order = document.getElementById(`import-order-${index}`);
  if (choice !== column.suggestion || (order && order.value !== order.dataset.detected)) {
    // The sample was read with the suggestions; the agent's choice is read by the run.
    return el("td", { className: "import-stored import-pending" }, "…", el("span", { className: "visually-hidden" }, " read with your choice when it runs"));
  }
  if (choice === "ignore") return el("td", { className: "import-stored import-ignored" }, "not imported");
  const value = storedValue(row.lead, choice, column.header);
  const troubled = row.problems.some((problem) => problem.includes(`${column.header}:`));
  return el(
    "td",
    { className: `import-stored${troubled ? " import-cell-problem" : ""}` },
    value || (troubled ? el("span", {}, "✕ ", el("span", { className: "visually-hidden" }, "not stored")) : "—"),
  );
}

function sampleRows(row) {
  const columns = preview.columns;
  const troubled = (index) => row.problems.some((problem) => problem.includes(`${columns[index].header}:`));
  const rows = [
    el(
      "tr",
      { className: `import-row-file${row.problems.length ? " import-row-problem" : ""}`, dataset: { line: row.line } },
      el("th", { scope: "row" }, `Line ${row.line}`, el("span", { className: "import-row-kind" }, "in the file")),
      row.cells.map((cell, index) => el("td", { className: troubled(index) ? "import-cell-problem" : null }, cell)),
    ),
    el(
      "tr",
      { className: "import-row-stored", dataset: { line: row.line } },
      el("th", { scope: "row" }, el("span", { className: "visually-hidden" }, `Line ${row.line} `), el("span", { className: "import-row-kind" }, "stored as")),
      columns.map((_, index) => storedCell(row, index)),
    ),
  ];
  if (row.problems.length) {
    rows.push(
      el(
        "tr",
        { className: "import-row-problems", dataset: { line: row.line } },
        el("td", { colspan: columns.length + 1 }, el("strong", {}, `Line ${row.line}: `), row.problems.join("; ")),
      ),
    );
  }
  return rows;
}

function renderSample() {
  previewTable.tBodies[0].replaceChildren(...preview.sample.flatMap(sampleRows));
}

function showPreview(job) {
  preview = { id: job.id, fileName: job.fileName, columns: job.preview.columns, sample: job.preview.sample };
  const facts = job.preview;
  document.getElementById("preview-file").textContent = job.fileName;
  const delimiter = { ",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars" }[facts.delimiter] || `“${facts.delimiter}”`;
  document.getElementById("preview-facts").textContent =
    `${facts.rows.toLocaleString()} data row${facts.rows === 1 ? "" : "s"} · ${facts.encoding} · separated by ${delimiter}` +
    (facts.mappingName ? ` · columns mapped as you did for “${facts.mappingName}”` : "") +
    (facts.sample.length < facts.rows ? ` · the first ${facts.sample.length} rows below` : "");
  previewTable.tHead.replaceChildren(
    el("tr", {}, el("th", { scope: "col", className: "import-corner" }, "Column"), preview.columns.map(columnHead)),
  );
  renderSample();
  clearMappingErrors();
  dryRunBox.hidden = true;
  statusBox.hidden = true;
  form.classList.remove("busy");
  previewBox.hidden = false;
  document.getElementById("import-preview-title").focus();
}

function hidePreview() {
  preview = null;
  previewBox.hidden = true;
  previewTable.tHead.replaceChildren();
  previewTable.tBodies[0].replaceChildren();
}

previewTable.addEventListener("change", (event) => {
  if (!event.target.matches("select.import-picker, select.import-date-order")) return;
  dryRunBox.hidden = true;
  clearMappingErrors();
  showOrderFields();
  renderSample();
});

// Only the columns the agent changed: the others keep the preview's suggestion on the server,
// where two columns the vendor layout itself reads into one field stay allowed.
function mapping() {
  const chosen = {};
  for (const select of previewTable.querySelectorAll("select.import-picker")) {
    if (select.value !== select.dataset.suggestion) chosen[select.dataset.header] = select.value;
  }
  return chosen;
}

function clearMappingErrors() {
  mappingError.hidden = true;
  mappingError.replaceChildren();
  for (const select of previewTable.querySelectorAll("select.import-picker")) select.removeAttribute("aria-invalid");
  for (const note of previewTable.querySelectorAll(".import-field-error")) {
    note.hidden = true;
    note.textContent = "";
  }
}

function markPicker(select, message) {
  select.setAttribute("aria-invalid", "true");
  const note = document.getElementById(select.id.replace("import-map-", "import-map-error-"));
  note.textContent = note.textContent ? `${note.textContent} ${message}` : message;
  note.hidden = false;
}

// A 400 names the problem: {"fields": {"mapping": {<header or field>: message} or [message]}}.
function showMappingErrors(error) {
  clearMappingErrors();
  const fields = (error.data && error.data.fields) || {};
  const problems = fields.mapping;
  const general = [];
  const selects = [...previewTable.querySelectorAll("select.import-picker")];
  if (problems && typeof problems === "object" && !Array.isArray(problems)) {
    for (const [name, detail] of Object.entries(problems)) {
      const message = [detail].flat().join(" ");
      const onField = selects.filter((select) => select.value === name);
      const onHeader = selects.filter((select) => select.dataset.header === name);
      const targets = onField.length > 1 ? onField : onHeader;
      if (targets.length) targets.forEach((select) => markPicker(select, message));
      general.push(message);
    }
  } else if (problems) {
    general.push(...[problems].flat());
  } else {
    general.push(errorText(error, "The import could not start."));
  }
  mappingError.replaceChildren(el("strong", {}, "Check the mapping: "), general.join(" "));
  mappingError.hidden = false;
  const first = selects.find((select) => select.getAttribute("aria-invalid") === "true");
  if (first) first.focus();
}

function setBusy(busy) {
  tryButton.disabled = busy;
  runButton.disabled = busy;
  previewBox.setAttribute("aria-busy", busy ? "true" : "false");
}

async function tryIt() {
  if (!preview) return;
  setBusy(true);
  dryRunBox.hidden = true;
  try {
    const answer = await api(urlFor(urls.run, preview.id), { method: "POST", body: { mapping: mapping(), dryRun: true, ...dateOrderChoice() } });
    clearMappingErrors();
    for (const name of COUNTS) {
      document.getElementById(`dry-${name}`).textContent = answer.dryRun[name].toLocaleString();
    }
    dryRunBox.hidden = false;
  } catch (error) {
    if (error.status === 400) showMappingErrors(error);
    else showError(errorText(error, "The try failed."));
  } finally {
    setBusy(false);
  }
}

async function runImport() {
  if (!preview) return;
  setBusy(true);
  const { id, fileName } = preview;
  currentId = id;
  try {
    const job = await api(urlFor(urls.run, id), { method: "POST", body: { mapping: mapping(), dryRun: false, ...dateOrderChoice() } });
    hidePreview();
    document.getElementById("import-file-name").textContent = fileName;
    bar.max = 100;
    bar.value = 0;
    barText.textContent = "";
    statusBox.hidden = false;
    statusBox.setAttribute("tabindex", "-1");
    statusBox.focus();
    form.classList.add("busy");
    showJob(remember(job));
    if (!FINISHED.has(latest.get(id).status)) pollTimer = setInterval(poll, 3000);
  } catch (error) {
    currentId = null;
    if (error.status === 400) showMappingErrors(error);
    else showError(errorText(error, "The import could not start."));
  } finally {
    setBusy(false);
  }
}

tryButton.addEventListener("click", tryIt);
runButton.addEventListener("click", runImport);
document.getElementById("import-cancel").addEventListener("click", () => {
  hidePreview();
  document.getElementById("pick-file").focus();
});

// --- The upload: the file goes to the preview ---------------------------------------------------

function upload(file) {
  if (!file) return;
  if (!/\.csv$/i.test(file.name)) {
    showError("Choose a .csv file.");
    return;
  }
  errorBox.hidden = true;
  summary.hidden = true;
  hidePreview();
  statusBox.hidden = false;
  form.classList.add("busy");
  clearInterval(pollTimer);
  currentId = null;
  document.getElementById("import-file-name").textContent = file.name;
  phase.textContent = "Uploading…";
  bar.max = 100;
  bar.value = 0;
  barText.textContent = "";

  const request = new XMLHttpRequest();
  request.open("POST", urls.preview);
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
    if (request.status !== 201 || !body || !body.preview) {
      form.classList.remove("busy");
      statusBox.hidden = true;
      const fields = body && body.fields ? Object.values(body.fields).flat().join(" ") : "";
      showError(fields || (body && body.error) || `The upload failed (HTTP ${request.status}).`);
      return;
    }
    showPreview(body);
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
