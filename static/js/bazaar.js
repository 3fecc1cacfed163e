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

  // A 503 (the database not answering: bazaar.errors) carries its own message.
  function serverMessage(xhr) {
    if (!xhr || xhr.status !== 503) return null;
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    const alert = page.querySelector("[role=alert]");
    return alert && alert.textContent.trim();
  }

  for (const [name, fallback] of Object.entries(FAILED)) {
    document.addEventListener(name, (event) => {
      const { elt, target } = event.detail;
      const message = serverMessage(event.detail.xhr) || fallback;
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

// The site menu: inline on wide screens, behind the Menu button on phones (a
// disclosure: aria-expanded says whether it is open; opening moves focus to its
// first entry; Escape, a click outside or tabbing out close it, and Escape brings
// focus back to the button). Without JavaScript (no "js" class on <html>, set in
// base.html's head) the button is not shown and the entries simply show.
(() => {
  const button = document.querySelector("[data-menu-button]");
  const menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;
  const bar = button.closest("[data-topbar]");
  const isOpen = () => button.getAttribute("aria-expanded") === "true";

  function setOpen(open) {
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  }

  button.addEventListener("click", () => {
    setOpen(!isOpen());
    const first = menu.querySelector("a, button");
    if (isOpen() && first) first.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    event.preventDefault(); // this Escape is spent: a drawer behind stays open
    setOpen(false);
    button.focus();
  });
  document.addEventListener("click", (event) => {
    if (isOpen() && !bar.contains(event.target)) setOpen(false);
  });
  menu.addEventListener("focusout", (event) => {
    if (isOpen() && event.relatedTarget && !bar.contains(event.relatedTarget)) setOpen(false);
  });

  // The entry for the page being shown says so to screen readers.
  for (const link of menu.querySelectorAll("a[href]")) {
    if (link.pathname === location.pathname) link.setAttribute("aria-current", "page");
  }
})();

// Password fields: a button beside each shows what was typed (ASVS V2.1.12), and a new
// password says how it measures up as it is typed (V2.1.8): its length against the
// 12 characters the server asks for, then how strong. The server still checks the
// common-password list; this only helps before sending.
(() => {
  const MIN_LENGTH = 12;

  function strength(password) {
    if (password.length < MIN_LENGTH) {
      return [0, `${password.length} of at least ${MIN_LENGTH} characters`];
    }
    if (new Set(password).size < 5) return [1, "Weak: too many repeated characters"];
    const kinds = [/[a-z]/, /[A-Z]/, /\d/, /[^a-zA-Z\d]/].filter((kind) => kind.test(password));
    if (password.length >= 16 || kinds.length >= 3) return [3, "Strong"];
    return [2, "Fair: a longer one, or one mixing letters, digits and symbols, is stronger"];
  }

  function addMeter(field) {
    const hint = document.createElement("p");
    hint.className = "hint password-strength";
    hint.id = `${field.id}-strength`;
    hint.setAttribute("aria-live", "polite");
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = 3;
    meter.low = 1.5;
    meter.high = 2.5;
    meter.optimum = 3;
    meter.value = 0;
    meter.setAttribute("aria-hidden", "true");
    const words = document.createElement("span");
    hint.append(meter, words);
    field.closest(".password-field").after(hint);
    const described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", described ? `${described} ${hint.id}` : hint.id);
    field.addEventListener("input", () => {
      const [score, said] = field.value ? strength(field.value) : [0, ""];
      meter.value = score;
      if (words.textContent !== said) words.textContent = said;
    });
  }

  const metered = new Set();
  for (const field of document.querySelectorAll('input[type="password"]')) {
    const wrap = document.createElement("span");
    wrap.className = "password-field";
    field.before(wrap);
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "button password-toggle";
    toggle.textContent = "Show password";
    toggle.setAttribute("aria-controls", field.id);
    wrap.append(field, toggle);
    const show = (shown) => {
      field.type = shown ? "text" : "password";
      toggle.textContent = shown ? "Hide password" : "Show password";
    };
    toggle.addEventListener("click", () => show(field.type === "password"));
    // Sent as a password, so the browser offers to save it as one.
    field.form?.addEventListener("submit", () => show(false));
    // A form's first new password is the one chosen; the second only repeats it.
    const form = field.form;
    if (field.autocomplete === "new-password" && field.id && !metered.has(form)) {
      metered.add(form);
      addMeter(field);
    }
  }
})();
