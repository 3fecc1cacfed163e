"""A live show end to end on the embedded backend (Janus): the seller goes live with
chromium's fake camera, a viewer in another browser context receives frames (muted
at first), the grid card says LIVE with one watching, a flash auction's panel sits
over the video (desktop and phone), the seller turns the camera off and switches to
the other camera while the viewer keeps decoding, and End show reaches both."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.test import override_settings

from bench._servers import free_port, wait_for_port
from shows.media.janus_server import config_write, janus_argv
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    PHONE,
    BrowserTestCase,
    off_the_event_loop,
    screenshot,
    seller_stall,
    verified_user,
)
from tests.conftest import need, new_item

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path("/work/wt/shows2-shots")

JANUS_PORT = free_port()
JANUS_URL = f"http://127.0.0.1:{JANUS_PORT}/janus"
JANUS_SECRET = "browser-test-janus-secret"
MEDIA_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # Three fake cameras to switch between. Chrome's fake_device_1 is a Y16 depth camera:
    # it plays in a <video> but WebRTC encodes none of its frames (measured: 0 encoded
    # where fake_device_0 and the MJPEG fake_device_2 encode 56 in 3 s), so a viewer is
    # checked after the switch to fake_device_2.
    "--use-fake-device-for-media-stream=device-count=3",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
# Every peer connection the page makes, for getStats.
WATCH_PEERS = """
    window.__pcs = [];
    const NativePC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends NativePC {
        constructor(...args) { super(...args); window.__pcs.push(this); }
    };
    window.__framesDecoded = async () => {
        let frames = 0;
        for (const pc of window.__pcs) {
            if (pc.connectionState === 'closed') continue;
            (await pc.getStats()).forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
            });
        }
        return frames;
    };
"""


# What the page posts to Janus, and when (its janus-viewer.js calls the global fetch); a
# fast network, so that the player's size alone picks the layer (chromium's own estimate
# of the downlink wanders around the client's 1.5 Mbps threshold).
WATCH_JANUS_REQUESTS = """
    Object.defineProperty(navigator, 'connection', { value: { downlink: 10 } });
    window.__janusSent = [];
    const nativeFetch = window.fetch;
    window.fetch = function (url, options) {
        if (String(url).includes('/janus') && options && typeof options.body === 'string')
            window.__janusSent.push([performance.now(), JSON.parse(options.body)]);
        return nativeFetch.apply(this, arguments);
    };
"""


# An answer's lines that its connection is made with (its candidates come after it).
SAID = ("a=setup:", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")


def _said(sdp: str) -> list[str]:
    return [line for line in sdp.split("\r\n") if line.startswith(SAID)]


# Whether anything on the page loaded, read or set janus.js's global.
JANUS_UNTOUCHED = """
    window.__janusTouched = [];
    Object.defineProperty(window, 'Janus', {
        configurable: true,
        get() { window.__janusTouched.push('read'); return undefined; },
        set() { window.__janusTouched.push('set'); },
    });
