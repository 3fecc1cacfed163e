"""The embedded market (no Redis, no broker): what background work publishes reaches
open pages. The live server runs as `make run` serves: its own process runs the jobs
and the beat schedule (`bazaar.runner`), and its in-memory channel layer is the only
way to the page's socket."""

from datetime import timedelta

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from auctions.frames import pseudonym
from auctions.services.bidding import bid_place
from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from market.services import sections_ensure
from tests.auctions.conftest import end_passes, save_card
from tests.browser.conftest import (
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    seller_stall,
    verified_user,
)

pytestmark = pytest.mark.browser


def _auction_with_a_bid():
    sections_ensure(coordinates=[(0, 0)])
    stall = seller_stall(handle="keeper", legal_name="Kim Keeper", name="Brass & Lamps")
    item = item_with_photo(
        stall=stall,
        title="Brass lamp",
        description="A brass desk lamp.",
        price_cents=4500,
        inventory=1,
        colour=(190, 140, 50),
    )
    bob = verified_user("bob")
    save_card(bob)
    auction = auction_start(
        actor=stall.seller.user,
        item=item,
        start_cents=1000,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(minutes=5),
        idempotency_key=new_key(),
    )
    bid_place(bidder=bob, auction=auction, amount_cents=1200, idempotency_key=new_key())
    return bob, auction


@override_settings(JOBS_BACKEND="embedded")
class EmbeddedMarketInTheBrowser(BrowserTestCase):
    def test_an_auction_closed_by_the_schedule_shows_its_end_live(self):
        bob, auction = off_the_event_loop(_auction_with_a_bid)
        page = self.new_page(bob)
        page.goto(f"{self.live_server_url}/auctions/{auction.public_id}/")
        page.wait_for_selector("#auction[data-connected=true]", state="attached")
        expect(page.locator("[data-leader]")).to_have_text(pseudonym(auction, bob.pk))

        # The end passes. No request and no reload: the server's own schedule closes
        # the auction, charges Bob, and the page hears it on its socket.
        off_the_event_loop(end_passes, auction.pk)
        expect(page.locator("[data-outcome]")).to_have_text(
            "Sold to @bob for $12.00.", timeout=15_000
        )
        expect(page.locator("[data-bid-form]")).to_be_hidden()
