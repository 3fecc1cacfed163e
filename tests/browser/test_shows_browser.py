"""A live show end to end on the embedded backend (Janus): the seller goes live with
chromium's fake camera, a viewer in another browser context receives frames (muted
at first), the grid card says LIVE with one watching, and End show reaches both."""

import os
import shutil
import subprocess
import time

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
from tests.conftest import need

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1366, "height": 900}

JANUS_PORT = free_port()
JANUS_URL = f"http://127.0.0.1:{JANUS_PORT}/janus"
JANUS_SECRET = "browser-test-janus-secret"
MEDIA_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-device-for-media-stream",
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
            return stall, verified_user("watcher")

        self.stall, self.viewer = off_the_event_loop(market)
        self.stall_url = f"{self.live_server_url}/stalls/{self.stall.public_id}/"

    def go_live(self, viewport=DESKTOP):
        seller = self.new_page(self.stall.seller.user, viewport=viewport)
        seller.add_init_script(WATCH_PEERS)
        seller.goto(self.stall_url)
        seller.get_by_role("button", name="Go live").click()
        seller.wait_for_function(
            "document.querySelector('[data-show-preview]').videoWidth > 0", timeout=15_000
        )
        seller.get_by_label("Show title").fill("Seventies vinyl, live")
        return seller

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

        viewer = self.new_page(self.viewer)
        viewer.add_init_script(WATCH_PEERS)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
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

        screenshot(seller, "show-seller-live-1366")
        screenshot(viewer, "show-viewer-1366")
        assert_accessible(viewer, "stall page with a live show")
        assert_accessible(seller, "seller's live panel")

        seller.get_by_role("button", name="End show").click()
        viewer.get_by_text("The show has ended").wait_for(timeout=15_000)
        card_badge.wait_for(state="hidden", timeout=15_000)
        seller.get_by_text("Your show has ended").wait_for()

    def test_the_sellers_panel_and_the_viewers_stage_on_a_phone(self):
        seller = self.go_live(viewport=PHONE)
        screenshot(seller, "show-seller-setup-390")
        assert_accessible(seller, "seller's Go live panel on a phone")
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        screenshot(seller, "show-seller-live-390")
        viewer = self.new_page(self.viewer, viewport=PHONE)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        # On a phone the chat's latest lines sit over the video.
        viewer.get_by_role("combobox", name="Message").fill("Is the Bowie record still there?")
        viewer.get_by_role("combobox", name="Message").press("Enter")
        overlay = viewer.locator("[data-show-chat-overlay] li")
        overlay.filter(has_text="Bowie record").wait_for(timeout=10_000)
        screenshot(viewer, "show-viewer-390")

    def test_closing_the_sellers_tab_ends_the_show(self):
        seller = self.go_live()
        seller.get_by_role("button", name="Start show").click()
        seller.locator("[data-show-live]").wait_for(state="visible", timeout=20_000)
        viewer = self.new_page(self.viewer)
        viewer.goto(self.stall_url)
        viewer.wait_for_function(
            "document.querySelector('[data-show-video]').videoWidth > 0", timeout=20_000
        )
        seller.close(run_before_unload=False)
        viewer.get_by_text("The show has ended").wait_for(timeout=30_000)
