// The viewer's stage on a stall page: the seller's show plays at once, muted and inline,
// with a tap to unmute; a dropped connection resumes by itself; leaving the page
// leaves the show. While nothing is on, the page asks now and then whether it is.
(() => {
  "use strict";
  const shows = window.BazaarShows;
  const POLL_IDLE_MS = 5000;
  const RETRY_MAX_MS = 10000;
  const OVERLAY_LINES = 4;
  // Right after Start show the seller's camera needs a moment to reach the video
  // server: a viewer already there looks every READY_CHECK_MS for up to ~10 s, then
  // backs off like any retry.
  const READY_CHECK_MS = 500;
  const READY_CHECKS = 20;

  const stage = document.querySelector("[data-live-video]");
  if (!stage) return;
  const $ = (name) => stage.querySelector(`[data-${name}]`);
  const video = $("show-video");
  const status = $("show-status");
  const watching = $("show-watching");
  const unmute = $("show-unmute");
  const beatMs = Number(stage.dataset.heartbeatSeconds || 10) * 1000;

  let showId = stage.dataset.show || "";
  let session = null;
  let retryMs = 1000;
  let retryTimer = null;
  let beatTimer = null;
  let starting = false;
  let idleTimer = null;
  let readyChecks = 0;

  const say = (text) => { status.textContent = text; status.hidden = !text; };
  const url = (name) => shows.urlFor(stage.dataset[name], showId);

  function stopSession() {
    if (session) session.stop();
    session = null;
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(start, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }

  function applyState(state) {
    if (!state.live) return ended();
    watching.textContent = state.watching;
    const title = $("show-title");
    if (state.title && title.textContent !== state.title) title.textContent = state.title;
    return true;
  }

  async function beat() {
    if (!showId) return;
    try {
      applyState(await shows.post(url("watchingUrl")));
    } catch (error) {
      if (error.status === 404) ended();
    }
  }

  function ended() {
    clearInterval(beatTimer);
    clearTimeout(retryTimer);
    stopSession();
    showId = "";
    delete stage.dataset.show;
    stage.classList.remove("is-live");
    stage.classList.add("is-over");
    video.srcObject = null;
    say("The show has ended. Thanks for watching!");
    idleTimer = setTimeout(idle, POLL_IDLE_MS);
    return false;
  }

  // The seller's tracks went away: over, or a blip (the seller reconnecting)?
  async function gone() {
    await beat();
    if (showId) { stopSession(); say("The seller's video paused. Reconnecting…"); scheduleRetry(); }
  }

  function lost() {
    if (!showId) return;
    stopSession();
    say("Connection lost. Reconnecting…");
    scheduleRetry();
  }

  // The grant the page came with (a live show's first connection); after that, and on
  // every reconnection, a fresh one from the token endpoint.
  function pageGrant() {
    const holder = document.getElementById("show-grant");
    if (!holder) return null;
    holder.remove();
    try {
      return JSON.parse(holder.textContent);
    } catch (error) {
      return null;
    }
  }

  async function start() {
    if (!showId || session || starting) return;
    starting = true;
    stage.hidden = false;
    stage.classList.add("is-live");
    stage.classList.remove("is-over");
    say("Connecting to the show…");
    // LiveKit's library loads while the grant is asked for (first frame sooner); Janus's
    // viewer is in the page already.
    if (stage.dataset.backend === "livekit") shows.loadScript(stage.dataset.livekitSrc).catch(() => {});
    shows.mark("start");
    try {
      const grant = pageGrant() || await shows.post(url("tokenUrl"));
      shows.mark("grant");
      const client = shows.clientFor(grant);
      const src = grant.backend === "janus" ? stage.dataset.janusSrc : stage.dataset.livekitSrc;
      session = await client.watch(grant, video, { src, onGone: gone, onLost: lost });
      // The page's own start may have played before this script listened.
      if (!video.paused && video.readyState >= 2) say("");
      retryMs = 1000;
      readyChecks = 0;
    } catch (error) {
      if (error.code === "show_ended" || error.status === 404) {
        starting = false;
        ended();
        return;
      }
      if (error.code === "no_publisher" && readyChecks++ < READY_CHECKS) {
        // The show started a moment ago and the camera is on its way: look again soon.
        say("The seller is getting ready…");
        clearTimeout(retryTimer);
        retryTimer = setTimeout(start, READY_CHECK_MS);
      } else {
        say(error.code === "no_publisher" ? "The seller is getting ready…" : `${error.message} Retrying…`);
        scheduleRetry();
      }
    } finally {
      starting = false;
    }
    if (!beatTimer) {
      beat();
      beatTimer = setInterval(beat, beatMs);
    }
  }

  async function idle() {
    clearTimeout(idleTimer);
    if (showId) return;
    if (!document.hidden) {
      try {
        const state = await (await fetch(stage.dataset.stateUrl, { credentials: "same-origin" })).json();
        if (state.live) {
          showId = state.show;
          stage.dataset.show = showId;
          stage.dataset.backend = state.backend;
          $("show-title").textContent = state.title;
          watching.textContent = state.watching;
          beatTimer = null;
          start();
          return;
        }
      } catch (error) { /* offline for a moment: ask again later */ }
    }
    idleTimer = setTimeout(idle, POLL_IDLE_MS);
  }

  // The stall room says the seller went live (or ended): look now, not at the next poll.
  document.addEventListener("stall-room:show", (event) => {
    const topic = event.detail && event.detail.topic;
    if (topic !== "video") return;
    if (!showId) idle();
    else beat();
  });

  video.addEventListener("loadeddata", () => shows.mark("frame"));
  video.addEventListener("playing", () => say(""));
  unmute.addEventListener("click", () => {
    video.muted = false;
    video.play().catch(() => {});
    unmute.hidden = true;
  });
  video.addEventListener("volumechange", () => { unmute.hidden = !video.muted; });

  window.addEventListener("pagehide", () => {
    if (showId) shows.beacon(url("leaveUrl"));
    stopSession();
  });

  // On phones the chat sits over the video: its latest lines, mirrored (the room's own
  // list below stays the one screen readers use).
  function mirrorChat() {
    const list = document.querySelector("[data-chat-list]");
    const overlay = $("show-chat-overlay");
    if (!list || !overlay) return;
    const copy = () => {
      const rows = [...list.children].slice(-OVERLAY_LINES);
      overlay.replaceChildren(...rows.map((row) => {
        const line = document.createElement("li");
        const author = row.querySelector(".msg-author");
        const text = row.querySelector(".msg-text");
        line.textContent = author && text ? `${author.textContent}: ${text.textContent}` : "";
        return line;
      }));
    };
    new MutationObserver(copy).observe(list, { childList: true, subtree: true });
    copy();
  }

  mirrorChat();
  if (showId) start();
  else idle();
})();
