// The lead desk: live rows keyed by lead id, stub placeholders, catch-up after a reconnect.
import { onLiveEvent, onReconnect } from "./app.js";
import { callabilityBadge, changesAt, fetchCallability } from "./calls.js";
import { ageLabel, api, el, jsonScript, paintChip } from "./dom.js";
import { holdWhile, released } from "./hold.js";
import { addShortcut } from "./shortcuts.js";

const config = jsonScript("desk-config");
const filters = config.filters;
const tbody = document.getElementById("lead-rows");
const emptyState = document.getElementById("empty-state");
const resultCount = document.getElementById("result-count");
const unseen = document.getElementById("unseen-leads");
const dispositionLooks = new Map(config.dispositions.map((d) => [d.name, d]));
const resolvedStubs = new Set();
const STUB_PATIENCE_MS = 20000;
const FRESH_MS = 6000;
let total = config.total;
// Above a threshold the server estimates the total (leads.pagination.total_of).
let totalIsEstimate = Boolean(config.totalIsEstimate);
let unseenCount = 0;

// New leads go on top only where the top is the newest: the first page, newest first.
const showsNewestFirst = config.page === 1 && filters.sortBy === "createdAt" && filters.sortDirection === "desc";

function digits(text) {
  return String(text || "").replace(/\D/g, "");
}

function matchesSearch(lead) {
  const search = (filters.search || "").trim();
  if (!search) return true;
  const phone = digits(lead.phone);
  const name = `${lead.firstName || ""} ${lead.lastName || ""}`.toLowerCase();
  const email = (lead.email || "").toLowerCase();
  const everyWord = search.split(/\s+/).every((word) => {
    const lower = word.toLowerCase();
    if (name.includes(lower) || email.includes(lower)) return true;
    const wordDigits = digits(word);
    return wordDigits.length >= 3 && phone.includes(wordDigits);
  });
  if (everyWord) return true;
  const allDigits = digits(search);
  return /^\+?[0-9 ().-]+$/.test(search) && allDigits.length >= 3 && phone.includes(allDigits);
}

function fitsFilters(lead, answer) {
  if (filters.states.length && !filters.states.includes(lead.state)) return false;
  if (filters.sources.length && !filters.sources.includes(lead.source)) return false;
  if (filters.dispositions.length) {
    const wanted = filters.dispositions.includes(config.noDisposition) && !lead.disposition;
    if (!wanted && !filters.dispositions.includes(lead.disposition)) return false;
  }
  if (filters.callable && !(answer && answer.callable)) return false;
  if (filters.neverTried && lead.attemptsTotal > 0) return false;
  return matchesSearch(lead);
}

// Whether the lead may be called is the server's answer (leads/calling.py), never decided here.
// A lead on the agent's do-not-call list is never callable: no call link, a mark instead.
async function callabilityOf(lead) {
  if (lead.doNotCall) return { callable: false, reason: "do_not_call", nextAllowedAt: null };
  try {
    return await fetchCallability(lead.id);
  } catch {
    return null;
  }
}
const doNotCallMark = () => el("span", { className: "dnc-mark", title: "On your do-not-call list" }, "Do not call");

function phoneCell(lead) {
  if (!lead.phone) return null;
  const shown = lead.phoneDisplay || lead.phone;
  return lead.doNotCall ? el("span", { className: "phone-text" }, shown) : el("a", { href: `tel:${lead.phone}`, dataset: { callLead: lead.id } }, shown);
}

// The same as templates/leads/_lead_row.html: how many calls, and when the last one was.
function attemptsCell(lead) {
  if (!lead.attemptsTotal || !lead.lastAttemptAt) return "Never tried";
  const exact = new Date(lead.lastAttemptAt).toISOString().slice(0, 16).replace("T", " ");
  const when = el("time", { datetime: lead.lastAttemptAt, title: `Last call ${exact} UTC` }, ageLabel(lead.lastAttemptAt));
  return [`${lead.attemptsTotal} call${lead.attemptsTotal === 1 ? "" : "s"} · `, when];
}

function callCell(lead, answer) {
  if (lead.doNotCall) return doNotCallMark();
  return answer ? callabilityBadge(answer) : el("span", { className: "callable unknown" }, "…");
}

function showCallability(row, answer) {
  row.querySelector(".c-call").replaceChildren(callCell({ doNotCall: "doNotCall" in row.dataset }, answer));
  const at = answer ? changesAt(answer) : null;
  row.dataset.changesAt = at === null || Number.isNaN(at) ? "" : String(at);
}

