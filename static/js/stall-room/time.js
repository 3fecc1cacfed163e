// The server's clock (as told by welcome and pong frames) and the chat's relative
// times ("3 min ago"), kept current every 30 seconds.

import { room, state } from "./state.js";

export function serverNow() {
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

export function timeElement(at) {
  const time = document.createElement("time");
  time.className = "msg-time";
  const moment = Date.parse(at);
  if (Number.isNaN(moment)) return time;
  time.dateTime = at;
  time.title = new Date(moment).toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
  time.textContent = relativeTime(moment);
  return time;
}

/** Every 30 seconds, the room's times say again how long ago they were. */
export function timesStart() {
  setInterval(() => {
    for (const time of room.querySelectorAll("time[datetime]")) {
      time.textContent = relativeTime(Date.parse(time.dateTime));
    }
  }, 30_000);
}
