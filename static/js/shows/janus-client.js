// The Janus client (janus.js, vendored at the server's version): publish the seller's
// camera as VP8 simulcast (a high layer and a 480p layer), watch a stall's show
// choosing the layer the player and the connection allow.
(() => {
  "use strict";
  const shows = window.BazaarShows;
  const PLUGIN = "janus.plugin.videoroom";
  const LOW = 0; // substream 0 is the 480p layer, 1 the high one
  const HIGH = 1;
  const SMALL_PLAYER_PX = 640;
  const NO_SUCH_FEED = 428; // VideoRoom's answer to joining a feed nobody publishes
  let ready = null;

  // janus.js asks webrtc-adapter only which browser this is; we tell it directly.
  function browserDetails() {
    const ua = navigator.userAgent;
    const browser = /Firefox\//.test(ua) ? "firefox"
      : /Chrom(e|ium)\//.test(ua) ? "chrome" : /Safari\//.test(ua) ? "safari" : "chrome";
    const version = parseInt((ua.match(/(?:Firefox|Chrom(?:e|ium)|Version)\/(\d+)/) || [])[1] || "0", 10);
    return { browser, version };
  }

  function init(src) {
    if (!ready) {
      // A live stall's page brings janus.js itself (shows/_stage.html).
      const loaded = window.Janus ? Promise.resolve() : shows.loadScript(src);
      ready = loaded.then(() => new Promise((resolve) => {
        const adapter = { browserDetails: browserDetails() };
        window.Janus.init({
          debug: false,
          dependencies: window.Janus.useDefaultDependencies({ adapter }),
          callback: resolve,
        });
      }));
    }
    return ready;
  }

  function connect(grant, src, onLost) {
    return init(src).then(() => new Promise((resolve, reject) => {
      shows.mark("library");
      let up = false;
      const janus = new window.Janus({
        server: grant.url,
        token: grant.token,
        iceServers: [], // host candidates: the media server is reachable directly
        success: () => { up = true; resolve(janus); },
        error: (cause) => {
          if (up) onLost(String(cause));
          else reject(new Error("The video server is not answering."));
        },
      });
    }));
  }

  function attach(janus, callbacks) {
    return new Promise((resolve, reject) => {
      janus.attach({
        plugin: PLUGIN,
        success: resolve,
        error: () => reject(new Error("The video server refused the show.")),
        ...callbacks,
      });
    });
  }

  // Two encodings: "l" at 480 lines and about 0.5 Mbps, "h" at the camera's size.
  function sendEncodings(videoTrack) {
    const height = (videoTrack.getSettings && videoTrack.getSettings().height) || 720;
    return [
      { rid: "h", active: true, maxBitrate: 1500000 },
      { rid: "l", active: true, maxBitrate: 500000, scaleResolutionDownBy: Math.max(1, height / 480) },
    ];
  }

  async function publish(grant, tracks, { src, onLost }) {
    const janus = await connect(grant, src, onLost);
    let handle = null;
    let joined = null;
    const published = new Promise((resolve, reject) => {
      joined = { resolve, reject };
    });
    handle = await attach(janus, {
      onmessage: (message, jsep) => {
        if (jsep) handle.handleRemoteJsep({ jsep });
        if (message.error) joined.reject(new Error(message.error));
        if (message.videoroom === "joined") {
          handle.createOffer({
            tracks: [
              { type: "audio", capture: tracks.audio, recv: false },
              {
                type: "video", capture: tracks.video, recv: false, simulcast: true,
                sendEncodings: sendEncodings(tracks.video),
              },
            ],
            success: (offer) => {
              handle.send({ message: { request: "configure", audio: true, video: true }, jsep: offer });
            },
            error: (e) => joined.reject(new Error(String(e))),
          });
        }
        if (message.configured === "ok") joined.resolve();
      },
      iceState: (state) => { if (state === "failed") onLost("ice failed"); },
    });
    handle.send({
      message: {
        request: "join", ptype: "publisher", room: grant.room, token: grant.extra.room_token,
        id: grant.extra.feed, display: grant.extra.display || "",
      },
    });
    await published;
    const pc = () => handle.webrtcStuff.pc;
    return {
      pc,
      async replaceVideo(track) {
        const sender = pc().getSenders().find((s) => s.track && s.track.kind === "video");
        if (sender) await sender.replaceTrack(track);
      },
      stop() {
        try { janus.destroy({ cleanupHandles: true }); } catch (error) { /* already gone */ }
      },
    };
  }

  function wantedLayer(video) {
    const downlink = navigator.connection && navigator.connection.downlink;
    if (downlink && downlink < 1.5) return LOW;
    return video.clientWidth && video.clientWidth <= SMALL_PLAYER_PX ? LOW : HIGH;
  }

  // Watch the room's publisher in `video`. Resolves once subscribed; `onGone` when the
  // publisher's tracks go away, `onLost` when the connection drops.
  async function watch(grant, video, { src, onGone, onLost }) {
    const janus = await connect(grant, src, onLost);
    shows.mark("session");
    const stream = new MediaStream();
    let handle = null;
    let layer = null;
    let joined = null;
    const offered = new Promise((resolve, reject) => { joined = { resolve, reject }; });
    handle = await attach(janus, {
      onmessage: (message, jsep) => {
        if (message.error) {
          // Before the offer: the seller is not publishing (yet), or the room refused us.
          const refused = new Error(message.error);
          if (message.error_code === NO_SUCH_FEED) refused.code = "no_publisher";
          if (joined) joined.reject(refused);
          else onLost(message.error);
        }
        if (jsep) {
          if (joined) joined.resolve();
          joined = null;
          shows.mark("offer");
          handle.createAnswer({
            jsep,
            tracks: [{ type: "data" }],
            success: (answer) => {
              shows.mark("answer");
              handle.send({ message: { request: "start" }, jsep: answer });
            },
            error: (e) => onLost(String(e)),
          });
        }
        if (message.videoroom === "event" && (message.unpublished || message.leaving)) onGone();
      },
      onremotetrack: (track, mid, on) => {
        if (on) {
          stream.getTracks().filter((t) => t.kind === track.kind).forEach((t) => stream.removeTrack(t));
          stream.addTrack(track);
          if (video.srcObject !== stream) video.srcObject = stream;
          video.play().catch(() => {});
        } else if (track.kind === "video") {
          onGone();
        }
      },
      iceState: (state) => {
        if (state === "connected") shows.mark("ice");
        if (state === "failed" || state === "disconnected") onLost(state);
      },
      webrtcState: (up) => { if (up) shows.mark("webrtc-up"); },
    });
    shows.mark("attach");
    // The seller publishes under a feed id the grant names: no asking who publishes.
    handle.send({
      message: { request: "join", ptype: "subscriber", room: grant.room, token: grant.extra.room_token,
        streams: [{ feed: grant.extra.feed }] },
    });
    const chooseLayer = () => {
      const wanted = wantedLayer(video);
      if (wanted === layer) return;
      layer = wanted;
      handle.send({ message: { request: "configure", substream: wanted } });
    };
    chooseLayer();
    try {
      await offered;
    } catch (error) {
      try { janus.destroy({ cleanupHandles: true }); } catch (ignored) { /* already gone */ }
      throw error.code === "no_publisher" ? Object.assign(new Error("The seller's camera is not on yet."), { code: error.code }) : error;
    }
    window.addEventListener("resize", chooseLayer);
    return {
      pc: () => handle.webrtcStuff.pc,
      layer: () => layer,
      stop() {
        window.removeEventListener("resize", chooseLayer);
        try { janus.destroy({ cleanupHandles: true }); } catch (error) { /* already gone */ }
      },
    };
  }

  shows.clients.janus = { publish, watch };
})();
