// Follow-ups on every signed-in page (CONTRACT §9, docs/call-loop.md): a `follow_up_due` event
// rings like a new lead (sound and banner); the desk's "due now" list (overdue first) comes from
// GET /api/followups?due=now; on a lead page, the call-back quick picks and the last call's
// outcome and note. Whether a time is allowed is the server's answer (leads/calling.py).
import { onLiveEvent, onReconnect, playNewLeadSound } from "./app.js";
import { api, el } from "./dom.js";
import { whenFree } from "./hold.js";

const MINUTE = 60000;
const PICKS = { "15m": 15 * MINUTE, "1h": 60 * MINUTE, "1d": 1440 * MINUTE, "3d": 3 * 1440 * MINUTE, "7d": 7 * 1440 * MINUTE };

function localLabel(iso) {
  if (!iso) return "none";
  return new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// --- The ring: sound and banner, like a new lead ---------------------------------------------

const bannerRegion = document.getElementById("banner-region");
const MAX_BANNERS = 3;

function showFollowUpBanner(lead) {
  if (!bannerRegion) return;
  const dismiss = el("button", { type: "button", className: "ghost dismiss", "aria-label": "Dismiss" }, "×");
  const banner = el(
    "div",
    { className: "banner follow-up-due", role: "status", dataset: { leadId: lead.id, followUp: "due" } },
    el("strong", {}, "Follow-up due"),
    el("span", { className: "banner-name" }, lead.name || lead.phoneDisplay || "(no name)"),
    lead.phone && !lead.doNotCall
      ? el("a", { className: "banner-phone", href: `tel:${lead.phone}`, dataset: { callLead: lead.id } }, `Call ${lead.phoneDisplay || lead.phone}`)
      : null,
    el("a", { className: "banner-open", href: `/leads/${lead.id}/` }, "Open"),
    dismiss,
  );
  // It stays until dismissed: an overdue follow-up waits to be handled.
  dismiss.addEventListener("click", () => banner.remove());
  bannerRegion.prepend(banner);
  while (bannerRegion.children.length > MAX_BANNERS) bannerRegion.lastElementChild.remove();
}

// --- The desk's due list --------------------------------------------------------------------

const duePanel = document.getElementById("follow-ups-due");
let dueTimer = null;

function dueRow(lead) {
  const overdueMinutes = Math.floor((Date.now() - Date.parse(lead.nextFollowUpAt)) / MINUTE);
  return el(
    "li",
    { dataset: { leadId: lead.id } },
    el("a", { href: `/leads/${lead.id}/` }, lead.name || lead.phoneDisplay || "(no name)"),
    " ",
    el("time", { datetime: lead.nextFollowUpAt }, localLabel(lead.nextFollowUpAt)),
    overdueMinutes >= 1 ? el("span", { className: "overdue" }, ` overdue ${overdueMinutes} min`) : null,
    lead.phone && !lead.doNotCall
      ? [" ", el("a", { className: "call", href: `tel:${lead.phone}`, dataset: { callLead: lead.id } }, "Call")]
      : null,
  );
}

async function refreshDue() {
  if (!duePanel) return;
  let page;
  try {
    page = await api("/api/followups?due=now&limit=100");
  } catch {
    return; // offline: the next event, reconnect or minute tries again
  }
  const count = page.pagination.total;
  const badge = document.getElementById("follow-ups-due-count");
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  // The list is above the desk's rows: while the agent works them, it changes once they are free.
  const rows = page.results.map(dueRow);
  whenFree("follow-ups-due", () => {
    document.getElementById("follow-ups-due-list").replaceChildren(...rows);
    document.getElementById("follow-ups-due-empty").hidden = count > 0;
    duePanel.classList.toggle("has-due", count > 0);
  });
}

function refreshDueSoon() {
  clearTimeout(dueTimer);
  dueTimer = setTimeout(refreshDue, 200);
}

if (duePanel) {
  // The server wrote the times in UTC (it does not know the agent's zone): say them in the
  // browser's own, as the refresh will.
  for (const time of duePanel.querySelectorAll("time[datetime]")) time.textContent = localLabel(time.getAttribute("datetime"));
  refreshDue();
  setInterval(refreshDue, MINUTE);
}

// --- A lead page: quick picks and the last call's outcome ------------------------------------

const panel = document.getElementById("call-loop");
const leadId = panel ? panel.dataset.leadId : null;

function showFollowUp(iso) {
  const at = document.getElementById("follow-up-at");
  at.dataset.at = iso || "";
  at.textContent = localLabel(iso);
  document.getElementById("follow-up-clear").hidden = !iso;
}

function followUpSay(text, kind = "", action = null) {
  const state = document.getElementById("follow-up-state");
  state.dataset.kind = kind;
  state.replaceChildren(text, ...(action ? [" ", action] : []));
}

async function setFollowUp(iso) {
  followUpSay("Saving…");
  try {
    const lead = await api(`/api/leads/${leadId}`, { method: "PATCH", body: { nextFollowUpAt: iso } });
    showFollowUp(lead.nextFollowUpAt);
    followUpSay(lead.nextFollowUpAt ? `Follow-up set for ${localLabel(lead.nextFollowUpAt)} ✓` : "Follow-up cleared ✓", "ok");
  } catch (error) {
    const data = error.data || {};
    const message = (data.fields && data.fields.nextFollowUpAt && data.fields.nextFollowUpAt.join(" ")) || error.message;
    if (data.nextLegalAt) {
      const next = data.nextLegalAt;
      const useNext = el("button", { type: "button", className: "secondary", id: "follow-up-next-legal" }, `Set for ${localLabel(next)} (lead's time ${next.slice(11, 16)})`);
      useNext.addEventListener("click", () => setFollowUp(next));
      followUpSay(`Not set: ${message} The next allowed time is ${localLabel(next)}.`, "error", useNext);
    } else {
      followUpSay(`Not set: ${message}`, "error");
    }
  }
}

async function refreshLastAttempt() {
  const form = document.getElementById("last-attempt-form");
  let page;
  try {
    page = await api(`/api/leads/${leadId}/attempts?limit=10`);
  } catch {
    return;
  }
  const [last] = page.results;
  if (!last || String(last.id) === form.dataset.attemptId) return;
  form.dataset.attemptId = String(last.id);
  const at = document.getElementById("last-attempt-at");
  at.dateTime = last.at;
  at.textContent = localLabel(last.at);
  document.getElementById("attempt-outcome").value = last.outcome;
  document.getElementById("attempt-note").value = last.note;
  document.getElementById("attempt-state").textContent = "";
  form.hidden = false;
  document.getElementById("no-attempts").hidden = true;
}

if (panel) {
  for (const button of panel.querySelectorAll("[data-follow-up-in]")) {
    button.addEventListener("click", () => setFollowUp(new Date(Date.now() + PICKS[button.dataset.followUpIn]).toISOString()));
  }
  document.getElementById("follow-up-clear").addEventListener("click", () => setFollowUp(null));

  const form = document.getElementById("last-attempt-form");
  const state = document.getElementById("attempt-state");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    state.textContent = "Saving…";
    try {
      await api(`/api/leads/${leadId}/attempts/${form.dataset.attemptId}`, {
        method: "PATCH",
        body: { outcome: document.getElementById("attempt-outcome").value, note: document.getElementById("attempt-note").value },
      });
      state.textContent = "Call note saved ✓";
      state.dataset.kind = "ok";
    } catch (error) {
      state.textContent = `Not saved: ${error.message}`;
      state.dataset.kind = "error";
    }
  });
}

// --- Live events ----------------------------------------------------------------------------

onLiveEvent((event) => {
  if (event.type === "follow_up_due") {
    showFollowUpBanner(event.lead);
    playNewLeadSound();
    refreshDueSoon();
    return;
  }
  if (event.type !== "lead_updated") return;
  refreshDueSoon();
  if (panel && String(event.lead.id) === String(leadId)) {
    showFollowUp(event.lead.nextFollowUpAt);
    // A call recorded from this page (or another tab) becomes the last attempt shown here.
    refreshLastAttempt();
  }
});

onReconnect(() => {
  refreshDueSoon();
  if (panel) refreshLastAttempt();
});