function renderRow(lead, answer) {
  const look = dispositionLooks.get(lead.disposition);
  const chip = lead.disposition
    ? el("span", { className: "chip", title: lead.disposition }, look && look.emoji ? `${look.emoji} ${lead.disposition}` : lead.disposition)
    : null;
  if (chip) paintChip(chip, look ? look.color : "#64748b");
  return el(
    "tr",
    { dataset: { leadId: lead.id, createdAt: lead.createdAt, timeZone: lead.timeZone || "", status: lead.status, phone: lead.phone || "", ...(lead.doNotCall ? { doNotCall: "" } : {}) } },
    el("td", { className: "c-name" }, el("a", { href: `/leads/${lead.id}/${config.leadQuery}`, title: lead.name || "(no name)" }, lead.name || "(no name)")),
    el("td", { className: "c-phone" }, phoneCell(lead)),
    el("td", { className: "c-email", title: lead.email || null }, lead.email || ""),
    el("td", { className: "c-state" }, lead.state || ""),
    el("td", { className: "c-source", title: lead.source || null }, lead.source || ""),
    el("td", { className: "c-disposition" }, chip),
    el("td", { className: "c-status" }, el("span", { className: "status", dataset: { status: lead.status } }, lead.status)),
    el("td", { className: "c-age" }, el("time", { datetime: lead.createdAt }, ageLabel(lead.createdAt))),
    el("td", { className: "c-attempts" }, attemptsCell(lead)),
    el("td", { className: "c-call" }, callCell(lead, answer)),
  );
}

// A row rendered here asks the server; until it answers, the row shows "…".
function renderRowAsking(lead) {
  const row = renderRow(lead, null);
  if (!lead.doNotCall) callabilityOf(lead).then((answer) => showCallability(row, answer));
  else showCallability(row, null);
  return row;
}

function renderStub(stubId, stub) {
  return el(
    "tr",
    { className: "stub", dataset: { stubId, since: Date.now(), phone: stub.phone || "" } },
    el("td", { className: "c-name" }, stub.name || "(no name)"),
    // Not a call link until stored: only then is the do-not-call list known for it.
    el("td", { className: "c-phone" }, stub.phone ? el("span", { className: "phone-text" }, stub.phone) : null),
    el("td", { className: "c-email" }, ""),
    el("td", { className: "c-state" }, ""),
    el("td", { className: "c-source" }, stub.source || ""),
    el("td", { className: "c-disposition" }, ""),
    el("td", { className: "c-status" }, el("span", { className: "status saving" }, "Saving…")),
    el("td", { className: "c-age" }, "just now"),
    el("td", { className: "c-attempts" }, ""),
    el("td", { className: "c-call" }, ""),
  );
}

const rowFor = (id) => tbody.querySelector(`tr[data-lead-id="${CSS.escape(String(id))}"]`);
const stubFor = (stubId) => tbody.querySelector(`tr[data-stub-id="${CSS.escape(String(stubId))}"]`);

function highlight(row) {
  row.classList.add("fresh");
  setTimeout(() => row.classList.remove("fresh"), FRESH_MS);
}

function showCounts() {
  emptyState.hidden = tbody.children.length > 0;
  resultCount.textContent = `${totalIsEstimate ? "about " : ""}${total} lead${total === 1 ? "" : "s"}${filters.callable ? " callable now" : ""}`;
}

function trimToPage() {
  const rows = tbody.querySelectorAll("tr[data-lead-id]");
  for (let i = config.limit; i < rows.length; i += 1) rows[i].remove();
}

function resolveStub(stubId) {
  if (!stubId) return;
  resolvedStubs.add(stubId);
  const stub = stubFor(stubId);
  if (stub) stub.remove();
}

async function upsertRow(lead, { isNew, stubId }) {
  const answer = filters.callable && isNew && !rowFor(lead.id) ? await callabilityOf(lead) : undefined;
  const stub = stubId ? stubFor(stubId) : null;
  if (heldLeads.has(String(lead.id))) {
    holdBack(lead); // already waiting behind the bar: keep its newest version
    return;
  }
  if (stub && isNew && deskIsHeld() && !rowFor(lead.id) && fitsFilters(lead, answer)) {
    // The stub is on screen under the agent's pointer: its lead takes its place, nothing moves.
    resolvedStubs.add(stubId);
    const row = renderRowAsking(lead);
    stub.replaceWith(row);
    highlight(row);
    total += 1;
    showCounts();
    return;
  }
  resolveStub(stubId);
  const existing = rowFor(lead.id);
  if (existing) {
    const row = renderRowAsking(lead);
    replaceRowKeepingFocus(existing, row);
    if (isNew) highlight(row);
    return;
  }
  if (!isNew || !fitsFilters(lead, answer)) {
    if (stub) showCounts();
    return;
  }
  total += 1;
  if (!showsNewestFirst) {
    unseenCount += 1;
    unseen.hidden = false;
    document.getElementById("unseen-text").textContent = `${unseenCount} new lead${unseenCount === 1 ? "" : "s"} not shown in this view.`;
    showCounts();
    return;
  }
  if (deskIsHeld()) {
    holdBack(lead);
    showCounts();
    return;
  }
  const row = renderRowAsking(lead);
  tbody.prepend(row);
  highlight(row);
  trimToPage();
  showCounts();
}

