"""The bell in a real browser: an outbid notice reaches a buyer on another page
within a second, announced once; the notifications and settings pages at phone and
desktop width."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from auctions.models import Bid
from auctions.services.bidding import bid_place
from bazaar.idempotency import new_key
from notifications.models import Kind
from notifications.services import notify
from notifications.tokens import unsubscribe_token
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserTestCase,
    off_the_event_loop,
    screenshot,
)
from tests.browser.test_auctions_browser import _seed as auction_with_two_bidders

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
# Screenshots to look at, outside the repository when the harness is told where.
SHOTS = os.environ.get("BAZAAR_SHOTS")


def shot(page, name: str) -> None:
    """var/screenshots as every browser test keeps them, and BAZAAR_SHOTS if set."""
    path = screenshot(page, name)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        Path(SHOTS, path.name).write_bytes(path.read_bytes())


def _seed():
    """The auctions test's market: Alice and Bob with cards, an auction of a brass
    lamp; Alice leads it."""
    _, alice, bob, auction = auction_with_two_bidders()
    bid_place(bidder=alice, auction=auction, amount_cents=1000, idempotency_key=new_key())
    return alice, bob, auction


def _news(user):
    """A few notices, as the apps would send them, oldest first."""
    for kind, title, body, url in [
        (Kind.ORDER_SHIPPED, "Brass & Lamps shipped your order", "UPS, tracking 1Z999.", "/"),
        (Kind.OFFER_COUNTERED, "The seller countered with $38.00 for “Green shade”", "", "/"),
        (Kind.AUCTION_LOST, "“Tin robot” ended: the winning bid was $61.00", "", "/"),
        (Kind.PRICE_DROP, "“Oak stool” is now $30.00 (was $42.00)", "", "/"),
    ]:
        notify(user, kind, title=title, body=body, url=url)


class TheBellInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.alice, self.bob, self.auction = off_the_event_loop(_seed)

    def visit(self, user, path, viewport=DESKTOP):
        page = self.new_page(user, viewport=viewport)
        page.goto(f"{self.live_server_url}{path}")
        return page

    def test_an_outbid_rings_the_bell_on_another_page_within_a_second(self):
        alice = self.visit(self.alice, "/orders/")
        bell = alice.locator("[data-bell]")
        expect(bell).to_have_attribute("data-connected", "true")
        expect(bell).to_have_accessible_name("Notifications")

        bob = self.visit(self.bob, f"/auctions/{self.auction.public_id}/")
        bob.wait_for_selector("#auction[data-connected=true]", state="attached")
        bob.locator("[data-amount]").fill("12")
        # When the bell changed, by the page's own clock (Playwright's polling would
        # add its own interval), against when Bob's bid reached the server (the same
        # machine's clock): a busy machine's slow click and request are not the bell's.
        alice.evaluate(
            """() => new MutationObserver(() => { window.__rang = Date.now(); })
                .observe(document.querySelector('[data-bell]'), {attributes: true})"""
        )
        sent = bob.evaluate("Date.now()")
        bob.locator("[data-bid-submit]").click()
        expect(bell).to_have_accessible_name("Notifications, 1 unread", timeout=5000)
        rang = alice.evaluate("window.__rang")
        arrived = off_the_event_loop(
            lambda: Bid.objects.get(bidder=self.bob).received_at.timestamp() * 1000
        )
        elapsed = rang - arrived
        print(f"the bell rang {elapsed:.0f} ms after the bid reached the server", end=", ")
        print(f"{rang - sent} ms after the click")
        assert elapsed < 1000, f"the bell rang {elapsed:.0f} ms after the bid"

        expect(bell.locator("[data-bell-count]")).to_have_text("1")
        expect(alice.locator("[data-bell-announce]")).to_have_text(
            "New notification: You were outbid on “Brass lamp”"
        )
        shot(alice, "bell-1366-after-outbid")

        # Opening it marks it read and leads to the auction; the bell follows.
        alice.goto(f"{self.live_server_url}/notifications/")
        alice.get_by_role("button", name="You were outbid on “Brass lamp”").click()
        alice.wait_for_url(f"**/auctions/{self.auction.public_id}/")
        expect(alice.locator("[data-bell]")).to_have_accessible_name("Notifications")

    def test_the_pages_at_both_widths(self):
        off_the_event_loop(_news, self.alice)
        for name, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.visit(self.alice, "/orders/", viewport)
            bell = page.locator("[data-bell]")
            expect(bell).to_have_accessible_name("Notifications, 4 unread")
            expect(bell).to_be_visible()  # outside the phone's menu
            shot(page, f"bell-{name}")

            page.goto(f"{self.live_server_url}/notifications/")
            expect(page.locator(".notice.is-unread")).to_have_count(4)
            assert_accessible(page, f"notifications page at {name}")
            shot(page, f"notifications-{name}")

            page.goto(f"{self.live_server_url}/notifications/settings/")
            assert_accessible(page, f"notification settings at {name}")
            shot(page, f"notification-settings-{name}")

        page.goto(f"{self.live_server_url}/notifications/")
        page.get_by_role("button", name="Mark all read").click()
        expect(page.locator(".messages")).to_contain_text("Marked 4 notifications read.")
        expect(page.locator(".notice.is-unread")).to_have_count(0)
        expect(page.locator("[data-bell]")).to_have_accessible_name("Notifications")

        # An email's unsubscribe link, opened by someone not signed in.
        token = unsubscribe_token(user_public_id=self.alice.public_id, kind="outbid")
        guest = self.visit(None, f"/notifications/unsubscribe/{token}/", PHONE)
        assert_accessible(guest, "unsubscribe page")
        shot(guest, "unsubscribe-390")
        guest.get_by_role("button", name="Stop “You were outbid” emails").click()
        expect(guest.get_by_role("status")).to_contain_text("no more “You were outbid” emails")
        shot(guest, "unsubscribed-390")
