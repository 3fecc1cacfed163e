// The stall page's script (docs/protocol.md, /ws/stalls/<ulid>/): the item drawer,
// the stock lines and, when the page has a room, a read-only Y.js replica of the
// stall's document (chat, presence, offers) kept in sync over the socket, the chat
// composer and everyone's cursors over the stall. scripts/build_stall_room.sh bundles
// this module and those it imports into static/js/stall-room.min.js.

import { composerInput, composerStart } from "./composer.js";
import { cursorsStart } from "./cursors.js";
import { drawerStart } from "./drawer.js";
import { olderStart } from "./older.js";
import { visitorsRender } from "./presence.js";
import { connect, reconnectNow, send, setStatus, socketOpen } from "./socket.js";
import { $, bindRoom, room, state, ui } from "./state.js";
import { stockStart } from "./stock.js";
import { syncReady } from "./sync.js";
import { timesStart } from "./time.js";

// The Y.js bundle (99 KB) is fetched once the page has loaded and is idle, so it
// never competes with the stall's first paint; the room connects when it is in.
function yjsLoad() {
  return new Promise((resolve, reject) => {
    if (window.BazaarY) return resolve();
    const script = document.createElement("script");
    script.src = room.dataset.yjsUrl;
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
}

function roomStart(element) {
  bindRoom(element);
  timesStart();
  olderStart();
  composerStart();
  cursorsStart();

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) reconnectNow();
  });
  window.addEventListener("pagehide", () => {
    state.leaving = true;
    if (state.socket) state.socket.close(1000);
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    state.leaving = false;
    connect();
  });

  // On a phone the room is below the stall: a button jumps there until it is in view.
  const jump = $("[data-room-jump]");
  if (jump && window.IntersectionObserver) {
    jump.hidden = false;
    new IntersectionObserver(([entry]) => {
      jump.classList.toggle("away", entry.isIntersecting);
    }).observe(room);
  }

  // The drawer's offer forms send their actions on this socket while it is open.
  if (window.BazaarOffers) BazaarOffers.useSocket({ send, open: socketOpen });
  if (ui.composer) composerInput();
  visitorsRender();
  const start = () => yjsLoad().then(
    () => {
      syncReady(window.BazaarY.Y);
      connect();
    },
    () => setStatus("error", "The stall room could not start. Reload the page to try again."),
  );
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 1));
  if (document.readyState === "complete") idle(start);
  else window.addEventListener("load", () => idle(start), { once: true });
}

drawerStart();
stockStart();
const element = document.getElementById("stall-room");
if (element) roomStart(element);
