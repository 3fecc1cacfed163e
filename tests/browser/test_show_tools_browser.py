"""The show tools in a real browser (issue 14): the seller starts a flash auction
from their stall and a viewer in another browser sees its panel and countdown appear
over the stall, live, and bids; a giveaway is drawn among the viewers present and
both see the result. Screenshots of the seller's tools and the viewer's overlay."""

import shutil
import time
from pathlib import Path

import pytest

from auctions.frames import pseudonym
from auctions.models import Auction
from tests.auctions.conftest import save_card
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    PHONE,
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    screenshot,
    until_the_room_is_empty,
    verified_user,
)

pytestmark = pytest.mark.browser

SHOTS = Path("/work/wt/show-tools-shots")
WIDE = {"width": 1366, "height": 900}


def keep(page, name: str) -> None:
    """A screenshot in var/screenshots, copied beside the worktree for the report."""
    path = screenshot(page, name)
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / path.name)


def _seed():
    stall, items = lamp_stall(description="Lamps, shades and bulbs.")
    viewer = verified_user("viewer")
    save_card(viewer)
    return stall, items, viewer


class ShowToolsInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.items, self.viewer = off_the_event_loop(_seed)
        self.keeper = self.stall.seller.user
        self.url = f"{self.live_server_url}/stalls/{self.stall.public_id}/"

    def tearDown(self):
        for context in self.contexts:
            context.close()
        self.contexts = []
        until_the_room_is_empty(self.stall.pk)
        super().tearDown()

    def enter(self, user, viewport=WIDE):
        page = self.new_page(user, viewport)
        page.goto(self.url)
        page.wait_for_selector("#stall-room[data-synced=true]", state="attached")
        return page

    def test_a_flash_auction_appears_over_the_stall_and_the_viewer_bids(self):
        seller, viewer = self.enter(self.keeper), self.enter(self.viewer)
        assert viewer.locator(".flash-card").count() == 0

        tools = seller.locator("#flash-tools")
        tools.get_by_label("Item").select_option(label="Brass lamp")
        tools.get_by_label("Opening bid").fill("5")
        tools.get_by_label("Runs for").select_option(label="2 minutes")
        tools.get_by_label("Sudden death").check()
        keep(seller, "seller-tools-1366")
        tools.get_by_role("button", name="Start flash auction").click()
        seller.locator("#flash-tools .notice").wait_for()
        assert "is live" in seller.locator("#flash-tools .notice").inner_text()

        # The viewer did nothing: the room's nudge brought the panel in, live.
        card = viewer.locator(".flash-card")
        card.wait_for()
        viewer.wait_for_selector(".flash-card[data-connected=true]", state="attached")
        assert card.locator("h2").inner_text() == "Brass lamp"
        assert card.locator(".sudden-death").text_content() == "Sudden death"
        announced = viewer.locator("[data-show-announcer]").text_content()
        assert announced == "Flash auction, sudden death: Brass lamp."
        auction = off_the_event_loop(lambda: Auction.objects.get(flash=True))
        shown = card.locator("[data-countdown]").inner_text()
        minutes, seconds = (int(part) for part in shown.split(":"))
        left = auction.ends_at.timestamp() - time.time()
        assert abs(minutes * 60 + seconds - left) < 3, (shown, left)

        card.locator("[data-amount]").fill("6")
        card.locator("[data-bid-submit]").click()
        viewer.wait_for_function(
            "() => document.querySelector('.flash-card [data-bid-result]')"
            ".textContent.startsWith('You')"
        )
        assert card.locator("[data-bid-result]").inner_text() == "You are the high bidder at $6.00."
        # The seller's copy of the panel follows over the auction's socket.
        seller.wait_for_function(
            "() => document.querySelector('.flash-card [data-price]').textContent === '$6.00'"
        )
        # Bidders go by their pseudonym on this auction, never their handle.
        leader = seller.locator(".flash-card [data-leader]").inner_text()
        assert leader == pseudonym(auction, self.viewer.pk)
        viewer.wait_for_timeout(800)  # the price's animation
        keep(viewer, "viewer-flash-overlay-1366")
        assert_accessible(viewer, "stall with a flash auction (viewer)")
        assert_accessible(seller, "stall with a flash auction (seller)")

        phone = self.enter(self.viewer, PHONE)
        phone.wait_for_selector(".flash-card[data-connected=true]", state="attached")
        keep(phone, "viewer-flash-overlay-390")
        seller_phone = self.enter(self.keeper, PHONE)
        keep(seller_phone, "seller-tools-390")

    def test_a_giveaway_picks_a_present_viewer_and_both_see_it(self):
        seller, viewer = self.enter(self.keeper), self.enter(self.viewer)
        tools = seller.locator("#giveaway-tools")
        tools.get_by_label("Item").select_option(label="Green shade")
        tools.get_by_label("Everyone in the stall").check()
        tools.get_by_role("button", name="Open giveaway").click()
        tools.locator(".notice").wait_for()

        card = viewer.locator(".giveaway-card")
        card.wait_for()
        assert card.locator("h2").inner_text() == "Green shade"
        card.get_by_role("button", name="Enter the giveaway").click()
        viewer.locator(".giveaway-in").wait_for()
        keep(viewer, "viewer-giveaway-entered-1366")
        assert_accessible(viewer, "stall with an open giveaway (viewer)")

        seller.locator("#giveaway-tools").get_by_role("button", name="Draw the winner").click()
        drawn = seller.locator("#giveaway-tools .notice", has_text="won")
        drawn.wait_for()
        assert drawn.inner_text() == "@viewer won “Green shade”."
        # Everyone in the stall sees the result over the stall, live.
        viewer.wait_for_function(
            "() => document.querySelector('[data-giveaway-result]')?.textContent === 'You won!'"
        )
        seller.wait_for_function(
            "() => document.querySelector('[data-giveaway-result]')?.textContent === '@viewer won.'"
        )
        assert viewer.locator("[data-show-announcer]").text_content() == (
            "You won the giveaway of Green shade!"
        )
        keep(viewer, "viewer-giveaway-won-1366")
        keep(seller, "seller-giveaway-drawn-1366")
        assert_accessible(viewer, "stall after a giveaway's draw (winner)")

        phone = self.enter(self.viewer, PHONE)
        phone.locator("[data-giveaway-result]").wait_for()
        keep(phone, "viewer-giveaway-won-390")

        # The winner claims: an order at zero price, in escrow.
        viewer.get_by_role("link", name="Claim your prize").click()
        viewer.get_by_role("button", name="Claim it").wait_for()
        keep(viewer, "winner-claim-1366")
        assert_accessible(viewer, "giveaway page with the winner's claim")
        phone.goto(f"{self.live_server_url}/giveaways/rules/")
        keep(phone, "giveaway-rules-390")
        assert_accessible(phone, "giveaway rules")
        viewer.get_by_role("button", name="Claim it").click()
        viewer.wait_for_url("**/orders/*/")
        assert "$0.00" in viewer.locator("main").inner_text()
        keep(viewer, "winner-prize-order-1366")
