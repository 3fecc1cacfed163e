// The stall's shared document: a read-only Y.js replica (window.BazaarY, the bundle
// in static/vendor/) kept in sync with the server's over the socket. Its chat,
// presence and offers are shown as they change.

import { renderSoon } from "./chat.js";
import { visitorsRender } from "./presence.js";
import { send } from "./socket.js";
import { room, state } from "./state.js";
import { serverNow } from "./time.js";

let Y = null;

/** The Y.js bundle is in: the room can connect. */
export function syncReady(namespace) {
  Y = namespace;
}

export function syncAvailable() {
  return Boolean(Y);
}

export function docNew(epoch) {
  if (state.doc) state.doc.destroy();
  const doc = new Y.Doc();
  state.doc = doc;
  state.epoch = epoch;
  state.docReady = false;
  state.lastSeq = 0;
  room.dataset.synced = "false";
  doc.getArray("chat").observeDeep(() => {
    if (doc === state.doc) renderSoon();
  });
  doc.getMap("presence").observeDeep(() => {
    if (doc === state.doc && state.docReady) visitorsRender();
  });
  doc.getArray("offers").observeDeep(() => {
    if (doc === state.doc && state.docReady) offersRender();
  });
}

/** The offers ladders (static/js/offers.js) follow the document's `offers` array. */
export function offersRender() {
  if (window.BazaarOffers) BazaarOffers.ladder(state.doc.getArray("offers").toJSON(), serverNow);
}

export function syncSend() {
  if (send(BazaarY.syncStep1(state.doc))) state.syncing = true;
}

export function syncFromEmpty(epoch) {
  docNew(epoch);
  syncSend();
}

/** Missing a dependency (a lost update): ask for what we lack. */
export function syncIfIncomplete() {
  const store = state.doc.store;
  if ((store.pendingStructs || store.pendingDs) && !state.syncing) syncSend();
}

export function onSync(bytes) {
  try {
    const reply = BazaarY.readSyncMessage(state.doc, bytes, "server");
    if (reply) send(reply);
  } catch (error) {
    console.error("stall room: a sync message could not be applied", error);
    syncFromEmpty(state.epoch);
  }
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A `doc` frame: one update of the document, in base64. */
export function docUpdate(frame) {
  if (frame.epoch !== state.epoch) {
    if (frame.epoch > state.epoch) syncFromEmpty(frame.epoch);
    return;
  }
  try {
    Y.applyUpdate(state.doc, fromBase64(frame.update), "server");
  } catch (error) {
    console.error("stall room: an update could not be applied", error);
    syncFromEmpty(state.epoch);
    return;
  }
  state.lastSeq = Math.max(state.lastSeq, frame.seq);
  syncIfIncomplete();
}
