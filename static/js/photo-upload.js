// Photo uploads, progressively enhanced: every <form data-photo-upload> still works
// as a plain multipart form; with this script the browser first shrinks the photo
// (at most 2000 px on its longest side and 500 KB, as JPEG), then either posts it
// to the form's action, or, when the form has data-presign-url (S3 mode), sends it
// straight to the bucket: presign → POST to S3 → confirm; either way it then polls
// while the photo is checked and screened ("Checking the photo…").
// The outcome is said beside the form, without leaving the page: progress and
// "Photo added." in its status line, a refusal in its alert; a new photo appears
// in the list the form names (data-photo-strip), re-read from the server's page.
(() => {
  "use strict";

  const TARGET_BYTES = 500 * 1024;
  const MAX_SIDE = 2000;
  const MIN_SIDE = 320;
  const QUALITIES = [0.85, 0.75, 0.65, 0.55, 0.45];
  const SCALE_STEP = 0.75;
  const POLL_MS = 1000;
  const POLL_LIMIT = 180;

  class UploadError extends Error {}

  // Saying what happened: progress and success in the status line (role=status),
  // a refusal in the alert (role=alert), the file field marked invalid meanwhile.

  function say(form, text) {
    form.querySelector("[data-upload-status]").textContent = text;
  }

  function refuse(form, text) {
    say(form, "");
    form.querySelector("[data-upload-error]").textContent = text;
    form.querySelector("input[type=file]").setAttribute("aria-invalid", "true");
  }

  function sayClear(form) {
    form.querySelector("[data-upload-error]").textContent = "";
    form.querySelector("input[type=file]").removeAttribute("aria-invalid");
  }

  // The new photo in the form's list, as the server renders it on the page.
  async function showNewPhoto(form) {
    const strip = document.getElementById(form.dataset.photoStrip);
    if (!strip) return;
    const response = await fetch(location.href, { credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById(strip.id);
    if (fresh) strip.replaceWith(fresh);
  }

  // Decoding and shrinking

  async function decode(file) {
    if (typeof createImageBitmap === "function") {
      try {
        const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
        return { source: bitmap, width: bitmap.width, height: bitmap.height, close: () => bitmap.close() };
      } catch (_) {
        // Some browsers refuse the options or the format here; try an <img>.
      }
    }
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    try {
      await img.decode();
    } catch (error) {
      URL.revokeObjectURL(url);
      throw error;
    }
    return {
      source: img,
      width: img.naturalWidth,
      height: img.naturalHeight,
      close: () => URL.revokeObjectURL(url),
    };
  }

  function toBlob(canvas, quality) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  function jpegName(name) {
    const base = (name || "photo").replace(/\.[^./\\]*$/, "");
    return `${base || "photo"}.jpg`;
  }

  // Returns the file itself when it is small enough or cannot be decoded here
  // (the server checks every upload anyway), otherwise a JPEG of at most 500 KB.
  async function shrink(file, form) {
    let image;
    try {
      image = await decode(file);
    } catch (_) {
      return file;
    }
    try {
      const longest = Math.max(image.width, image.height);
      if (!longest || (file.size <= TARGET_BYTES && longest <= MAX_SIDE)) return file;
      say(form, "Shrinking the photo…");
      let scale = Math.min(1, MAX_SIDE / longest);
      let smallest = null;
      for (;;) {
        const width = Math.max(1, Math.round(image.width * scale));
        const height = Math.max(1, Math.round(image.height * scale));
        const canvas = document.createElement("canvas");
        canvas.width = width;
        canvas.height = height;
        const context = canvas.getContext("2d");
        context.fillStyle = "#fff"; // JPEG has no transparency
        context.fillRect(0, 0, width, height);
        context.imageSmoothingEnabled = true;
        context.imageSmoothingQuality = "high";
        context.drawImage(image.source, 0, 0, width, height);
        for (const quality of QUALITIES) {
          const blob = await toBlob(canvas, quality);
          if (!blob) break;
          if (!smallest || blob.size < smallest.size) smallest = blob;
          if (blob.size <= TARGET_BYTES) {
            return new File([blob], jpegName(file.name), { type: "image/jpeg" });
          }
        }
        canvas.width = canvas.height = 0; // let the browser free the pixels now
        if (Math.max(width, height) * SCALE_STEP < MIN_SIDE) break;
        scale *= SCALE_STEP;
      }
      if (smallest && smallest.size < file.size) {
        return new File([smallest], jpegName(file.name), { type: "image/jpeg" });
      }
      return file;
    } finally {
      image.close();
    }
  }

  // Talking to the server

  function csrfToken(form) {
    const field = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  async function readJson(response) {
    let data = {};
    try {
      data = await response.json();
    } catch (_) {
      // not JSON: an error page or a proxy's message
    }
    if (!response.ok) {
      throw new UploadError(data.error || `The upload failed (HTTP ${response.status}); try again.`);
    }
    return data;
  }

  function postJson(form, url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken(form),
      },
      body: JSON.stringify(payload),
    }).then(readJson);
  }

  // XMLHttpRequest rather than fetch here: it reports upload progress.
  function postToBucket(url, body, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(Math.round((100 * event.loaded) / event.total));
      });
      request.addEventListener("load", () => {
        if (request.status >= 200 && request.status < 300) resolve();
        else reject(new UploadError(`The photo store refused the upload (HTTP ${request.status}).`));
      });
      request.addEventListener("error", () =>
        reject(new UploadError("The upload was interrupted; check your connection and try again.")));
      request.send(body);
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function uploadDirect(form, file) {
    const item = form.querySelector("[name=item]");
    say(form, "Preparing the upload…");
    const post = await postJson(form, form.dataset.presignUrl, { item: item ? item.value : "" });

    const body = new FormData();
    for (const [name, value] of Object.entries(post.fields)) body.append(name, value);
    body.append("Content-Type", file.type || "image/jpeg");
    body.append("file", file, file.name); // S3 ignores fields after the file
    say(form, "Uploading… 0%");
    await postToBucket(post.url, body, (percent) => say(form, `Uploading… ${percent}%`));

    say(form, "Checking the photo…");
    const confirmUrl = post.confirm_url || form.dataset.confirmUrl;
    const state = await postJson(form, confirmUrl, { upload_id: post.upload_id });
    return untilChecked(form, state, post.status_url);
  }

  // Every photo is screened before it is shown: "Checking…" until the server says
  // published (true), held for a steward (said, false) or refused (thrown).
  async function untilChecked(form, first, statusUrl) {
    let state = first;
    say(form, "Checking the photo…");
    for (let polls = 0; state.status === "waiting"; polls += 1) {
      if (polls >= POLL_LIMIT) {
        say(form, "The photo is still being checked; reload the page in a minute.");
        return false;
      }
      await sleep(POLL_MS);
      const response = await fetch(statusUrl, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
      state = await readJson(response);
    }
    if (state.status === "held") {
      say(form, state.message || "A steward is taking a look at this photo.");
      return false;
    }
    if (state.status !== "published") throw new UploadError(state.error || "That photo was refused.");
    return true;
  }

  async function uploadToForm(form, file) {
    const body = new FormData(form); // csrfmiddlewaretoken, item, …
    body.set("image", file, file.name);
    say(form, "Uploading…");
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
    } catch (_) {
      throw new UploadError("The upload was interrupted; check your connection and try again.");
    }
    if (response.status === 413) throw new UploadError("That file is too large to upload.");
    const state = await readJson(response); // a refusal throws with the server's reason
    return untilChecked(form, state, state.status_url);
  }

  async function upload(form, input, button) {
    const original = input.files[0];
    input.disabled = true;
    if (button) button.disabled = true;
    sayClear(form);
    try {
      const file = await shrink(original, form);
      // What could not be shrunk under the server's limit is refused before sending it.
      if (file.size > Number(form.dataset.maxBytes)) throw new UploadError(form.dataset.tooBig);
      const send = form.dataset.presignUrl ? uploadDirect : uploadToForm;
      if (await send(form, file)) {
        await showNewPhoto(form);
        say(form, "Photo added.");
        input.value = "";
      }
    } catch (error) {
      refuse(form, error instanceof UploadError ? error.message : "Something went wrong; try again.");
      if (!(error instanceof UploadError)) console.error(error);
    } finally {
      input.disabled = false;
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("form[data-photo-upload]")) return;
    const input = form.querySelector("input[type=file][name=image]");
    if (!input || !input.files || input.files.length === 0) return; // let the server say so
    if (typeof fetch !== "function" || typeof FormData !== "function") return;
    event.preventDefault();
    if (form.dataset.uploading === "1") return;
    form.dataset.uploading = "1";
    const button = event.submitter || form.querySelector("[type=submit]");
    upload(form, input, button).finally(() => delete form.dataset.uploading);
  });
})();
