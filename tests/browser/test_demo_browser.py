"""The demo market as a newcomer meets it: stalls that look like a flea market, with
prices, and a flash auction a click away. Screenshots at 1366 and 390 px."""

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from market.seeding import demo_auctions_running, seed_market
from tests.browser.conftest import PHONE, BrowserTestCase, off_the_event_loop, screenshot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}


def _images_loaded(page) -> None:
    """Every image on the page has been fetched and decoded (none broken)."""
    page.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
    )
    page.wait_for_function(
        "() => [...document.images].every(image => image.complete && image.naturalWidth > 0)"
    )


@override_settings(DEMO_MARKET=True)
class DemoMarketInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        off_the_event_loop(seed_market, sections=2, stalls=5)

    def test_a_newcomer_sees_stalls_with_prices_and_finds_a_flash_auction(self):
        for viewport, width in ((WIDE, 1366), (PHONE, 390)):
            page = self.new_page(viewport=viewport)
            page.goto(f"{self.live_server_url}/market/0/0/")
            cards = page.locator("a.stall-card")
            expect(cards).to_have_count(6)
            expect(cards.first.locator(".meta")).to_contain_text(
                re.compile(r"\d+ items? · from \$\d")
            )
            _images_loaded(page)
            expect(page.locator(".demo-credit")).to_contain_text("OpenMoji")
            screenshot(page, f"demo-grid-{width}")

            # The card's name, as a person taps it (its centre may hold the auction badge).
            card = page.get_by_role("link", name=re.compile("^The Curiosity Cabinet"))
            card.locator(".stall-name").click()
            expect(page.get_by_role("heading", name="The Curiosity Cabinet")).to_be_visible()
            expect(page.locator(".item-card")).to_have_count(8)
            expect(page.locator(".item-card .price").first).to_contain_text("$")
            _images_loaded(page)
            screenshot(page, f"demo-stall-{width}")

            # An item whose unit is in its auction says where to bid, not "Sold out".
            in_auction = page.locator(".item-card").filter(has=page.locator(".auction-badge"))
            expect(
                in_auction.first.get_by_role("link", name=re.compile("^Bid now on "))
            ).to_be_visible()
            expect(in_auction.first.get_by_text("Sold out")).to_be_hidden()

            page.locator(".item-card .auction-badge").first.click()
            expect(page).to_have_url(re.compile(r"/auctions/[0-9A-Z]{26}/$"))
            expect(page.get_by_text("Ends in")).to_be_visible()
            _images_loaded(page)
            screenshot(page, f"demo-auction-{width}")

    def test_the_grid_badges_lead_to_the_running_auctions(self):
        running = off_the_event_loop(demo_auctions_running)
        page = self.new_page(viewport=WIDE)
        addresses = set()
        for x, y in ((0, 0), (1, 0), (0, 1), (1, 1)):
            page.goto(f"{self.live_server_url}/market/{x}/{y}/")
            for badge in page.locator(".auction-badge").all():
                addresses.add(badge.get_attribute("href"))
        assert addresses == {f"/auctions/{auction.public_id}/" for auction in running}
