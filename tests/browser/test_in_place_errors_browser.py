"""Refusals show where the person acted, with DEBUG on and off (issue 13, point 1):
the page around the form stays whole, the message appears beside the form, and a
server failure (5xx) or a lost connection says so in place too."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from bazaar.idempotency import new_key
from offers.services import offer_make
from orders.checkout.services import cart_add
from tests.browser.conftest import (
    NO_SOCKET,
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    until_the_room_is_empty,
    verified_user,
)

pytestmark = pytest.mark.browser


def _seed():
    """Kim's lamp stall; Alice has offered on the lamp and has the shade in her cart."""
    stall, (lamp, shade) = lamp_stall(description="Lamps.")
    alice = verified_user("alice")
    offer_make(buyer=alice, item=lamp, amount_cents=2000, message="", idempotency_key=new_key())
    cart_add(buyer=alice, item=shade, quantity=1)
    return stall, lamp, shade, stall.seller.user, alice


class RefusalsInPlace(BrowserTestCase):
    """DEBUG as the test settings have it (off)."""

    def setUp(self):
        super().setUp()
        self.stall, self.lamp, self.shade, self.keeper, self.alice = off_the_event_loop(_seed)

    def tearDown(self):
        super().tearDown()
        until_the_room_is_empty(self.stall.pk)

    def visit(self, user, path, init_script=""):
        page = self.new_page(user)
        if init_script:
            page.add_init_script(init_script)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{self.live_server_url}{path}")
        return page

    def still_whole(self, page, heading):
        """The page was not replaced: its top bar and heading are still there."""
        expect(page.locator("header.topbar")).to_be_visible()
        expect(page.locator("main h1").first).to_contain_text(heading)

    def test_a_buyers_refusals_show_beside_the_form(self):
        # With the stall socket the offer forms send intents; these are the POSTs' answers.
        page = self.visit(self.alice, f"/stalls/{self.stall.public_id}/", NO_SOCKET)
        page.locator(".item-card", has_text="Green shade").locator("a.item-link").click()
        panel = page.locator("#item-drawer.open [data-offers-panel]")
        amount = panel.locator("[data-offer-amount]")
        amount.fill("abc")
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-offer-error]")).to_contain_text("amount")
        panel.locator("[data-offer-amount]").fill("26")
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-offer-error]")).to_have_text("Offer at most the price, $25.00.")
        expect(panel.locator("[data-offer-amount]")).to_have_value("26")
        self.still_whole(page, "Brass & Lamps")

        # The server fails: the form says so, and nothing else on the page changes.
        page.route("**/offers/new/", lambda route: route.fulfill(status=500, body="<h1>Boom</h1>"))
        panel.locator("[data-offer-amount]").fill("20")
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-request-error]")).to_have_text(
            "Something went wrong on our side, so nothing was changed. Please try again."
        )
        page.unroute("**/offers/new/")
        page.route("**/offers/new/", lambda route: route.abort())
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-request-error]")).to_have_text(
            "The market could not be reached. Check your connection and try again."
        )
        self.still_whole(page, "Brass & Lamps")
        page.unroute("**/offers/new/")

        # One shade is in the cart already, and there is only one.
        page.keyboard.press("Escape")
        card = page.locator(f"#item-{self.shade.public_id}")
        card.locator(".add-to-cart button").click()
        expect(card.locator("[data-cart-error]")).to_have_text("Only 1 of “Green shade” available.")
        expect(card.locator(".add-to-cart button")).to_be_visible()
        self.still_whole(page, "Brass & Lamps")

        page.goto(f"{self.live_server_url}/cart/")
        line = page.locator("tr", has_text="Green shade")
        line.locator("input[name=quantity]").fill("3")
        line.get_by_role("button", name="Update").click()
        expect(line.locator(".error-message")).to_have_text("Only 1 of “Green shade” available.")
        expect(line.locator("input[name=quantity]")).to_have_value("3")
        self.still_whole(page, "Your cart")

    def test_a_sellers_refusals_show_in_their_dashboard_panels(self):
        page = self.visit(self.keeper, "/dashboard/stall/")
        offers = page.locator("#seller-offers")
        thread = offers.locator(".offer-thread")
        thread.locator("[data-offer-amount]").fill("abc")
        thread.locator("[data-offer-counter]").click()
        expect(offers.locator("[data-offer-error]")).to_contain_text("amount")
        offers.locator(".auto-prices input[name=accept]").first.fill("99")
        offers.locator(".auto-prices button").first.click()
        expect(offers.locator("[data-offer-error]")).to_contain_text("below the list price")
        self.still_whole(page, "Your stall")

        auctions = page.locator("#auctions-panel")
        auctions.locator("[name=start]").fill("abc")
        auctions.locator("button[type=submit]", has_text="Start auction").click()
        expect(auctions.locator(".errorlist")).to_contain_text("amount")
        expect(auctions.locator("[name=start]")).to_have_value("abc")
        self.still_whole(page, "Your stall")

        payouts = page.locator("#payouts-panel")
        payouts.locator("[name=shipping]").fill("abc")
        payouts.get_by_role("button", name="Save").click()
        expect(payouts.locator(".errorlist")).to_contain_text("amount")
        self.still_whole(page, "Your stall")


@override_settings(DEBUG=True)
class RefusalsInPlaceWithDebug(RefusalsInPlace):
    """The same with DEBUG on, as `make run` serves the market."""

    def test_the_server_runs_with_debug_on(self):
        page = self.visit(None, "/no-such-page/")
        expect(page.locator("body")).to_contain_text("Using the URLconf defined in")
