// Photos opened large: any link with data-lightbox="<group>" around an image opens a
// modal viewer of its group's photos. Arrow keys (and Home/End) step through them,
// a swipe does on touch screens, Escape or the close button ends it; focus stays in
// the viewer while it is open and returns to the photo that opened it. Works for
// content htmx loads later (the stall page's drawer): clicks are caught on document.
(() => {
  "use strict";

  const SWIPE_PX = 40;
  let dialog, image, caption, prev, next;
  let photos = []; // [{href, alt}] of the open group, without repeats
  let index = 0;
  let opener = null;
  let swiped = false;

  function button(label, text, className) {
    const node = document.createElement("button");
    node.type = "button";
    node.className = className;
    node.setAttribute("aria-label", label);
    node.textContent = text;
    return node;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "lightbox";
    dialog.setAttribute("aria-label", "Photo viewer");
    const figure = document.createElement("figure");
    image = document.createElement("img");
    image.draggable = false;
    image.addEventListener("load", () => image.classList.remove("loading"));
    caption = document.createElement("figcaption");
    caption.setAttribute("aria-live", "polite");
    figure.append(image, caption);
    prev = button("Previous photo", "‹", "lightbox-prev");
    next = button("Next photo", "›", "lightbox-next");
    const close = button("Close the photo viewer", "✕", "lightbox-close");
    dialog.append(figure, prev, next, close);
    document.body.append(dialog);

    prev.addEventListener("click", () => show(index - 1));
    next.addEventListener("click", () => show(index + 1));
    close.addEventListener("click", () => dialog.close());
    // A click beside the photo closes it too (not the click that ends a swipe).
    dialog.addEventListener("click", (event) => {
      if ((event.target === dialog || event.target === figure) && !swiped) dialog.close();
      swiped = false;
    });
    dialog.addEventListener("close", () => {
      document.documentElement.classList.remove("lightbox-open");
      image.removeAttribute("src");
      if (opener && opener.isConnected) opener.focus({ preventScroll: true });
      opener = null;
    });
    dialog.addEventListener("keydown", keys);
    swipes(figure);
  }

  function keys(event) {
    const steps = { ArrowLeft: -1, ArrowRight: 1 };
    if (event.key in steps) {
      event.preventDefault();
      show(index + steps[event.key]);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      show(event.key === "Home" ? 0 : photos.length - 1);
    } else if (event.key === "Escape") {
      // Closed here, and marked handled, so a drawer under the viewer stays open.
      event.preventDefault();
      dialog.close();
    } else if (event.key === "Tab") {
      trapFocus(event);
    }
  }

  function trapFocus(event) {
    const stops = [...dialog.querySelectorAll("button")].filter((node) => !node.hidden);
    const first = stops[0], last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function swipes(area) {
    let startX = null, startY = null;
    area.addEventListener("pointerdown", (event) => {
      startX = event.clientX;
      startY = event.clientY;
    });
    area.addEventListener("pointerup", (event) => {
      if (startX === null) return;
      const dx = event.clientX - startX, dy = event.clientY - startY;
      startX = null;
      swiped = Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > Math.abs(dy);
      if (swiped) show(index + (dx < 0 ? 1 : -1));
    });
    area.addEventListener("pointercancel", () => { startX = null; });
  }

  function show(wanted) {
    index = (wanted + photos.length) % photos.length;
    const photo = photos[index];
    if (image.getAttribute("src") !== photo.href) image.classList.add("loading");
    image.src = photo.href;
    image.alt = photo.alt;
    caption.textContent = photos.length > 1 ? `Photo ${index + 1} of ${photos.length}` : "";
    prev.hidden = next.hidden = photos.length < 2;
  }

  function group(name) {
    const seen = new Map();
    for (const link of document.querySelectorAll("a[data-lightbox]")) {
      if (link.dataset.lightbox !== name || seen.has(link.href)) continue;
      const img = link.querySelector("img");
      seen.set(link.href, { href: link.href, alt: img ? img.alt : "" });
    }
    return [...seen.values()];
  }

  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element)) return;
    const link = event.target.closest("a[data-lightbox]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    if (!dialog) build();
    photos = group(link.dataset.lightbox);
    opener = link;
    show(photos.findIndex((photo) => photo.href === link.href));
    dialog.showModal();
    document.documentElement.classList.add("lightbox-open"); // the page stays still behind it
    (photos.length > 1 ? next : dialog.querySelector(".lightbox-close")).focus();
  });
})();
