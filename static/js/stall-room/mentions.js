// @ mention suggestions in the composer: the people here and the chat's recent
// authors whose handles match what follows the @, as a listbox under the textarea.

import { composerInput } from "./composer.js";
import { chat, state, ui } from "./state.js";

const mentions = { open: false, start: 0, options: [], active: 0 };

function mentionQuery() {
  const caret = ui.text.selectionStart;
  if (caret !== ui.text.selectionEnd) return null;
  const match = /(?:^|[^\p{L}\p{N}_@])@([A-Za-z0-9_]{0,30})$/u.exec(ui.text.value.slice(0, caret));
  return match ? { start: caret - match[1].length - 1, prefix: match[1].toLowerCase() } : null;
}

function mentionCandidates(prefix) {
  const me = state.you ? state.you.handle.toLowerCase() : "";
  const seen = new Map();
  const present = Object.values(state.presence).map((info) => info.handle);
  for (const handle of [...present, ...chat.authors]) {
    const lower = String(handle).toLowerCase();
    if (lower && lower !== me && !seen.has(lower)) seen.set(lower, handle);
  }
  const all = [...seen.entries()];
  const starts = all.filter(([lower]) => lower.startsWith(prefix));
  const contains = prefix
    ? all.filter(([lower]) => !lower.startsWith(prefix) && lower.includes(prefix))
    : [];
  return [...starts, ...contains].slice(0, 6).map(([, handle]) => handle);
}

export function mentionsUpdate() {
  if (!ui.options) return;
  const query = mentionQuery();
  const options = query ? mentionCandidates(query.prefix) : [];
  if (!options.length) {
    mentionsClose();
    return;
  }
  const same = mentions.open && options.join() === mentions.options.join();
  mentions.open = true;
  mentions.start = query.start;
  if (!same) mentions.active = 0;
  mentions.options = options;
  ui.options.replaceChildren(...options.map((handle, index) => {
    const option = document.createElement("li");
    option.id = `mention-option-${index}`;
    option.setAttribute("role", "option");
    option.textContent = `@${handle}`;
    option.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the textarea
      mentionsAccept(index);
    });
    return option;
  }));
  mentionsHighlight();
  ui.options.hidden = false;
  ui.text.setAttribute("aria-expanded", "true");
}

function mentionsHighlight() {
  [...ui.options.children].forEach((option, index) => {
    option.setAttribute("aria-selected", String(index === mentions.active));
  });
  ui.text.setAttribute("aria-activedescendant", `mention-option-${mentions.active}`);
}

export function mentionsClose() {
  if (!ui.options) return;
  mentions.open = false;
  ui.options.hidden = true;
  ui.options.replaceChildren();
  ui.text.setAttribute("aria-expanded", "false");
  ui.text.removeAttribute("aria-activedescendant");
}

function mentionsAccept(index) {
  const handle = mentions.options[index];
  if (!handle) return;
  const caret = ui.text.selectionStart;
  const value = ui.text.value;
  const insert = `@${handle} `;
  ui.text.value = value.slice(0, mentions.start) + insert + value.slice(caret);
  const at = mentions.start + insert.length;
  ui.text.setSelectionRange(at, at);
  mentionsClose();
  composerInput();
  ui.text.focus();
}

/** Keys while suggestions are open; true when the key was used. */
export function mentionsKey(event) {
  if (!mentions.open) return false;
  const count = mentions.options.length;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    mentions.active = (mentions.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
    mentionsHighlight();
  } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
    mentionsAccept(mentions.active);
  } else if (event.key === "Escape") {
    mentionsClose();
  } else {
    return false;
  }
  event.preventDefault();
  return true;
}
