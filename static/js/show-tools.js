// The show tools over the stall (templates/stalls/_show_stage.html). Each panel is a
// [data-show-slot="<topic>"] with the URL it is rendered from; when the stall room
// announces a change to its topic (stall-room/frames.js dispatches "stall-room:show"
// on the document, and a nudge for every topic after each welcome), the panel is
// fetched again and swapped in, unless the server's copy is the one already shown
// (same data-show-key). A flash auction's panel is then kept live by auction.js.
(() => {
  "use strict";

  const stage = document.querySelector("[data-show-stage]");
  if (!stage) return;
  const announcer = document.querySelector("[data-show-announcer]");
  const running = new WeakMap(); // slot -> what auction.js's mount returned
  const inFlight = new Set();
  const again = new Set(); // topics nudged while their fetch was on the way

  function start(slot) {
    const panel = slot.querySelector("[data-auction]");
    if (panel && window.BazaarAuction) running.set(slot, BazaarAuction.mount(panel));
  }

  function stop(slot) {
    const handle = running.get(slot);
    if (handle) handle.stop();
    running.delete(slot);
  }

  async function refresh(slot) {
    const topic = slot.dataset.showSlot;
    if (inFlight.has(topic)) {
      again.add(topic); // what is on the way may predate this nudge: fetch once more
      return;
    }
    inFlight.add(topic);
    try {
      const response = await fetch(slot.dataset.refreshUrl, {
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = (await response.text()).trim();
      const fresh = holder.content.firstElementChild;
      if (!fresh || fresh.dataset.showKey === slot.dataset.showKey) return;
      const hadFocus = slot.contains(document.activeElement);
      stop(slot);
      slot.replaceWith(fresh);
      if (window.htmx) htmx.process(fresh);
      start(fresh);
      const news = fresh.querySelector("[data-announce]");
      if (news && announcer) announcer.textContent = news.dataset.announce;
      const heading = fresh.querySelector("h2");
      if (hadFocus && heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    } catch {
      // The next nudge (or the room's next welcome) tries again.
    } finally {
      inFlight.delete(topic);
      if (again.delete(topic)) {
        const current = stage.querySelector(`[data-show-slot="${topic}"]`);
        if (current) refresh(current);
      }
    }
  }

  document.addEventListener("stall-room:show", (event) => {
    const topic = event.detail && event.detail.topic;
    for (const slot of stage.querySelectorAll("[data-show-slot]")) {
      if (topic === "all" || slot.dataset.showSlot === topic) refresh(slot);
    }
  });

  for (const slot of stage.querySelectorAll("[data-show-slot]")) start(slot);
})();
