"""The playbook's exit criteria in a real browser: two items from two sellers in the
cart, paid with the test gateway, both orders in escrow, one seller ships, the buyer
confirms, that order is released and its seller paid. A dispute settled with a
partial refund reads so, and each side sees only its own money (issue 13, point 7)."""

import pytest
from playwright.sync_api import expect

from governance.models import Role
from governance.services import role_grant
from market.services import sections_ensure
from orders.escrow.services import order_dispute_open, order_dispute_settle
from orders.models import MoneyMove, Order, Payment
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
from tests.orders.conftest import connect_payouts, pay, save_address, start_checkout

pytestmark = pytest.mark.browser


def _seed():
    sections_ensure(coordinates=[(0, 0)])
    stalls = []
    for slot, (handle, stall_name, title, price, colour) in enumerate(
        [
            ("lampkeeper", "Brass & Lamps", "Brass lamp", 2500, (190, 140, 50)),
            ("potter", "Green Pots", "Green vase", 1800, (60, 130, 80)),
        ]
    ):
        stall = seller_stall(handle=handle, legal_name=handle.title(), name=stall_name, slot=slot)
        item_with_photo(
            stall=stall,
            title=title,
            description=f"A {title.lower()}.",
            price_cents=price,
            inventory=2,
            colour=colour,
        )
        stalls.append(stall)
    return stalls, verified_user("shopper")


class CheckoutInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        (self.lamps, self.pots), self.buyer = off_the_event_loop(_seed)

    def as_user(self, user, viewport=DESKTOP):
        page = self.new_page(user, viewport=viewport)
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    def url(self, path):
        return f"{self.live_server_url}{path}"

    def test_two_sellers_one_checkout_ship_confirm_release(self):
        shopper = self.as_user(self.buyer)
        for stall in (self.lamps, self.pots):
            shopper.goto(self.url(f"/stalls/{stall.public_id}/"))
            shopper.locator(".item-card .add-to-cart button").first.click()
            shopper.locator(".item-card .cart-added").wait_for()
        screenshot(shopper, "orders-stall-added")

        shopper.goto(self.url("/cart/"))
        assert shopper.locator(".cart-group").count() == 2
        assert "$43.00" in shopper.locator(".cart-total").inner_text()
        screenshot(shopper, "orders-cart")
        shopper.get_by_role("link", name="Check out").click()

        # The first checkout asks for the address, then offers to pay.
        assert shopper.locator("button.pay").is_disabled()
        shopper.fill("#id_name", "Sam Shopper")
        shopper.fill("#id_line1", "12 Canal Street")
        shopper.fill("#id_postal_code", "10013")
        shopper.fill("#id_city", "New York")
        shopper.get_by_role("button", name="Save address").click()
        shopper.get_by_text("Shipping address saved.").wait_for()
        screenshot(shopper, "orders-checkout")
        shopper.get_by_role("button", name="Pay $43.00").click()

        shopper.locator(".test-mode-badge").wait_for()
        assert "Pay with a test card" in shopper.locator("h1").inner_text()
        screenshot(shopper, "orders-test-gateway")
        shopper.fill("#card_number", "4000 0000 0000 0002")
        shopper.get_by_role("button", name="Pay $43.00").click()
        shopper.get_by_text("Your card was declined (test card).").wait_for()
        shopper.fill("#card_number", "4242 4242 4242 4242")
        shopper.get_by_role("button", name="Pay $43.00").click()
        shopper.get_by_text("Thank you, it's paid").wait_for()
        screenshot(shopper, "orders-paid")
        statuses = off_the_event_loop(
            lambda: sorted(Order.objects.values_list("stall__name", "status"))
        )
        assert statuses == [("Brass & Lamps", "paid_escrow"), ("Green Pots", "paid_escrow")]
        assert off_the_event_loop(lambda: Payment.objects.get().status) == "paid"

        # The lamp seller connects payouts from the dashboard and ships.
        seller = self.as_user(self.lamps.seller.user)
        seller.goto(self.url("/dashboard/stall/"))
        seller.get_by_role("button", name="Connect payouts (test mode)").click()
        seller.get_by_role("button", name="Finish onboarding (test)").click()
        seller.get_by_text("Payouts are connected").wait_for()
        seller.locator("#payouts-panel .badge.approved").wait_for()
        seller.locator("#payouts-panel").scroll_into_view_if_needed()
        screenshot(seller, "orders-dashboard-payouts")
        seller.get_by_role("link", name="Orders from your stall").first.click()
        seller.locator(".order-list a").first.click()
        seller.fill("#id_carrier", "UPS")
        seller.fill("#id_tracking_number", "1Z999AA10123456784")
        seller.get_by_role("button", name="Mark as shipped").click()
        seller.get_by_text("Marked as shipped").wait_for()
        screenshot(seller, "orders-seller-shipped")

        # The buyer sees the escrow countdown, confirms, and the seller is paid.
        lamp_order = off_the_event_loop(lambda: Order.objects.get(stall=self.lamps))
        shopper.goto(self.url(f"/orders/{lamp_order.public_id}/"))
        assert "Escrow ends" in shopper.locator(".countdown").inner_text()
        assert "days" in shopper.locator("[data-countdown]").inner_text()
        screenshot(shopper, "orders-buyer-shipped")
        shopper.get_by_role("button", name="Yes, I received it").click()
        shopper.get_by_text("Thank you! The seller is being paid.").wait_for()
        assert "Released to the seller" in shopper.locator("h1 .status").inner_text()
        screenshot(shopper, "orders-released")

        released = off_the_event_loop(
            lambda: dict(Order.objects.values_list("stall__name", "status"))
        )
        assert released == {"Brass & Lamps": "released", "Green Pots": "paid_escrow"}
        transfer = off_the_event_loop(lambda: MoneyMove.objects.get())
        assert (transfer.kind, transfer.status, transfer.amount_cents) == ("transfer", "done", 2375)

        phone = self.as_user(self.buyer, viewport=PHONE)
        phone.goto(self.url(f"/orders/{lamp_order.public_id}/"))
        screenshot(phone, "orders-released-phone")
        phone.goto(self.url("/orders/"))
        assert phone.locator(".order-list li").count() == 2
        screenshot(phone, "orders-list-phone")


