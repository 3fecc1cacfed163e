// The server's JSON frames (docs/protocol.md), each handed to the part of the room
// it concerns. Binary frames are the document's sync messages (sync.js).

import { messageMine, render } from "./chat.js";
import { composerOpen, composerRestrict, composerToLogin, youApply } from "./composer.js";
import { cursorsMoved } from "./cursors.js";
import { mentionsClose } from "./mentions.js";
import { olderLoad } from "./older.js";
import { pendingDone, pendingFailed } from "./pending.js";
import { visitorsRender } from "./presence.js";
import { setStatus, startHeartbeat } from "./socket.js";
import { chat, room, state } from "./state.js";
import { stockChanged } from "./stock.js";
import { docNew, docUpdate, offersRender, syncFromEmpty, syncIfIncomplete, syncSend } from "./sync.js";

const handlers = {
  welcome(frame) {
    state.skew = frame.server_time * 1000 - Date.now();
    state.you = frame.you;
    // Same epoch: keep the doc; its state vector asks only for what it misses.
    if (!state.doc || state.epoch !== frame.epoch) docNew(frame.epoch);
    state.syncing = false;
    syncSend();
    startHeartbeat(frame.heartbeat_seconds);
    setStatus("live", "Live");
    youApply();
    showNudge({ type: "show", topic: "all", event: "welcome" });
  },
  synced(frame) {
    if (frame.epoch !== state.epoch) {
      syncFromEmpty(frame.epoch);
      return;
    }
    state.syncing = false;
    state.retries = 0; // a full handshake worked: the next loss starts the backoff afresh
    state.lastSeq = Math.max(state.lastSeq, frame.seq);
    state.docReady = true;
    room.dataset.synced = "true";
    visitorsRender();
    render();
    offersRender();
    syncIfIncomplete();
    // My held messages are not in the document: the newest history page has them.
    if (state.you && !chat.latestLoaded) {
      chat.latestLoaded = true;
      olderLoad({ latest: true });
    }
  },
  doc(frame) {
    docUpdate(frame);
  },
  doc_epoch(frame) {
    syncFromEmpty(frame.epoch);
  },
  pong(frame) {
    state.skew = frame.server_time * 1000 - Date.now();
    if (frame.epoch !== state.epoch) syncFromEmpty(frame.epoch);
    else if (frame.seq > state.lastSeq && !state.syncing) syncSend();
  },
  presence(frame) {
    // The room's beat for its size now; the seller's page keeps the beat its welcome named.
    if (!(state.you && state.you.seller)) startHeartbeat(frame.heartbeat_seconds);
    state.count = frame.count;
    state.guests = frame.guests;
    state.label = frame.label;
    state.guestsLabel = frame.guests_label;
    visitorsRender();
  },
  cursors(frame) {
    cursorsMoved(frame);
  },
  chat_ack(frame) {
    pendingDone(frame.client_id);
    messageMine(frame.message);
    render({ mine: true });
  },
  chat_held(frame) {
    messageMine(frame.message);
    render();
  },
  chat_released(frame) {
    const message = frame.message;
    chat.held.delete(message.id);
    if (!chat.doc.has(message.id)) chat.acked.set(message.id, { ...message, status: "visible" });
    render();
  },
  chat_deleted(frame) {
    const id = frame.message.id;
    chat.held.delete(id);
    chat.acked.delete(id);
    chat.older.delete(id);
    chat.deleted.add(id);
    render();
  },
  offer_ack(frame) {
    // The answer to an offer form this page sent over the socket (static/js/offers.js).
    if (window.BazaarOffers) BazaarOffers.acked(frame);
  },
  offer(frame) {
    // To the buyer and the seller only: toast, chime, their panel refreshed.
    if (window.BazaarOffers) BazaarOffers.notify(frame);
  },
  restricted(frame) {
    // Muted during the visit (a ban arrives as error/banned, then close 4403).
    if (state.you) state.you.restriction = frame.message;
    composerRestrict(frame.message);
    mentionsClose();
  },
  show(frame) {
    // A show tool (flash auction, giveaway) started or changed: its panel refreshes.
    showNudge(frame);
  },
  stock(frame) {
    // Units taken, released or sold while the page is open: the counts follow.
    stockChanged(frame);
  },
  unrestricted() {
    // A steward lifted the last sanction: the composer opens again.
    if (state.you) state.you.restriction = null;
    composerOpen();
  },
  error(frame) {
    if (frame.client_id) {
      pendingFailed(frame.client_id, frame.message);
      if (frame.code === "mute" || frame.code === "ban") composerRestrict(frame.message);
      if (frame.code === "auth_required") composerToLogin();
    } else if (frame.code === "unknown_stall" || frame.code === "banned") {
      state.closeMessage = frame.message;
    } else {
      console.warn("stall room:", frame.code, frame.message);
    }
  },
};

// The show tools' panels over the stall (static/js/show-tools.js) listen for this
// event; a welcome nudges them all, since frames may have been missed while away.
function showNudge(frame) {
  document.dispatchEvent(new CustomEvent("stall-room:show", { detail: frame }));
}

export function onFrame(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    return;
  }
  // Under load the server sends the frames that waited together as one batch.
  for (const each of frame && frame.type === "batch" ? frame.frames : [frame]) {
    const handler = each && Object.hasOwn(handlers, each.type) && handlers[each.type];
    if (handler) handler(each);
  }
}
