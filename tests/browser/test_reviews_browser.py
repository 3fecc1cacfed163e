"""Review after release, in a real browser: the buyer confirms receipt, rates the
seller in place on the order page (a refusal said beside the field first), the stall
page and the item page's seller card show the rating, and the seller answers from the
reviews page in place. Screenshots at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from orders.escrow.services import order_ship
from orders.models import Order
from reviews.models import Review
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    PHONE,
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    screenshot,
    verified_user,
)
from tests.orders.conftest import pay, save_address, start_checkout

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}


def _shipped_order():
    stall, (lamp, _shade) = lamp_stall(description="Lamps, rewired and tested.")
    buyer = verified_user("shopper")
    save_address(buyer)
    pay(start_checkout(buyer, lamp))
    order = Order.objects.get(buyer=buyer)
    order_ship(actor=stall.seller.user, order=order, carrier="UPS", tracking_number="1Z999")
    return stall, lamp, buyer, order


class ReviewAfterRelease(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.lamp, self.buyer, self.order = off_the_event_loop(_shipped_order)

    def url(self, path: str) -> str:
        return f"{self.live_server_url}{path}"

    def test_the_buyer_rates_the_stall_shows_it_and_the_seller_answers(self):
        shopper = self.new_page(self.buyer, viewport=WIDE)
        order_url = self.url(f"/orders/{self.order.public_id}/")
        shopper.goto(order_url)
        assert shopper.locator("#order-review").count() == 0  # not before release
        shopper.get_by_role("button", name="Yes, I received it").click()
        shopper.get_by_text("Thank you! The seller is being paid.").wait_for()

        review = shopper.locator("#order-review")
        expect(review.get_by_role("heading", name="Rate this seller")).to_be_visible()
        review.get_by_role("button", name="Post your review").click()
        expect(review.get_by_text("Choose how many stars.")).to_be_visible()
        expect(review.get_by_text("Write a few words for your review.")).to_be_visible()
        assert shopper.url == order_url  # in place, no page load
        assert_accessible(shopper, "order page, review refused")
        review.get_by_label("Good").check()
        review.get_by_label("Your review").fill("Lovely lamp, well packed. A day late.")
        screenshot(shopper, "reviews-order-form-1366")
        review.get_by_role("button", name="Post your review").click()
        expect(review.get_by_role("status")).to_contain_text("your review is on")
        expect(review).to_contain_text("Lovely lamp, well packed.")
        expect(review).to_contain_text("4 out of 5 stars")
        assert off_the_event_loop(lambda: Review.objects.get().stars) == 4
        screenshot(shopper, "reviews-order-reviewed-1366")

        shopper.goto(self.url(f"/stalls/{self.stall.public_id}/"))
        hero = shopper.locator(".stall-hero .rating")
        expect(hero).to_contain_text("4.0")
        expect(hero).to_contain_text("(1 review)")
        expect(hero.locator(".visually-hidden")).to_have_text("Rated 4.0 out of 5")
        expect(shopper.locator(".stall-reviews")).to_contain_text("Lovely lamp, well packed.")
        assert_accessible(shopper, "stall page with a review")
        screenshot(shopper, "reviews-stall-1366")

        shopper.goto(self.url(f"/items/{self.lamp.public_id}/"))
        card = shopper.locator(".seller-card")
        expect(card.locator(".rating")).to_contain_text("(1 review)")
        card.scroll_into_view_if_needed()
        screenshot(shopper, "reviews-item-card-1366")

        seller = self.new_page(self.stall.seller.user, viewport=WIDE)
        seller.goto(self.url("/dashboard/stall/"))
        seller.get_by_role("link", name="Answer on your reviews page").click()
        entry = seller.locator(".review").first
        entry.get_by_text("Answer this review").click()
        entry.get_by_role("button", name="Post your answer").click()
        expect(seller.locator(".review").first).to_contain_text(
            "Write a few words for your answer."
        )
        entry = seller.locator(".review").first
        entry.get_by_label("Your answer").fill("Thank you! Sorry for the wait: the post office.")
        screenshot(seller, "reviews-answer-form-1366")
        entry.get_by_role("button", name="Post your answer").click()
        expect(seller.locator(".review .review-reply").first).to_contain_text("the post office")
        assert_accessible(seller, "reviews page, answered")
        screenshot(seller, "reviews-list-answered-1366")

        shopper.goto(self.url(f"/stalls/{self.stall.public_id}/"))
        expect(shopper.locator(".stall-reviews .review-reply")).to_contain_text("the post office")

        phone = self.new_page(self.buyer, viewport=PHONE)
        for path, name in (
            (f"/orders/{self.order.public_id}/", "reviews-order-reviewed-390"),
            (f"/stalls/{self.stall.public_id}/", "reviews-stall-390"),
            (f"/stalls/{self.stall.public_id}/reviews/", "reviews-list-390"),
            (f"/items/{self.lamp.public_id}/", "reviews-item-card-390"),
        ):
            phone.goto(self.url(path))
            screenshot(phone, name)

    def test_the_form_on_a_phone(self):
        off_the_event_loop(
            lambda: __import__("orders.escrow.services", fromlist=["x"]).order_confirm_received(
                actor=self.buyer, order=self.order
            )
        )
        phone = self.new_page(self.buyer, viewport=PHONE)
        phone.goto(self.url(f"/orders/{self.order.public_id}/"))
        review = phone.locator("#order-review")
        review.get_by_label("Excellent").check()
        review.get_by_role("button", name="Post your review").click()
        expect(review.get_by_text("Write a few words for your review.")).to_be_visible()
        review.scroll_into_view_if_needed()
        screenshot(phone, "reviews-order-form-refused-390")
        assert review.get_by_label("Excellent").is_checked()  # the choice survives


class AccountSettings(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.person = off_the_event_loop(verified_user, "marta")

    def url(self, path: str) -> str:
        return f"{self.live_server_url}{path}"

    def test_settings_pages_time_zone_and_refusals(self):
        page = self.new_page(self.person, viewport=WIDE)
        page.goto(self.url("/"))
        page.get_by_role("link", name="@marta").click()
        expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
        page.get_by_label("Your time zone").select_option("Asia/Tokyo")
        page.get_by_role("button", name="Save time zone").click()
        expect(page.get_by_text("Times are now shown in Asia/Tokyo.")).to_be_visible()
        expect(page.locator("#time-zone-title + p")).to_contain_text("JST")
        assert_accessible(page, "account hub")
        screenshot(page, "account-hub-1366")

        page.get_by_role("link", name="Change your email").click()
        page.get_by_label("New email address").fill("marta.new@example.com")
        page.get_by_label("Your current password").fill("wrong")
        page.get_by_role("button", name="Send the link").click()
        summary = page.locator("[data-error-summary]")
        expect(summary).to_contain_text("That is not your current password.")
        assert_accessible(page, "change email, refused")
        screenshot(page, "account-email-refused-1366")

        page.goto(self.url("/account/password/"))
        screenshot(page, "account-password-1366")
        page.goto(self.url("/account/delete/"))
        expect(page.get_by_role("button", name="Delete my account")).to_be_visible()
        screenshot(page, "account-delete-1366")

        phone = self.new_page(self.person, viewport=PHONE)
        for path, name in (
            ("/account/", "account-hub-390"),
            ("/account/email/", "account-email-390"),
            ("/account/password/", "account-password-390"),
            ("/account/delete/", "account-delete-390"),
        ):
            phone.goto(self.url(path))
            screenshot(phone, name)
