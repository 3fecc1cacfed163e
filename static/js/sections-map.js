// The stewards' sections map: drag a stall onto a free slot to move it there, or onto
// another stall to swap the two. A drop fills the page's one form (stall, where it
// was, where it goes, who is there) and sends it, as the keyboard's "Move…" then a
// target button does; the server checks everything again under its locks.
(() => {
  "use strict";

  const form = document.querySelector("form[data-sections-map]");
  if (!form) return;
  const reason = form.querySelector("#move-reason");
  const status = form.querySelector("[data-map-status]");
  let dragged = null;

  function field(name) {
    let input = form.querySelector(`input[type=hidden][name=${name}]`);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.append(input);
    }
    return input;
  }

  form.addEventListener("dragstart", (event) => {
    const stall = event.target.closest && event.target.closest(".map-stall");
    if (!stall) return;
    dragged = { stall: stall.dataset.stall, origin: stall.closest(".map-slot").dataset.place };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", stall.dataset.name);
  });

  form.addEventListener("dragend", () => {
    dragged = null;
    form.querySelectorAll(".is-over").forEach((slot) => slot.classList.remove("is-over"));
  });

  function slotUnder(event) {
    const slot = event.target.closest && event.target.closest(".map-slot");
    return dragged && slot && slot.dataset.place !== dragged.origin ? slot : null;
  }

  form.addEventListener("dragover", (event) => {
    const slot = slotUnder(event);
    if (!slot) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    form.querySelectorAll(".is-over").forEach((other) => other !== slot && other.classList.remove("is-over"));
    slot.classList.add("is-over");
  });

  form.addEventListener("drop", (event) => {
    const slot = slotUnder(event);
    if (!slot) return;
    event.preventDefault();
    slot.classList.remove("is-over");
    if (!reason.value.trim()) {
      reason.setAttribute("aria-invalid", "true");
      status.textContent = "Say why you are moving the stall first; then drag it again.";
      reason.focus();
      return;
    }
    field("stall").value = dragged.stall;
    field("origin").value = dragged.origin;
    field("target").value = `${slot.dataset.place},${slot.dataset.occupant}`;
    status.textContent = "Moving the stall…";
    form.submit();
  });

  const error = document.getElementById("move-error");
  if (error) error.focus();
})();
