// The shopper's pages: auction countdowns that run on the server's clock, and the
// focus on a search's filter errors.
(() => {
  "use strict";

  /* ------------------------------------------------------------ countdowns */

  // Each <time data-countdown-to="unix seconds"> counts down against the time the
  // server rendered the page ([data-server-time]), so a wrong local clock does not
  // move an auction's end.
  const rendered = document.querySelector("[data-server-time]");
  const clocks = [...document.querySelectorAll("[data-countdown-to]")];
  const offset = rendered ? Number(rendered.dataset.serverTime) - Date.now() / 1000 : 0;

  function left(seconds) {
    if (seconds <= 0) return "closing…";
    const s = Math.ceil(seconds);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${two(m)}m`;
    return `${m}:${two(sec)}`;
  }

  function tick() {
    const now = Date.now() / 1000 + offset;
    for (const clock of clocks) {
      const seconds = Number(clock.dataset.countdownTo) - now;
      clock.textContent = left(seconds);
      clock.classList.toggle("final", seconds > 0 && seconds <= 60);
    }
  }

  if (clocks.length) {
    tick();
    setInterval(tick, 1000);
  }

  /* --------------------------------------------------------------- filters */

  // The filters fold on a phone as the page is parsed (search.html); a filter with an
  // error keeps them open, and its summary takes the focus.
  const summary = document.querySelector("[data-filter-errors]");
  if (summary) summary.focus();
})();
