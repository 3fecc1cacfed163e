// The LiveKit client (livekit-client, bundled from npm): publish the seller's camera and
// microphone as VP8 simulcast (the camera's size and 480p), watch with adaptive
// streaming (LiveKit picks the layer for the player's size and the bandwidth).
(() => {
  "use strict";
  const shows = window.BazaarShows;

  async function lib(src) {
    await shows.loadScript(src);
    return window.LivekitClient;
  }

  function roomEvents(room, LK, { onLost, onGone }) {
    room.on(LK.RoomEvent.Disconnected, () => onLost("disconnected"));
    if (onGone) {
      room.on(LK.RoomEvent.TrackUnsubscribed, (track) => {
        if (track.kind === "video") onGone();
      });
    }
  }

  async function publish(grant, tracks, { src, onLost }) {
    const LK = await lib(src);
    const room = new LK.Room({ dynacast: true });
    roomEvents(room, LK, { onLost });
    await room.connect(grant.url, grant.token);
    const layer480 = new LK.VideoPreset(854, 480, 500000, 30);
    const video = await room.localParticipant.publishTrack(tracks.video, {
      source: LK.Track.Source.Camera,
      simulcast: true,
      videoCodec: "vp8",
      videoSimulcastLayers: [layer480],
    });
    await room.localParticipant.publishTrack(tracks.audio, { source: LK.Track.Source.Microphone });
    return {
      pc: () => room.engine.pcManager && room.engine.pcManager.publisher.getPeerConnection
        ? room.engine.pcManager.publisher.getPeerConnection() : null,
      async replaceVideo(track) {
        await video.track.replaceTrack(track);
      },
      stop() {
        room.disconnect();
      },
    };
  }

  async function watch(grant, element, { src, onGone, onLost }) {
    const LK = await lib(src);
    const room = new LK.Room({ adaptiveStream: true, dynacast: true });
    roomEvents(room, LK, { onLost, onGone });
    // attach() adds each track to the element's one stream (video and audio together).
    room.on(LK.RoomEvent.TrackSubscribed, (track) => {
      track.attach(element);
      element.play().catch(() => {});
    });
    await room.connect(grant.url, grant.token);
    return {
      pc: () => null,
      layer: () => null,
      stop() {
        room.disconnect();
      },
    };
  }

  shows.clients.livekit = { publish, watch };
})();
