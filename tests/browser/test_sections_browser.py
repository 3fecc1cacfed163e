"""A steward drags a stall on /admin/sections/; a shopper standing in the old section
sees it leave without reloading."""

import re

import pytest
from playwright.sync_api import expect

from governance.models import Role
from governance.services import role_grant
from market.services import sections_ensure
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserTestCase,
    off_the_event_loop,
    screenshot,
    seller_stall,
    verified_user,
)

pytestmark = pytest.mark.browser


def _seed():
    sections_ensure(coordinates=[(x, y) for x in range(3) for y in range(2)])
    lamps = seller_stall(handle="keeper", legal_name="Kim Keeper", name="Brass & Lamps", slot=4)
    seller_stall(handle="reader", legal_name="Rae Reader", name="Old Books", x=1, slot=0)
    steward = verified_user("warden")
    role_grant(user=steward, role=Role.STEWARD)
    return lamps, steward


class SectionsMapInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.lamps, self.steward = off_the_event_loop(_seed)

    def test_a_dragged_stall_leaves_the_shoppers_section_live(self):
        shopper = self.new_page(viewport=PHONE)
        shopper.goto(f"{self.live_server_url}/market/0/0/")
        expect(shopper.locator(".stall-grid")).to_contain_text("Brass & Lamps")
        shopper.wait_for_function(
            "() => window.performance.getEntriesByType('resource').length > 0"
        )
        shopper.evaluate("window.__sameDocument = true")

        steward = self.new_page(self.steward, viewport=DESKTOP)
        steward.goto(f"{self.live_server_url}/admin/sections/")
        screenshot(steward, "sections-map-1366")
        assert_accessible(steward, "sections map")
        steward.fill("#move-reason", "Grouping the lamps by the books")
        stall = steward.locator('#section-0-0 .map-stall[data-name="Brass & Lamps"]')
        stall.drag_to(steward.locator('#section-1-0 [data-place="1,0,3"]'))
        expect(steward.locator(".messagelist")).to_contain_text(
            "Moved “Brass & Lamps” from section 0/0, slot 5 to section 1/0, slot 4"
        )
        expect(steward.locator("#section-1-0")).to_contain_text("Brass & Lamps")

        expect(shopper.locator(".stall-grid")).not_to_contain_text("Brass & Lamps")
        assert shopper.evaluate("window.__sameDocument") is True  # not reloaded

    def test_the_keyboard_path_moves_a_stall_and_swaps_on_a_phone(self):
        steward = self.new_page(self.steward, viewport=PHONE)
        steward.goto(f"{self.live_server_url}/admin/sections/")
        steward.get_by_role("link", name="Move “Brass & Lamps” (section 0/0, slot 5)…").click()
        steward.fill("#move-reason", "Swap for the fair")
        screenshot(steward, "sections-map-moving-390")
        assert_accessible(steward, "sections map, moving a stall")
        steward.get_by_role("button", name="Swap with “Old Books” (section 1/0, slot 1)").press(
            "Enter"
        )
        expect(steward.locator(".messagelist")).to_contain_text("Swapped “Brass & Lamps”")
        expect(steward.locator("#section-0-0")).to_contain_text("Old Books")

    def test_another_stewards_move_shows_on_an_open_map_without_reloading(self):
        watcher = self.new_page(self.steward, viewport=PHONE)
        watcher.goto(f"{self.live_server_url}/admin/sections/")
        watcher.fill("#move-reason", "Typed before the other move")
        watcher.evaluate("window.__sameDocument = true")
        expect(watcher.locator("#section-0-0")).to_contain_text("Brass & Lamps")
        # The map says when it is listening (its socket is open).
        expect(watcher.locator("form[data-sections-map]")).to_have_attribute("data-live", "on")

        def second_steward():
            other = verified_user("second_warden")
            role_grant(user=other, role=Role.STEWARD)
            return other

        mover = self.new_page(off_the_event_loop(second_steward), viewport=DESKTOP)
        mover.goto(f"{self.live_server_url}/admin/sections/")
        mover.get_by_role("link", name="Move “Brass & Lamps” (section 0/0, slot 5)…").click()
        mover.fill("#move-reason", "Lamps to the corner")
        mover.get_by_role("button", name="Move here: section 2/1, slot 1").click()
        expect(mover.locator(".messagelist")).to_contain_text("Moved “Brass & Lamps”")

        expect(watcher.locator("#section-2-1")).to_contain_text("Brass & Lamps")
        expect(watcher.locator("#section-0-0")).not_to_contain_text("Brass & Lamps")
        expect(watcher.locator("[data-map-status]")).to_have_text(
            re.compile(r"Section (0/0 and 2/1|2/1 and 0/0) changed just now")
        )
        assert watcher.evaluate("window.__sameDocument") is True  # not reloaded
        assert watcher.input_value("#move-reason") == "Typed before the other move"
        screenshot(watcher, "sections-map-live-390")
        assert_accessible(watcher, "sections map after a live change")
