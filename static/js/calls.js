// Calling a lead: the server decides whether a lead may be called (GET /api/leads/{id}/callability,
// leads/calling.py); this module only shows its answer and records each call before dialing.
import { api, el } from "./dom.js";

// The same words as leads/views.py `callability_label`.
export function callabilityLabel(answer) {
  if (answer.callable) return "Call now";
  if (answer.reason === "unknown_time_zone") return "—";
  if (answer.reason === "do_not_call") return "Do not call";
  const next = answer.nextAllowedAt;
  if (!next) return "Not now";
  const sameDay = next.slice(0, 10) === (answer.localTime || "").slice(0, 10);
  return `Not now — ${next.slice(11, 16)} ${sameDay ? "today" : next.slice(0, 10)}`;
}

export function callabilityBadge(answer) {
  const look = answer.callable ? "yes" : answer.reason === "unknown_time_zone" ? "unknown" : "no";
  return el("span", { className: `callable ${look}`, title: answer.reason }, callabilityLabel(answer));
}

export const fetchCallability = (leadId) => api(`/api/leads/${encodeURIComponent(leadId)}/callability`);

// When the answer may change by the clock alone: the next allowed time, or the end of today's
// window (the local date and offset of `localTime` with the window's end). null: never by itself.
export function changesAt(answer) {
  if (answer.nextAllowedAt) return Date.parse(answer.nextAllowedAt);
  if (answer.callable && answer.window && answer.localTime) {
    const { localTime } = answer;
    return Date.parse(`${localTime.slice(0, 10)}T${answer.window.end}:00${localTime.slice(19)}`);
  }
  return null;
}

function refusalNotice(link, leadId, error) {
  const data = error.data || {};
  const notice = el("span", { className: "call-refused", role: "alert" }, data.error || "The rules forbid this call now.");
  const anyway = el("button", { type: "button", className: "ghost" }, "Call anyway…");
  anyway.addEventListener("click", async () => {
    const reason = window.prompt("Why call although the rules forbid it now? (recorded)");
    if (!reason || !reason.trim()) return;
    notice.remove();
    await recordAndDial(link, leadId, { override: { reason: reason.trim() } });
  });
  notice.append(" ", anyway);
  return notice;
}

async function recordAndDial(link, leadId, body = {}) {
  const previous = link.parentElement.querySelector(".call-refused");
  if (previous) previous.remove();
  try {
    await api(`/api/leads/${encodeURIComponent(leadId)}/attempts`, { method: "POST", body });
  } catch (error) {
    if (error.status === 409) link.after(refusalNotice(link, leadId, error));
    else link.after(el("span", { className: "call-refused", role: "alert" }, `Not recorded: ${error.message}`));
    return;
  }
  window.location.href = link.href;
}

// Every call link that names its lead records an attempt first (the desk, the lead page, banners).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-call-lead]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  event.preventDefault();
  recordAndDial(link, link.dataset.callLead);
});
