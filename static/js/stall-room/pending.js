// My messages on their way: a "sending…" row until the server acknowledges them (or
// they show up in the chat), a "not sent" row with the reason when refused or lost.

import { scrollToBottom } from "./chat.js";
import { composerError, composerInput } from "./composer.js";
import { chat, state, ui } from "./state.js";
import { serverNow } from "./time.js";

export function clientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

export function pendingAdd(id, text) {
  const row = document.createElement("li");
  row.className = "msg mine pending";
  row.dataset.clientId = id;
  const head = document.createElement("div");
  head.className = "msg-head";
  const author = document.createElement("span");
  author.className = "msg-author";
  author.textContent = state.you ? state.you.handle : "you";
  const status = document.createElement("span");
  status.className = "msg-status";
  status.textContent = "sending…";
  head.append(author, " ", status);
  const body = document.createElement("p");
  body.className = "msg-text";
  body.textContent = text;
  row.append(head, body);
  ui.pending.append(row);
  chat.pending.set(id, { row, text, sentAt: serverNow(), lost: false });
  ui.empty.hidden = true;
  scrollToBottom();
}

export function pendingDone(id) {
  const pending = chat.pending.get(id);
  if (!pending) return;
  pending.row.remove();
  chat.pending.delete(id);
}

export function pendingFailed(id, message) {
  const pending = chat.pending.get(id);
  if (!pending) {
    composerError(message);
    return;
  }
  pending.row.classList.add("failed");
  pending.row.querySelector(".msg-status").textContent = "not sent";
  const error = document.createElement("p");
  error.className = "msg-error";
  error.setAttribute("role", "alert");
  error.textContent = message;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "link msg-dismiss";
  dismiss.textContent = "Dismiss";
  dismiss.addEventListener("click", () => pendingDone(id));
  error.append(" ", dismiss);
  pending.row.append(error);
  // Give the words back, so that they can be sent again.
  if (ui.text && !ui.text.value.trim()) {
    ui.text.value = pending.text;
    composerInput();
  }
}

/** My message reached the chat before its ack did: its "sending…" row has done its job. */
export function pendingArrived(entry) {
  if (!state.you || entry.author_id !== state.you.id) return;
  for (const [id, pending] of chat.pending) {
    if (!pending.lost && !pending.row.classList.contains("failed") && pending.text === entry.text &&
        Date.parse(entry.at) >= pending.sentAt - 5000) {
      pendingDone(id);
      return;
    }
  }
}

/** The socket closed with messages unanswered: they may or may not have been sent. */
export function pendingLost() {
  for (const [id, pending] of chat.pending) {
    if (pending.lost || pending.row.classList.contains("failed")) continue;
    pending.lost = true;
    pendingFailed(id, "Connection lost before this was confirmed.");
  }
}

/** A lost message that did arrive shows up in the chat: drop its failed row. */
export function pendingReconcile(shown) {
  if (!state.you) return;
  for (const [id, pending] of chat.pending) {
    if (!pending.lost) continue;
    const arrived = shown.some(([, entry]) => entry.author_id === state.you.id &&
      entry.text === pending.text && Date.parse(entry.at) >= pending.sentAt - 60_000);
    if (arrived) pendingDone(id);
  }
}
