// Offers in the stall page (docs/protocol.md, the `offers` array and the `offer` frame):
// the live ladder of each item drawn from the stall document, toasts with a distinct
// Web Audio chime for the buyer and the seller, the `/offer 25` chat command, and
// offer panels that show the server's refusals in place. The stall room's modules
// (stall-room/) call window.BazaarOffers; user text only ever goes into the page with
// textContent.
(() => {
  "use strict";

  const LIVE = new Set(["pending", "accepted"]);
  const LADDER_LENGTH = 20;
  const TOAST_MS = 8000;
  const REFRESH_GRACE_MS = 3000;
  const TOASTS_KEPT = 3;
  // [frequency in Hz, start in s] per event: rising for a new offer, a turn for a
  // counter, a major arpeggio for an acceptance, falling for a refusal.
  const CHIMES = {
    new: { wave: "sine", notes: [[660, 0], [880, 0.12]] },
    countered: { wave: "square", notes: [[740, 0], [587, 0.11], [740, 0.22]] },
    accepted: { wave: "sine", notes: [[523, 0], [659, 0.09], [784, 0.18], [1047, 0.27]] },
    declined: { wave: "triangle", notes: [[440, 0], [330, 0.16]] },
  };
  // Same rule as bazaar.money.parse_amount: a comma is a decimal separator only
  // when exactly two digits follow it.
  const AMOUNT = /^\s*[$€£¥]?\s*(\d{1,9})(?:([.,])(\d+))?\s*$/;

  const state = {
    entries: null,
    now: () => Date.now(),
    prefill: null,
    audio: null,
    played: [],
    socket: null,
    said: null,
  };

  /* -------------------------------------------------------------- ladder */

  function statusNow(entry) {
    if (LIVE.has(entry.status) && Date.parse(entry.expires_at) <= state.now()) return "expired";
    return entry.status;
  }

  function made(tag, className, text = "") {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;
    return element;
  }

  function rung(entry) {
    const row = document.createElement("li");
    const status = statusNow(entry);
    row.className = `rung side-${entry.side} status-${status}`;
    row.dataset.offer = entry.id;
    const counter = entry.answers ? "↳ " : "";
    const who = entry.side === "seller" ? "↳ seller" : `${counter}${entry.buyer}`;
    row.append(made("span", "rung-who", who), " ", made("span", "rung-amount", entry.amount));
    row.append(" ", made("span", "rung-status", status));
    return row;
  }

  /** Newest first by when each offer was made (`at`: UTC to the microsecond; ids are
   * random within a millisecond, bazaar.ids), an answer above the offer it answers. */
  function newestFirst(a, b) {
    if (a.answers === b.id || b.answers === a.id) return a.answers === b.id ? -1 : 1;
    if (a.at !== b.at) return a.at < b.at ? 1 : -1;
    return a.id < b.id ? 1 : -1;
  }

  function ladderFill(list) {
    if (state.entries === null) return; // not synced yet: the server's rendering stays
    const entries = state.entries
      .filter((entry) => entry.item === list.dataset.offerLadder)
      .sort(newestFirst)
      .slice(0, LADDER_LENGTH);
    if (!entries.length) {
      const none = document.createElement("li");
      none.className = "hint rung-none";
      none.textContent = "No offers yet.";
      list.replaceChildren(none);
      return;
    }
    list.replaceChildren(...entries.map(rung));
  }

  /** The item cards' "2 open offers" badges: one live amount per open thread. */
  function badges() {
    const open = new Map();
    for (const entry of state.entries) {
      if (LIVE.has(statusNow(entry))) open.set(entry.item, (open.get(entry.item) || 0) + 1);
    }
    for (const card of document.querySelectorAll(".item-card[id^='item-']")) {
      const count = open.get(card.id.slice(5)) || 0;
      let badge = card.querySelector("[data-offer-badge]");
      if (!count) {
        if (badge) badge.remove();
        continue;
      }
      if (!badge) {
        badge = made("span", "offer-badge");
        badge.dataset.offerBadge = "";
        (card.querySelector(".body") || card).append(badge);
      }
      badge.textContent = `${count} open offer${count === 1 ? "" : "s"}`;
    }
  }

  /** The stall document's `offers` changed (or synced): redraw every ladder shown. */
  function ladder(entries, now) {
    state.entries = entries;
    if (now) state.now = now;
    for (const list of document.querySelectorAll("[data-offer-ladder]")) ladderFill(list);
    badges();
  }

  /* ------------------------------------------------------ toasts, chimes */

  function audio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!state.audio) state.audio = new Context();
    return state.audio;
  }

  // Browsers start audio only after a gesture: the first click or key wakes it.
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, () => {
      const context = audio();
      if (context && context.state === "suspended") context.resume();
    }, { once: true, capture: true });
  }

  function chime(kind) {
    const sound = CHIMES[kind];
    if (!sound) return;
    state.played.push(kind);
    const context = audio();
    if (!context) return;
    const start = context.currentTime + 0.02;
    for (const [frequency, at] of sound.notes) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = sound.wave;
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.15, start + at + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.22);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + at);
      oscillator.stop(start + at + 0.25);
    }
  }

  function toastText(frame) {
    const offer = frame.offer;
    const mine = frame.by === frame.role;
    const buyer = `@${offer.buyer_handle}`;
    const item = `“${offer.item_title}”`;
    const amount = offer.amount;
    const seller = frame.role === "seller";
    switch (frame.event) {
      case "new":
        return seller ? `${buyer} offers ${amount} for ${item}.` : `Your offer of ${amount} for ${item} is with the seller.`;
      case "countered":
        if (mine) return `Counter of ${amount} sent.`;
        return seller ? `${buyer} countered with ${amount} for ${item}.` : `The seller countered with ${amount} for ${item}.`;
      case "accepted":
        if (frame.by === "auto") {
          return seller ? `${buyer}'s ${amount} for ${item} was accepted by your auto price.`
            : `Accepted! ${amount} for ${item}: one is held for you for 24 hours.`;
        }
        if (mine) return `Accepted ${amount} for ${item}.`;
        return seller ? `${buyer} accepted your ${amount} for ${item}.`
          : `Accepted! ${amount} for ${item}: one is held for you for 24 hours.`;
      case "declined":
        return seller ? `Declined ${buyer}'s ${amount} for ${item}.` : `The seller declined ${amount} for ${item}.`;
      case "withdrawn":
        return seller ? `${buyer} withdrew their offer on ${item}.` : "Offer withdrawn.";
      case "expired":
        return `The offer of ${amount} on ${item} expired.`;
      case "purchased":
        return seller ? `${buyer} bought ${item} at ${amount}.` : `You bought ${item} at ${amount}.`;
      default:
        return `Offer on ${item}: ${frame.event}.`;
    }
  }

  function toastShelf() {
    let shelf = document.querySelector("[data-offer-toasts]");
    if (!shelf) {
      shelf = made("div", "offer-toasts");
      shelf.dataset.offerToasts = "";
      // Each toast is said once as it arrives, not the whole shelf again.
      shelf.setAttribute("role", "log");
      shelf.setAttribute("aria-relevant", "additions");
      shelf.setAttribute("aria-label", "Offer news");
      document.body.append(shelf);
    }
    return shelf;
  }

  function toast(frame) {
    const box = made("div", `offer-toast event-${frame.event}`);
    box.dataset.event = frame.event;
    box.dataset.offer = frame.offer.id;
    box.append(made("p", "offer-toast-text", toastText(frame)));
    // The other side's note, with their new amount (never my own words back to me).
    const theirs = frame.offer.side !== frame.role && (frame.event === "new" || frame.event === "countered");
    if (frame.offer.message && theirs) {
      box.append(made("q", "offer-message", frame.offer.message));
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "offer-toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "✕";
    close.addEventListener("click", () => box.remove());
    box.append(close);
    const link = itemLink(frame.offer.item);
    if (link) {
      box.classList.add("opens");
      box.addEventListener("click", (event) => {
        if (event.target !== close) link.click();
      });
    }
    const shelf = toastShelf();
    shelf.append(box);
    while (shelf.children.length > TOASTS_KEPT) shelf.firstElementChild.remove();
    setTimeout(() => box.remove(), TOAST_MS);
  }

  /** A private `offer` frame: toast, chime (unless I caused it), refresh my panel. */
  function notify(frame) {
    if (!frame || !frame.offer) return;
    toast(frame);
    if (frame.by !== frame.role) chime(frame.event);
    if (!window.htmx) return;
    // A buyer's accepted offer turns "Add to cart" into "Buy at your offer" (and back
    // when it is withdrawn, expires or is bought): ask for the button again.
    if (frame.role === "buyer") {
      document.querySelectorAll(`[data-cart-button="${frame.offer.item}"]`).forEach((button) => {
        htmx.trigger(button, "cart-refresh");
      });
    }
    const panel = document.querySelector(`[data-offers-panel="${frame.offer.item}"]`);
    if (!panel) return;
    // My own action answered in this panel a moment ago: it is already up to date
    // (and shows what happened); another tab's or the other side's needs a refresh.
    const fresh = Date.now() - Number(panel.dataset.renderedAt || 0) < REFRESH_GRACE_MS;
    if (frame.by !== frame.role || !fresh) htmx.trigger(panel, "offers-refresh");
  }

  /* ------------------------------------------------------- /offer command */

  function parseAmount(text) {
    const match = AMOUNT.exec(text);
    if (!match) return { error: "Enter an amount such as /offer 25 or /offer 25.50." };
    const [, whole, separator, fraction] = match;
    if (separator === "," && fraction.length !== 2) {
      return { error: "Use a dot for decimals, for example /offer 25.50." };
    }
    if (fraction !== undefined && fraction.length > 2) return { error: "At most 2 decimal places." };
    return { value: fraction === undefined ? whole : `${whole}.${fraction}` };
  }

  function drawerItem() {
    const body = document.querySelector("#item-drawer.open [data-item]");
    return body ? body.dataset.item : null;
  }

  function itemLink(item) {
    const card = document.getElementById(`item-${item}`);
    return card && card.querySelector("a[data-item-drawer]");
  }

  /** Put the amount in the item's offer form once its panel is there. */
  function prefillApply() {
    const wanted = state.prefill;
    if (!wanted) return;
    const panel = document.querySelector(`[data-offers-panel="${wanted.item}"]`);
    const input = panel && panel.querySelector("[data-offer-amount]");
    if (!input) return;
    state.prefill = null;
    input.value = wanted.value;
    input.focus();
    input.select();
  }

  function offerOn(item, value) {
    chooserClose();
    state.prefill = { item, value };
    if (drawerItem() === item) {
      prefillApply();
      return;
    }
    const link = itemLink(item);
    if (link) link.click();
  }

  function chooserClose() {
    const open = document.querySelector("[data-offer-chooser]");
    if (open) open.remove();
  }

  /** No item in the drawer: ask which one, above the composer. */
  function chooser(value, anchor) {
    chooserClose();
    const box = made("div", "offer-chooser");
    box.dataset.offerChooser = "";
    box.setAttribute("role", "group");
    const question = document.createElement("p");
    question.textContent = `Offer ${value} on which item?`;
    box.setAttribute("aria-label", question.textContent);
    box.append(question);
    const list = made("div", "offer-chooser-items");
    for (const card of document.querySelectorAll(".item-card[id^='item-']")) {
      const title = card.querySelector("strong");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = title ? title.textContent : card.id;
      button.addEventListener("click", () => offerOn(card.id.slice(5), value));
      list.append(button);
    }
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", chooserClose);
    box.append(list, cancel);
    anchor.before(box);
    const first = list.querySelector("button");
    if (first) first.focus();
  }

  /** `/offer 25`: opens the offer form for the drawer's item (or asks which). Returns
   * an error message for the composer, or "" when it was handled. */
  function command(text, anchor) {
    const parsed = parseAmount(text.replace(/^\/offer\b/i, ""));
    if (parsed.error) return parsed.error;
    if (!document.querySelector(".item-card[id^='item-']")) return "This stall has no items to offer on.";
    const item = drawerItem();
    if (item) offerOn(item, parsed.value);
    else chooser(parsed.value, anchor);
    return "";
  }

  /* ------------------------------------------- actions over the stall socket */

  // The drawer's offer forms go over the stall's socket when it is open (an `offer`
  // intent, answered by `offer_ack` after commit: docs/protocol.md), which spares each
  // action an HTTP request. Without the socket, or without an answer in time, the form
  // posts as before with the same idempotency key, so an action the socket did carry
  // is answered, never repeated.
  const ACK_WAIT_MS = 5000;
  const waiting = new Map(); // idempotency key -> { form, timer }

  /** The stall room's socket ({ send, open }), given by its script once it starts. */
  function useSocket(socket) {
    state.socket = socket;
  }

  function intent(form) {
    const data = new FormData(form);
    const frame = {
      type: "offer",
      action: form.dataset.offerIntent,
      id: form.dataset.offerTarget,
      key: String(data.get("idempotency_key") || ""),
    };
    for (const field of ["amount", "message"]) {
      if (data.has(field)) frame[field] = String(data.get(field));
    }
    return frame;
  }

  function busy(form, on) {
    form.toggleAttribute("aria-busy", on);
    for (const button of form.querySelectorAll("button")) button.disabled = on;
  }

  /** Hand the form back to htmx (or the browser): the POST, with the same key. */
  function viaPost(form) {
    form.dataset.offerViaPost = "";
    form.requestSubmit();
  }

  function unanswered(key) {
    const sent = waiting.get(key);
    if (!sent) return;
    waiting.delete(key);
    busy(sent.form, false);
    if (sent.form.isConnected) viaPost(sent.form);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.dataset || !form.dataset.offerIntent || !form.closest("[data-offers-panel]")) return;
    if ("offerViaPost" in form.dataset) {
      delete form.dataset.offerViaPost;
      return;
    }
    if (!state.socket || !state.socket.open()) return;
    const frame = intent(form);
    if (!frame.key) return;
    // Before htmx's own listener on the form: this action goes over the socket.
    event.preventDefault();
    event.stopPropagation();
    if (waiting.has(frame.key) || !state.socket.send(frame)) {
      if (!waiting.has(frame.key)) viaPost(form);
      return;
    }
    busy(form, true);
    waiting.set(frame.key, { form, timer: setTimeout(() => unanswered(frame.key), ACK_WAIT_MS) });
  }, true);

  /** The socket closed: what it carried unanswered goes by POST now. */
  function socketLost() {
    for (const [key, sent] of waiting) {
      clearTimeout(sent.timer);
      unanswered(key);
    }
  }

  /** A message at the top of the panel, as the server's rendering puts it there. */
  function say(panel, kind, text) {
    for (const old of panel.querySelectorAll("[data-offer-error], [data-offer-notice]")) old.remove();
    if (!text) return;
    const line = document.createElement("p");
    if (kind === "error") {
      line.className = "error-message";
      line.setAttribute("role", "alert");
      line.dataset.offerError = "";
    } else {
      line.className = "offers-notice";
      line.setAttribute("role", "status");
      line.dataset.offerNotice = "";
    }
    line.textContent = text;
    const title = panel.querySelector(".offers-title");
    if (title) title.after(line);
    else panel.prepend(line);
  }

  /** `offer_ack`: a refusal is said in place (what was typed stays); a done action
   * says what happened, and the panel is drawn again around it. */
  function acked(frame) {
    const sent = waiting.get(frame.key);
    if (!sent) return;
    clearTimeout(sent.timer);
    waiting.delete(frame.key);
    busy(sent.form, false);
    const panel = sent.form.closest("[data-offers-panel]");
    if (!panel) return;
    if (!frame.ok) {
      say(panel, "error", frame.message);
      return;
    }
    say(panel, "notice", frame.notice);
    state.said = { item: panel.dataset.offersPanel, text: frame.notice, until: Date.now() + REFRESH_GRACE_MS };
    // This action's own `offer` frame then finds the panel fresh and asks nothing more.
    panel.dataset.renderedAt = String(Date.now());
    if (window.htmx) htmx.trigger(panel, "offers-refresh");
  }

  /* ------------------------------------------------------------ panels */

  document.addEventListener("htmx:afterSwap", (event) => {
    const panel = event.detail.target.closest && event.detail.target.closest("[data-offers-panel]");
    if (!panel) return;
    panel.dataset.renderedAt = String(Date.now());
    const said = state.said;
    if (said && said.item === panel.dataset.offersPanel && Date.now() < said.until) {
      if (!panel.querySelector("[data-offer-notice], [data-offer-error]")) say(panel, "notice", said.text);
    }
    const list = panel.querySelector("[data-offer-ladder]");
    if (list) ladderFill(list);
    prefillApply();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.querySelector("[data-offer-chooser]")) {
      chooserClose();
      event.preventDefault();
    }
  });

  setInterval(() => {
    if (state.entries) ladder(state.entries); // offers expire as time passes
  }, 30_000);

  window.BazaarOffers = { ladder, notify, command, useSocket, acked, socketLost, played: state.played };
})();
