// An item's stock lines, from the counts they carry (rendered with the page, kept
// by `stock` frames). A buyer whose accepted offer holds a unit reads "Held for you"
// where others read "Sold out": their cart button says so (data-held-for-you), and
// is asked again whenever that offer changes.

function stockShow(item) {
  const mine = document.querySelector(`[data-cart-button="${item}"][data-held-for-you]`) ? 1 : 0;
  document.querySelectorAll(`[data-stock-for="${item}"]`).forEach((node) => {
    const available = Number(node.dataset.available || 0);
    const othersHold = Math.max(Number(node.dataset.onHold || 0) - mine, 0);
    let text = available ? `${available} available` : mine ? "Held for you" : "Sold out";
    if ("stockHolds" in node.dataset && othersHold) text += ` · ${othersHold} on hold`;
    node.textContent = text;
    node.classList.toggle("out", !available && !mine);
    node.classList.toggle("held", !available && Boolean(mine));
  });
}

function stockShowAll() {
  new Set([...document.querySelectorAll("[data-stock-for]")].map((node) => node.dataset.stockFor)).forEach(
    stockShow,
  );
}

/** Show every stock line now, and again whenever htmx has swapped part of the page. */
export function stockStart() {
  stockShowAll();
  document.addEventListener("htmx:afterSettle", stockShowAll);
}

/** A `stock` frame: units taken, released or sold while the page is open. */
export function stockChanged(frame) {
  document.querySelectorAll(`[data-stock-for="${frame.item}"]`).forEach((node) => {
    node.dataset.available = frame.available;
    node.dataset.onHold = frame.on_hold;
  });
  stockShow(frame.item);
  document.querySelectorAll(`[data-cart-button="${frame.item}"] [data-add-to-cart]`).forEach((form) => {
    form.hidden = !frame.available;
  });
}
