// Every signed-in page: the live socket, the new-lead banner and sound, desktop alerts and the
// speed-to-lead counter in the header. Pages subscribe with `onLiveEvent` / `onReconnect`.
import { ageLabel, el, paintChip } from "./dom.js";
import { connectLive } from "./live.js";
import "./calls.js";
import "./shortcuts.js";

const script = document.getElementById("app-script");

// Colours come as data attributes, not inline styles, which the Content-Security-Policy forbids.
for (const chip of document.querySelectorAll("[data-chip]")) {
  paintChip(chip, chip.dataset.chip);
}

// A box that scrolls sideways (a wide table on a phone) must be reachable by keyboard: when
// nothing inside it can take focus, the box itself does, named after its table (WCAG 2.1.1).
const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

function makeScrollBoxesFocusable() {
  for (const box of document.querySelectorAll(".table-wrap, pre.code")) {
    const scrolls = box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight;
    if (box.dataset.madeFocusable === undefined && (!scrolls || box.querySelector(FOCUSABLE))) continue;
    if (scrolls && !box.querySelector(FOCUSABLE)) {
      const caption = box.querySelector("caption, h2, h3");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Scrollable table");
      box.dataset.madeFocusable = "";
    } else if (box.dataset.madeFocusable !== undefined) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      delete box.dataset.madeFocusable;
    }
  }
}
makeScrollBoxesFocusable();
window.addEventListener("resize", makeScrollBoxesFocusable);
new MutationObserver(makeScrollBoxesFocusable).observe(document.getElementById("main"), { childList: true, subtree: true });

const listeners = new Set();
const reconnectListeners = new Set();

export function onLiveEvent(listener) {
  listeners.add(listener);
}

export function onReconnect(listener) {
  reconnectListeners.add(listener);
}

// --- Sound: loaded once, volume 0.3, on/off kept in localStorage -----------------------------

const SOUND_KEY = "crokodial.sound";
const sound = new Audio(script.dataset.sound);
sound.preload = "auto";
sound.volume = 0.3;
const soundToggle = document.getElementById("sound-toggle");
const soundBlocked = document.getElementById("sound-blocked");
let soundOn = localStorage.getItem(SOUND_KEY) !== "off";
let soundLocked = false;

function showSoundSetting() {
  // The name stays "Sound"; aria-pressed says whether it is on (no "Sound off, not pressed").
  soundToggle.setAttribute("aria-pressed", String(soundOn));
  soundToggle.querySelector(".toggle-state").textContent = soundOn ? " on" : " off";
}

function unlockSound() {
  // Inside a click: play silently once, which lets later plays through.
  sound.muted = true;
  sound.play().then(
    () => {
      sound.pause();
      sound.currentTime = 0;
      sound.muted = false;
      soundLocked = false;
      soundBlocked.hidden = true;
    },
    () => {
      sound.muted = false;
    },
  );
}

export function playNewLeadSound() {
  if (!soundOn) return;
  sound.currentTime = 0;
  const playing = sound.play();
  if (playing) {
    playing.catch((error) => {
      if (error && error.name === "NotAllowedError") {
        soundLocked = true;
        soundBlocked.hidden = false;
      }
    });
  }
}

soundToggle.addEventListener("click", () => {
  soundOn = !soundOn;
  localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off");
  showSoundSetting();
  if (soundOn) unlockSound();
});
document.addEventListener(
  "click",
  () => {
    if (soundLocked) unlockSound();
  },
  true,
);
showSoundSetting();

// --- Desktop notifications: offered on a click, never asked for on load ---------------------

const notifyButton = document.getElementById("notify-enable");
if ("Notification" in window && Notification.permission === "default") {
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", async () => {
    await Notification.requestPermission();
    notifyButton.hidden = Notification.permission === "default";
  });
}

function desktopNotify(lead) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible") return;
  const notification = new Notification(`New ${lead.source || "NextGen"} Lead!`, {
    body: [lead.name, lead.phoneDisplay].filter(Boolean).join(" · "),
    tag: `lead-${lead.id}`,
  });
  notification.addEventListener("click", () => {
    window.focus();
    location.href = `/leads/${lead.id}/`;
  });
}

// --- Banner -----------------------------------------------------------------------------------

const bannerRegion = document.getElementById("banner-region");
const MAX_BANNERS = 3;
const BANNER_MS = 60000;