function addStub(stubId, stub) {
  if (!showsNewestFirst || resolvedStubs.has(stubId) || stubFor(stubId)) return;
  if (deskIsHeld()) return; // its lead will wait behind the "new leads" bar
  // A re-post of a lead already on screen: point at it instead of adding a second row.
  const samePhone = stub.phone && tbody.querySelector(`tr[data-lead-id][data-phone="${CSS.escape(stub.phone)}"]`);
  if (samePhone) {
    highlight(samePhone);
    return;
  }
  const row = renderStub(stubId, stub);
  tbody.prepend(row);
  highlight(row);
  showCounts();
}

onLiveEvent((event) => {
  if (event.type === "new_lead_notification") upsertRow(event.lead, { isNew: event.isNew, stubId: event.stubId });
  else if (event.type === "lead_updated") upsertRow(event.lead, { isNew: false, stubId: event.stubId });
  else if (event.type === "lead_stub") addStub(event.stubId, event.lead);
  else if (event.type === "lead_deleted") removeRow(event.leadId);
  else if (event.type === "leads_deleted") afterManyDeleted();
});

// --- A stable desk: while the agent points at, works in or has scrolled the list, new leads wait
// behind a "N new leads — show" bar instead of pushing the rows down (banner, sound and counts
// still announce them). Nothing moves under the pointer. --------------------------------------

const tableArea = document.querySelector(".desk-table");
const heldBar = document.getElementById("held-leads");
const heldShow = document.getElementById("held-show");
const heldLeads = new Map(); // lead id -> lead, in arrival order
let pointerInTable = false;

function deskIsHeld() {
  return pointerInTable || tableArea.contains(document.activeElement) || window.scrollY > 0;
}

holdWhile(deskIsHeld);

function showHeldBar() {
  const count = heldLeads.size;
  heldBar.hidden = count === 0;
  heldShow.textContent = `${count} new lead${count === 1 ? "" : "s"} — show`;
}

function holdBack(lead) {
  heldLeads.delete(String(lead.id));
  heldLeads.set(String(lead.id), lead);
  showHeldBar();
}

function showHeldLeads() {
  for (const lead of heldLeads.values()) {
    const existing = rowFor(lead.id);
    const row = renderRowAsking(lead);
    if (existing) existing.replaceWith(row);
    else tbody.prepend(row);
    highlight(row);
  }
  heldLeads.clear();
  trimToPage();
  showHeldBar();
  showCounts();
}

function showHeldLeadsIfFree() {
  if (heldLeads.size && !deskIsHeld()) showHeldLeads();
  released();
}

function replaceRowKeepingFocus(existing, row) {
  const focused = existing.contains(document.activeElement) ? document.activeElement.closest("td") : null;
  existing.replaceWith(row);
  if (!focused) return;
  const same = row.querySelector(`td.${CSS.escape(focused.classList[0])} a, td.${CSS.escape(focused.classList[0])} [tabindex]`);
  (same || row.querySelector("a") || tableArea).focus?.();
}

heldShow.addEventListener("click", () => {
  showHeldLeads();
  const first = tbody.querySelector("tr[data-lead-id] .c-name a");
  if (first) first.focus();
});
tableArea.addEventListener("pointerenter", () => {
  pointerInTable = true;
});
tableArea.addEventListener("pointerleave", () => {
  pointerInTable = false;
  showHeldLeadsIfFree();
});
tableArea.addEventListener("focusout", () => setTimeout(showHeldLeadsIfFree, 0));
window.addEventListener("scroll", showHeldLeadsIfFree, { passive: true });

// j / k move through the rows, as in a mail client; Enter opens the focused lead.
function moveRowFocus(step) {
  const links = [...tbody.querySelectorAll("tr[data-lead-id] .c-name a")];
  if (!links.length) return;
  const at = links.indexOf(document.activeElement);
  const next = at === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
  links[next].focus();
}
addShortcut("j", "Next lead in the list", () => moveRowFocus(1));
addShortcut("k", "Previous lead in the list", () => moveRowFocus(-1));

