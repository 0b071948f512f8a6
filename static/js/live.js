// One WebSocket per tab: reconnects with backoff, pings to notice a dead link, and tells the
// page when it is back so the page can catch up (delivery is at most once).

const HEARTBEAT_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const MAX_BACKOFF_MS = 30000;
const SIGNED_OUT = 4401;

export function connectLive({ onMessage, onReconnect, onStatus }) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/leads/`;
  let socket = null;
  let attempt = 0;
  let connectedBefore = false;
  let heartbeat = null;
  let pongTimer = null;
  let retryTimer = null;
  let stopped = false;

  function stopHeartbeat() {
    clearInterval(heartbeat);
    clearTimeout(pongTimer);
  }

  function startHeartbeat() {
    stopHeartbeat();
    heartbeat = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => socket.close(4000, "no pong"), PONG_TIMEOUT_MS);
    }, HEARTBEAT_MS);
  }

  function scheduleRetry() {
    if (stopped || retryTimer) return;
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
    attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    onStatus("offline", Math.round(delay / 1000));
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, delay);
  }

  function connect() {
    if (stopped) return;
    onStatus("connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      attempt = 0;
      onStatus("live");
      startHeartbeat();
      if (connectedBefore) onReconnect();
      connectedBefore = true;
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "pong") {
        clearTimeout(pongTimer);
        return;
      }
      onMessage(event);
    });
    socket.addEventListener("close", (close) => {
      stopHeartbeat();
      if (close.code === SIGNED_OUT) {
        // The session ended (logout, password change, deactivation): sign in again, then return.
        stopped = true;
        onStatus("signed-out");
        const next = encodeURIComponent(location.pathname + location.search);
        location.assign(`/accounts/login/?next=${next}`);
        return;
      }
      scheduleRetry();
    });
  }

  function reconnectNow() {
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    connect();
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });
  window.addEventListener("pagehide", () => {
    stopped = true;
    if (socket) socket.close(1000, "leaving");
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    stopped = false;
    reconnectNow();
    onReconnect();
  });
  connect();
}
