// The chat list: the document's messages, my own acknowledged or held ones and the
// older ones fetched by scrolling back, merged in id order and rendered as rows that
// are kept, not rebuilt. User text is only ever put in the page with textContent.

import { olderFill, olderRender } from "./older.js";
import { pendingArrived, pendingReconcile } from "./pending.js";
import { chat, room, state, ui } from "./state.js";
import { timeElement } from "./time.js";

const WINDOW = 50; // recent messages shown at first; scrolling up fetches older ones
const CHAT_KEEP = 200; // the document keeps the most recent 200 (stalls/room/document.py)
const GROUP_MS = 3 * 60_000;
const NEAR_BOTTOM = 48;

export function messageMine(message) {
  if (message.status === "held") {
    chat.held.set(message.id, message);
  } else if (!chat.doc.has(message.id)) {
    chat.acked.set(message.id, message);
  }
}

/** Read the synced document's chat; tell deletions from trimming (the doc keeps 200). */
function docRead() {
  if (!state.docReady) return;
  const entries = state.doc.getArray("chat").toJSON();
  const next = new Map(entries.map((entry) => [entry.id, entry]));
  const first = entries.length ? entries[0].id : null;
  for (const [id, entry] of chat.doc) {
    if (next.has(id)) continue;
    if (entries.length >= CHAT_KEEP && first !== null && id < first) {
      chat.older.set(id, entry); // trimmed: still part of the conversation
    } else {
      chat.older.delete(id);
      chat.acked.delete(id);
      chat.deleted.add(id);
    }
  }
  for (const id of next.keys()) {
    chat.acked.delete(id);
    chat.held.delete(id);
  }
  chat.doc = next;
  if (chat.floor === null) {
    chat.floor = entries.length > WINDOW ? entries[entries.length - WINDOW].id : "";
  }
}

/** What the list shows, oldest first: [id, entry, held]. */
function chatShown() {
  const shown = new Map();
  for (const [id, entry] of chat.older) shown.set(id, [id, entry, false]);
  for (const [id, entry] of chat.acked) shown.set(id, [id, entry, false]);
  for (const [id, entry] of chat.held) shown.set(id, [id, entry, true]);
  for (const id of chat.deleted) shown.delete(id);
  const floor = chat.floor || "";
  for (const [id, entry] of chat.doc) if (id >= floor) shown.set(id, [id, entry, false]);
  return [...shown.values()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

let renderQueued = false;
export function renderSoon() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    if (renderQueued) render();
  });
}

export function nearBottom() {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM;
}

export function scrollToBottom() {
  ui.log.scrollTop = ui.log.scrollHeight;
  ui.newPill.hidden = true;
  chat.stuck = true;
}

/** The first row in view, and where it is, so that rows added above keep it still. */
function scrollAnchor() {
  const top = ui.log.getBoundingClientRect().top;
  for (const row of ui.list.children) {
    const box = row.getBoundingClientRect();
    if (box.bottom > top) return { row, offset: box.top };
  }
  return null;
}

export function render(options = {}) {
  renderQueued = false;
  docRead();
  const stick = chat.stuck || nearBottom() || options.mine;
  const anchor = stick ? null : scrollAnchor();
  const shown = chatShown();
  const keep = new Set(shown.map(([id]) => id));
  for (const [id, row] of chat.rows) {
    if (!keep.has(id)) {
      row.remove();
      chat.rows.delete(id);
    }
  }
  let next = ui.list.firstElementChild;
  let addedAtEnd = 0;
  for (const [id, entry, held] of shown) {
    let row = chat.rows.get(id);
    if (!row) {
      row = messageRow(entry);
      chat.rows.set(id, row);
      if (next === null) addedAtEnd += 1;
      if (next === null && !chat.firstRender) announce(entry);
      ui.list.insertBefore(row, next);
      pendingArrived(entry);
    } else if (row !== next) {
      ui.list.insertBefore(row, next);
    } else {
      next = next.nextElementSibling;
    }
    rowHeld(row, held);
  }
  rowsGroup(shown);
  pendingReconcile(shown);
  chat.authors = [...new Set(shown.map(([, entry]) => entry.author).reverse())];
  ui.empty.hidden = !(state.docReady && shown.length === 0 && chat.pending.size === 0);
  olderRender();

  if (stick) {
    scrollToBottom();
  } else {
    if (anchor && anchor.row.isConnected) {
      ui.log.scrollTop += anchor.row.getBoundingClientRect().top - anchor.offset;
    }
    if (addedAtEnd > 0) ui.newPill.hidden = false;
  }
  if (state.docReady && chat.firstRender) {
    chat.firstRender = false;
    scrollToBottom();
  }
  olderFill();
}

