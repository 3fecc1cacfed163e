// What every part of the stall room shares: the room's elements (found once the page
// has a room, by bindRoom) and what the socket, the document and the chat know so far.
// Modules import these bindings and change the objects' fields; nothing is global.

/** The room's <aside id="stall-room">, its parts (`ui`) and the stall's cursor layer. */
export let room = null;
export let ui = null;
export let area = null;
export let layer = null;

/** The first element inside the room that matches `selector`. */
export const $ = (selector) => room.querySelector(selector);

export function bindRoom(element) {
  room = element;
  ui = {
    status: $("[data-room-status]"),
    count: $("[data-room-count]"),
    visitors: $("[data-room-visitors]"),
    log: $("[data-chat-log]"),
    list: $("[data-chat-list]"),
    pending: $("[data-chat-pending]"),
    empty: $("[data-chat-empty]"),
    olderButton: $("[data-chat-older-button]"),
    olderStatus: $("[data-chat-older-status]"),
    newPill: $("[data-chat-new]"),
    announcer: $("[data-chat-announcer]"),
    composer: $("[data-composer]"),
    text: $("[data-composer-text]"),
    counter: $("[data-composer-count]"),
    send: $("[data-composer-send]"),
    error: $("[data-composer-error]"),
    restriction: $("[data-composer-restriction]"),
    options: $("[data-mention-options]"),
  };
  area = document.querySelector("[data-cursor-area]");
  layer = document.querySelector("[data-cursor-layer]");
}

export const state = {
  socket: null,
  you: null,
  epoch: null,
  doc: null,
  docReady: false, // the doc has been synced: its content replaces what is shown
  lastSeq: 0,
  syncing: false,
  heartbeat: null,
  heartbeatEvery: 0,
  retries: 0,
  retryTimer: null,
  closeMessage: "",
  leaving: false,
  skew: 0, // server clock minus ours, in ms
  presence: {},
  count: null,
  guests: null,
  label: null,
  guestsLabel: null,
};

export const chat = {
  doc: new Map(), // id -> entry: the document's chat as last synced
  older: new Map(), // scroll-back (and entries trimmed off the document while shown)
  held: new Map(), // my own messages held for review
  acked: new Map(), // my messages acknowledged before their document update arrived
  deleted: new Set(),
  floor: null, // the oldest document entry shown; older ones come from scroll-back
  more: null, // more history on the server: null until asked
  loading: false,
  rows: new Map(), // id -> <li>
  pending: new Map(), // client_id -> {row, text, sentAt, lost}
  authors: [], // recent authors, newest first (for @ suggestions)
  firstRender: true,
  latestLoaded: false,
  stuck: true, // the reader is at the newest message: keep them there
};
