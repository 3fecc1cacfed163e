"""Back from the payment page (issue 15): the buyer's held units read as theirs, with
"Resume payment" and "Release" on the cart, usable by keyboard, at desktop and phone
widths, and axe finds nothing."""

import pytest

from market.services import sections_ensure
from orders.models import Payment
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    screenshot,
    seller_stall,
    verified_user,
)
from tests.orders.conftest import save_address

pytestmark = pytest.mark.browser


def _seed():
    sections_ensure(coordinates=[(0, 0)])
    stall = seller_stall(handle="lampkeeper", legal_name="Lampkeeper", name="Brass & Lamps")
    item_with_photo(
        stall=stall,
        title="Brass lamp",
        description="The last one.",
        price_cents=2500,
        inventory=1,
        colour=(190, 140, 50),
    )
    buyer = verified_user("shopper")
    save_address(buyer)
    return stall, buyer


class OpenCheckoutInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.buyer = off_the_event_loop(_seed)

    def url(self, path):
        return f"{self.live_server_url}{path}"

    def back_from_the_payment_page(self, viewport, *, add: bool):
        shopper = self.new_page(self.buyer, viewport=viewport)
        if add:
            shopper.goto(self.url(f"/stalls/{self.stall.public_id}/"))
            shopper.locator(".item-card .add-to-cart button").first.click()
            shopper.locator(".item-card .cart-added").wait_for()
        shopper.goto(self.url("/checkout/"))
        shopper.get_by_role("button", name="Pay $25.00").click()
        shopper.get_by_role("link", name="Cancel").click()  # the gateway's way back
        shopper.wait_for_url("**/cart/")
        return shopper

    def test_the_held_lamp_is_the_buyers_to_resume_or_release(self):
        for viewport, width in ((DESKTOP, 1366), (PHONE, 390)):
            shopper = self.back_from_the_payment_page(viewport, add=width == 1366)
            page = shopper.locator("main").inner_text()
            assert "sold out" not in page
            assert "Your payment is waiting" in page and "held for you" in page
            resume = shopper.get_by_role("link", name="Resume payment")
            assert "/test-gateway/sessions/" in resume.get_attribute("href")
            screenshot(shopper, f"orders-open-checkout-{width}")
            assert_accessible(shopper, f"cart with an open checkout at {width}")

            shopper.goto(self.url("/checkout/"))
            assert shopper.get_by_role("button", name="Pay $25.00").is_enabled()
            assert "Your payment is waiting" in shopper.locator("main").inner_text()
            screenshot(shopper, f"orders-open-checkout-checkout-{width}")
            shopper.goto(self.url("/cart/"))

            # By keyboard: focus Release and press Enter.
            shopper.get_by_role("button", name="Release").focus()
            shopper.keyboard.press("Enter")
            shopper.get_by_text("Released: what that checkout held is back on sale.").wait_for()
            assert "Your payment is waiting" not in shopper.locator("main").inner_text()
            screenshot(shopper, f"orders-open-checkout-released-{width}")
            statuses = off_the_event_loop(
                lambda: set(Payment.objects.values_list("status", flat=True))
            )
            assert statuses == {"cancelled"}
            shopper.context.close()
