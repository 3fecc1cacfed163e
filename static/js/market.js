// Walking the market: W/A/S/D and arrows, the minimap, rotating stall photos,
// and refreshing the section when a stall in it changes.
(() => {
  "use strict";
  const KEYS = {
    w: "up", arrowup: "up", s: "down", arrowdown: "down",
    a: "left", arrowleft: "left", d: "right", arrowright: "right",
  };
  const REPEAT_MS = 150;
  let lastMove = -Infinity;

  const section = () => document.getElementById("market-section");
  const sectionUrl = (x, y) => `/market/${x}/${y}/`;

  function go(url) {
    htmx.ajax("GET", url, { target: "#market-section", swap: "outerHTML" });
  }

  function typing(target) {
    return target instanceof Element &&
      (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"));
  }

  function step(direction) {
    const now = performance.now();
    if (now - lastMove < REPEAT_MS) return;
    const link = section().querySelector(`a.step[data-direction="${direction}"]`);
    if (!link) return; // the market's edge: nothing to do
    lastMove = now;
    go(link.getAttribute("href"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const direction = KEYS[event.key.toLowerCase()];
    if (!direction || !section()) return;
    event.preventDefault();
    step(direction);
  });

  // On a touch screen, a sideways swipe over the stalls walks west or east (the
  // compass arrows do all four); an up or down swipe scrolls the page as usual.
  const SWIPE_PX = 60;
  let swipeFrom = null;
  document.addEventListener("touchstart", (event) => {
    const grid = event.target instanceof Element && event.target.closest(".stall-grid");
    swipeFrom = grid && event.touches.length === 1 ? event.touches[0] : null;
  }, { passive: true });
  document.addEventListener("touchend", (event) => {
    if (!swipeFrom || !section()) return;
    const end = event.changedTouches[0];
    const dx = end.clientX - swipeFrom.clientX;
    const dy = end.clientY - swipeFrom.clientY;
    swipeFrom = null;
    if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > 2 * Math.abs(dy)) step(dx < 0 ? "right" : "left");
  }, { passive: true });

  function drawMinimap() {
    const canvas = document.getElementById("minimap");
    const dataNode = document.getElementById("minimap-data");
    if (!canvas || !dataNode) return;
    const data = JSON.parse(dataNode.textContent);
    const size = 2 * data.radius + 1;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = 200 * ratio;
    canvas.height = 200 * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    const cell = 200 / size;
    const busiest = Math.max(1, ...data.squares.map((sq) => sq.visitors));
    ctx.clearRect(0, 0, 200, 200);
    data.squares.forEach((sq) => {
      const col = sq.x - data.x + data.radius;
      const row = sq.y - data.y + data.radius;
      if (!sq.exists) {
        ctx.fillStyle = "#d8cdbd";
      } else {
        const heat = sq.visitors ? 0.25 + 0.75 * (sq.visitors / busiest) : 0;
        ctx.fillStyle = `hsl(${38 - 18 * heat}, ${40 + 50 * heat}%, ${97 - 40 * heat}%)`;
      }
      ctx.fillRect(col * cell + 1, row * cell + 1, cell - 2, cell - 2);
      if (sq.visitors && sq.exists) {
        ctx.fillStyle = "#3b2a1e";
        ctx.font = "10px system-ui";
        ctx.textAlign = "center";
        ctx.fillText(String(sq.visitors), col * cell + cell / 2, row * cell + cell / 2 + 3);
      }
    });
    ctx.strokeStyle = "#a3461a";
    ctx.lineWidth = 3;
    ctx.strokeRect(data.radius * cell + 1.5, data.radius * cell + 1.5, cell - 3, cell - 3);
    canvas.dataset.drawn = "true";
    canvas.onclick = (event) => {
      const box = canvas.getBoundingClientRect();
      const col = Math.floor(((event.clientX - box.left) / box.width) * size);
      const row = Math.floor(((event.clientY - box.top) / box.height) * size);
      const square = data.squares[row * size + col];
      if (square && square.exists && !(square.x === data.x && square.y === data.y)) {
        go(sectionUrl(square.x, square.y));
      }
    };
  }

  function startRotators() {
    document.querySelectorAll("[data-rotator]").forEach((rotator) => {
      const images = rotator.querySelectorAll("img");
      if (images.length < 2 || rotator.dataset.rotating) return;
      rotator.dataset.rotating = "true";
      let index = 0;
      let paused = false;
      const card = rotator.closest(".stall-card") || rotator;
      card.addEventListener("mouseenter", () => { paused = true; });
      card.addEventListener("mouseleave", () => { paused = false; });
      const timer = setInterval(() => {
        if (!rotator.isConnected) return clearInterval(timer);
        if (paused || document.hidden) return;
        images[index].hidden = true;
        index = (index + 1) % images.length;
        images[index].hidden = false;
      }, 2500 + Math.random() * 1000);
    });
  }

  function listen() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/market/`);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      const here = section();
      if (event.type === "section_changed" && here &&
          Number(here.dataset.x) === event.x && Number(here.dataset.y) === event.y) {
        go(sectionUrl(event.x, event.y));
      }
      if (event.type === "show") {
        document.querySelectorAll(`[data-show-badge="${event.stall}"]`).forEach((badge) => {
          badge.hidden = !event.live;
          badge.querySelector("[data-show-badge-watching]").textContent = event.watching;
        });
      }
      if (event.type === "stall_live") {
        document.querySelectorAll(`[data-stall="${event.stall}"] .live-dot`).forEach((dot) => {
          dot.classList.toggle("is-live", event.live);
          dot.setAttribute("aria-label", event.live ? "live" : "away");
          dot.title = event.live ? "Seller is in the stall" : "Seller is away";
        });
      }
    };
    socket.onclose = () => setTimeout(listen, 3000);
  }

  function refresh() {
    if (section()) document.title = section().dataset.title;
    drawMinimap();
    startRotators();
  }
  document.addEventListener("htmx:afterSettle", refresh);
  refresh();
  listen();
})();
