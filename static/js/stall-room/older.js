// Scroll-back: older messages fetched from the stall's history (data-history-url)
// when the reader scrolls up, asks with the button, or the list does not fill the log.

import { nearBottom, render } from "./chat.js";
import { chat, room, state, ui } from "./state.js";

const NEAR_TOP = 80;

export function olderRender() {
  const anything = chat.rows.size > 0;
  ui.olderButton.hidden = !(state.docReady && chat.more !== false && anything) || chat.loading;
  if (chat.loading) ui.olderStatus.textContent = "Loading older messages…";
  else if (chat.more === false && anything) {
    ui.olderStatus.textContent = "The start of the conversation.";
  }
  else if (ui.olderStatus.dataset.failed !== "true") ui.olderStatus.textContent = "";
}

/** Fetch the page before the oldest message shown (or, `latest`, the newest page). */
export async function olderLoad({ latest = false } = {}) {
  if (chat.loading || !state.docReady || (!latest && chat.more === false)) return;
  const oldest = ui.list.firstElementChild && ui.list.firstElementChild.dataset.id;
  if (!latest && !oldest) return;
  chat.loading = true;
  ui.olderStatus.dataset.failed = "false";
  olderRender();
  let page = null;
  try {
    const url = new URL(room.dataset.historyUrl, location.href);
    if (!latest) url.searchParams.set("before", oldest);
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    page = await response.json();
  } catch (error) {
    console.warn("stall room: older messages could not be loaded", error);
    ui.olderStatus.dataset.failed = "true";
    ui.olderStatus.textContent = "Older messages could not be loaded.";
  }
  chat.loading = false;
  if (page) {
    for (const message of page.messages) {
      if (chat.deleted.has(message.id)) continue;
      if (message.status === "held") chat.held.set(message.id, message);
      else chat.older.set(message.id, message);
      if (chat.floor === null || message.id < chat.floor) chat.floor = message.id;
    }
    if (!latest || chat.more !== false) chat.more = Boolean(page.more) && page.messages.length > 0;
  }
  render();
}

/** Keep fetching while the list does not fill the log (nothing to scroll yet). */
export function olderFill() {
  if (!state.docReady || chat.loading || chat.more === false) return;
  if (ui.olderStatus.dataset.failed === "true") return; // the button offers a retry
  if (ui.log.clientHeight === 0 || (state.you && !chat.latestLoaded)) return;
  if (ui.log.scrollHeight <= ui.log.clientHeight + NEAR_TOP || ui.log.scrollTop < NEAR_TOP) {
    setTimeout(olderLoad, 0);
  }
}

/** The log's scrolling (stuck to the newest, or fetching older), its button and its "new" pill. */
export function olderStart() {
  ui.log.addEventListener("scroll", () => {
    chat.stuck = nearBottom();
    if (chat.stuck) ui.newPill.hidden = true;
    if (ui.log.scrollTop < NEAR_TOP) olderLoad();
  }, { passive: true });
  // A new size (a turned phone, a taller composer) keeps the newest message in view.
  if (window.ResizeObserver) {
    new ResizeObserver(() => {
      if (chat.stuck) ui.log.scrollTop = ui.log.scrollHeight;
    }).observe(ui.log);
  }
  ui.olderButton.addEventListener("click", () => {
    ui.olderStatus.dataset.failed = "false";
    olderLoad();
  });
  ui.newPill.addEventListener("click", () => {
    ui.log.scrollTo({ top: ui.log.scrollHeight, behavior: "smooth" });
    ui.newPill.hidden = true;
  });
}
