// The seller's "Go live" panel (stall page and dashboard): camera and microphone
// pickers with a preview and a title; then, on air, the viewer count, the time on
// air, mute, camera off, switch camera and End show. The page beats while it is open;
// closing it ends the show (a beacon now, the server's 30 s timeout at worst).
(() => {
  "use strict";
  const shows = window.BazaarShows;
  const panel = document.querySelector("[data-show-panel]");
  if (!panel || !panel.querySelector("[data-show-open]")) return;
  const $ = (name) => panel.querySelector(`[data-${name}]`);
  const setup = $("show-setup");
  const cameraSelect = $("show-camera");
  const micSelect = $("show-microphone");
  const preview = $("show-preview");
  const livePreview = $("show-live-preview");
  const errorBox = $("show-error");
  const liveStatus = $("show-live-status");
  const noPicture = $("show-no-picture");
  const beatMs = Number(panel.dataset.heartbeatSeconds || 10) * 1000;

  let stream = null;
  let showId = panel.dataset.show || "";
  let startedAt = panel.dataset.startedAt ? Date.parse(panel.dataset.startedAt) : 0;
  let publisher = null;
  let beatTimer = null;
  let clockTimer = null;
  let republishMs = 1000;
  let pictureTimer = null;
  let framesEncoded = -1;

  const url = (name) => shows.urlFor(panel.dataset[name], showId);
  const fail = (message) => { errorBox.textContent = message; errorBox.hidden = !message; };
  const videoTrack = () => stream && stream.getVideoTracks()[0];
  const audioTrack = () => stream && stream.getAudioTracks()[0];

  function stopStream() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  async function capture() {
    const video = cameraSelect.value ? { deviceId: { exact: cameraSelect.value } } : {};
    const audio = micSelect.value ? { deviceId: { exact: micSelect.value } } : true;
    const next = await navigator.mediaDevices.getUserMedia({
      video: { ...video, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio,
    });
    stopStream();
    stream = next;
    preview.srcObject = stream;
    $("show-preview-note").hidden = true;
  }

  async function fillPickers() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, noun) => {
      const current = select.value;
      const options = devices.filter((d) => d.kind === kind).map((d, index) => {
        const option = document.createElement("option");
        option.value = d.deviceId;
        option.textContent = d.label || `${noun} ${index + 1}`;
        return option;
      });
      select.replaceChildren(...options);
      if (current) select.value = current;
    };
    fill(cameraSelect, "videoinput", "Camera");
    fill(micSelect, "audioinput", "Microphone");
  }

  async function openSetup() {
    setup.hidden = false;
    $("show-idle").hidden = true;
    $("show-open").setAttribute("aria-expanded", "true");
    fail("");
    try {
      await capture();
      await fillPickers();
      const track = videoTrack();
      if (track && track.getSettings().deviceId) cameraSelect.value = track.getSettings().deviceId;
    } catch (error) {
      fail("Your browser did not let us use the camera and microphone. Allow them in the address bar, then try again.");
    }
    $("show-title-input").focus();
  }

  function closeSetup() {
    setup.hidden = true;
    $("show-idle").hidden = false;
    $("show-open").setAttribute("aria-expanded", "false");
    stopStream();
    $("show-open").focus();
  }

  async function publish() {
    const grant = await shows.post(url("tokenUrl"));
    const src = grant.backend === "janus" ? panel.dataset.janusSrc : panel.dataset.livekitSrc;
    publisher = await shows.clientFor(grant).publish(
      grant, { video: videoTrack(), audio: audioTrack() }, { src, onLost: republish });
    republishMs = 1000;
    liveStatus.textContent = "";
  }

  // The connection to the media server dropped: publish again while the show is on.
  function republish() {
    if (!showId) return;
    if (publisher) publisher.stop();
    publisher = null;
    liveStatus.textContent = "Connection lost. Reconnecting…";
    setTimeout(() => publish().catch(republish), republishMs);
    republishMs = Math.min(republishMs * 2, 10000);
  }

  // A camera whose frames the browser cannot encode (a depth camera, one another app
  // holds) would give a frozen show and no word to the seller: while connected with
  // the camera on, the encoder's frame count must rise between two looks.
  async function checkPicture() {
    const pc = publisher && publisher.pc();
    const track = videoTrack();
    const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender || !track || !track.enabled || pc.connectionState !== "connected") {
      framesEncoded = -1;
      noPicture.hidden = true;
      return;
    }
    let encoded = 0;
    (await sender.getStats()).forEach((report) => {
      if (report.type === "outbound-rtp") encoded += report.framesEncoded || 0;
    });
    noPicture.hidden = framesEncoded < 0 || encoded !== framesEncoded;
    framesEncoded = encoded;
  }

  function showLive(title) {
    setup.hidden = true;
    $("show-idle").hidden = true;
    $("show-live").hidden = false;
    $("show-live-title").textContent = title;
    livePreview.srcObject = stream;
    clearInterval(clockTimer);
    clockTimer = setInterval(() => { $("show-elapsed").textContent = shows.elapsed(startedAt); }, 1000);
    $("show-elapsed").textContent = shows.elapsed(startedAt);
    if (!beatTimer) beatTimer = setInterval(beat, beatMs);
    if (!pictureTimer) pictureTimer = setInterval(() => checkPicture().catch(() => {}), 3000);
  }

  async function start(event) {
    event.preventDefault();
    const title = $("show-title-input").value.trim();
    if (!title) return fail("Give your show a title, so passers-by know what is on.");
    if (!stream) return fail("Choose a camera and microphone first.");
    const button = $("show-start");
    button.disabled = true;
    fail("");
    try {
      const show = await shows.post(panel.dataset.startUrl, { title });
      showId = show.show;
      startedAt = Date.parse(show.started_at);
      await publish();
      showLive(show.title);
      $("show-end").focus();
    } catch (error) {
      fail(error.message);
    } finally {
      button.disabled = false;
    }
  }

  async function beat() {
    if (!showId) return;
    try {
      const state = await shows.post(url("heartbeatUrl"));
      $("show-seller-watching").textContent = state.watching;
    } catch (error) {
      if (error.code === "show_ended") over("Your show has ended.");
    }
  }

  function over(message) {
    clearInterval(beatTimer);
    clearInterval(clockTimer);
    clearInterval(pictureTimer);
    beatTimer = null;
    pictureTimer = null;
    noPicture.hidden = true;
    if (publisher) publisher.stop();
    publisher = null;
    showId = "";
    stopStream();
    $("show-live").hidden = true;
    $("show-idle").hidden = false;
    $("show-open").textContent = "Go live again";
    const idle = $("show-idle").querySelector(".hint");
    idle.textContent = message;
    idle.setAttribute("role", "status");
  }

  async function end() {
    const button = $("show-end");
    button.disabled = true;
    try {
      await shows.post(url("endUrl"));
      over("Your show has ended. Thanks for streaming!");
      $("show-open").focus();
    } catch (error) {
      liveStatus.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  function toggle(button, track, onLabel, offLabel) {
    if (!track) return;
    track.enabled = !track.enabled;
    button.setAttribute("aria-pressed", String(!track.enabled));
    button.textContent = track.enabled ? onLabel : offLabel;
  }

  async function switchCamera() {
    const cameras = [...cameraSelect.options].map((option) => option.value);
    if (cameras.length < 2) { liveStatus.textContent = "Only one camera found."; return; }
    cameraSelect.value = cameras[(cameras.indexOf(cameraSelect.value) + 1) % cameras.length];
    const old = videoTrack();
    const fresh = (await navigator.mediaDevices.getUserMedia({
      video: { deviceId: { exact: cameraSelect.value }, width: { ideal: 1280 }, height: { ideal: 720 } },
    })).getVideoTracks()[0];
    fresh.enabled = old ? old.enabled : true;
    if (publisher) await publisher.replaceVideo(fresh);
    if (old) { stream.removeTrack(old); old.stop(); }
    stream.addTrack(fresh);
    livePreview.srcObject = stream;
    liveStatus.textContent = `Now on ${cameraSelect.selectedOptions[0].textContent}.`;
  }

  $("show-open").addEventListener("click", openSetup);
  $("show-cancel").addEventListener("click", closeSetup);
  setup.addEventListener("submit", start);
  cameraSelect.addEventListener("change", () => capture().catch((e) => fail(e.message)));
  micSelect.addEventListener("change", () => capture().catch((e) => fail(e.message)));
  $("show-mute").addEventListener("click", (e) => toggle(e.currentTarget, audioTrack(), "Mute", "Unmute"));
  $("show-camera-off").addEventListener("click", (e) => toggle(e.currentTarget, videoTrack(), "Camera off", "Camera on"));
  $("show-switch").addEventListener("click", () => switchCamera().catch((e) => { liveStatus.textContent = e.message; }));
  $("show-end").addEventListener("click", end);
  window.addEventListener("beforeunload", (event) => { if (showId && publisher) event.preventDefault(); });
  // Only the window that publishes ends the show when it closes.
  window.addEventListener("pagehide", () => { if (showId && publisher) shows.beacon(url("endUrl")); });

  // The show is on air from another window (the stall page, while this is the
  // dashboard): say so and offer End show; that window keeps it alive.
  if (showId) {
    $("show-idle").hidden = true;
    $("show-live").hidden = false;
    $("show-live-title").textContent = panel.dataset.title || "";
    livePreview.closest(".show-preview-wrap").hidden = true;
    ["show-mute", "show-camera-off", "show-switch"].forEach((name) => { $(name).hidden = true; });
    liveStatus.textContent = "Your show is on air from another window.";
    clockTimer = setInterval(() => { $("show-elapsed").textContent = shows.elapsed(startedAt); }, 1000);
  }
})();