// An undone import deleted the lead (CONTRACT §6).
function removeRow(leadId) {
  if (heldLeads.delete(String(leadId))) showHeldBar();
  const row = rowFor(leadId);
  if (!row) return;
  row.remove();
  total = Math.max(0, total - 1);
  showCounts();
}

// Past a thousand deletions one event (leads_deleted) stands for the rest: read the page again.
function afterManyDeleted() {
  if (showsNewestFirst) catchUp();
  else location.reload();
}

// --- Catch-up: events sent while the socket was down are gone; re-read the first page. --------

async function catchUp() {
  const query = new URLSearchParams({ ...config.apiQuery, page: "1" });
  let page;
  try {
    page = await api(`/api/leads?${query}`);
  } catch {
    return;
  }
  const answers = await Promise.all(page.results.map((lead) => callabilityOf(lead)));
  const rowsFor = page.results
    .map((lead, index) => ({ lead, answer: answers[index] }))
    .filter(({ answer }) => !filters.callable || (answer && answer.callable));
  if (showsNewestFirst && deskIsHeld()) {
    for (const { lead, answer } of rowsFor) {
      const existing = rowFor(lead.id);
      if (!existing) {
        if (!heldLeads.has(String(lead.id))) holdBack(lead);
        continue;
      }
      const row = renderRow(lead, answer);
      showCallability(row, answer);
      replaceRowKeepingFocus(existing, row);
    }
  } else if (showsNewestFirst) {
    const stubs = [...tbody.querySelectorAll("tr.stub")].filter((stub) => Date.now() - Number(stub.dataset.since) < STUB_PATIENCE_MS);
    const known = new Set([...tbody.querySelectorAll("tr[data-lead-id]")].map((row) => row.dataset.leadId));
    const rows = rowsFor.map(({ lead, answer }) => {
      const row = renderRow(lead, answer);
      showCallability(row, answer);
      if (!known.has(String(lead.id))) highlight(row);
      return row;
    });
    tbody.replaceChildren(...stubs, ...rows);
    if (!filters.callable) {
      total = page.pagination.total;
      totalIsEstimate = Boolean(page.pagination.totalIsEstimate);
    }
  } else {
    for (const { lead, answer } of rowsFor) {
      const existing = rowFor(lead.id);
      if (!existing) continue;
      const row = renderRow(lead, answer);
      showCallability(row, answer);
      replaceRowKeepingFocus(existing, row);
    }
  }
  showCounts();
}

onReconnect(catchUp);

// --- Clock: ages, callability when it may have changed, stubs whose lead never came. ----------

// Rows the server rendered carry its answer; when it may change by the clock, ask again.
for (const row of tbody.querySelectorAll("tr[data-lead-id]")) {
  const { callable, nextAllowedAt, localTime, windowEnd } = row.dataset;
  const at = changesAt({
    callable: callable === "true",
    nextAllowedAt: nextAllowedAt || null,
    localTime: localTime || null,
    window: windowEnd ? { end: windowEnd } : null,
  });
  row.dataset.changesAt = at === null || Number.isNaN(at) ? "" : String(at);
}

setInterval(() => {
  for (const row of tbody.querySelectorAll("tr[data-lead-id]")) {
    row.querySelector(".c-age time").textContent = ageLabel(row.dataset.createdAt);
    const lastCall = row.querySelector(".c-attempts time");
    if (lastCall) lastCall.textContent = ageLabel(lastCall.getAttribute("datetime"));
    if ("doNotCall" in row.dataset || !row.dataset.changesAt) continue;
    if (Number(row.dataset.changesAt) > Date.now()) continue;
    row.dataset.changesAt = "";
    fetchCallability(row.dataset.leadId).then((answer) => showCallability(row, answer), () => {});
  }
  const overdue = [...tbody.querySelectorAll("tr.stub")].some((stub) => Date.now() - Number(stub.dataset.since) > STUB_PATIENCE_MS);
  if (overdue) catchUp();
}, 15000);

// Filters apply with Enter or "Apply" (not on each change, which would reload the page while a
// keyboard user arrows through a select).
const form = document.getElementById("filters");
form.addEventListener("submit", () => {
  // Empty fields stay out of the address, so shared links stay short.
  for (const field of form.elements) {
    if (field.name && !field.value) field.disabled = true;
  }
});
// On a phone the filters beyond search fold away, so the first leads fit on the first screen.
const moreFilters = document.getElementById("more-filters");
moreFilters.addEventListener("click", () => {
  const open = form.classList.toggle("open");
  moreFilters.setAttribute("aria-expanded", String(open));
});
showCounts();
window.addEventListener("pageshow", () => {
  for (const field of form.elements) field.disabled = false;
});