export function showNewLeadBanner(lead) {
  const dismiss = el("button", { type: "button", className: "ghost dismiss", "aria-label": "Dismiss" }, "×");
  const banner = el(
    "div",
    { className: "banner", dataset: { leadId: lead.id } },
    el("strong", {}, `New ${lead.source || "NextGen"} Lead!`),
    el("span", { className: "banner-name" }, lead.name || "(no name)"),
    lead.phone ? el("a", { className: "banner-phone", href: `tel:${lead.phone}`, dataset: { callLead: lead.id } }, `Call ${lead.phoneDisplay || lead.phone}`) : null,
    el("a", { className: "banner-open", href: `/leads/${lead.id}/` }, "Open"),
    dismiss,
  );
  dismiss.addEventListener("click", () => banner.remove());
  bannerRegion.prepend(banner);
  while (bannerRegion.children.length > MAX_BANNERS) bannerRegion.lastElementChild.remove();
  setTimeout(() => banner.remove(), BANNER_MS);
}

// --- Screen readers: one polite sentence per burst ("3 new leads"), not one per lead ----------

const announcer = document.getElementById("lead-announcer");
const ANNOUNCE_GATHER_MS = 1500;
let announceTimer = null;
let arrivedSinceAnnounced = [];

export function announceNewLead(lead) {
  arrivedSinceAnnounced.push(lead);
  if (announceTimer) return;
  announceTimer = setTimeout(() => {
    const arrived = arrivedSinceAnnounced;
    arrivedSinceAnnounced = [];
    announceTimer = null;
    announcer.textContent =
      arrived.length === 1 ? `New lead: ${arrived[0].name || "(no name)"}` : `${arrived.length} new leads`;
  }, ANNOUNCE_GATHER_MS);
}

// --- Speed to lead -----------------------------------------------------------------------------

const speed = document.getElementById("speed-to-lead");
let waitingTimer = null;

function showWaiting(waiting) {
  if (!speed) return;
  speed.dataset.count = waiting.count;
  speed.dataset.oldest = waiting.oldestCreatedAt || "";
  document.getElementById("waiting-count").textContent = waiting.count;
  document.getElementById("waiting-label").textContent = `new lead${waiting.count === 1 ? "" : "s"} waiting`;
  document.getElementById("waiting-oldest-wrap").hidden = !waiting.count;
  refreshWaitingAge();
}

function refreshWaitingAge() {
  if (!speed || !speed.dataset.oldest) return;
  document.getElementById("waiting-oldest").textContent = ageLabel(speed.dataset.oldest);
  speed.classList.toggle("urgent", Date.now() - new Date(speed.dataset.oldest).getTime() > 5 * 60000);
}

export function refreshWaiting() {
  if (!speed) return;
  clearTimeout(waitingTimer);
  waitingTimer = setTimeout(async () => {
    try {
      const response = await fetch(speed.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) showWaiting(await response.json());
    } catch {
      // offline: the next event or reconnect reads it again
    }
  }, 250);
}

setInterval(refreshWaitingAge, 30000);
setInterval(refreshWaiting, 120000);
refreshWaitingAge();
if (speed && speed.dataset.count === "") refreshWaiting();

// --- Copy buttons ([data-copy="#id"]) ------------------------------------------------------------

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = "Selected — press Ctrl+C";
  }
  setTimeout(() => (button.textContent = "Copy"), 2000);
});

// --- The socket -----------------------------------------------------------------------------------

const liveStatus = document.getElementById("live-status");
const STATUS_TEXT = { live: "Live", connecting: "Connecting…", offline: "Offline — retrying", "signed-out": "Signed out" };

function dispatch(event) {
  if (event.type === "new_lead_notification" && event.isNew) {
    showNewLeadBanner(event.lead);
    announceNewLead(event.lead);
    playNewLeadSound();
    desktopNotify(event.lead);
  }
  if (["new_lead_notification", "lead_updated", "lead_deleted"].includes(event.type)) refreshWaiting();
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      console.warn("live event handler failed", error);
    }
  }
}

connectLive({
  onMessage: dispatch,
  onReconnect: () => {
    refreshWaiting();
    for (const listener of reconnectListeners) listener();
  },
  onStatus: (state, retryInSeconds) => {
    liveStatus.dataset.state = state;
    liveStatus.querySelector(".live-text").textContent =
      state === "offline" && retryInSeconds ? `Offline — retrying in ${retryInSeconds}s` : STATUS_TEXT[state];
  },
});
