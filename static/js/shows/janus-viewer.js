// A viewer's side of a Janus show, spoken straight to Janus's HTTP API (no janus.js):
// inlined in the stall page's head before its stylesheet, so a live stall's page starts
// subscribing (given the page's grant) while the rest of it still arrives and parses. Plain-text bodies keep every request "simple" (no CORS
// preflight before each one, as janus.js's JSON bodies need); the subscribe request
// goes as soon as the plugin is attached, the layer with it. stage.js adopts the
// connection the page started (BazaarJanusViewer.early) or starts one (reconnections).
(() => {
  "use strict";
  if (window.BazaarJanusViewer) return;
  const PLUGIN = "janus.plugin.videoroom";
  const NO_SUCH_FEED = 428; // VideoRoom's answer to joining a feed nobody publishes
  const LOW = 0; // substream 0 is the 480p layer, 1 the high one
  const HIGH = 1;
  const SMALL_PLAYER_PX = 640;
  const mark = (step) => { try { performance.mark(`show:${step}`); } catch (error) { /* no User Timing */ } };
  const transaction = () => Math.random().toString(36).slice(2);

  // The player's width once laid out; before that, the window's (a phone's is small).
  function wantedLayer(video) {
    const downlink = navigator.connection && navigator.connection.downlink;
    if (downlink && downlink < 1.5) return LOW;
    const width = (video && video.clientWidth) || window.innerWidth;
    return width <= SMALL_PLAYER_PX ? LOW : HIGH;
  }

  // The answer with the DTLS roles turned: Janus the client (it offers "actpass"), this
  // page the server. As the client this page sent its hello the moment its own check
  // succeeded, before Janus's own check of the way back had, and Janus left it
  // unanswered: the handshake waited for the browser's retransmission (after 50 ms, then
  // 100, 200...). Janus sends its hello the moment its side of ICE is up.
  function serverSpeaksFirst(answer) {
    return { type: answer.type, sdp: answer.sdp.replace(/^a=setup:active\r$/gm, "a=setup:passive\r") };
  }

  // The stage's <video>: at once, or as soon as the page has parsed that far.
  function player(found) {
    const now = document.querySelector("[data-show-video]");
    if (now) return found(now);
    const watcher = new MutationObserver(() => {
      const video = document.querySelector("[data-show-video]");
      if (video) { watcher.disconnect(); found(video); }
    });
    watcher.observe(document.documentElement, { childList: true, subtree: true });
  }

  // One subscription (in `video`, or the stage's player once parsed): `ready` resolves
  // once Janus offered the stream (rejects with code "no_publisher" while the seller's
  // camera is not on). `bind` hands it the stage's callbacks; what happened before them
  // is replayed.
  function watch(grant, video = null) {
    let sessionUrl = null;
    let handleUrl = null;
    let closed = false;
    let pc = null;
    let layer = null;
    let handlers = null;
    let pending = null; // a loss or an end that came before the stage's callbacks
    const stream = new MediaStream();
    const send = async (path, message, options = {}) => {
      const response = await fetch(path, {
        method: "POST",
        body: JSON.stringify({ ...message, transaction: transaction(), token: grant.token }),
        ...options,
      });
      const reply = await response.json();
      if (reply.janus === "error") throw new Error(reply.error.reason);
      return reply;
    };
    const report = (kind, detail) => {
      if (closed) return;
      if (handlers) handlers[kind](detail);
      else if (!pending) pending = [kind, detail];
    };
    let settle = null;
    const ready = new Promise((resolve, reject) => { settle = { resolve, reject }; });
    ready.catch(() => {});

    function chooseLayer() {
      const wanted = wantedLayer(video || document.querySelector("[data-show-video]"));
      if (wanted === layer || !handleUrl) return;
      layer = wanted;
      send(handleUrl, { janus: "message", body: { request: "configure", substream: wanted } }).catch(() => {});
    }

    async function answer(offer) {
      mark("offer");
      pc = new RTCPeerConnection({ iceServers: [] }); // host candidates: the server is reachable directly
      pc.ontrack = (event) => {
        stream.getTracks().filter((t) => t.kind === event.track.kind).forEach((t) => stream.removeTrack(t));
        stream.addTrack(event.track);
        player((found) => {
          video = found;
          if (video.srcObject !== stream) video.srcObject = stream;
          video.play().catch(() => {});
        });
        event.track.addEventListener("ended", () => { if (event.track.kind === "video") report("onGone"); });
      };
      pc.oniceconnectionstatechange = () => {
        const state = pc.iceConnectionState;
        if (state === "connected" || state === "completed") mark("ice");
        if (state === "failed" || state === "disconnected") report("onLost", state);
      };
      await pc.setRemoteDescription(offer);
      const local = serverSpeaksFirst(await pc.createAnswer());
      // The answer goes to Janus as soon as it is made, before this page's main thread
      // takes another turn to set it (Janus answers no connectivity check before it
      // has the answer). No candidates of ours follow, only their end: Janus learns
      // this page's address from its first check (a peer-reflexive candidate), as it
      // must for a browser that names its host candidates by mDNS or sits behind NAT
      // (no STUN here). Each candidate was a request made on this page's main thread,
      // where its event waited behind the page's parse and deferred scripts.
      // The page sets its answer, which starts its connectivity checks, once Janus has
      // acknowledged it (Janus takes an answer's credentials before it acknowledges):
      // a check that arrived sooner went unanswered, and the browser retried it only
      // 50 ms later.
      const started = send(handleUrl, { janus: "message", body: { request: "start" }, jsep: local });
      send(handleUrl, { janus: "trickle", candidate: { completed: true } }).catch(() => {});
      await started;
      await pc.setLocalDescription(local);
      mark("answer");
    }

    function handle(event) {
      const data = event.plugindata && event.plugindata.data;
      if (event.janus === "webrtcup") mark("webrtc-up");
      // The media went away (the seller stopped, or Janus closed it): stage.js asks
      // whether the show is still on before it reconnects.
      if (event.janus === "hangup" || event.janus === "detached") report("onGone");
      if (!data) return;
      if (data.error) {
        const refused = Object.assign(new Error(data.error), data.error_code === NO_SUCH_FEED ? { code: "no_publisher" } : {});
        if (settle) { settle.reject(refused); settle = null; stop(); } else report("onLost", data.error);
        return;
      }
      if (event.jsep && event.jsep.type === "offer") {
        answer(event.jsep).then(() => { if (settle) settle.resolve(); settle = null; },
          (error) => { if (settle) settle.reject(error); settle = null; stop(); });
      }
      if (data.videoroom === "event" && (data.unpublished || data.leaving)) report("onGone");
    }

    // Janus's events for the session, one long poll after another (each also keeps
    // the session alive).
    async function poll(session) {
      while (!closed) {
        let events;
        try {
          const response = await fetch(`${session}?maxev=10&rid=${Date.now()}&token=${encodeURIComponent(grant.token)}`);
          events = await response.json();
        } catch (error) {
          if (settle) { settle.reject(new Error("The video server is not answering.")); settle = null; }
          report("onLost", "long poll failed");
          return;
        }
        (Array.isArray(events) ? events : [events]).forEach(handle);
      }
    }

    function stop() {
      if (closed) return;
      closed = true;
      window.removeEventListener("resize", chooseLayer);
      if (pc) pc.close();
      if (sessionUrl) send(sessionUrl, { janus: "destroy" }, { keepalive: true }).catch(() => {});
    }

    // Subscribed by the server as it rendered the page (shows.media.janus): straight to
    // the answer. The first frame comes on the 480p layer; the player's own follows it.
    const ahead = grant.extra && grant.extra.ahead;
    if (ahead) {
      sessionUrl = `${grant.url}/${ahead.session}`;
      handleUrl = `${sessionUrl}/${ahead.handle}`;
      layer = ahead.substream;
      mark("session");
      // The answer first: its peer connection and remote description go to WebRTC's own
      // thread before the long poll's request takes this one.
      handle({ janus: "event", jsep: ahead.jsep, plugindata: { data: { videoroom: "attached" } } });
      poll(sessionUrl);
      player((found) => found.addEventListener("loadeddata", () => {
        chooseLayer();
        window.addEventListener("resize", chooseLayer);
      }, { once: true }));
    } else (async () => {
      try {
        const created = await send(grant.url, { janus: "create" });
        sessionUrl = `${grant.url}/${created.data.id}`;
        mark("session");
        poll(sessionUrl);
        const attached = await send(sessionUrl, { janus: "attach", plugin: PLUGIN });
        handleUrl = `${sessionUrl}/${attached.data.id}`;
        mark("attach");
        // The seller publishes under a feed id the grant names: no asking who publishes.
        // The layer goes with the join: a "configure" now would have Janus ask the seller
        // for a keyframe this viewer cannot take yet, and the seller's browser ignores
        // keyframe requests for 300 ms after one (WebRTC's minimum keyframe interval), so
        // the request Janus makes once this viewer is connected could go unanswered.
        layer = wantedLayer(video || document.querySelector("[data-show-video]"));
        await send(handleUrl, {
          janus: "message",
          body: { request: "join", ptype: "subscriber", room: grant.room, token: grant.extra.room_token,
            streams: [{ feed: grant.extra.feed, substream: layer }] },
        });
        chooseLayer(); // again once the stylesheet has given the player its size
        window.addEventListener("resize", chooseLayer);
        if (document.readyState !== "complete") window.addEventListener("load", chooseLayer, { once: true });
      } catch (error) {
        if (settle) { settle.reject(new Error("The video server is not answering.")); settle = null; }
        stop();
      }
    })();

    return {
      grant,
      ready,
      pc: () => pc,
      layer: () => layer,
      bind(callbacks) {
        handlers = callbacks;
        if (pending) handlers[pending[0]](pending[1]);
        pending = null;
      },
      stop,
    };
  }

  let early = null;
  window.BazaarJanusViewer = {
    watch,
    // The page's own grant, used at once (stage.js adopts it).
    start(holder) {
      let grant = null;
      try { grant = JSON.parse(holder.textContent); } catch (error) { return; }
      if (grant.backend !== "janus") return;
      mark("start");
      // The stage's status ("Connecting…") goes with the first frame: stage.js, which
      // says everything after it, may run only then.
      player((video) => video.addEventListener("loadeddata", () => {
        mark("frame");
        const status = document.querySelector("[data-show-status]");
        if (status) { status.textContent = ""; status.hidden = true; }
      }, { once: true }));
      early = watch(grant);
    },
    // The connection the page started for this grant, once; else a new one.
    adopt(grant, video) {
      const found = early && early.grant.token === grant.token ? early : null;
      early = null;
      return found || watch(grant, video);
    },
  };

  // The page's other scripts (the show's stage, chat, offers, auctions, the lightbox),
  // which the stall page lists in #show-later-scripts on a live show: every step of the connection above needs
  // this page's main thread, so they run once the video shows its first frame, once it
  // cannot (the page's own start failed), or after LATER_AT_MOST_MS whatever happens. In
  // the listed order, as deferred scripts would be.
  const LATER_AT_MOST_MS = 3000;
  let later = false;
  function runLater() {
    if (later) return;
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", runLater, { once: true });
      return;
    }
    later = true;
    const list = document.getElementById("show-later-scripts");
    if (!list) return;
    JSON.parse(list.textContent).forEach((src) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = false; // in order
      document.body.appendChild(script);
    });
  }
  document.addEventListener("loadeddata", (event) => {
    if (event.target.matches && event.target.matches("[data-show-video]")) setTimeout(runLater);
  }, { capture: true });
  setTimeout(runLater, LATER_AT_MOST_MS);

  const holder = document.getElementById("show-grant");
  if (holder) window.BazaarJanusViewer.start(holder);
  // Without a connection of the page's own (no grant), nothing to wait for.
  if (early) early.ready.catch(runLater);
  else runLater();
})();
