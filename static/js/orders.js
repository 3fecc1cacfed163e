// Order pages: escrow and shipping countdowns tick down without a reload; a money
// form is sent once (a second click would resend the same idempotency key anyway).
(() => {
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];

  function left(ms) {
    if (ms <= 0) return "no time";
    let seconds = Math.floor(ms / 1000);
    const parts = [];
    for (const [name, size] of units) {
      const count = Math.floor(seconds / size);
      seconds -= count * size;
      if (count && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`);
    }
    return parts.join(", ") || "under a minute";
  }

  function tick() {
    for (const box of document.querySelectorAll("[data-deadline]")) {
      const target = box.querySelector("[data-countdown]");
      if (target) target.textContent = left(Date.parse(box.dataset.deadline) - Date.now());
    }
  }

  tick();
  setInterval(tick, 30000);

  // Dispute photos of one's own still being checked: look again until they are done,
  // then show the timeline as it is now (and say so to a screen reader).
  function watchEvidence() {
    if (!document.querySelector("[data-evidence-checking]")) return;
    setTimeout(async () => {
      const response = await fetch(location.href, { headers: { Accept: "text/html" } });
      if (!response.ok) return watchEvidence();
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const timeline = document.querySelector(".timeline");
      const next = fresh.querySelector(".timeline");
      if (timeline && next && timeline.innerHTML !== next.innerHTML) {
        timeline.replaceWith(next);
        if (!document.querySelector("[data-evidence-checking]")) {
          document.querySelector("[data-evidence-status]").textContent = "Your photos have been checked.";
        }
      }
      watchEvidence();
    }, 3000);
  }
  watchEvidence();

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.matches("form[data-once], .actions-panel form")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    for (const button of form.querySelectorAll("button[type=submit]")) button.setAttribute("aria-busy", "true");
  });
})();
