// Small DOM and formatting helpers shared by the pages. Text always goes in as text nodes.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

export function ageLabel(createdAt, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(createdAt).getTime()) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 60 * 24) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / (60 * 24))} d ago`;
}

export function jsonScript(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

// --- Chip colours: a tenant's disposition colour, made readable (WCAG AA 4.5:1) ------------------

function channels(hex) {
  const match = /^#?([0-9a-f]{6})$/i.exec(String(hex || "").trim());
  const value = parseInt(match ? match[1] : "64748b", 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

const mix = (from, to, share) => from.map((channel, i) => Math.round(channel + (to[i] - channel) * share));

function luminance(rgb) {
  const [r, g, b] = rgb.map((channel) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

// Darken the colour until it reads on `background` with room to spare.
function readableOn(rgb, background, ratio = 4.8) {
  let share = 0;
  let ink = rgb;
  while (contrast(ink, background) < ratio && share < 1) {
    share += 0.05;
    ink = mix(rgb, [0, 0, 0], share);
  }
  return ink;
}

const css = (rgb) => `rgb(${rgb.join(", ")})`;

// Colours as custom properties (the Content-Security-Policy forbids inline style attributes).
export function paintChip(node, hex) {
  const colour = channels(hex);
  const soft = mix(colour, [255, 255, 255], 0.88);
  node.style.setProperty("--chip", css(colour));
  node.style.setProperty("--chip-soft", css(soft));
  node.style.setProperty("--chip-line", css(mix(colour, [255, 255, 255], 0.6)));
  node.style.setProperty("--chip-ink", css(readableOn(colour, soft)));
  node.style.setProperty("--chip-solid", css(readableOn(colour, [255, 255, 255])));
}
