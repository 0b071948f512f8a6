// One lead: status, disposition and notes are saved through PATCH /api/leads/{id}; changes made
// in the agent's other tabs arrive as lead_updated and show here.
//
// Saves are deliberate: arrowing through the status list or the disposition chips only chooses;
// the choice is committed by Enter/Space, a click, leaving the control, or a short settle, and
// only the final value is sent. Notes save themselves as a draft while the agent types.
import { onLiveEvent, onReconnect } from "./app.js";
import { api, csrfToken, jsonScript } from "./dom.js";

const lead = jsonScript("lead-resource");
const form = document.getElementById("lead-form");
const status = document.getElementById("status");
const notes = document.getElementById("notes");
const saveState = document.getElementById("save-state");
const dispositions = form.querySelector(".dispositions");
const statusFromDisposition = document.getElementById("status-from-disposition");
const saveNext = document.getElementById("save-next");
const CHOICE_SETTLE_MS = 800;
const NOTES_DRAFT_MS = 1000;
let savedNotes = notes.value;

function say(text, kind = "") {
  // A live region: writing the same words again would make screen readers repeat them.
  if (saveState.textContent === text && (saveState.dataset.kind || "") === kind) return;
  saveState.textContent = text;
  saveState.dataset.kind = kind;
}

const dispositionRadios = () => [...form.querySelectorAll("input[name=disposition]")];
const chosenDisposition = () => (dispositionRadios().find((radio) => radio.checked) || { value: "" }).value;

// --- Choices being made: not saved yet, and not overwritten by what the server says ------------

const choosing = { status: null, disposition: null }; // settle timers while a choice is open

function show(resource) {
  if (!choosing.status) status.value = resource.status;
  if (!choosing.disposition) {
    for (const radio of dispositionRadios()) radio.checked = radio.value === resource.disposition;
  }
  // Never overwrite what the agent is typing.
  if (notes.value === savedNotes) notes.value = resource.notes;
  savedNotes = resource.notes;
  Object.assign(lead, resource);
}

// --- One save at a time; changes made meanwhile go in the next one -----------------------------

let unsent = {};
let inFlight = null;

function describe(changes) {
  const names = Object.keys(changes);
  const what = names.length === 1 ? names[0] : names.slice(0, -1).join(", ") + ` and ${names[names.length - 1]}`;
  return what;
}

async function sendUnsent() {
  while (Object.keys(unsent).length) {
    const changes = Object.fromEntries(Object.entries(unsent).filter(([name, value]) => lead[name] !== value));
    unsent = {};
    if (!Object.keys(changes).length) continue;
    const what = describe(changes);
    say(`Saving ${what}…`);
    try {
      show(await api(`/api/leads/${lead.id}`, { method: "PATCH", body: changes }));
      say(`${what[0].toUpperCase()}${what.slice(1)} saved ✓`, "ok");
    } catch (error) {
      const fields = error.data && error.data.fields;
      const detail = fields ? Object.values(fields).flat().join(" ") : error.message;
      say(`Not saved: ${detail}`, "error");
      show(lead);
      throw error;
    }
  }
}

function save(changes) {
  Object.assign(unsent, changes);
  if (!inFlight) {
    inFlight = sendUnsent().finally(() => {
      inFlight = null;
    });
  }
  return inFlight;
}

// --- Status: a <select> fires "change" on every arrow key; commit only deliberately ------------

function settleMs() {
  return Number(form.dataset.settleMs || CHOICE_SETTLE_MS);
}

function commitStatus() {
  clearTimeout(choosing.status);
  choosing.status = null;
  return save({ status: status.value });
}

status.addEventListener("change", () => {
  clearTimeout(choosing.status);
  choosing.status = setTimeout(commitStatus, settleMs());
});
status.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && choosing.status) {
    event.preventDefault();
    commitStatus().catch(() => {});
  }
});
status.addEventListener("blur", () => {
  if (choosing.status) commitStatus().catch(() => {});
});

// --- Disposition: arrow keys move through the chips; Space, Enter, a click or leaving commits ---

let choosingByPointer = false;

