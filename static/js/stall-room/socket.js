// The room's socket (/ws/stalls/<ulid>/): connecting, sending frames, the heartbeat,
// and reconnecting with a growing, jittered delay after a loss.

import { composerRestrict } from "./composer.js";
import { cursorsClear } from "./cursors.js";
import { onFrame } from "./frames.js";
import { pendingLost } from "./pending.js";
import { room, state, ui } from "./state.js";
import { onSync, syncAvailable } from "./sync.js";

const CLOSE_FATAL = new Set([4403, 4404]);

export function socketOpen() {
  return state.socket && state.socket.readyState === WebSocket.OPEN;
}

export function send(frame) {
  if (!socketOpen()) return false;
  const binary = frame instanceof Uint8Array;
  state.socket.send(binary || typeof frame === "string" ? frame : JSON.stringify(frame));
  return true;
}

export function connect() {
  clearTimeout(state.retryTimer);
  state.retryTimer = null;
  if (state.socket || state.leaving || !syncAvailable()) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/stalls/${room.dataset.stall}/`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  state.closeMessage = "";
  socket.onmessage = (event) => {
    if (socket !== state.socket) return;
    if (typeof event.data === "string") onFrame(event.data);
    else onSync(new Uint8Array(event.data));
  };
  socket.onclose = (event) => onClose(socket, event);
}

function onClose(socket, event) {
  if (socket !== state.socket) return;
  state.socket = null;
  state.syncing = false;
  room.dataset.synced = "false";
  clearInterval(state.heartbeat);
  state.heartbeat = null;
  cursorsClear();
  pendingLost();
  if (window.BazaarOffers) BazaarOffers.socketLost();
  if (state.leaving) return;
  if (CLOSE_FATAL.has(event.code)) {
    const fallback = event.code === 4404
      ? "There is no stall at this address."
      : "You cannot enter this stall room.";
    const message = state.closeMessage || fallback;
    setStatus("error", message);
    composerRestrict(message);
    return;
  }
  const delay = Math.min(30_000, 1000 * 2 ** state.retries) * (0.5 + Math.random() / 2);
  state.retries += 1;
  setStatus("offline", "Reconnecting…");
  state.retryTimer = setTimeout(connect, delay);
}

export function reconnectNow() {
  if (!state.socket && state.retryTimer) connect();
}

export function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

export function startHeartbeat(seconds) {
  const every = Math.max(1, Number(seconds) || 10) * 1000;
  if (state.heartbeat && state.heartbeatEvery === every) return; // already beating so
  clearInterval(state.heartbeat);
  state.heartbeatEvery = every;
  state.heartbeat = setInterval(() => send({ type: "ping" }), every);
}
