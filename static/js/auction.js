// The auction page (docs/protocol.md, /ws/auctions/<ulid>/): the high bid, the bid
// list and the countdown follow the server's state; the stepper offers the next
// minimum; bids go over the socket when it is open, else by POST, with an
// idempotency key. The countdown runs on the server's clock (every frame carries
// server_time). User text only via textContent.
// `BazaarAuction.mount(root)` runs it on any such panel (the auction page's #auction,
// or the flash auction over a stall, static/js/show-tools.js) and returns `stop()`.
window.BazaarAuction = { mount(root) {
  "use strict";

  if (!root) return null;
  const you = root.dataset.you || null; // this person's pseudonym on this auction
  const bands = JSON.parse(document.getElementById("auction-bands").textContent);
  let state = JSON.parse(document.getElementById("auction-state").textContent);
  let clockOffset = Number(root.dataset.serverTime) - Date.now() / 1000; // server minus local seconds
  const $ = (selector) => root.querySelector(selector);
  const form = $("[data-bid-form]");
  const amountInput = $("[data-amount]");
  const toast = root.querySelector("[data-toast]") || document.querySelector("[data-toast]");

  /* ------------------------------------------------------------------ money */

  const formatter = new Intl.NumberFormat("en-US", { style: "currency", currency: state.currency });
  const fractionDigits = formatter.resolvedOptions().maximumFractionDigits;
  const unit = 10 ** fractionDigits;
  const money = (cents) => formatter.format(cents / unit);
  const plain = (cents) => (cents / unit).toFixed(fractionDigits);

  function parseCents(text) {
    const match = /^\s*[$€£¥]?\s*(\d{1,9})(?:[.,](\d+))?\s*$/.exec(text || "");
    if (!match) return null;
    const fraction = (match[2] || "").padEnd(fractionDigits, "0");
    if (fraction.length > fractionDigits) return null;
    return Number(match[1]) * unit + Number(fraction || 0);
  }

  function increment(cents) {
    // The last band has no upper bound, so the loop always returns.
    for (const [upper, step] of bands) if (upper === null || cents < upper) return step;
  }

  /* ------------------------------------------------------------------ clock */

  const serverNow = () => Date.now() / 1000 + clockOffset;
  const syncClock = (serverTime) => { clockOffset = serverTime - Date.now() / 1000; };

  function remaining(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
  }

  function tick() {
    const label = $("[data-countdown-label]");
    const clock = $("[data-countdown]");
    const wrap = $("[data-countdown-wrap]");
    const now = serverNow();
    if (state.status === "scheduled" && now < state.starts_at) {
      label.textContent = "Starts in";
      clock.textContent = remaining(state.starts_at - now);
    } else if (state.status === "live" || state.status === "scheduled") {
      const left = state.ends_at - now;
      label.textContent = left > 0 ? "Ends in" : "";
      clock.textContent = left > 0 ? remaining(left) : "Closing…";
      wrap.classList.toggle("final", left > 0 && left <= 10);
    }
    wrap.hidden = !["live", "scheduled"].includes(state.status);
  }

  /* ------------------------------------------------------------------ state */

  const STATUS_TEXT = {
    scheduled: "Starts soon", live: "Live", ended: "Bidding closed",
    settled: "Sold", unsold: "Not sold", cancelled: "Cancelled",
  };

  // Once bidding has closed the state names only the buyer (docs/protocol.md): what
  // became of anyone else is theirs to read, in the page's private panel.
  const closed = (s) => !["live", "scheduled"].includes(s.status);

  function outcome(s) {
    if (s.status === "settled") return `Sold to @${s.winner} for ${s.final_price}.`;
    if (s.status === "unsold") return "This auction ended without a sale.";
    if (s.status === "cancelled") return "The seller cancelled this auction.";
    if (s.status === "ended" && s.winner) return `Won by @${s.winner} for ${s.final_price}: taking payment…`;
    if (s.status === "ended") return "Bidding has closed; the sale is being completed.";
    return "";
  }

  function priceLabel(s) {
    if (s.status === "settled") return "Sold for";
    if (closed(s) && s.winner) return "Winning bid";
    if (closed(s) && s.price) return "Highest bid";
    return s.price ? "High bid" : "Opening bid";
  }

  function leaderText(s) {
    if (closed(s) && s.winner) return `@${s.winner}`;
    if (s.leader) return s.leader; // "that's you" follows when it is (you-lead)
    return s.price ? "" : "No bids yet";
  }

  function render(previous) {
    root.dataset.status = state.status;
    $("[data-status-text]").textContent = STATUS_TEXT[state.status] || state.status;
    const price = $("[data-price]");
    price.textContent = (closed(state) && state.winner ? state.final_price : state.price) || state.minimum;
    $("[data-price-label]").textContent = priceLabel(state);
    $("[data-leader]").textContent = leaderText(state);
    root.classList.toggle("you-lead", Boolean(you) && state.leader === you);
    $("[data-bid-count]").textContent = `${state.bid_count} bid${state.bid_count === 1 ? "" : "s"}`;
    const reserve = $("[data-reserve]");
    reserve.hidden = state.reserve_met === null;
    reserve.textContent = state.reserve_met ? "Reserve met" : "Reserve not met";
    reserve.classList.toggle("met", Boolean(state.reserve_met));
    const end = $("[data-outcome]");
    // A live region rereads whatever is written to it: write only what changed.
    if (end.textContent !== outcome(state)) end.textContent = outcome(state);
    end.hidden = !end.textContent;

    const open = ["live", "scheduled"].includes(state.status);
    if (form) {
      form.hidden = !open;
      $("[data-minimum]").textContent = state.minimum;
      const typed = parseCents(amountInput.value);
      const behind = typed === null || typed < state.minimum_cents;
      if (!previous || (document.activeElement !== amountInput && behind)) {
        amountInput.value = plain(state.minimum_cents);
      }
    }
    const buyNow = $("[data-buy-now]");
    if (buyNow) buyNow.hidden = !(open && state.buy_now);
    if (previous && previous.price_cents !== state.price_cents) {
      price.classList.remove("bumped");
      void price.offsetWidth; // restart the animation
      price.classList.add("bumped");
    }
    if (previous && you && previous.leader === you && state.leader !== you && state.leader) {
      showToast(`You've been outbid: ${state.leader} leads at ${state.price}.`);
    } else if (previous && previous.price_cents !== state.price_cents && state.leader && state.leader !== you) {
      $("[data-bid-announcer]").textContent = `New high bid: ${state.price} by ${state.leader}.`;
    }
    tick();
  }

  function apply(next) {
    if (next.version < state.version) return; // older than what is shown
    const previous = state;
    state = next;
    render(previous);
  }

  let toastTimer = null;
  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 6000);
  }

  /* ------------------------------------------------------------------ bids */

  const list = $("[data-bid-list]");

  function bidRow(bid) {
    const row = document.createElement("li");
    row.dataset.bid = bid.id;
    row.className = bid.leading ? "leading arrived" : "arrived";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = bid.bidder === you ? `${bid.bidder} (you)` : bid.bidder;
    const amount = document.createElement(bid.retracted ? "del" : "span");
    amount.className = "amount";
    amount.textContent = bid.amount;
    row.append(who, amount);
    if (bid.retracted) {
      row.classList.add("retracted");
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = "retracted";
      row.append(kind);
    }
    if (bid.kind === "proxy") {
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = "automatic";
      row.append(kind);
    }
    const at = document.createElement("time");
    at.dateTime = bid.at;
    at.textContent = new Date(bid.at).toLocaleTimeString();
    row.append(at);
    return row;
  }

  function addBids(bids) {
    // Newest first; the rows of one change arrive oldest first.
    for (const bid of bids) {
      const shown = list.querySelector(`[data-bid="${CSS.escape(bid.id)}"]`);
      if (shown && bid.retracted) shown.replaceWith(bidRow(bid)); // withdrawn since
      else if (!shown && !bid.retracted) list.prepend(bidRow(bid));
    }
    while (list.children.length > 30) list.lastElementChild.remove();
    $("[data-no-bids]").hidden = list.children.length > 0;
  }

  for (const time of list.querySelectorAll("time[datetime]")) {
    time.textContent = new Date(time.dateTime).toLocaleTimeString();
  }

  /* ------------------------------------------------------------------ stepper */

  if (form) {
    for (const button of form.querySelectorAll("[data-step]")) {
      button.addEventListener("click", () => {
        const current = parseCents(amountInput.value) ?? state.minimum_cents;
        const direction = Number(button.dataset.step);
        const next = direction > 0 ? current + increment(current) : current - increment(Math.max(current - 1, 0));
        amountInput.value = plain(Math.max(next, state.minimum_cents));
      });
    }
  }

  /* ------------------------------------------------------------------ posting */

  const csrf = () => (form || document).querySelector("[name=csrfmiddlewaretoken]").value;
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`.replace(".", ""));

  async function post(target, body, key) {
    const response = await fetch(target.action, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrf(), "Idempotency-Key": key },
      body,
      credentials: "same-origin",
    });
    return response.json();
  }

  // Bids go over the socket while it is open, else by POST; either way with the
  // same idempotency key until answered, so a bid resent after a drop is placed once.
  const acks = new Map(); // key -> resolve, for bids sent over the socket
  const ACK_WAIT_MS = 8000;

  function sendOverSocket(fields, key) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { acks.delete(key); reject(new Error("no ack")); }, ACK_WAIT_MS);
      acks.set(key, (ack) => { clearTimeout(timer); resolve(ack); });
      socket.send(JSON.stringify({ bid: fields.amount, max: fields.max, key }));
    });
  }

  async function placeBid(key) {
    // A flash auction's panel over a stall has no proxy maximum field.
    const fields = { amount: amountInput.value, max: form.querySelector("[data-max]")?.value || null };
    if (socket && socket.readyState === WebSocket.OPEN) {
      try {
        return await sendOverSocket(fields, key);
      } catch {
        // The socket dropped or stayed silent: the same key goes by POST instead.
      }
    }
    return post(form, new FormData(form), key);
  }

  if (form) {
    const result = $("[data-bid-result]");
    const submit = $("[data-bid-submit]");
    let key = form.querySelector("[name=idempotency_key]").value;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      result.className = "bid-result";
      result.textContent = "Sending…";
      try {
        const answer = await placeBid(key);
        key = newKey(); // answered: the next bid is a new request
        result.textContent = answer.message;
        result.classList.add(answer.ok && answer.leading !== false ? "ok" : "refused");
        if (answer.state) apply(answer.state);
        if (answer.bid) addBids([answer.bid]);
        const max = form.querySelector("[data-max]");
        if (answer.ok && max) max.value = "";
      } catch {
        // No answer: the bid may or may not have committed. The same key is sent
        // again on the next try, so it is never placed twice.
        result.textContent = "No answer from the market. Try again: your bid will not be placed twice.";
        result.classList.add("refused");
      } finally {
        submit.disabled = false;
      }
    });
  }

  const buyNowForm = $("[data-buy-now]");
  if (buyNowForm) {
    let key = buyNowForm.querySelector("[name=idempotency_key]").value;
    // On the document, after bazaar.js's data-confirm question: a "no" prevents it.
    document.addEventListener("submit", async (event) => {
      if (event.target !== buyNowForm || event.defaultPrevented) return;
      event.preventDefault();
      try {
        const answer = await post(buyNowForm, new FormData(buyNowForm), key);
        key = newKey();
        showToast(answer.message);
        if (answer.state) apply(answer.state);
      } catch {
        showToast("No answer from the market. Try again.");
      }
    });
  }

  /* ------------------------------------------------------------------ socket */

  const connection = $("[data-connection]");
  let socket = null;
  let stopped = false;
  let retry = 0;

  function status(kind, text) {
    connection.dataset.state = kind;
    connection.textContent = text;
  }

  function onFrame(frame) {
    if (frame.server_time) syncClock(frame.server_time);
    if (frame.heartbeat_seconds) beat(frame.heartbeat_seconds);
    if (frame.type === "welcome") {
      retry = 0;
      status("live", "Connected");
      apply(frame.state);
      root.dataset.connected = "true";
    } else if (frame.type === "update") {
      const result = $("[data-bid-result]");
      if (result && frame.state.version > state.version && frame.state.price_cents !== state.price_cents) {
        result.textContent = ""; // what it said is out of date now
      }
      apply(frame.state);
      addBids(frame.bids);
      // Anything but a bid may change what this person alone is told: ask again.
      const yours = $("[data-auction-you]");
      if (yours && frame.event !== "bid" && window.htmx) htmx.trigger(yours, "auction-changed");
    } else if (frame.type === "bid_ack") {
      const resolve = acks.get(frame.key);
      acks.delete(frame.key);
      if (resolve) resolve(frame);
    } else if (frame.type === "error") {
      status("error", frame.message);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/auctions/${root.dataset.auction}/`);
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      // Under load the server sends the frames that waited together as one batch.
      for (const each of frame.type === "batch" ? frame.frames : [frame]) onFrame(each);
    });
    socket.addEventListener("close", (event) => {
      root.dataset.connected = "false";
      if (event.code === 4404 || stopped) return;
      status("offline", "Reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * 2 ** retry);
    });
  }

  // The page's ping, at the beat its welcome and each pong name (every 5 minutes): its
  // clock check. The server keeps a quiet socket's connection warm on its own.
  let pinger = null;
  let beatSeconds = 0;
  function beat(seconds) {
    if (!seconds || seconds === beatSeconds) return;
    beatSeconds = seconds;
    clearInterval(pinger);
    pinger = setInterval(() => {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
    }, Math.max(1, Number(seconds) || 300) * 1000);
  }
  window.addEventListener("pagehide", () => clearInterval(pinger));

  render(null);
  const ticker = setInterval(tick, 250);
  connect();
  return {
    stop() {
      stopped = true;
      clearInterval(ticker);
      clearInterval(pinger);
      if (socket) socket.close(1000);
    },
  };
} };
BazaarAuction.mount(document.getElementById("auction"));