"""


def _global_ipv4() -> bool:
    found = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True
    )
    return found.returncode == 0 and bool(found.stdout.strip())


@pytest.fixture(scope="module")
def janus(tmp_path_factory):
    binary = shutil.which("janus")
    need(binary is not None, "needs Debian's janus for live video (apt-get install janus)")
    # With loopback alone Janus fails "Error gathering candidates" (the notes: a
    # network namespace with a veth pair is the way there; not built, as these machines
    # have an interface of their own).
    need(_global_ipv4(), "Janus needs a network interface besides loopback for ICE")
    config = config_write(
        tmp_path_factory.mktemp("janus"), token_secret=JANUS_SECRET, http_port=JANUS_PORT
    )
    log = open(config.parent / "janus.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(janus_argv(config, binary), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(JANUS_PORT, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(janus):
    """Chromium with a fake camera and microphone, allowed to connect over loopback."""
    chromium = os.environ.get("BAZAAR_CHROMIUM", "/usr/bin/chromium")
    need(os.path.exists(chromium), f"needs Debian's chromium at {chromium}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
        )
        yield launched
        launched.close()
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())


def _frames(page) -> int:
    return page.evaluate("window.__framesDecoded()")


def _wait_for_frames(page, above: int, timeout_s: float = 15.0) -> None:
    """Until the page has decoded more than `above` frames. Not `wait_for_function`: a
    predicate returning a promise is truthy at once there, so it never waited."""
    deadline = time.monotonic() + timeout_s
    while _frames(page) <= above:
        assert time.monotonic() < deadline, f"no more than {above} frames decoded"
        page.wait_for_timeout(100)


def _keep(page, name: str) -> None:
    """A screenshot in var/screenshots, copied beside the worktree for the report."""
    path = screenshot(page, name)
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / path.name)


def _flash_auction(seller) -> None:
    """The seller starts a flash auction from the show tools under their panel (the
    live server runs in a process of its own: its stall room hears only its own)."""
    tools = seller.locator("#flash-tools")
    tools.get_by_label("Item").select_option(label="Bowie, Low (1977)")
    tools.get_by_label("Opening bid").fill("15")
    tools.get_by_label("Runs for").select_option(label="2 minutes")
    tools.get_by_role("button", name="Start flash auction").click()
    tools.locator(".notice").wait_for()


def _assert_over_the_video(page) -> None:
    """The flash auction's panel lies within the video's box, its controls usable."""
    card = page.locator(".flash-card")
    card.wait_for(timeout=15_000)
    video = page.locator(".show-video-wrap").bounding_box()
    panel = card.bounding_box()
    assert video["y"] <= panel["y"] and panel["y"] + panel["height"] <= video["y"] + video["height"]
    assert video["x"] <= panel["x"] and panel["x"] + panel["width"] <= video["x"] + video["width"]
    countdown = card.locator("[data-countdown]")
    page.wait_for_function(
        "() => /\\d:\\d\\d/"
        ".test(document.querySelector('.flash-card [data-countdown]').textContent)"
    )
    assert countdown.is_visible()


@override_settings(
    SHOWS_MEDIA="janus",
    JANUS_API_URL=JANUS_URL,
    JANUS_PUBLIC_URL=JANUS_URL,
    JANUS_TOKEN_SECRET=JANUS_SECRET,
)
class LiveShowTest(BrowserTestCase):
    def setUp(self):
        super().setUp()
        from market.services import sections_ensure

        def market():
            sections_ensure(coordinates=[(0, 0)])
            stall = seller_stall(handle="vinyl", legal_name="Vi Nyl", name="Vinyl Corner")
            new_item(stall, title="Bowie, Low (1977)", price_cents=3000)
            return stall, verified_user("watcher")

        self.stall, self.viewer = off_the_event_loop(market)
        self.stall_url = f"{self.live_server_url}/stalls/{self.stall.public_id}/"

    def go_live(self, viewport=DESKTOP):
        seller = self.new_page(self.stall.seller.user, viewport=viewport)
        seller.add_init_script(WATCH_PEERS)
        seller.goto(self.stall_url)
        seller.get_by_role("button", name="Go live").click()
        seller.wait_for_function(
            "() => document.querySelector('[data-show-preview]').videoWidth > 0", timeout=15_000
        )
        seller.get_by_label("Show title").fill("Seventies vinyl, live")
        return seller

    def viewer_decoding(self, *init_scripts):
        """The seller live, and a viewer on a desktop whose frames rise (its peer
        connections and its requests to Janus watched): the page and its first count."""
        seller = self.go_live()
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        viewer = self.new_page(self.viewer, viewport=DESKTOP)
        for script in (*init_scripts, WATCH_PEERS, WATCH_JANUS_REQUESTS):
            viewer.add_init_script(script)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "() => document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        first = _frames(viewer)
        _wait_for_frames(viewer, first)
        return viewer, first

    def test_a_viewer_watches_the_sellers_show_until_it_ends(self):
        grid = self.new_page()
        grid.goto(f"{self.live_server_url}/market/0/0/")
        card_badge = grid.locator(f'[data-show-badge="{self.stall.public_id}"]')
        assert card_badge.is_hidden()

        seller = self.go_live()
        screenshot(seller, "show-seller-setup-1366")
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        # The publisher sends two simulcast layers, the low one at 480 lines or less.
        encodings = seller.evaluate(
            """() => window.__pcs.flatMap((pc) => pc.getSenders())
                 .filter((s) => s.track && s.track.kind === 'video')
                 .flatMap((s) => s.getParameters().encodings)"""
        )
        assert [e["rid"] for e in encodings] == ["h", "l"], encodings
        assert encodings[1]["maxBitrate"] == 500000

        viewer = self.new_page(self.viewer, viewport=DESKTOP)
        viewer.add_init_script(WATCH_PEERS)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "() => document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        assert viewer.evaluate("document.querySelector('[data-show-video]').muted") is True
        assert viewer.get_by_role("button", name="Tap to unmute").is_visible()
        first = _frames(viewer)
        time.sleep(1.5)
        assert _frames(viewer) > first > 0

        card_badge.wait_for(state="visible", timeout=15_000)
        assert " ".join(card_badge.inner_text().split()) == "LIVE · 1 watching"
        seller.locator("[data-show-seller-watching]").filter(has_text="1").wait_for(timeout=15_000)

        viewer.get_by_role("button", name="Tap to unmute").click()
        assert viewer.evaluate("document.querySelector('[data-show-video]').muted") is False

        _flash_auction(seller)
        _assert_over_the_video(viewer)
        viewer.wait_for_timeout(500)  # the panel's entrance
        _keep(seller, "show-seller-live-1366")
        _keep(viewer, "show-viewer-1366")
        assert_accessible(viewer, "stall page with a live show and a flash auction over it")
        assert_accessible(seller, "seller's live panel")

        seller.get_by_role("button", name="End show").click()
        viewer.get_by_text("The show has ended").wait_for(timeout=15_000)
        card_badge.wait_for(state="hidden", timeout=15_000)
        seller.get_by_text("Your show has ended").wait_for()

    def test_on_a_phone_camera_off_and_switch_camera_while_a_viewer_watches(self):
        seller = self.go_live(viewport=PHONE)
        _keep(seller, "show-seller-setup-390")
        assert_accessible(seller, "seller's Go live panel on a phone")
        cameras = seller.get_by_label("Camera").locator("option").all_inner_texts()
        assert cameras == ["fake_device_0", "fake_device_1", "fake_device_2"], cameras
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        viewer = self.new_page(self.viewer, viewport=PHONE)
        viewer.add_init_script(WATCH_PEERS)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "() => document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        sent = """() => window.__pcs.flatMap((pc) => pc.getSenders())
            .filter((s) => s.track && s.track.kind === 'video')
            .map((s) => [s.track.label, s.track.enabled])"""

        camera_off = seller.get_by_role("button", name="Camera off")
        camera_off.click()
        on_again = seller.get_by_role("button", name="Camera on")
        assert on_again.get_attribute("aria-pressed") == "true"
        assert seller.evaluate(sent) == [["fake_device_0", False]]
        on_again.click()
        assert seller.evaluate(sent) == [["fake_device_0", True]]

        switch = seller.get_by_role("button", name="Switch camera")
        no_picture = seller.get_by_role("alert").filter(has_text="Your viewers see no picture")
        assert not no_picture.is_visible()
        switch.click()
        seller.get_by_text("Now on fake_device_1.").wait_for()
        assert seller.evaluate(sent) == [["fake_device_1", True]]
        # The depth camera encodes nothing: the seller is told, not left with a frozen show.
        no_picture.wait_for(timeout=10_000)
        _keep(seller, "show-seller-no-picture-390")
        assert_accessible(seller, "seller told their camera sends no picture")
        switch.click()
        seller.get_by_text("Now on fake_device_2.").wait_for()
        assert seller.evaluate(sent) == [["fake_device_2", True]]
        no_picture.wait_for(state="hidden", timeout=10_000)
        # The same connection carries the other camera: the viewer keeps decoding.
        _wait_for_frames(viewer, _frames(viewer) + 10)
        _keep(seller, "show-seller-live-390")

        # On a phone the chat's latest lines and the auction's panel sit over the video.
        viewer.get_by_role("combobox", name="Message").fill("Is the Bowie record still there?")
        viewer.get_by_role("combobox", name="Message").press("Enter")
        overlay = viewer.locator("[data-show-chat-overlay] li")
        overlay.filter(has_text="Bowie record").wait_for(timeout=10_000)
        _flash_auction(seller)
        _assert_over_the_video(viewer)
        assert overlay.filter(has_text="Bowie record").is_visible()
        viewer.wait_for_timeout(500)  # the panel's entrance
        _keep(viewer, "show-viewer-390")
        assert_accessible(viewer, "stall on a phone with a flash auction over the video")

    def test_the_server_subscribes_a_viewer_and_the_page_waits_to_run_the_rest(self):
        """The stall page comes subscribed (Janus's session, handle and offer made while
        the server rendered it): the page's first word to Janus is its answer. It joined
        on the 480p layer and moves to its player's layer only after its first frame (a
        "configure" before it would have Janus ask the seller for a keyframe nobody can
        take yet). The page's other scripts, the show's own among them, run after that
        frame too."""
        seller = self.go_live()
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        viewer = self.new_page(self.viewer, viewport=DESKTOP)
        viewer.add_init_script(WATCH_JANUS_REQUESTS)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "() => document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        viewer.wait_for_function(
            "() => window.__janusSent.some(([, m]) => m.body && m.body.request === 'configure')"
        )
        frame_at, sent, later = viewer.evaluate(
            r"""() => [
                performance.getEntriesByName('show:frame')[0].startTime,
                window.__janusSent,
                performance.getEntriesByType('resource')
                    .filter((r) => /js\/(offers|stall-room|lightbox|auction|show-tools|shows\/\w)/
                        .test(r.name))
                    .map((r) => r.startTime),
            ]"""
        )
        assert not [m for _, m in sent if m["janus"] in ("create", "attach")], sent
        requests = [(at, m["body"]) for at, m in sent if m["janus"] == "message"]
        assert requests[0][1] == {"request": "start"}, requests
        assert [m["jsep"]["type"] for _, m in sent if "jsep" in m] == ["answer"]
        assert not [body for _, body in requests if body["request"] == "join"]
        configures = [(at, body) for at, body in requests if body["request"] == "configure"]
        assert [body["substream"] for _, body in configures] == [1]
        assert configures[0][0] > frame_at
        assert len(later) == 10 and min(later) > frame_at, (later, frame_at)
        # The chat runs as ever once they are in.
        # The room's script loads after the first frame: speak once its socket is up.
        viewer.locator("[data-room-status][data-state=live]").wait_for()
        viewer.get_by_role("combobox", name="Message").fill("Hello from the aisle")
        viewer.get_by_role("combobox", name="Message").press("Enter")
        viewer.locator("[data-chat-list]").get_by_text("Hello from the aisle").wait_for()

    def test_a_subscribed_viewer_decodes_without_janus_js(self):
        """A page that comes with the server's subscription answers Janus's offer with
        the head's own client: janus.js is never loaded, read or set on the way to the
        first frame and after it. The page posts its answer with an end of candidates
        and no candidate (Janus learns its address from its connectivity checks)."""
        viewer, first = self.viewer_decoding(JANUS_UNTOUCHED)
        # The deferred scripts (stage.js adopting the connection) and the later ones ran.
        viewer.wait_for_function("() => performance.getEntriesByName('show:grant').length")
        touched, janus_js, marks, sent = viewer.evaluate(
            r"""() => [
                window.__janusTouched,
                performance.getEntriesByType('resource').filter((r) => /janus\.js/.test(r.name))
                    .map((r) => r.name),
                performance.getEntriesByType('mark').map((m) => m.name),
                window.__janusSent.map(([, m]) => m),
            ]"""
        )
        assert touched == [] and janus_js == [], (touched, janus_js)
        # The server's subscription: straight to the answer, no session or attach of its own.
        assert {"show:session", "show:offer", "show:answer"} <= set(marks), marks
        assert "show:attach" not in marks and "show:library" not in marks, marks
        assert not [m for m in sent if m["janus"] in ("create", "attach")], sent
        trickles = [m["candidate"] for m in sent if m["janus"] == "trickle"]
        assert trickles == [{"completed": True}], trickles
        assert _frames(viewer) > first > 0

    def test_a_viewer_tells_janus_its_answer_first_and_is_the_dtls_server(self):
        """The viewer's answer goes to Janus as soon as it is made, before the page sets
        it, with the DTLS roles turned: Janus the client, the page the server (the
        browser as client sent its hello before Janus could take it, and waited for its
        own retransmission). Frames flow over it."""
        viewer, first = self.viewer_decoding()
        answered_at, sent, local_sdp, roles = viewer.evaluate(
            """async () => {
                const pc = window.__pcs[0];
                const roles = [];
                (await pc.getStats()).forEach((s) => {
                    if (s.type === 'transport') roles.push([s.dtlsRole, s.dtlsState]);
                });
                return [performance.getEntriesByName('show:answer')[0].startTime,
                    window.__janusSent, pc.localDescription.sdp, roles];
            }"""
        )
        [(sent_at, answer)] = [(at, m["jsep"]) for at, m in sent if "jsep" in m]
        assert sent_at < answered_at, (sent_at, answered_at)
        assert _said(answer["sdp"]) == _said(local_sdp)  # what Janus heard is what was set
        assert "a=setup:passive" in answer["sdp"] and "a=setup:active" not in answer["sdp"]
        assert roles == [["server", "connected"]], roles
        assert _frames(viewer) > first > 0

    def test_closing_the_sellers_tab_ends_the_show(self):
        seller = self.go_live()
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        viewer = self.new_page(self.viewer)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "() => document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        seller.close(run_before_unload=False)
        viewer.get_by_text("The show has ended").wait_for(timeout=30_000)

    def test_watchers_without_a_browser_decode_the_480p_layer_and_count_as_watching(self):
        """bench/video.py's cheaper watchers (bench/_rtc_watchers): each enters by the stall
        page, subscribes on Janus, decodes the seller's 480p layer and beats as the stage
        does, so the seller sees them watching."""
        from bench._rtc_watchers import watching

        seller = self.go_live()
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        with watching(self.stall_url, 2, ready_seconds=20) as watchers:
            ready = watchers["ready"]
            assert [state["error"] for state in ready] == ["", ""], ready
            assert all(state["frames"] > 0 for state in ready), ready
            seller.locator("[data-show-seller-watching]").filter(has_text="2").wait_for(
                timeout=25_000
            )
            later = watchers["states"]()
        assert all(
            after["frames"] > before["frames"] for before, after in zip(ready, later, strict=True)
        ), (ready, later)
        # Substream 0: the low layer (480 lines, or fewer if the encoder scaled it down).
        assert all(0 < state["height"] <= 480 for state in later), later
        assert [state["error"] for state in later] == ["", ""], later
        # Without the server's subscription ahead (a page whose server was late): the
        # watcher creates its session, attaches and joins the 480p layer itself.
        with watching(self.stall_url, 1, ready_seconds=20, ahead=False) as watchers:
            assert watchers["ready"][0]["frames"] > 0, watchers["ready"]
            assert 0 < watchers["ready"][0]["height"] <= 480, watchers["ready"]
