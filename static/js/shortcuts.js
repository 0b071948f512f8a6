// Keyboard shortcuts: any element with data-shortcut="k" (and data-shortcut-label) is clicked —
// or focused, if it is a field — when the agent presses k outside a text field; pages add others
// with `addShortcut`. "?" opens the list. Single keys can be turned off there (WCAG 2.1.4).
import { el } from "./dom.js";

const ENABLED_KEY = "crokodial.shortcuts";
const extra = [];
let dialog = null;
let returnFocusTo = null;

export function addShortcut(key, label, action) {
  extra.push({ key, label, action });
}

const enabled = () => localStorage.getItem(ENABLED_KEY) !== "off";

function declared() {
  const fromPage = [...document.querySelectorAll("[data-shortcut]")]
    .filter((node) => node.getClientRects().length)
    .map((node) => ({
      key: node.dataset.shortcut,
      label: node.dataset.shortcutLabel || node.textContent.trim(),
      action: () => (node.matches("input, textarea, select") ? node.focus() : node.click()),
    }));
  return [{ key: "?", label: "Show these shortcuts" }, ...fromPage, ...extra];
}

function typingIn(target) {
  if (!(target instanceof HTMLElement)) return false;
  // A field in a dialog that has just closed keeps the focus until the browser's next rendering
  // step: nobody is typing in it.
  if (target.closest("dialog:not([open])")) return false;
  return target.isContentEditable || target.matches("input, textarea, select");
}

function buildDialog() {
  const toggle = el("input", { type: "checkbox", id: "shortcuts-enabled" });
  toggle.checked = enabled();
  toggle.addEventListener("change", () => localStorage.setItem(ENABLED_KEY, toggle.checked ? "on" : "off"));
  const list = el("dl", { className: "shortcut-list", id: "shortcut-list" });
  const close = el("button", { type: "button", className: "ghost", id: "shortcuts-close" }, "Close");
  const node = el(
    "dialog",
    { className: "shortcuts", id: "shortcuts-help", "aria-labelledby": "shortcuts-title" },
    el("h2", { id: "shortcuts-title" }, "Keyboard shortcuts"),
    list,
    el("label", { className: "check", for: "shortcuts-enabled" }, toggle, " Single-key shortcuts"),
    el("p", { className: "help" }, "They never act while you type in a field. Esc closes this list."),
    close,
  );
  close.addEventListener("click", () => node.close());
  // Focus goes back where it was. Left on the closed list's tick box, it would make the next
  // single-key shortcut count as typing in a field, and do nothing.
  node.addEventListener("close", () => {
    const back = returnFocusTo;
    returnFocusTo = null;
    if (back && back.isConnected && back !== document.body) back.focus();
    else if (node.contains(document.activeElement)) document.activeElement.blur();
  });
  document.body.append(node);
  return node;
}

export function showShortcuts() {
  dialog = dialog || buildDialog();
  dialog.querySelector("#shortcut-list").replaceChildren(
    ...declared().flatMap(({ key, label }) => [
      el("div", {}, el("dt", {}, el("kbd", {}, key)), el("dd", {}, label)),
    ]),
  );
  if (!dialog.open) {
    returnFocusTo = document.activeElement;
    dialog.showModal();
  }
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typingIn(event.target) || (dialog && dialog.open)) return;
  if (event.key === "?") {
    event.preventDefault();
    showShortcuts();
    return;
  }
  if (!enabled()) return;
  const shortcut = declared().find(({ key, action }) => action && key === event.key);
  if (!shortcut) return;
  event.preventDefault();
  shortcut.action();
});

const opener = document.getElementById("shortcuts-open");
if (opener) opener.addEventListener("click", showShortcuts);
