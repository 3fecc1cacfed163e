// Behaviour every page shares. Forms with data-confirm ask before they submit.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// An htmx request that got no answer to show (a server failure or no connection)
// says so where the person acted: inside the form they sent, or else in the
// request's target. A refusal (4xx) needs nothing here: the server's fragment with
// its message is swapped in (base.html's htmx-config). A part of the page with its
// own way of showing failure handles `bazaar:request-failed` and prevents the default.
(() => {
  const FAILED = {
    "htmx:responseError": "Something went wrong on our side, so nothing was changed. Please try again.",
    "htmx:sendError": "The market could not be reached. Check your connection and try again.",
  };

  function show(place, message) {
    let note = place.querySelector(":scope > [data-request-error]");
    if (!note) {
      note = document.createElement("p");
      note.className = "error-message";
      note.setAttribute("role", "alert");
      note.setAttribute("data-request-error", "");
      place.append(note);
    }
    note.textContent = message;
  }

  for (const [name, message] of Object.entries(FAILED)) {
    document.addEventListener(name, (event) => {
      const { elt, target } = event.detail;
      const intoTarget = target && !target.matches("select, input, textarea");
      const place = elt.matches("form") || !intoTarget ? elt : target;
      const failed = new CustomEvent("bazaar:request-failed", {
        bubbles: true,
        cancelable: true,
        detail: { message, elt },
      });
      if (place.dispatchEvent(failed)) show(place, message);
    });
  }

  // A new attempt starts clean.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    const note = elt.matches("form") && elt.querySelector(":scope > [data-request-error]");
    if (note) note.remove();
  });
})();
