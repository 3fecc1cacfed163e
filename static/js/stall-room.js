// The stall room (docs/protocol.md, /ws/stalls/<ulid>/): a read-only Y.js replica of
// the stall's document (chat, presence, offers) kept in sync over the socket, the chat
// composer, everyone's cursors over the stall, and the item drawer.
// User text is only ever put in the page with textContent.
(() => {
  "use strict";

  /* ---------------------------------------------------------------- drawer */

  const drawer = document.getElementById("item-drawer");
  let drawerOpener = null;

  function drawerOpen() {
    if (!drawer) return;
    drawer.classList.add("open");
    drawer.setAttribute("aria-hidden", "false");
  }

  function drawerLoading() {
    const note = document.createElement("p");
    note.className = "drawer-loading hint";
    note.textContent = "Loading…";
    drawer.replaceChildren(closeButton(), note);
  }

  function closeButton() {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "drawer-close";
    button.setAttribute("data-drawer-close", "");
    button.setAttribute("aria-label", "Close");
    button.textContent = "✕";
    return button;
  }

  /** The open drawer covers the room beside it: Tab and Shift+Tab go round inside it. */
  function drawerKeepFocus(event) {
    const stops = [...drawer.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, [tabindex='0']")]
      .filter((element) => element.offsetParent !== null);
    if (!stops.length) return;
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (!drawer.contains(document.activeElement)) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function drawerClose() {
    if (!drawer || !drawer.classList.contains("open")) return;
    drawer.classList.remove("open");
    drawer.setAttribute("aria-hidden", "true");
    if (/^#item-/.test(location.hash)) {
      history.replaceState(history.state, "", location.pathname + location.search);
    }
    if (drawerOpener && drawerOpener.isConnected) drawerOpener.focus({ preventScroll: true });
    drawerOpener = null;
  }

  if (drawer) {
    drawer.setAttribute("aria-hidden", "true");
    document.addEventListener("click", (event) => {
      if (!(event.target instanceof Element)) return;
      const link = event.target.closest("a[data-item-drawer]");
      if (link && window.htmx && event.button === 0 &&
          !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) {
        // htmx fetches the drawer; the link (the item's own page) stays for no-JS and
        // new tabs. Here the address gets the card's #item-…, to come back to the drawer.
        event.preventDefault();
        drawerOpener = link;
        history.replaceState(history.state, "", `#${link.closest("[id^='item-']").id}`);
        return;
      }
      if (event.target.closest("[data-drawer-close]") && drawer.contains(event.target)) {
        drawerClose();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) drawerClose();
      if (event.key === "Tab" && drawer.classList.contains("open")) drawerKeepFocus(event);
    });
    document.addEventListener("htmx:beforeRequest", (event) => {
      if (event.detail.target !== drawer) return;
      drawerLoading();
      drawerOpen();
    });
    document.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target !== drawer) return;
      drawerOpen();
      // A refusal (the item is gone) comes as a bare message: it still closes.
      if (!drawer.querySelector("[data-drawer-close]")) drawer.prepend(closeButton());
      drawer.querySelector("[data-drawer-close]").focus({ preventScroll: true });
    });
    // No answer (bazaar.js): the drawer says so in place of "Loading…".
    drawer.addEventListener("bazaar:request-failed", (event) => {
      if (event.target !== drawer) return;
      event.preventDefault();
      const note = document.createElement("p");
      note.className = "error-message";
      note.setAttribute("role", "alert");
      note.textContent = "This item could not be loaded. Try again in a moment.";
      drawer.replaceChildren(closeButton(), note);
    });
    // An address with #item-… (shared, or typed): open that item's drawer.
    const drawerFromHash = () => {
      const card = /^#item-[0-9A-Za-z]+$/.test(location.hash) && document.querySelector(location.hash);
      const link = card && card.querySelector("a[data-item-drawer]");
      if (link && window.htmx) {
        drawerOpener = link;
        htmx.ajax("GET", link.getAttribute("hx-get"), { target: drawer, swap: "innerHTML" });
      }
    };
    window.addEventListener("load", drawerFromHash);
    window.addEventListener("hashchange", drawerFromHash);
  }

  /* ----------------------------------------------------------------- stock */

  // An item's stock lines, from the counts they carry (rendered with the page, kept
  // by `stock` frames). A buyer whose accepted offer holds a unit reads "Held for you"
  // where others read "Sold out": their cart button says so (data-held-for-you), and
  // is asked again whenever that offer changes.
  function stockShow(item) {
    const mine = document.querySelector(`[data-cart-button="${item}"][data-held-for-you]`) ? 1 : 0;
    document.querySelectorAll(`[data-stock-for="${item}"]`).forEach((node) => {
      const available = Number(node.dataset.available || 0);
      const othersHold = Math.max(Number(node.dataset.onHold || 0) - mine, 0);
      let text = available ? `${available} available` : mine ? "Held for you" : "Sold out";
      if ("stockHolds" in node.dataset && othersHold) text += ` · ${othersHold} on hold`;
      node.textContent = text;
      node.classList.toggle("out", !available && !mine);
      node.classList.toggle("held", !available && Boolean(mine));
    });
  }
  function stockShowAll() {
    new Set([...document.querySelectorAll("[data-stock-for]")].map((node) => node.dataset.stockFor)).forEach(
      stockShow,
    );
  }
  stockShowAll();
  document.addEventListener("htmx:afterSettle", stockShowAll);

  /* ------------------------------------------------------------------ room */

  const room = document.getElementById("stall-room");
  if (!room) return;
  // The Y.js bundle (99 KB) is fetched once the page has loaded and is idle, so it
  // never competes with the stall's first paint; the room connects when it is in.
  let Y = null;

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

  const MAX_LENGTH = 500;
  const WINDOW = 50; // recent messages shown at first; scrolling up fetches older ones
  const CHAT_KEEP = 200; // the document keeps the most recent 200 (stalls/document.py)
  const CURSOR_INTERVAL = 36; // under the server's 30 a second, with room for jitter
  const CURSOR_SETTLE = 200; // resend where the pointer came to rest (a move may be dropped)
  const CURSOR_TTL = 10_000;
  const MAX_CURSORS = 20;
  const MAX_VISITORS_LISTED = 30;
  const GROUP_MS = 3 * 60_000;
  const NEAR_BOTTOM = 48;
  const NEAR_TOP = 80;
  const CLOSE_FATAL = new Set([4403, 4404]);

  const $ = (selector) => room.querySelector(selector);
  const ui = {
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
  const area = document.querySelector("[data-cursor-area]");
  const layer = document.querySelector("[data-cursor-layer]");

  const state = {
    socket: null,
    you: null,
    epoch: null,
    doc: null,
    docReady: false, // the doc has been synced: its content replaces what is shown
    lastSeq: 0,
    syncing: false,
    heartbeat: null,
    retries: 0,
    retryTimer: null,
    closeMessage: "",
    leaving: false,
    skew: 0, // server clock minus ours, in ms
    presence: {},
    count: null,
    guests: null,
  };

  const chat = {
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

  /* ------------------------------------------------------------ the socket */

  function socketOpen() {
    return state.socket && state.socket.readyState === WebSocket.OPEN;
  }

  function send(frame) {
    if (!socketOpen()) return false;
    const binary = frame instanceof Uint8Array;
    state.socket.send(binary || typeof frame === "string" ? frame : JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (state.socket || state.leaving || !Y) return;
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
    cursorsClear();
    pendingLost();
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

  function reconnectNow() {
    if (!state.socket && state.retryTimer) connect();
  }

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }

  function startHeartbeat(seconds) {
    clearInterval(state.heartbeat);
    const every = Math.max(1, Number(seconds) || 10) * 1000;
    state.heartbeat = setInterval(() => send({ type: "ping" }), every);
  }

  /* -------------------------------------------------------- the document */

  function docNew(epoch) {
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
  function offersRender() {
    if (window.BazaarOffers) BazaarOffers.ladder(state.doc.getArray("offers").toJSON(), serverNow);
  }

  function syncSend() {
    if (send(BazaarY.syncStep1(state.doc))) state.syncing = true;
  }

  function syncFromEmpty(epoch) {
    docNew(epoch);
    syncSend();
  }

  /** Missing a dependency (a lost update): ask for what we lack. */
  function syncIfIncomplete() {
    const store = state.doc.store;
    if ((store.pendingStructs || store.pendingDs) && !state.syncing) syncSend();
  }

  function onSync(bytes) {
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
      state.count = frame.count;
      state.guests = frame.guests;
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
    stock(frame) {
      // Units taken, released or sold while the page is open: the counts follow.
      document.querySelectorAll(`[data-stock-for="${frame.item}"]`).forEach((node) => {
        node.dataset.available = frame.available;
        node.dataset.onHold = frame.on_hold;
      });
      stockShow(frame.item);
      document.querySelectorAll(`[data-cart-button="${frame.item}"] [data-add-to-cart]`).forEach((form) => {
        form.hidden = !frame.available;
      });
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

  function onFrame(text) {
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

  /* -------------------------------------------------------------- the chat */

  function messageMine(message) {
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
  function renderSoon() {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      if (renderQueued) render();
    });
  }

  function nearBottom() {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM;
  }

  function scrollToBottom() {
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

  function render(options = {}) {
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
    return row;
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

  /* ------------------------------------------------------------ timestamps */

  function serverNow() {
    return Date.now() + state.skew;
  }

  function relativeTime(moment) {
    const seconds = (serverNow() - moment) / 1000;
    if (seconds < 45) return "just now";
    if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
    if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
    if (seconds < 7 * 86_400) {
      const days = Math.floor(seconds / 86_400);
      return days === 1 ? "yesterday" : `${days} days ago`;
    }
    const date = { day: "numeric", month: "short", year: "numeric" };
    return new Date(moment).toLocaleDateString(undefined, date);
  }

  function timeElement(at) {
    const time = document.createElement("time");
    time.className = "msg-time";
    const moment = Date.parse(at);
    if (Number.isNaN(moment)) return time;
    time.dateTime = at;
    time.title = new Date(moment).toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
    time.textContent = relativeTime(moment);
    return time;
  }

  setInterval(() => {
    for (const time of room.querySelectorAll("time[datetime]")) {
      time.textContent = relativeTime(Date.parse(time.dateTime));
    }
  }, 30_000);

  /* ----------------------------------------------------------- scroll-back */

  function olderRender() {
    const anything = chat.rows.size > 0;
    ui.olderButton.hidden = !(state.docReady && chat.more !== false && anything) || chat.loading;
    if (chat.loading) ui.olderStatus.textContent = "Loading older messages…";
    else if (chat.more === false && anything) {
      ui.olderStatus.textContent = "The start of the conversation.";
    }
    else if (ui.olderStatus.dataset.failed !== "true") ui.olderStatus.textContent = "";
  }

  /** Fetch the page before the oldest message shown (or, `latest`, the newest page). */
  async function olderLoad({ latest = false } = {}) {
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
  function olderFill() {
    if (!state.docReady || chat.loading || chat.more === false) return;
    if (ui.olderStatus.dataset.failed === "true") return; // the button offers a retry
    if (ui.log.clientHeight === 0 || (state.you && !chat.latestLoaded)) return;
    if (ui.log.scrollHeight <= ui.log.clientHeight + NEAR_TOP || ui.log.scrollTop < NEAR_TOP) {
      setTimeout(olderLoad, 0);
    }
  }

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

  /* ------------------------------------------------- sending and pending */

  function clientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
  }

  function pendingAdd(id, text) {
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

  function pendingDone(id) {
    const pending = chat.pending.get(id);
    if (!pending) return;
    pending.row.remove();
    chat.pending.delete(id);
  }

  function pendingFailed(id, message) {
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
  function pendingArrived(entry) {
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
  function pendingLost() {
    for (const [id, pending] of chat.pending) {
      if (pending.lost || pending.row.classList.contains("failed")) continue;
      pending.lost = true;
      pendingFailed(id, "Connection lost before this was confirmed.");
    }
  }

  /** A lost message that did arrive shows up in the chat: drop its failed row. */
  function pendingReconcile(shown) {
    if (!state.you) return;
    for (const [id, pending] of chat.pending) {
      if (!pending.lost) continue;
      const arrived = shown.some(([, entry]) => entry.author_id === state.you.id &&
        entry.text === pending.text && Date.parse(entry.at) >= pending.sentAt - 60_000);
      if (arrived) pendingDone(id);
    }
  }

  /* ------------------------------------------------------------- composer */

  function codePoints(text) {
    return [...text].length;
  }

  function composerError(message) {
    if (!ui.error) return;
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }

  function composerInput() {
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

  function composerRestrict(message) {
    if (!ui.composer) return;
    ui.restriction.textContent = message;
    ui.restriction.hidden = false;
    ui.text.disabled = true;
    ui.send.disabled = true;
    ui.composer.classList.add("restricted");
  }

  function composerOpen() {
    if (!ui.composer) return;
    ui.restriction.hidden = true;
    ui.restriction.textContent = "";
    ui.text.disabled = false;
    ui.send.disabled = false;
    ui.composer.classList.remove("restricted");
  }

  function composerToLogin() {
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

  function youApply() {
    const you = state.you;
    if (!you) {
      composerToLogin();
      return;
    }
    if (you.restriction) composerRestrict(you.restriction);
    else composerOpen();
  }

  if (ui.composer) {
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

  /* ------------------------------------------------- @ mention suggestions */

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

  function mentionsUpdate() {
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

  function mentionsClose() {
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
  function mentionsKey(event) {
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

  /* ------------------------------------------------------------- visitors */

  function visitorsRender() {
    if (state.docReady) state.presence = state.doc.getMap("presence").toJSON();
    const people = Object.values(state.presence)
      .filter((info) => info && info.handle)
      .sort((a, b) => Number(Boolean(b.seller)) - Number(Boolean(a.seller)) ||
        String(a.handle).localeCompare(String(b.handle)));
    const me = state.you && state.you.id;
    const rows = people.slice(0, MAX_VISITORS_LISTED).map((info) => {
      const row = document.createElement("li");
      row.className = "visitor";
      row.dataset.handle = info.handle;
      const name = document.createElement("span");
      name.className = "visitor-handle";
      name.textContent = `@${info.handle}`;
      row.append(name);
      if (info.seller) {
        const badge = document.createElement("span");
        badge.className = "badge seller-badge";
        badge.textContent = "seller";
        row.append(" ", badge);
      }
      if (info.id === me) {
        row.classList.add("me");
        const you = document.createElement("span");
        you.className = "hint";
        you.textContent = "(you)";
        row.append(" ", you);
      }
      return row;
    });
    if (people.length > MAX_VISITORS_LISTED) {
      const more = document.createElement("li");
      more.className = "visitor hint";
      more.textContent = `+${people.length - MAX_VISITORS_LISTED} more`;
      rows.push(more);
    }
    ui.visitors.replaceChildren(...rows);
    const count = state.count ?? people.length;
    const guests = state.guests ?? 0;
    let text = count ? `${count} here` : "Nobody here yet";
    if (guests) text += ` · ${guests} ${guests === 1 ? "guest" : "guests"}`;
    ui.count.textContent = text;
    const jumpCount = $("[data-room-jump-count]");
    if (jumpCount) jumpCount.textContent = count ? ` · ${count} here` : "";
  }

  /* -------------------------------------------------------------- cursors */

  const cursors = new Map(); // id -> {element, label, seen}
  const SVG = "http://www.w3.org/2000/svg";

  function cursorElement() {
    const element = document.createElement("div");
    element.className = "room-cursor";
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 16 20");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "20");
    svg.setAttribute("class", "room-cursor-arrow");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M1 1 L1 16 L5.2 12.3 L8.1 18.6 L10.8 17.4 L7.9 11.2 L13.5 11.2 Z");
    svg.append(path);
    const label = document.createElement("span");
    label.className = "room-cursor-label";
    element.append(svg, label);
    return { element, label, seen: 0 };
  }

  function fraction(value) {
    const number = Number(value);
    return Number.isFinite(number) ? Math.min(1, Math.max(0, number)) : null;
  }

  function cursorsMoved(frame) {
    if (!layer) return;
    for (const id of frame.gone || []) cursorRemove(id);
    const mine = state.you && state.you.cursor;
    for (const moved of frame.moved || []) {
      const x = fraction(moved.x);
      const y = fraction(moved.y);
      if (!moved.id || moved.id === mine || x === null || y === null) continue;
      let cursor = cursors.get(moved.id);
      const fresh = !cursor;
      if (fresh) {
        if (cursors.size >= MAX_CURSORS) cursorRemoveStalest();
        cursor = cursorElement();
        cursors.set(moved.id, cursor);
        cursor.element.dataset.cursor = moved.id;
      }
      cursor.seen = Date.now();
      cursor.label.textContent = moved.handle;
      cursor.element.dataset.handle = moved.handle;
      cursor.element.style.setProperty("--cursor-color", String(moved.color || "#a3461a"));
      cursor.element.style.left = `${x * 100}%`;
      cursor.element.style.top = `${y * 100}%`;
      cursor.element.classList.toggle("flip", x > 0.8);
      if (fresh) {
        layer.append(cursor.element);
        void cursor.element.offsetWidth; // place it before transitions apply
        cursor.element.classList.add("moving");
      }
    }
  }

  function cursorRemove(id) {
    const cursor = cursors.get(id);
    if (!cursor) return;
    cursor.element.remove();
    cursors.delete(id);
  }

  function cursorRemoveStalest() {
    let stalest = null;
    for (const [id, cursor] of cursors) {
      if (stalest === null || cursor.seen < cursors.get(stalest).seen) stalest = id;
    }
    if (stalest !== null) cursorRemove(stalest);
  }

  function cursorsClear() {
    for (const id of [...cursors.keys()]) cursorRemove(id);
  }

  setInterval(() => {
    const now = Date.now();
    for (const [id, cursor] of cursors) if (now - cursor.seen > CURSOR_TTL) cursorRemove(id);
  }, 1000);

  // My pointer, as fractions of the stall area: signed-in, fine pointers, 30 a second.
  const finePointer = window.matchMedia("(pointer: fine)");
  const pointer = { x: 0, y: 0, lastSent: 0, timer: null, settle: null };

  function fourPlaces(value) {
    return Math.round(Math.min(1, Math.max(0, value)) * 10_000) / 10_000;
  }

  function pointerSend() {
    pointer.lastSent = performance.now();
    send({ type: "cursor", x: pointer.x, y: pointer.y });
  }

  function pointerFlush() {
    pointer.timer = null;
    pointerSend();
    clearTimeout(pointer.settle);
    pointer.settle = setTimeout(pointerSend, CURSOR_SETTLE);
  }

  if (area) {
    area.addEventListener("pointermove", (event) => {
      if (!state.you || !finePointer.matches || event.pointerType === "touch" || !socketOpen()) return;
      const box = area.getBoundingClientRect();
      if (box.width <= 0 || box.height <= 0) return;
      pointer.x = fourPlaces((event.clientX - box.left) / box.width);
      pointer.y = fourPlaces((event.clientY - box.top) / box.height);
      if (pointer.timer) return;
      const wait = CURSOR_INTERVAL - (performance.now() - pointer.lastSent);
      if (wait <= 0) pointerFlush();
      else pointer.timer = setTimeout(pointerFlush, wait);
    }, { passive: true });
  }

  /* -------------------------------------------------------------- start */

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

  if (ui.composer) composerInput();
  visitorsRender();
  const start = () => yjsLoad().then(
    () => {
      Y = window.BazaarY.Y;
      connect();
    },
    () => {
      ui.status.dataset.state = "error";
      ui.status.textContent = "The stall room could not start. Reload the page to try again.";
    },
  );
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 1));
  if (document.readyState === "complete") idle(start);
  else window.addEventListener("load", () => idle(start), { once: true });
})();
