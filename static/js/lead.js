// One lead: status, disposition and notes are saved through PATCH /api/leads/{id}; changes made
// in the agent's other tabs arrive as lead_updated and show here.
import { onLiveEvent, onReconnect } from "./app.js";
import { api, jsonScript } from "./dom.js";

const lead = jsonScript("lead-resource");
const form = document.getElementById("lead-form");
const status = document.getElementById("status");
const notes = document.getElementById("notes");
const saveState = document.getElementById("save-state");
let savedNotes = notes.value;

function say(text, kind = "") {
  saveState.textContent = text;
  saveState.dataset.kind = kind;
}

function show(resource) {
  status.value = resource.status;
  for (const radio of form.querySelectorAll("input[name=disposition]")) radio.checked = radio.value === resource.disposition;
  // Never overwrite what the agent is typing.
  if (notes.value === savedNotes) notes.value = resource.notes;
  savedNotes = resource.notes;
  Object.assign(lead, resource);
}

async function save(changes, what) {
  say(`Saving ${what}…`);
  try {
    const resource = await api(`/api/leads/${lead.id}`, { method: "PATCH", body: changes });
    show(resource);
    say(`${what[0].toUpperCase()}${what.slice(1)} saved ✓`, "ok");
  } catch (error) {
    const fields = error.data && error.data.fields;
    const detail = fields ? Object.values(fields).flat().join(" ") : error.message;
    say(`Not saved: ${detail}`, "error");
    show(lead);
  }
}

status.addEventListener("change", () => save({ status: status.value }, "status"));
for (const radio of form.querySelectorAll("input[name=disposition]")) {
  radio.addEventListener("change", () => save({ disposition: radio.value }, "disposition"));
}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  save({ notes: notes.value }, "notes");
});
notes.addEventListener("input", () => say(notes.value === savedNotes ? "" : "Unsaved changes"));

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
