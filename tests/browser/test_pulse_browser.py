"""The market's pulse in a browser: the live heat-map on the minimap, and the
dashboards that read the roll-ups (screenshots at 1366 and 390 px)."""

import os
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from analytics.recording import events_flush
from analytics.rollups import rollups_run
from analytics.seeding import Catalogue, events_seed
from governance.models import Role
from governance.services import role_grant
from market.models import Section
from market.services import sections_ensure
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    PHONE,
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    seller_stall,
    verified_user,
)

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
# Where the issue's screenshots go (PULSE_SHOTS), else beside the other tests' screenshots.
SHOTS = Path(
    os.environ.get("PULSE_SHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)

# The colour of the minimap's square for section (dx, dy) away from the page's own,
# read from a corner of the square (the centre holds the count).
SQUARE_COLOUR = """([dx, dy]) => {
    const canvas = document.getElementById('minimap');
    const data = JSON.parse(document.getElementById('minimap-data').textContent);
    const cell = canvas.width / (2 * data.radius + 1);
    const corner = (d) => Math.floor((d + data.radius) * cell + 4);
    const x = corner(dx), y = corner(dy);
    return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data).join(',');
}"""


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _market():
    sections_ensure(coordinates=[(x, y) for x in range(4) for y in range(4)])
    stall = seller_stall(handle="potter", legal_name="Pat Potter", name="Pat's Pots", x=1, y=1)
    item_with_photo(
        stall=stall,
        title="Blue jug",
        description="",
        price_cents=2400,
        inventory=3,
        colour=(60, 90, 200),
    )
    return stall


def _a_month(stall):
    """A generated month of events over this market, rolled up."""
    sections = list(Section.objects.values_list("pk", flat=True))
    items = list(stall.items.values_list("pk", flat=True))
    others = [
        seller_stall(
            handle=f"seller{n}",
            legal_name=f"Seller {n}",
            name=f"Stall {n}",
            x=n % 4,
            y=n // 4,
            slot=n % 9,
        )
        for n in range(6)
    ]
    catalogue = Catalogue(
        sections=sections,
        stalls=[(stall.pk, stall.section_id, items)] + [(s.pk, s.section_id, []) for s in others],
    )
    events_seed(events=6000, catalogue=catalogue, days=30)
    events_flush()
    rollups_run()


@override_settings(JOBS_BACKEND="embedded")
class LiveHeatMapInTheBrowser(BrowserTestCase):
    """The live server runs the beat schedule as `make run` does, heat-map included."""

    def test_a_shopper_walking_in_changes_another_shoppers_minimap_within_5_s(self):
        off_the_event_loop(_market)
        first = self.new_page(verified_user("first"))
        first.goto(f"{self.live_server_url}/market/0/0/")
        first.wait_for_selector("#minimap[data-drawn=true]", state="attached")
        counts = first.locator("#minimap-counts")
        expect(counts).to_contain_text("Section 0/0: 1 person")  # the shopper themself
        expect(counts).not_to_contain_text("Section 1/0")
        before = first.evaluate(SQUARE_COLOUR, [1, 0])

        second = self.new_page(verified_user("second"))
        second.goto(f"{self.live_server_url}/market/1/0/")
        # No reload: the frame over /ws/market/ redraws the first shopper's map.
        expect(counts).to_contain_text("Section 1/0: 1 person", timeout=5000)
        assert first.evaluate(SQUARE_COLOUR, [1, 0]) != before
        # The second shopper walks on: their old square empties, the new one fills.
        second.keyboard.press("s")
        expect(second.locator("[data-testid=coords]")).to_have_text("1/1")
        expect(counts).to_contain_text("Section 1/1: 1 person", timeout=5000)
        expect(counts).not_to_contain_text("Section 1/0")
        assert first.evaluate(SQUARE_COLOUR, [1, 0]) == before
        assert_accessible(first, "market section with a live heat-map")

    def test_screenshots_of_the_tinted_minimap(self):
        off_the_event_loop(_market)
        walkers = [self.new_page() for _ in range(4)]
        for number, page in enumerate(walkers):
            page.goto(f"{self.live_server_url}/market/{number % 2}/{1 + number // 3}/")
        for viewport, width in ((WIDE, 1366), (PHONE, 390)):
            page = self.new_page(viewport=viewport)
            page.goto(f"{self.live_server_url}/market/1/1/")
            expect(page.locator("#minimap-counts")).to_contain_text("Section 0/1", timeout=5000)
            _shot(page, f"minimap-{width}")


class DashboardsInTheBrowser(BrowserTestCase):
    def test_screenshots_of_the_ops_dashboard_and_the_sellers_analytics(self):
        stall = off_the_event_loop(_market)
        off_the_event_loop(_a_month, stall)
        ops = off_the_event_loop(verified_user, "opsperson")
        off_the_event_loop(role_grant, user=ops, role=Role.OPS)
        for viewport, width in ((WIDE, 1366), (PHONE, 390)):
            page = self.new_page(ops, viewport=viewport)
            page.goto(f"{self.live_server_url}/ops/analytics/")
            expect(page.locator("h1")).to_have_text("Market analytics")
            expect(page.locator(".chart-svg")).to_have_count(3)
            assert_accessible(page, f"ops analytics at {width}")
            _shot(page, f"ops-dashboard-{width}")
            seller = self.new_page(stall.seller.user, viewport=viewport)
            seller.goto(f"{self.live_server_url}/dashboard/stall/analytics/")
            expect(seller.locator("[data-testid=stall-now]")).to_contain_text("in your stall now")
            assert_accessible(seller, f"seller analytics at {width}")
            _shot(seller, f"seller-analytics-{width}")
