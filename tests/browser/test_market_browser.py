"""What only a browser shows: keyboard walking, history, the minimap, the pages."""

import re

import pytest
from playwright.sync_api import expect

from market.services import sections_ensure
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    screenshot,
    seller_stall,
    sign_in,
)

pytestmark = pytest.mark.browser


def _seed():
    sections_ensure(coordinates=[(x, y) for x in range(4) for y in range(4)])
    stalls = []
    for number, (x, y, slot) in enumerate([(0, 0, 0), (0, 0, 4), (1, 1, 2), (1, 1, 6)]):
        stall = seller_stall(
            handle=f"seller{number}",
            legal_name=f"Seller {number}",
            name=f"Stall number {number}",
            description="Old **treasures**.",
            x=x,
            y=y,
            slot=slot,
        )
        for colour in [(200, 90, 40), (40, 120, 200)]:
            item_with_photo(
                stall=stall,
                title=f"Thing {colour[0]}",
                description="",
                price_cents=1999,
                inventory=2,
                colour=colour,
            )
        stalls.append(stall)
    return stalls


class MarketInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stalls = off_the_event_loop(_seed)
        self.page = self.new_page(viewport=DESKTOP)
        self.context = self.page.context

    def open(self, path):
        self.page.goto(f"{self.live_server_url}{path}")

    def coords(self):
        return self.page.locator("[data-testid=coords]").inner_text()

    def test_keys_walk_the_grid_and_the_minimap_is_drawn(self):
        self.open("/market/0/0/")
        assert self.coords() == "0/0"
        self.page.keyboard.press("d")
        self.page.wait_for_url(re.compile(r"/market/1/0/$"))
        self.page.wait_for_timeout(200)
        self.page.keyboard.press("s")
        self.page.wait_for_url(re.compile(r"/market/1/1/$"))
        # The URL is pushed with the response; the swap and the title follow it.
        expect(self.page.locator("[data-testid=coords]")).to_have_text("1/1")
        expect(self.page.locator(".stall-grid")).to_contain_text("Stall number 2")
        expect(self.page).to_have_title(re.compile(r"^Section 1/1"))
        canvas = self.page.locator("#minimap")
        expect(canvas).to_have_attribute("data-drawn", "true")
        colours = self.page.evaluate(
            """() => {
                const c = document.getElementById('minimap');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 97) seen.add(d.slice(i, i + 3).join());
                return seen.size;
            }"""
        )
        assert colours > 3
        screenshot(self.page, "grid-desktop")

    def test_arrow_keys_repeat_guard_edges_and_history(self):
        self.open("/market/0/0/")
        self.page.keyboard.press("ArrowLeft")  # the west edge: nothing happens
        self.page.keyboard.press("w")  # the north edge
        self.page.wait_for_timeout(300)
        assert self.page.url.endswith("/market/0/0/")
        # Two presses in the same instant: the first moves, the repeat is ignored.
        self.page.evaluate(
            """() => {
                for (let i = 0; i < 2; i++) document.dispatchEvent(
                    new KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}));
            }"""
        )
        self.page.wait_for_url(re.compile(r"/market/1/0/$"))
        self.page.wait_for_timeout(400)
        assert self.coords() == "1/0"
        self.page.keyboard.press("ArrowDown")
        self.page.wait_for_url(re.compile(r"/market/1/1/$"))
        self.page.go_back()
        self.page.wait_for_url(re.compile(r"/market/1/0/$"))
        self.page.wait_for_function(
            "() => document.querySelector('[data-testid=coords]').innerText === '1/0'"
        )
        self.page.reload()
        assert self.coords() == "1/0"

    def test_keys_do_nothing_while_typing_in_a_field(self):
        self.open("/market/0/0/")
        self.page.locator("input[type=search]").fill("")
        self.page.locator("input[type=search]").type("dad")
        self.page.wait_for_timeout(400)
        assert self.page.url.endswith("/market/0/0/")
        assert self.coords() == "0/0"

    def test_clicking_the_minimap_goes_to_that_section(self):
        self.open("/market/0/0/")
        box = self.page.locator("#minimap").bounding_box()
        cell = box["width"] / 7
        # Two squares right and one down of the centre: section 2/1.
        self.page.mouse.click(box["x"] + cell * 5.5, box["y"] + cell * 4.5)
        self.page.wait_for_url(re.compile(r"/market/2/1/$"))
        assert self.coords() == "2/1"

    def test_search_box_finds_a_stall_live(self):
        self.open("/market/0/0/")
        self.page.locator("input[type=search]").type("number 3")
        result = self.page.locator("#search-results a", has_text="Stall number 3")
        result.wait_for()
        assert "section 1/1" in self.page.locator("#search-results").inner_text()

    def test_photos_rotate_on_a_card_and_pause_on_hover(self):
        self.open("/market/0/0/")
        card = self.page.locator(".stall-card[data-stall]").first
        visible = "el => [...el.querySelectorAll('img')].findIndex(i => !i.hidden)"
        first = card.evaluate(visible)
        self.page.wait_for_function(
            f"() => ({visible})(document.querySelector('.stall-card[data-stall]')) !== {first}",
            timeout=6000,
        )
        card.hover()
        paused_at = card.evaluate(visible)
        self.page.wait_for_timeout(4000)
        assert card.evaluate(visible) == paused_at

    def test_screenshots_of_pages_at_desktop_and_phone_width(self):
        stall = self.stalls[1]
        sign_in(self.context, stall.seller.user, self.live_server_url)
        for label, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
            self.page.set_viewport_size(viewport)
            self.open("/market/0/0/")
            screenshot(self.page, f"grid-{label}")
            self.open(f"/stalls/{stall.public_id}/")
            assert self.page.locator("h1").inner_text() == stall.name
            screenshot(self.page, f"stall-{label}")
            self.open("/dashboard/stall/")
            assert "Your stall" in self.page.locator("h1").inner_text()
            screenshot(self.page, f"dashboard-{label}")
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the dashboard scrolls sideways on a phone"
