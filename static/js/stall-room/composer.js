// The chat composer: its counter and height, sending (or `/offer 25`, which opens
// the offer form), and what a mute, a ban or being signed out does to it.

import { mentionsClose, mentionsKey, mentionsUpdate } from "./mentions.js";
import { clientId, pendingAdd } from "./pending.js";
import { reconnectNow, send } from "./socket.js";
import { room, state, ui } from "./state.js";

const MAX_LENGTH = 500;

function codePoints(text) {
  return [...text].length;
}

export function composerError(message) {
  if (!ui.error) return;
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

export function composerInput() {
  const length = codePoints(ui.text.value.trim());
  ui.counter.textContent = `${length}/${MAX_LENGTH}`;
  ui.counter.classList.toggle("near", length > MAX_LENGTH - 50 && length <= MAX_LENGTH);
  ui.counter.classList.toggle("over", length > MAX_LENGTH);
  ui.text.style.height = "auto";
  ui.text.style.height = `${Math.min(ui.text.scrollHeight + 2, 160)}px`;
  if (length <= MAX_LENGTH && ui.error && ui.error.dataset.local === "too_long") composerError("");
}

function composerSend() {
  const text = ui.text.value.replace(/\r\n/g, "\n").trim();
  if (!text || ui.text.disabled) return;
  if (/^\/offer(\s|$)/i.test(text) && window.BazaarOffers) {
    // `/offer 25` is not chat: it opens the offer form (static/js/offers.js).
    const problem = BazaarOffers.command(text, ui.composer);
    composerError(problem);
    if (!problem) {
      ui.text.value = "";
      composerInput();
    }
    return;
  }
  const length = codePoints(text);
  if (length > MAX_LENGTH) {
    composerError(`Messages are at most ${MAX_LENGTH} characters; this one has ${length}.`);
    ui.error.dataset.local = "too_long";
    return;
  }
  const id = clientId();
  if (!send({ type: "chat", text, client_id: id })) {
    composerError("Not connected right now. Your message is still here; try again in a moment.");
    ui.error.dataset.local = "offline";
    reconnectNow();
    return;
  }
  composerError("");
  pendingAdd(id, text);
  ui.text.value = "";
  composerInput();
  mentionsClose();
}

export function composerRestrict(message) {
  if (!ui.composer) return;
  ui.restriction.textContent = message;
  ui.restriction.hidden = false;
  ui.text.disabled = true;
  ui.send.disabled = true;
  ui.composer.classList.add("restricted");
}

export function composerOpen() {
  if (!ui.composer) return;
  ui.restriction.hidden = true;
  ui.restriction.textContent = "";
  ui.text.disabled = false;
  ui.send.disabled = false;
  ui.composer.classList.remove("restricted");
}

export function composerToLogin() {
  if (!ui.composer) return;
  const paragraph = document.createElement("p");
  paragraph.className = "chat-login";
  const link = document.createElement("a");
  link.className = "button primary";
  link.href = room.dataset.loginUrl;
  link.dataset.chatLogin = "";
  link.textContent = "Log in to chat";
  paragraph.append(link);
  ui.composer.replaceWith(paragraph);
  ui.composer = null;
}

/** Who the welcome frame says I am: signed out, restricted, or free to chat. */
export function youApply() {
  const you = state.you;
  if (!you) {
    composerToLogin();
    return;
  }
  if (you.restriction) composerRestrict(you.restriction);
  else composerOpen();
}

/** Listen to the composer's form and textarea (when the page has a composer). */
export function composerStart() {
  if (!ui.composer) return;
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    composerSend();
  });
  ui.text.addEventListener("input", () => {
    composerInput();
    mentionsUpdate();
  });
  ui.text.addEventListener("keydown", (event) => {
    if (mentionsKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      composerSend();
    }
  });
  ui.text.addEventListener("click", mentionsUpdate);
  ui.text.addEventListener("blur", () => setTimeout(mentionsClose, 120));
}
