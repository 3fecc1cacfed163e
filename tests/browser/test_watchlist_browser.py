"""Saving and following in a real browser: the journey from a filtered, sorted search
to an item, Save and Follow in place (the focus staying on the button), both on the
Saved page, one removed in place with an Undo; signed out, Save leads to the log-in
and back. Screenshots at 1366 and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import PHONE, BrowserTestCase, off_the_event_loop, screenshot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}


def _seed():
    """A one-section demo market (its photographed items) and a shopper with nothing saved."""
    from market.seeding import seed_market
    from tests.browser.conftest import verified_user

    seed_market(sections=1, stalls=4)
    return verified_user("shopper")


def _collector():
    """A shopper whose Saved page is full: items in every state (one in an auction, one
    sold out, the cheapest) and three followed stalls, one of them live."""
    from auctions.models import Auction
    from stalls.models import Item, Stall
    from stalls.room.presence import seller_presence_beat
    from tests.browser.conftest import verified_user
    from tests.discovery.conftest import held
    from watchlist.services import item_watch_set, stall_follow_set

    collector = verified_user("collector")
    in_auction = Auction.objects.filter(status="live").first().item
    cheapest = Item.objects.exclude(auctions__isnull=False).order_by("price_cents")[:3]
    sold_out = cheapest[2]
    held(sold_out, verified_user("early_bird"), quantity=sold_out.inventory)
    for item in [in_auction, *cheapest]:
        item_watch_set(user=collector, item=item, watching=True)
    stalls = list(Stall.objects.order_by("slot")[:3])
    for stall in stalls:
        stall_follow_set(user=collector, stall=stall, following=True)
    seller_presence_beat(stall_public_id=stalls[0].public_id)
    return collector, verified_user("newcomer")


def _a_stall_not_followed() -> str:
    from stalls.models import Stall

    return Stall.objects.filter(follows__isnull=True).order_by("slot").first().public_id


def count_in(page, box: str) -> int:
    """The number a Save or Follow box shows ("2 followers"), 0 when it shows none."""
    counts = page.locator(f"{box} .toggle-count")
    return int(counts.inner_text().split()[0]) if counts.count() else 0


def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def both_widths(page, name: str) -> None:
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(WIDE)


class WatchlistInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.shopper = off_the_event_loop(_seed)

    def test_find_save_follow_see_them_saved_and_remove_one(self):
        page = self.new_page(self.shopper, viewport=WIDE)
        page.goto(f"{self.live_server_url}/search/")
        page.select_option("#filter-sort", "-price")
        page.get_by_label("Good", exact=True).check()
        page.get_by_role("button", name="Show results").click()
        page.wait_for_url(re.compile(r"sort=-price"))
        first = page.locator("[data-results] .card-link").first
        title = first.inner_text()
        first.click()
        page.wait_for_url(re.compile(r"/items/[0-9A-Z]{26}/$"))
        stall = page.locator(".seller-stall a").inner_text()
        watching, followers = count_in(page, ".item-buy"), count_in(page, ".seller-card")

        save = page.get_by_role("button", name=f"Save {title}")
        expect(save).to_have_attribute("aria-pressed", "false")
        save.focus()
        page.keyboard.press("Enter")
        saved = page.get_by_role("button", name=f"Saved {title}")
        expect(saved).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".item-buy .toggle-count")).to_have_text(f"{watching + 1} watching")
        assert focused_id(page).startswith("watch-") and focused_id(page).endswith("-button")
        follow = page.get_by_role("button", name=f"Follow {stall}")
        follow.click()
        expect(page.get_by_role("button", name=f"Following {stall}")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator(".seller-card .toggle-count")).to_contain_text(
            f"{followers + 1} follower"
        )
        assert_accessible(page, "item page, saved and followed")
        both_widths(page, "watchlist-item")

        page.get_by_role("link", name="Saved", exact=True).click()
        page.wait_for_url(re.compile(r"/saved/$"))
        items = page.locator("#saved-items-title + .card-grid .shop-card")
        expect(items).to_have_count(1)
        expect(items).to_contain_text(title)
        expect(page.locator("#followed-title + .card-grid")).to_contain_text(stall)
        both_widths(page, "watchlist-saved")

        page.get_by_role("button", name=f"Remove {title}").click()
        status = page.locator("[data-saved-status]")
        expect(status).to_contain_text(f"Removed “{title}” from your saved items.")
        expect(status).to_be_focused()
        expect(page.get_by_text("Nothing saved yet.")).to_be_visible()
        expect(page.locator("#followed-title + .card-grid")).to_contain_text(stall)
        assert_accessible(page, "Saved page after a removal")
        page.get_by_role("button", name=re.compile("^Undo")).click()
        expect(status).to_contain_text(f"Saved “{title}”.")
        expect(items).to_have_count(1)

        page.get_by_role("button", name=f"Remove {title}").click()
        expect(page.get_by_text("Nothing saved yet.")).to_be_visible()
        page.get_by_role("button", name=f"Unfollow {stall}").click()
        expect(page.get_by_text("You follow no stall yet.")).to_be_visible()
        page.reload()  # what stays is what the database holds
        expect(page.get_by_text("Nothing saved yet.")).to_be_visible()
        expect(page.get_by_text("You follow no stall yet.")).to_be_visible()

    def test_the_saved_page_full_and_empty(self):
        collector, newcomer = off_the_event_loop(_collector)
        page = self.new_page(collector, viewport=WIDE)
        page.goto(f"{self.live_server_url}/saved/")
        cards = page.locator("#saved-items-title + .card-grid .shop-card")
        expect(cards).to_have_count(4)
        expect(cards.filter(has_text="In auction")).to_have_count(1)
        expect(cards.filter(has_text="Sold out")).to_have_count(1)
        stalls = page.locator("#followed-title + .card-grid .shop-card")
        expect(stalls).to_have_count(3)
        expect(stalls.locator(".badge-live")).to_have_count(1)
        assert_accessible(page, "Saved page, full")
        both_widths(page, "watchlist-saved-full")
        page = self.new_page(newcomer, viewport=WIDE)
        page.goto(f"{self.live_server_url}/saved/")
        expect(page.get_by_text("Nothing saved yet.")).to_be_visible()
        assert_accessible(page, "Saved page, empty")
        both_widths(page, "watchlist-saved-empty")

    def test_the_stall_page_follows_in_place(self):
        page = self.new_page(self.shopper, viewport=WIDE)
        stall_id = off_the_event_loop(_a_stall_not_followed)
        page.goto(f"{self.live_server_url}/stalls/{stall_id}/")
        name = page.locator(".stall-hero h1").inner_text()
        page.get_by_role("button", name=f"Follow {name}").click()
        following = page.get_by_role("button", name=f"Following {name}")
        expect(following).to_have_attribute("aria-pressed", "true")
        expect(following).to_be_focused()
        both_widths(page, "watchlist-stall")

    def test_signed_out_save_leads_to_log_in_and_back(self):
        page = self.new_page(viewport=WIDE)
        page.goto(f"{self.live_server_url}/search/")
        page.locator("[data-results] .card-link").first.click()
        page.wait_for_url(re.compile(r"/items/[0-9A-Z]{26}/$"))
        item_url = page.url
        page.locator(".item-buy a.toggle").click()
        page.wait_for_url(re.compile(r"/accounts/login/\?next="))
        page.get_by_label("Handle or email").fill("shopper")
        page.get_by_label("Password").fill("pw-12345678")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(item_url)
        page.locator(".item-buy button.toggle").click()
        expect(page.locator(".item-buy button.toggle")).to_have_attribute("aria-pressed", "true")