function commitDisposition() {
  clearTimeout(choosing.disposition);
  choosing.disposition = null;
  const value = chosenDisposition();
  const radio = dispositionRadios().find((candidate) => candidate.checked);
  const changes = { disposition: value };
  if (statusFromDisposition.checked && radio && radio.dataset.status && !choosing.status) {
    changes.status = radio.dataset.status;
    status.value = radio.dataset.status;
  }
  return save(changes);
}

dispositions.addEventListener("pointerdown", () => {
  choosingByPointer = true;
});
dispositions.addEventListener("change", (event) => {
  if (event.target.name !== "disposition") return;
  clearTimeout(choosing.disposition);
  if (choosingByPointer) {
    choosingByPointer = false;
    commitDisposition().catch(() => {});
    return;
  }
  choosing.disposition = setTimeout(() => commitDisposition().catch(() => {}), settleMs());
});
dispositions.addEventListener("keydown", (event) => {
  choosingByPointer = false;
  if (event.target.name !== "disposition") return;
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault(); // Enter would submit the form; Space on a checked radio does nothing
    event.target.checked = true;
    commitDisposition().catch(() => {});
  }
});
dispositions.addEventListener("focusout", (event) => {
  if (dispositions.contains(event.relatedTarget)) return;
  if (choosing.disposition) commitDisposition().catch(() => {});
});

// --- Notes: a draft saved while typing; "Save notes" saves at once -----------------------------

let notesTimer = null;

function commitNotes() {
  clearTimeout(notesTimer);
  notesTimer = null;
  return save({ notes: notes.value });
}

notes.addEventListener("input", () => {
  clearTimeout(notesTimer);
  if (notes.value === savedNotes) {
    notesTimer = null;
    return;
  }
  say("Unsaved changes");
  notesTimer = setTimeout(() => commitNotes().catch(() => {}), NOTES_DRAFT_MS);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  commitNotes().catch(() => {});
});

// Everything chosen or typed but not yet sent, sent now.
export function saveEverything() {
  const changes = {};
  if (choosing.status) {
    clearTimeout(choosing.status);
    choosing.status = null;
    changes.status = status.value;
  }
  if (choosing.disposition) {
    clearTimeout(choosing.disposition);
    choosing.disposition = null;
    changes.disposition = chosenDisposition();
  }
  if (notes.value !== savedNotes) {
    clearTimeout(notesTimer);
    notesTimer = null;
    changes.notes = notes.value;
  }
  return save(changes);
}

const hasUnsaved = () => Boolean(choosing.status || choosing.disposition || inFlight || notes.value !== savedNotes);

// Leaving: send what is left with keepalive (it outlives the page); warn if it cannot be sent.
window.addEventListener("pagehide", () => {
  if (!hasUnsaved()) return;
  const chosen = { notes: notes.value, status: status.value, disposition: chosenDisposition() };
  const changes = Object.fromEntries(Object.entries(chosen).filter(([name, value]) => lead[name] !== value));
  if (!Object.keys(changes).length) return;
  fetch(`/api/leads/${lead.id}`, {
    method: "PATCH",
    keepalive: true,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(changes),
  });
});
window.addEventListener("beforeunload", (event) => {
  if (saveState.dataset.kind === "error" && notes.value !== savedNotes) event.preventDefault();
});

// --- Save & next lead -------------------------------------------------------------------------

if (saveNext) {
  saveNext.addEventListener("click", async (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    try {
      await saveEverything();
    } catch {
      return; // the save state says why; stay with the lead
    }
    window.location.assign(saveNext.href);
  });
}

onLiveEvent((event) => {
  if (event.type !== "lead_updated" && event.type !== "new_lead_notification") return;
  if (String(event.lead.id) !== String(lead.id)) return;
  const typing = notes.value !== savedNotes;
  show(event.lead);
  if (typing && notes.value !== event.lead.notes) say("Notes were changed in another tab; saving keeps yours.", "warn");
});

onReconnect(async () => {
  try {
    show(await api(`/api/leads/${lead.id}`));
  } catch {
    // the next reconnect tries again
  }
});