def _settled_in_part(buyer, stall):
    """The buyer paid for the lamp ($25.00), disputed it, and a steward refunded $10.00:
    the rest, less the platform fee, is paid out to the seller."""
    connect_payouts(stall.seller.user)
    save_address(buyer)
    payment = start_checkout(buyer, stall.items.get())
    pay(payment)
    order = payment.orders.get()
    order_dispute_open(actor=buyer, order=order, reason="One chip on the base.")
    steward = verified_user("steward")
    role_grant(user=steward, role=Role.STEWARD, granted_by=None)
    order_dispute_settle(actor=steward, order=order, refund_cents=1000, reason="A small chip")
    return order


class PartialRefundInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        (self.lamps, _), self.buyer = off_the_event_loop(_seed)
        self.order = off_the_event_loop(_settled_in_part, self.buyer, self.lamps)
        self.path = f"/orders/{self.order.public_id}/"

    def test_a_partial_refund_reads_so_and_the_buyer_sees_no_payout_or_fee(self):
        buyer = self.new_page(self.buyer)
        buyer.goto(f"{self.live_server_url}{self.path}")
        expect(buyer.locator("h1 .status")).to_have_text("Partly refunded")
        expect(buyer.locator("main")).to_contain_text("Refunded to you")
        expect(buyer.locator("main")).to_contain_text("$10.00")
        for secret in ["Payout to seller", "fee", "$14.25", "$0.75"]:
            expect(buyer.locator("main")).not_to_contain_text(secret)
        screenshot(buyer, "order-partly-refunded-buyer")
        buyer.goto(f"{self.live_server_url}/orders/")
        expect(buyer.locator(".order-list")).to_contain_text("Partly refunded")

        seller = self.new_page(self.lamps.seller.user, viewport=PHONE)
        seller.goto(f"{self.live_server_url}{self.path}")
        expect(seller.locator("h1 .status")).to_have_text("Partly refunded")
        money = seller.locator("section", has=seller.get_by_role("heading", name="Money"))
        expect(money).to_contain_text("Payout to seller")
        expect(money).to_contain_text("$14.25")
        expect(money).to_contain_text("fee $0.75 kept")
        screenshot(seller, "order-partly-refunded-seller-phone")
