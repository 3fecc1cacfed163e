"""Keyboard and screen-reader behaviour that axe cannot see: the item drawer takes
focus, keeps it and gives it back; focus is visible; chat messages and new high bids
are announced once each, never the history or the whole list again."""

from datetime import timedelta

import pytest

from auctions.frames import pseudonym
from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from stalls.room.chat import chat_post
from tests.auctions.conftest import save_card
from tests.browser.conftest import (
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    until_the_room_is_empty,
    verified_user,
)

pytestmark = pytest.mark.browser

SYNCED = "#stall-room[data-synced=true]"
IN_DRAWER = "document.getElementById('item-drawer').contains(document.activeElement)"
RING = """() => {
    const style = getComputedStyle(document.activeElement.closest('.item-card'));
    return {style: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def _seed():
    stall, items = lamp_stall(description="Lamps.")
    alice, bob = verified_user("alice"), verified_user("bob")
    chat_post(user=bob, stall=stall, text="an old message from before")
    save_card(bob)
    auction = auction_start(
        actor=stall.seller.user,
        item=items[0],
        start_cents=1000,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(minutes=5),
        idempotency_key=new_key(),
    )
    return stall, alice, bob, auction


class FocusAndAnnouncements(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.alice, self.bob, self.auction = off_the_event_loop(_seed)
        self.path = f"/stalls/{self.stall.public_id}/"

    def tearDown(self):
        super().tearDown()
        until_the_room_is_empty(self.stall.pk)

    def test_the_item_drawer_takes_keeps_and_returns_focus(self):
        page = self.new_page(self.alice)
        page.goto(f"{self.live_server_url}{self.path}")
        page.wait_for_selector(SYNCED, state="attached")
        opener = page.locator("a[data-item-drawer]").first
        opener.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # reached by keyboard: the focus ring shows
        assert opener.evaluate("link => link === document.activeElement")
        ring = page.evaluate(RING)  # on the card the link fills
        assert ring["style"] == "solid" and ring["width"] >= 2
        page.keyboard.press("Enter")
        page.wait_for_selector("#item-drawer.open .offers-panel form", state="attached")
        assert page.evaluate("document.activeElement.matches('[data-drawer-close]')")
        assert page.locator("#item-drawer").get_attribute("aria-modal") == "true"
        # Tab goes round inside the drawer, both ways.
        for _ in range(12):
            page.keyboard.press("Tab")
            assert page.evaluate(IN_DRAWER)
        page.locator("[data-drawer-close]").focus()
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(IN_DRAWER)
        assert not page.evaluate("document.activeElement.matches('[data-drawer-close]')")
        # Escape closes it and focus goes back to the item it was opened from.
        page.keyboard.press("Escape")
        page.wait_for_selector("#item-drawer.open", state="detached")
        assert page.evaluate("document.activeElement.matches('a[data-item-drawer]')")
        assert opener.evaluate("link => link === document.activeElement")

    def test_a_chat_message_is_announced_once_and_history_never(self):
        alice = self.new_page(self.alice)
        alice.goto(f"{self.live_server_url}{self.path}")
        alice.wait_for_selector(SYNCED, state="attached")
        announcer = alice.locator("[data-chat-announcer]")
        assert announcer.get_attribute("role") == "log"
        assert announcer.get_attribute("aria-relevant") == "additions"
        # The list itself is no live region: the history it shows is not read out.
        assert alice.locator("[data-chat-list] >> text=an old message").count() == 1
        assert (
            alice.locator("[aria-live], [role=log], [role=status]").evaluate_all(
                "nodes => nodes.filter(n => n.matches('[data-chat-list], [data-chat-pending]'))"
            )
            == []
        )
        assert announcer.inner_text() == ""

        bob = self.new_page(self.bob)
        bob.goto(f"{self.live_server_url}{self.path}")
        bob.wait_for_selector(SYNCED, state="attached")
        box = bob.locator("[data-composer-text]")
        box.fill("is the brass lamp still here?")
        box.press("Enter")
        announcer.locator("p").wait_for()
        alice.wait_for_timeout(500)  # anything said twice would be here by now
        assert announcer.locator("p").all_inner_texts() == ["bob: is the brass lamp still here?"]
        # Its author reads it in the list; it is not announced back to them.
        bob.locator("[data-chat-list] li.msg:not(.pending)", has_text="still here").wait_for()
        assert bob.locator("[data-chat-announcer] p").count() == 0

    def test_a_new_high_bid_is_announced_once(self):
        page = self.new_page(self.alice)
        page.goto(f"{self.live_server_url}/auctions/{self.auction.public_id}/")
        page.wait_for_selector("#auction[data-connected=true]", state="attached")
        announcer = page.locator("[data-bid-announcer]")
        assert announcer.get_attribute("role") == "status"
        assert announcer.inner_text() == ""
        assert page.locator("[data-bid-list]").get_attribute("aria-live") is None
        bob = self.new_page(self.bob)
        bob.goto(f"{self.live_server_url}/auctions/{self.auction.public_id}/")
        bob.locator("[data-amount]").fill("15")
        bob.locator("[data-bid-submit]").click()
        page.wait_for_function(
            "() => document.querySelector('[data-bid-announcer]').textContent !== ''"
        )
        bidder = pseudonym(self.auction, self.bob.pk)
        assert announcer.inner_text() == f"New high bid: $15.00 by {bidder}."
