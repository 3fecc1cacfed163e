// The stewards' sections map: drag a stall onto a free slot to move it there, or onto
// another stall to swap the two. A drop fills the page's one form (stall, where it
// was, where it goes, who is there) and sends it, as the keyboard's "Move…" then a
// target button does; the server checks everything again under its locks. The map
// follows other stewards' moves live (see `listen`).
(() => {
  "use strict";

  const form = document.querySelector("form[data-sections-map]");
  if (!form) return;
  const reason = form.querySelector("#move-reason");
  const status = form.querySelector("[data-map-status]");
  let dragged = null;

  function field(name) {
    let input = form.querySelector(`input[type=hidden][name=${name}]`);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.append(input);
    }
    return input;
  }

  form.addEventListener("dragstart", (event) => {
    const stall = event.target.closest && event.target.closest(".map-stall");
    if (!stall) return;
    dragged = { stall: stall.dataset.stall, origin: stall.closest(".map-slot").dataset.place };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", stall.dataset.name);
  });

  form.addEventListener("dragend", () => {
    dragged = null;
    form.querySelectorAll(".is-over").forEach((slot) => slot.classList.remove("is-over"));
  });

  function slotUnder(event) {
    const slot = event.target.closest && event.target.closest(".map-slot");
    return dragged && slot && slot.dataset.place !== dragged.origin ? slot : null;
  }

  form.addEventListener("dragover", (event) => {
    const slot = slotUnder(event);
    if (!slot) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    form.querySelectorAll(".is-over").forEach((other) => other !== slot && other.classList.remove("is-over"));
    slot.classList.add("is-over");
  });

  form.addEventListener("drop", (event) => {
    const slot = slotUnder(event);
    if (!slot) return;
    event.preventDefault();
    slot.classList.remove("is-over");
    if (!reason.value.trim()) {
      reason.setAttribute("aria-invalid", "true");
      status.textContent = "Say why you are moving the stall first; then drag it again.";
      reason.focus();
      return;
    }
    field("stall").value = dragged.stall;
    field("origin").value = dragged.origin;
    field("target").value = `${slot.dataset.place},${slot.dataset.occupant}`;
    status.textContent = "Moving the stall…";
    form.submit();
  });

  // Live: another steward's move (or a seller's own change) reaches this map over the
  // market socket, as it reaches shoppers' grid pages. The changed sections are fetched
  // again and swapped in place; a drag in progress finishes first, the reason typed and
  // the stall being moved by keyboard are kept, and focus stays on its slot.
  const changed = new Set();
  let timer = null;

  function sectionId(x, y) {
    return `section-${x}-${y}`;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => (dragged ? schedule() : refresh()), 250);
  }

  function focusedPlace(section) {
    const active = document.activeElement;
    if (!active || !section.contains(active)) return null;
    const slot = active.closest(".map-slot");
    return slot ? slot.dataset.place : "";
  }

  function refocus(section, place) {
    const slot = place && section.querySelector(`.map-slot[data-place="${place}"]`);
    const target = slot && slot.querySelector("a, button");
    if (target) return target.focus();
    section.setAttribute("tabindex", "-1");
    section.focus();
  }

  async function refresh() {
    const ids = [...changed];
    changed.clear();
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const names = [];
    for (const id of ids) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (!now || !next) continue;
      const place = focusedPlace(now);
      const section = document.importNode(next, true);
      now.replaceWith(section);
      section.classList.add("is-updated");
      if (place !== null) refocus(section, place);
      names.push(id.replace("section-", "").replace("-", "/"));
    }
    // The stall being moved by keyboard may itself have moved: where it is now.
    const origin = fresh.querySelector("input[type=hidden][name=origin]");
    if (origin) field("origin").value = origin.value;
    const banner = document.getElementById("moving-banner");
    const freshBanner = fresh.getElementById("moving-banner");
    if (banner && freshBanner) banner.replaceWith(document.importNode(freshBanner, true));
    if (names.length) {
      status.textContent = `Section ${names.join(" and ")} changed just now; the map shows it.`;
    }
  }

  function listen() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/market/`);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      for (const frame of event.type === "batch" ? event.frames : [event]) {
        if (frame.type !== "section_changed") continue;
        if (!document.getElementById(sectionId(frame.x, frame.y))) continue;
        changed.add(sectionId(frame.x, frame.y));
        schedule();
      }
    };
    socket.onopen = () => { form.dataset.live = "on"; };
    socket.onclose = () => {
      form.dataset.live = "off";
      setTimeout(listen, 3000);
    };
  }
  listen();

  const error = document.getElementById("move-error");
  if (error) error.focus();
})();
