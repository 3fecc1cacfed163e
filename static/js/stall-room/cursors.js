// Everyone's cursors over the stall (from `cursors` frames, gone after 10 s of
// silence, 20 at most), and mine sent as fractions of the stall area, 30 a second.

import { socketOpen, send } from "./socket.js";
import { area, layer, state } from "./state.js";

const CURSOR_INTERVAL = 36; // under the server's 30 a second, with room for jitter
const CURSOR_SETTLE = 200; // resend where the pointer came to rest (a move may be dropped)
const CURSOR_TTL = 10_000;
const MAX_CURSORS = 20;

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

export function cursorsMoved(frame) {
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

export function cursorsClear() {
  for (const id of [...cursors.keys()]) cursorRemove(id);
}

// My pointer, as fractions of the stall area: signed-in, fine pointers, 30 a second.
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

/** Drop cursors gone quiet, every second; follow my pointer over the stall area. */
export function cursorsStart() {
  setInterval(() => {
    const now = Date.now();
    for (const [id, cursor] of cursors) if (now - cursor.seen > CURSOR_TTL) cursorRemove(id);
  }, 1000);
  const finePointer = window.matchMedia("(pointer: fine)");
  if (!area) return;
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
