// The Janus client: publish the seller's camera as VP8 simulcast (a high layer and a
// 480p layer) with janus.js (vendored at the server's version); watch a stall's show
// with the page's own small viewer (janus-viewer.js), which picks the layer the player
// and the connection allow.
(() => {
  "use strict";
  const shows = window.BazaarShows;
  const PLUGIN = "janus.plugin.videoroom";
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

  // Watch the room's publisher in `video` (static/js/shows/janus-viewer.js, inlined in
  // the page's head: the page may have started already). Resolves once subscribed; `onGone`
  // when the publisher's tracks go away, `onLost` when the connection drops.
  async function watch(grant, video, { onGone, onLost }) {
    const viewer = window.BazaarJanusViewer;
    if (!viewer) throw new Error("The video player could not be loaded.");
    const session = viewer.adopt(grant, video);
    session.bind({ onGone, onLost });
    try {
      await session.ready;
    } catch (error) {
      session.stop();
      throw error.code === "no_publisher" ? Object.assign(new Error("The seller's camera is not on yet."), { code: error.code }) : error;
    }
    return session;
  }

  shows.clients.janus = { publish, watch };
})();