/** A message someone else just sent, said once by screen readers (the log adds, never rereads). */
function announce(entry) {
  if (!ui.announcer || (state.you && entry.author_id === state.you.id)) return;
  const line = document.createElement("p");
  line.textContent = `${entry.author}: ${entry.text}`;
  ui.announcer.append(line);
  while (ui.announcer.children.length > 10) ui.announcer.firstElementChild.remove();
}

function messageRow(entry) {
  const row = document.createElement("li");
  row.className = "msg";
  row.dataset.id = entry.id;
  const you = state.you;
  if (you && entry.author_id === you.id) row.classList.add("mine");
  const mentions = (entry.mentions || []).map((handle) => String(handle).toLowerCase());
  const mentionsMe = you && mentions.includes(you.handle.toLowerCase());
  if (mentionsMe) row.classList.add("mentions-me");

  const head = document.createElement("div");
  head.className = "msg-head";
  const author = document.createElement("span");
  author.className = "msg-author";
  author.textContent = entry.author;
  const time = timeElement(entry.at);
  const held = document.createElement("span");
  held.className = "msg-held";
  held.textContent = "held for review";
  held.title = "Only you can see this until a steward reviews it.";
  held.hidden = true;
  head.append(author, " ", time, " ", held);

  const text = document.createElement("p");
  text.className = "msg-text";
  textWithMentions(text, String(entry.text), new Set(mentions), you && you.handle.toLowerCase());
  row.append(head, text);
  if (you && entry.author_id !== you.id && room.dataset.reportUrl) head.append(" ", reportLink(entry));
  return row;
}

/** A link to report someone else's message to the stewards (the server checks it). */
function reportLink(entry) {
  const link = document.createElement("a");
  link.className = "msg-report";
  link.href = room.dataset.reportUrl.replace("0".repeat(26), entry.id);
  link.textContent = "Report";
  link.setAttribute("aria-label", `Report ${entry.author}'s message`);
  return link;
}

/** Consecutive messages by one author within a few minutes share one header. */
function rowsGroup(shown) {
  let previous = null;
  for (const [id, entry, held] of shown) {
    const at = Date.parse(entry.at);
    const follows = previous !== null && !held && !previous.held &&
      previous.author_id === entry.author_id && at - previous.at < GROUP_MS;
    const row = chat.rows.get(id);
    if (row.classList.contains("follows") !== follows) row.classList.toggle("follows", follows);
    previous = { author_id: entry.author_id, at, held };
  }
}

function rowHeld(row, held) {
  if (row.classList.contains("held") === held) return;
  row.classList.toggle("held", held);
  row.querySelector(".msg-held").hidden = !held;
}

const MENTION = /@([A-Za-z0-9_]{3,30})\b/g;
const WORDISH = /[\p{L}\p{N}_@]/u;

/** Text nodes and <mark>s for the @handles the server recognised (message.mentions). */
function textWithMentions(node, text, mentions, me) {
  if (!mentions.size) {
    node.textContent = text;
    return;
  }
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const handle = match[1].toLowerCase();
    if ((match.index > 0 && WORDISH.test(text[match.index - 1])) || !mentions.has(handle)) continue;
    if (match.index > last) node.append(document.createTextNode(text.slice(last, match.index)));
    const mark = document.createElement("mark");
    mark.className = handle === me ? "mention me" : "mention";
    mark.textContent = match[0];
    node.append(mark);
    last = match.index + match[0].length;
  }
  if (last < text.length) node.append(document.createTextNode(text.slice(last)));
}
