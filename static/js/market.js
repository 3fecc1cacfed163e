// Walking the market: W/A/S/D and arrows, the minimap and its live heat-map,
// rotating stall photos, and refreshing the section when a stall in it changes.
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

  // The heat-map: the page draws the crowd it was rendered with; frames over the
  // market socket (`heat`, every few seconds when the crowd changes) replace it.
  const HEAT = ["#fffaf2", "#fde4c3", "#f9c08a", "#ef9651", "#a3461a"];
  let crowd = null; // the latest frame: { at, counts: Map("x,y" -> people) }

  function minimapData() {
    const dataNode = document.getElementById("minimap-data");
    if (!dataNode) return null;
    const data = JSON.parse(dataNode.textContent);
    if (crowd && crowd.at >= data.at) {
      data.squares.forEach((sq) => { sq.visitors = crowd.counts.get(`${sq.x},${sq.y}`) || 0; });
    }
    return data;
  }

  function level(people, thresholds) {
    return thresholds.filter((least) => people >= least).length;
  }

  function listCounts(data) {
    const list = document.getElementById("minimap-counts");
    if (!list) return;
    const busy = data.squares.filter((sq) => sq.exists && sq.visitors);
    list.replaceChildren(...busy.map((sq) => {
      const item = document.createElement("li");
      item.textContent = `Section ${sq.x}/${sq.y}: ${sq.visitors} ${sq.visitors === 1 ? "person" : "people"}`;
      return item;
    }));
    if (!busy.length) {
      const item = document.createElement("li");
      item.textContent = "Nobody nearby right now.";
      list.append(item);
    }
  }

  function drawMinimap() {
    const canvas = document.getElementById("minimap");
    const data = minimapData();
    if (!canvas || !data) return;
    const size = 2 * data.radius + 1;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = 200 * ratio;
    canvas.height = 200 * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    const cell = 200 / size;
    ctx.clearRect(0, 0, 200, 200);
    data.squares.forEach((sq) => {
      const col = sq.x - data.x + data.radius;
      const row = sq.y - data.y + data.radius;
      const heat = sq.exists ? level(sq.visitors, data.thresholds) : -1;
      ctx.fillStyle = heat < 0 ? "#d8cdbd" : HEAT[heat];
      ctx.fillRect(col * cell + 1, row * cell + 1, cell - 2, cell - 2);
      if (heat > 0) {
        ctx.fillStyle = heat === HEAT.length - 1 ? "#fff" : "#3b2a1e";
        ctx.font = "bold 11px system-ui";
        ctx.textAlign = "center";
        ctx.fillText(String(sq.visitors), col * cell + cell / 2, row * cell + cell / 2 + 4);
      }
    });
    ctx.strokeStyle = "#3b2a1e";
    ctx.lineWidth = 3;
    ctx.strokeRect(data.radius * cell + 1.5, data.radius * cell + 1.5, cell - 3, cell - 3);
    canvas.dataset.drawn = "true";
    canvas.dataset.people = String(data.squares.reduce((sum, sq) => sum + sq.visitors, 0));
    listCounts(data);
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

  function heatFrame(event) {
    if (crowd && event.at < crowd.at) return; // an older frame after a newer one
    crowd = { at: event.at, counts: new Map(event.sections.map(([x, y, n]) => [`${x},${y}`, n])) };
    drawMinimap();
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
      (event.type === "batch" ? event.frames : [event]).forEach(handle);
    };
    socket.onclose = () => setTimeout(listen, 3000);
  }

  function handle(event) {
    if (event.type === "heat") heatFrame(event);
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
