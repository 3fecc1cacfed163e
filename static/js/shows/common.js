// What the show's scripts share: posting to the show's endpoints, loading a media
// client only when a grant asks for it, and the registry of clients by backend name.
(() => {
  "use strict";
  const PLACEHOLDER = "00000000000000000000000000";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // POST form fields; resolves to the JSON body, or rejects with the server's message.
  async function post(url, fields = {}) {
    // URL-encoded: an empty multipart body is one Django's parser refuses (400).
    const body = new URLSearchParams(fields);
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (!response.ok) {
      const message = (data.error && data.error.message) || "Something went wrong. Try again.";
      const failure = new Error(message);
      failure.code = data.error && data.error.code;
      failure.status = response.status;
      throw failure;
    }
    return data;
  }

  // A beacon survives the page closing (leaving, ending): CSRF travels in the form.
  function beacon(url) {
    const body = new URLSearchParams({ csrfmiddlewaretoken: csrfToken() });
    return navigator.sendBeacon && navigator.sendBeacon(url, body);
  }

  const scripts = {};
  function loadScript(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error("The video player could not be loaded."));
        document.head.appendChild(script);
      });
    }
    return scripts[src];
  }

  const urlFor = (template, showId) => template.replace(PLACEHOLDER, showId);

  // The client for a grant: the page never decides the backend, the token endpoint does.
  function clientFor(grant) {
    const client = window.BazaarShows.clients[grant.backend];
    if (!client) throw new Error(`No video client for ${grant.backend}.`);
    return client;
  }

  function elapsed(since) {
    const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  // User Timing marks along the way from entering a live stall to its first frame
  // ("show:grant", "show:session", …): the browser's performance panel and
  // bench/video.py read them to name where the time goes.
  const mark = (step) => { try { performance.mark(`show:${step}`); } catch (error) { /* no User Timing */ } };

  window.BazaarShows = { clients: {}, post, beacon, loadScript, urlFor, clientFor, elapsed, mark };
})();
