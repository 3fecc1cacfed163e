"""The top bar on a phone and a desktop (issue 13, points 6 and 10): a Menu button on
phones that works by keyboard and screen reader, nothing wrapping, no sideways
scrolling, the walking hint for the device in hand, "My offers" and "My bids" in the
menu, and a cart count that follows the cart."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from auctions.services.bidding import bid_place
from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from market.services import sections_ensure
from offers.services import offer_make
from tests.auctions.conftest import save_card
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    screenshot,
    seller_stall,
    verified_user,
)

pytestmark = pytest.mark.browser

TOUCH = {"has_touch": True, "is_mobile": True}
SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
# How many lines of text each visible link and button of the top bar takes.
LINES = """() => [...document.querySelectorAll('.topbar a, .topbar button')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => {
        const tops = new Set();
        const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        while (texts.nextNode()) {
            if (!texts.currentNode.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(texts.currentNode);
            for (const rect of range.getClientRects()) {
                if (rect.width) tops.add(Math.round(rect.top));
            }
        }
        return [el.textContent.trim(), tops.size];
    })"""


def _seed():
    sections_ensure(coordinates=[(0, 0), (1, 0)])
    stall = seller_stall(handle="keeper", legal_name="Kim Keeper", name="Brass & Lamps")
    lamp = item_with_photo(
        stall=stall,
        title="Brass lamp",
        description="A brass desk lamp.",
        price_cents=2500,
        inventory=3,
        colour=(190, 140, 50),
    )
    item_with_photo(
        stall=stall,
        title="Extraordinarily ornate Victorian candelabra",
        description="Heavy.",
        price_cents=123456,
        inventory=12,
        colour=(120, 100, 60),
    )
    alice = verified_user("alice")
    save_card(alice)
    auction = auction_start(
        actor=stall.seller.user,
        item=lamp,
        start_cents=1000,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(minutes=30),
        idempotency_key=new_key(),
    )
    bid_place(bidder=alice, auction=auction, amount_cents=1000, idempotency_key=new_key())
    offer_make(buyer=alice, item=lamp, amount_cents=2000, message="", idempotency_key=new_key())
    return stall, stall.seller.user, alice


class TopBarInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.keeper, self.alice = off_the_event_loop(_seed)

    def visit(self, user, path, viewport=DESKTOP, **options):
        page = self.new_page(user, viewport=viewport, **options)
        page.goto(f"{self.live_server_url}{path}")
        return page

    def test_on_a_phone_the_menu_is_behind_a_button_that_works_by_keyboard(self):
        page = self.visit(self.keeper, "/market/0/0/", PHONE, **TOUCH)
        button = page.get_by_role("button", name="Menu")
        menu = page.get_by_role("navigation", name="Main")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(button).to_have_attribute("aria-controls", "site-menu")
        expect(menu.get_by_role("link", name="My bids")).to_be_hidden()
        assert all(lines == 1 for _, lines in page.evaluate(LINES)), page.evaluate(LINES)
        assert not page.evaluate(SIDEWAYS)
        screenshot(page, "top-bar-phone")

        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        entries = menu.get_by_role("listitem")
        expect(entries).to_have_text(
            ["Orders", "My offers", "My bids", "Saved", "My stall", "@keeper", "Log out"]
        )
        expect(menu.get_by_role("link", name="Orders")).to_be_focused()
        assert all(lines == 1 for _, lines in page.evaluate(LINES)), page.evaluate(LINES)
        screenshot(page, "top-bar-phone-menu-open")
        page.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(menu.get_by_role("link", name="Orders")).to_be_hidden()
        expect(button).to_be_focused()

        # By keyboard alone: Enter opens it, Tab walks it, tabbing past the end closes it.
        page.keyboard.press("Enter")
        expect(menu.get_by_role("link", name="Orders")).to_be_focused()
        for name in ["My offers", "My bids", "Saved", "My stall", "@keeper"]:
            page.keyboard.press("Tab")
            expect(menu.get_by_role("link", name=name)).to_be_focused()
        page.keyboard.press("Tab")
        expect(menu.get_by_role("button", name="Log out")).to_be_focused()
        page.keyboard.press("Tab")
        expect(button).to_have_attribute("aria-expanded", "false")

        # A tap outside closes it; an entry takes you there and says it is current.
        button.click()
        page.mouse.click(PHONE["width"] // 2, PHONE["height"] - 40)
        expect(button).to_have_attribute("aria-expanded", "false")
        button.click()
        menu.get_by_role("link", name="My bids").click()
        expect(page.locator("main h1")).to_have_text("My bids")
        page.get_by_role("button", name="Menu").click()
        expect(menu.get_by_role("link", name="My bids")).to_have_attribute("aria-current", "page")

    def test_on_a_desktop_the_menu_is_inline(self):
        page = self.visit(self.alice, "/market/0/0/")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        menu = page.get_by_role("navigation", name="Main")
        for name in ["Orders", "My offers", "My bids", "Sell here", "@alice"]:
            expect(menu.get_by_role("link", name=name)).to_be_visible()
        assert all(lines == 1 for _, lines in page.evaluate(LINES)), page.evaluate(LINES)
        screenshot(page, "top-bar-desktop")

    def test_the_sellers_dashboard_fits_a_phone(self):
        page = self.visit(self.keeper, "/dashboard/stall/", PHONE, **TOUCH)
        page.locator("#seller-offers .offer-items").wait_for()
        page.locator("#auctions-panel").wait_for()
        page.locator("#payouts-panel").wait_for()
        assert not page.evaluate(SIDEWAYS), "the dashboard scrolls sideways on a phone"
        screenshot(page, "dashboard-phone")
        page.set_viewport_size(DESKTOP)
        screenshot(page, "dashboard-desktop")

    def test_the_walking_hint_fits_the_device_and_a_swipe_walks(self):
        desktop = self.visit(None, "/market/0/0/")
        expect(desktop.locator(".walk-hint .with-keys")).to_be_visible()
        expect(desktop.locator(".walk-hint .with-touch")).to_be_hidden()

        phone = self.visit(None, "/market/0/0/", PHONE, **TOUCH)
        expect(phone.locator(".walk-hint .with-keys")).to_be_hidden()
        expect(phone.locator(".walk-hint .with-touch")).to_be_visible()
        box = phone.locator(".stall-grid").bounding_box()
        phone.evaluate(
            """([x, y]) => {
                const grid = document.querySelector('.stall-grid');
                const at = (clientX) => [
                    new Touch({identifier: 1, target: grid, clientX, clientY: y})];
                const send = (type, touches, changedTouches) => grid.dispatchEvent(
                    new TouchEvent(type, {bubbles: true, touches, changedTouches}));
                send('touchstart', at(x), at(x));
                send('touchend', [], at(x - 150));  // a swipe to the left
            }""",
            [box["x"] + box["width"] - 20, box["y"] + 40],
        )
        expect(phone.locator("[data-testid=coords]")).to_have_text("1/0")
        # Not full-page: Chromium's full-page capture drops the touch emulation.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SCREENSHOTS / "market-phone-touch.png"))

    def test_the_cart_count_follows_the_cart(self):
        page = self.visit(self.alice, f"/stalls/{self.stall.public_id}/")
        count = page.locator("#cart-count")
        expect(count).to_have_text("")
        expect(count).to_be_hidden()
        page.locator(".item-card", has_text="Brass lamp").locator(".add-to-cart button").click()
        expect(count).to_have_text(", 1 item")  # read as "Cart, 1 item"
        expect(count).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(r"^Cart\W+1 item$"))).to_be_visible()

        page.goto(f"{self.live_server_url}/cart/")
        line = page.locator("tr", has_text="Brass lamp")
        line.locator("input[name=quantity]").fill("2")
        line.get_by_role("button", name="Update").click()
        expect(count).to_have_text(", 2 items")
        expect(page.locator(".cart-total")).to_contain_text("$50.00")
        screenshot(page, "cart-with-count")
        page.locator("tr", has_text="Brass lamp").get_by_role("button", name="Remove").click()
        expect(page.locator("#cart")).to_contain_text("Your cart is empty")
        expect(count).to_have_text("")

    def test_my_offers_and_my_bids_are_in_the_menu(self):
        page = self.visit(self.alice, "/market/0/0/")
        menu = page.get_by_role("navigation", name="Main")
        menu.get_by_role("link", name="My offers").click()
        expect(page.locator("main h1")).to_have_text("My offers")
        expect(page.locator(".offer-item")).to_contain_text("Brass lamp")
        menu.get_by_role("link", name="My bids").click()
        bid = page.locator("[data-my-bid]")
        expect(bid).to_contain_text("Brass lamp")
        expect(bid.locator("[data-bid-state]")).to_have_text("Leading")
        screenshot(page, "my-bids-desktop")
        page.set_viewport_size(PHONE)
        assert not page.evaluate(SIDEWAYS)
        screenshot(page, "my-bids-phone")
