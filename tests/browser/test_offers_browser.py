"""Bargaining in a real browser: a buyer offers from the chat, the seller counters in
another browser, the buyer accepts; both ladders, toasts and chimes follow live."""

import pytest
from playwright.sync_api import expect

from offers.models import Offer
from tests.browser.conftest import (
    DESKTOP,
    NO_SOCKET,
    PHONE,
    SCREENSHOTS,
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    screenshot,
    until_the_room_is_empty,
    verified_user,
)

pytestmark = pytest.mark.browser

SYNCED = "#stall-room[data-synced=true]"
# The `offer` intents the page sends on its sockets, in order.
SENT_FRAMES = """
    window.__offerIntents = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        if (typeof data === 'string' && data.startsWith('{"type":"offer"')) {
            window.__offerIntents.push(JSON.parse(data).action);
        }
        return send.call(this, data);
    };
"""


def _seed():
    stall, items = lamp_stall(description="Old lamps, polished by hand. Make me an offer!")
    return stall, items[0], stall.seller.user, verified_user("alice")


class OffersInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.item, self.keeper, self.alice = off_the_event_loop(_seed)
        self.path = f"/stalls/{self.stall.public_id}/"

    def tearDown(self):
        super().tearDown()
        until_the_room_is_empty(self.stall.pk)

    def visit(self, user, path=None, viewport=DESKTOP, init_script=SENT_FRAMES):
        page = self.new_page(user, viewport=viewport)
        page.add_init_script(init_script)
        # Every offer action the page POSTs (the forms' way without the socket).
        page.offer_posts = []
        page.on(
            "request",
            lambda request: (
                request.method == "POST"
                and "/offers/" in request.url
                and page.offer_posts.append(request.url)
            ),
        )
        page.goto(f"{self.live_server_url}{path or self.path}")
        if path is None:
            page.wait_for_selector(SYNCED, state="attached")
        return page

    def open_drawer(self, page, title="Brass lamp"):
        page.locator(".item-card", has_text=title).locator("a.item-link").click()
        panel = page.locator("#item-drawer.open [data-offers-panel]")
        panel.locator(".offer-ladder").wait_for()
        return panel

    def say(self, page, text):
        box = page.locator("[data-composer-text]")
        box.fill(text)
        box.press("Enter")

    def rung(self, page, status, amount):
        return page.locator(
            f"#item-drawer [data-offer-ladder] li.rung.status-{status}", has_text=amount
        )

    def test_offer_counter_accept_between_two_browsers(self):
        buyer = self.visit(self.alice)
        seller = self.visit(self.keeper)
        guest = self.visit(None)
        guest_button = guest.locator(f"#item-{self.item.public_id} .add-to-cart")
        expect(guest_button).to_be_visible()
        # Inside its card, not clipped below it (the card hides what overflows).
        card = guest.locator(f"#item-{self.item.public_id}").bounding_box()
        button = guest_button.bounding_box()
        assert button["y"] + button["height"] <= card["y"] + card["height"]
        seller_panel = self.open_drawer(seller)
        expect(seller_panel).to_contain_text("No open offers on this item.")

        # The buyer types /offer with a comma decimal and no item open: which item?
        self.say(buyer, "/offer 1,000")
        expect(buyer.locator("[data-composer-error]")).to_have_text(
            "Use a dot for decimals, for example /offer 25.50."
        )
        assert buyer.locator("[data-composer-text]").input_value() == "/offer 1,000"
        self.say(buyer, "/offer 20,50")
        chooser = buyer.locator("[data-offer-chooser]")
        expect(chooser).to_contain_text("Offer 20.50 on which item?")
        screenshot(buyer, "offers-chooser")
        chooser.get_by_role("button", name="Brass lamp").click()
        amount = buyer.locator("#item-drawer.open [data-offer-form] [data-offer-amount]")
        expect(amount).to_have_value("20.50")
        expect(amount).to_be_focused()
        assert buyer.locator("[data-chat-list] li.msg").count() == 0  # not sent as chat

        # The server checks again: above the price is refused in the panel.
        amount.fill("26")
        buyer.locator("[data-offer-send]").click()
        expect(buyer.locator("#item-drawer [data-offer-error]")).to_have_text(
            "Offer at most the price, $25.00."
        )
        amount = buyer.locator("#item-drawer.open [data-offer-form] [data-offer-amount]")
        amount.fill("20.50")
        buyer.locator("#item-drawer [data-offer-form] input[name=message]").fill(
            "Would you take twenty and a half?"
        )
        buyer.locator("[data-offer-send]").dblclick()  # a double click makes one offer
        expect(buyer.locator("#item-drawer [data-offer-notice]")).to_have_text(
            "Offer of $20.50 sent to the seller."
        )
        expect(self.rung(buyer, "pending", "$20.50")).to_have_count(1)

        # The seller hears it, sees it in the ladder and in their panel with the note.
        expect(seller.locator(".offer-toast", has_text="@alice offers $20.50")).to_be_visible()
        expect(self.rung(seller, "pending", "$20.50")).to_contain_text("a***e")
        thread = seller.locator("#item-drawer .offer-thread")
        expect(thread).to_contain_text("Would you take twenty and a half?")
        assert seller.evaluate("window.BazaarOffers.played") == ["new"]
        screenshot(seller, "offers-seller-new-offer")
        seller.locator("#item-drawer .offer-thread [data-offer-amount]").fill("23")
        seller.locator("#item-drawer .offer-thread input[name=message]").fill("Meet me at 23?")
        seller.locator("#item-drawer [data-offer-counter]").click()
        expect(seller.locator("#item-drawer [data-offer-notice]")).to_have_text(
            "Counter of $23.00 sent."
        )

        # The buyer hears the counter; their panel offers to accept it.
        expect(
            buyer.locator(".offer-toast", has_text="The seller countered with $23.00")
        ).to_be_visible()
        expect(buyer.locator(".offer-toast .offer-message")).to_have_text("Meet me at 23?")
        accept = buyer.locator("#item-drawer [data-offer-accept]")
        expect(accept).to_have_text("Accept $23.00")
        assert buyer.evaluate("window.BazaarOffers.played") == ["countered"]
        expect(self.rung(buyer, "countered", "$20.50")).to_have_count(1)
        expect(self.rung(buyer, "pending", "$23.00")).to_contain_text("seller")
        accept.click()
        expect(buyer.locator("#item-drawer [data-offer-notice]")).to_have_text(
            "Accepted at $23.00: one is held for you for 24 hours."
        )

        # Both ladders show it; the seller hears the acceptance.
        for page in (buyer, seller):
            expect(self.rung(page, "accepted", "$23.00")).to_have_count(1)
        accepted = seller.locator(".offer-toast", has_text="@alice accepted your $23.00")
        expect(accepted).to_be_visible()
        expect(accepted.locator(".offer-message")).to_have_count(0)  # not my own note back
        seller.wait_for_function("() => window.BazaarOffers.played.includes('accepted')")
        expect(seller.locator("#item-drawer .offer-thread")).to_contain_text(
            "one is held for @alice"
        )
        offers = off_the_event_loop(
            lambda: list(Offer.objects.order_by("id").values_list("amount_cents", "status"))
        )
        assert offers == [(2050, "countered"), (2300, "accepted")]
        # Every action went over the stall socket, none by POST; the refused amount and
        # the double click were one intent each (the second click found it in flight).
        assert buyer.evaluate("window.__offerIntents") == ["make", "make", "accept"]
        assert seller.evaluate("window.__offerIntents") == ["counter"]
        assert buyer.offer_posts == [] and seller.offer_posts == []
        # The held unit leaves the counts on both pages without a reload, and the
        # buyer's button becomes the way to buy it at the accepted price. The buyer
        # reads that it is held for them, not that it sold out.
        card_stock = f"#item-{self.item.public_id} [data-stock-for]"
        expect(seller.locator(card_stock)).to_have_text("Sold out · 1 on hold")
        expect(seller.locator("#item-drawer [data-stock-for]")).to_have_text("Sold out")
        expect(buyer.locator(card_stock)).to_have_text("Held for you")
        expect(buyer.locator("#item-drawer [data-stock-for]")).to_have_text("Held for you")
        expect(guest_button).to_be_hidden()  # the last unit is held: nothing to add
        for place in ("#item-drawer", f"#item-{self.item.public_id}"):
            expect(buyer.locator(f"{place} .add-to-cart button")).to_have_text(
                "Buy at your offer, $23.00"
            )
        buyer.wait_for_timeout(300)  # the drawer's slide-in and the toast's entrance
        buyer.screenshot(path=str(SCREENSHOTS / "offers-buyer-accepted-desktop.png"))
        seller.screenshot(path=str(SCREENSHOTS / "offers-seller-accepted-desktop.png"))
        buyer.set_viewport_size(PHONE)
        buyer.screenshot(path=str(SCREENSHOTS / "offers-buyer-accepted-phone.png"))
        overflow = buyer.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the stall page scrolls sideways on a phone"
        buyer.reload()  # and so it reads when the buyer comes back
        expect(buyer.locator(card_stock)).to_have_text("Held for you")

    def test_without_the_socket_the_forms_post(self):
        buyer = self.new_page(self.alice)
        buyer.add_init_script(NO_SOCKET)
        posts = []
        buyer.on("request", lambda r: r.method == "POST" and posts.append(r.url))
        buyer.goto(f"{self.live_server_url}{self.path}")
        panel = self.open_drawer(buyer)
        panel.locator("[data-offer-amount]").fill("30")
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-offer-error]")).to_have_text("Offer at most the price, $25.00.")
        panel.locator("[data-offer-amount]").fill("19")
        panel.locator("[data-offer-send]").click()
        expect(panel.locator("[data-offer-notice]")).to_have_text(
            "Offer of $19.00 sent to the seller."
        )
        expect(panel.locator("[data-offer-withdraw]")).to_be_visible()
        create = f"/items/{self.item.public_id}/offers/new/"
        assert [url.endswith(create) for url in posts] == [True, True]
        status = off_the_event_loop(lambda: list(Offer.objects.values_list("status", flat=True)))
        assert status == ["pending"]

    def test_a_watcher_sees_the_ladder_and_badges_live(self):
        watcher = self.visit(off_the_event_loop(verified_user, "watcher"))
        buyer = self.visit(self.alice)
        panel = self.open_drawer(watcher)
        expect(panel).to_contain_text("No offers yet.")
        self.open_drawer(buyer)
        buyer.locator("#item-drawer [data-offer-amount]").fill("18")
        buyer.locator("#item-drawer input[name=message]").fill("private words")
        buyer.locator("[data-offer-send]").click()
        expect(self.rung(watcher, "pending", "$18.00")).to_contain_text("a***e")
        badge = watcher.locator(f"#item-{self.item.public_id} [data-offer-badge]")
        expect(badge).to_have_text("1 open offer")
        assert "private words" not in watcher.content()
        assert watcher.locator(".offer-toast").count() == 0
        assert watcher.evaluate("window.BazaarOffers.played") == []

    def test_the_seller_answers_from_the_dashboard(self):
        def offer():
            from bazaar.ids import new_ulid
            from offers.services import offer_make

            offer_make(
                buyer=self.alice,
                item=self.item,
                amount_cents=1900,
                message="Is nineteen fair?",
                idempotency_key=new_ulid(),
            )

        off_the_event_loop(offer)
        page = self.visit(self.keeper, path="/dashboard/stall/")
        block = page.locator("#seller-offers")
        expect(block).to_contain_text("Is nineteen fair?")
        expect(block).to_contain_text("1 open offer")
        screenshot(page, "offers-dashboard-open-offer")
        lamp = block.locator(f"[data-offer-item='{self.item.public_id}']")
        lamp.locator("input[name=accept]").fill("24")
        lamp.locator("input[name=decline]").fill("24")
        lamp.get_by_role("button", name="Save").click()
        expect(block.locator("[data-offer-error]")).to_have_text(
            "The auto-decline price must be below the auto-accept price."
        )
        expect(lamp.locator("input[name=accept]")).to_have_value("24")
        lamp.locator("input[name=decline]").fill("12")
        lamp.get_by_role("button", name="Save").click()
        expect(block.locator("[data-offer-notice]")).to_have_text(
            "Auto prices for “Brass lamp” saved."
        )
        expect(lamp.locator("input[name=accept]")).to_have_value("$24.00")
        block.locator("[data-offer-decline]").click()
        expect(block.locator("[data-offer-notice]")).to_have_text("Declined $19.00.")
        expect(block).to_contain_text("0 open offers")
        block.scroll_into_view_if_needed()
        screenshot(page, "offers-dashboard")
