// The item drawer: an item's details, fetched by htmx into #item-drawer beside the
// stall, with the focus kept inside while it is open and #item-… in the address.

const drawer = document.getElementById("item-drawer");
let drawerOpener = null;

function drawerOpen() {
  if (!drawer) return;
  drawer.classList.add("open");
  drawer.setAttribute("aria-hidden", "false");
}

function drawerLoading() {
  const note = document.createElement("p");
  note.className = "drawer-loading hint";
  note.textContent = "Loading…";
  drawer.replaceChildren(closeButton(), note);
}

function closeButton() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "drawer-close";
  button.setAttribute("data-drawer-close", "");
  button.setAttribute("aria-label", "Close");
  button.textContent = "✕";
  return button;
}

/** The open drawer covers the room beside it: Tab and Shift+Tab go round inside it. */
function drawerKeepFocus(event) {
  const stops = [...drawer.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, [tabindex='0']")]
    .filter((element) => element.offsetParent !== null);
  if (!stops.length) return;
  const first = stops[0];
  const last = stops[stops.length - 1];
  if (!drawer.contains(document.activeElement)) {
    event.preventDefault();
    first.focus();
  } else if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

function drawerClose() {
  if (!drawer || !drawer.classList.contains("open")) return;
  drawer.classList.remove("open");
  drawer.setAttribute("aria-hidden", "true");
  if (/^#item-/.test(location.hash)) {
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  if (drawerOpener && drawerOpener.isConnected) drawerOpener.focus({ preventScroll: true });
  drawerOpener = null;
}

/** Listen for the drawer's links, keys and htmx requests (when the page has a drawer). */
export function drawerStart() {
  if (!drawer) return;
  drawer.setAttribute("aria-hidden", "true");
  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element)) return;
    const link = event.target.closest("a[data-item-drawer]");
    if (link && window.htmx && event.button === 0 &&
        !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) {
      // htmx fetches the drawer; the link (the item's own page) stays for no-JS and
      // new tabs. Here the address gets the card's #item-…, to come back to the drawer.
      event.preventDefault();
      drawerOpener = link;
      history.replaceState(history.state, "", `#${link.closest("[id^='item-']").id}`);
      return;
    }
    if (event.target.closest("[data-drawer-close]") && drawer.contains(event.target)) {
      drawerClose();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) drawerClose();
    if (event.key === "Tab" && drawer.classList.contains("open")) drawerKeepFocus(event);
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target !== drawer) return;
    drawerLoading();
    drawerOpen();
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== drawer) return;
    drawerOpen();
    // A refusal (the item is gone) comes as a bare message: it still closes.
    if (!drawer.querySelector("[data-drawer-close]")) drawer.prepend(closeButton());
    drawer.querySelector("[data-drawer-close]").focus({ preventScroll: true });
  });
  // No answer (bazaar.js): the drawer says so in place of "Loading…".
  drawer.addEventListener("bazaar:request-failed", (event) => {
    if (event.target !== drawer) return;
    event.preventDefault();
    const note = document.createElement("p");
    note.className = "error-message";
    note.setAttribute("role", "alert");
    note.textContent = "This item could not be loaded. Try again in a moment.";
    drawer.replaceChildren(closeButton(), note);
  });
  // An address with #item-… (shared, or typed): open that item's drawer.
  const drawerFromHash = () => {
    const card = /^#item-[0-9A-Za-z]+$/.test(location.hash) && document.querySelector(location.hash);
    const link = card && card.querySelector("a[data-item-drawer]");
    if (link && window.htmx) {
      drawerOpener = link;
      htmx.ajax("GET", link.getAttribute("hx-get"), { target: drawer, swap: "innerHTML" });
    }
  };
  window.addEventListener("load", drawerFromHash);
  window.addEventListener("hashchange", drawerFromHash);
}
