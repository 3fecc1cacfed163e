// Who is here: the document's presence map (sellers first, then by handle, the first
// 30 listed; the server lists the seller and at most 30 people, so a big room shows its
// count, not its members), the count and guests from `presence` frames as the server
// words them ("2.3k"), also on the phone's jump button.

import { $, state, ui } from "./state.js";

const MAX_VISITORS_LISTED = 30;

export function visitorsRender() {
  if (state.docReady) state.presence = state.doc.getMap("presence").toJSON();
  const people = Object.values(state.presence)
    .filter((info) => info && info.handle)
    .sort((a, b) => Number(Boolean(b.seller)) - Number(Boolean(a.seller)) ||
      String(a.handle).localeCompare(String(b.handle)));
  const me = state.you && state.you.id;
  const rows = people.slice(0, MAX_VISITORS_LISTED).map((info) => {
    const row = document.createElement("li");
    row.className = "visitor";
    row.dataset.handle = info.handle;
    const name = document.createElement("span");
    name.className = "visitor-handle";
    name.textContent = `@${info.handle}`;
    row.append(name);
    if (info.seller) {
      const badge = document.createElement("span");
      badge.className = "badge seller-badge";
      badge.textContent = "seller";
      row.append(" ", badge);
    }
    if (info.id === me) {
      row.classList.add("me");
      const you = document.createElement("span");
      you.className = "hint";
      you.textContent = "(you)";
      row.append(" ", you);
    }
    return row;
  });
  if (people.length > MAX_VISITORS_LISTED) {
    const more = document.createElement("li");
    more.className = "visitor hint";
    more.textContent = `+${people.length - MAX_VISITORS_LISTED} more`;
    rows.push(more);
  }
  ui.visitors.replaceChildren(...rows);
  const count = state.count ?? people.length;
  const guests = state.guests ?? 0;
  const label = state.label ?? String(count);
  let text = count ? `${label} here` : "Nobody here yet";
  if (guests) text += ` · ${state.guestsLabel ?? guests} ${guests === 1 ? "guest" : "guests"}`;
  ui.count.textContent = text;
  const jumpCount = $("[data-room-jump-count]");
  if (jumpCount) jumpCount.textContent = count ? ` · ${label} here` : "";
}
