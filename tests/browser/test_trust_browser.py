"""What a staging site and the sign-up answer look like (issue 21, points 2 and 4):
the "Test mode: no real money" banner on every page, seen and accessible at phone and
desktop widths, and the "check your inbox" page."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from market.services import sections_ensure
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    PHONE,
    BrowserTestCase,
    off_the_event_loop,
    screenshot,
    verified_user,
)

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PAGES = {"front": "/", "login": "/accounts/login/", "inbox": "/accounts/signup/sent/"}


# The live server is started after the class's settings apply, and inherits them.
@override_settings(BAZAAR_STAGING=True)
class StagingSite(BrowserTestCase):
    def test_every_page_says_it_takes_no_real_money(self):
        off_the_event_loop(sections_ensure, coordinates=[(0, 0)])
        buyer = off_the_event_loop(verified_user, "stager")
        for width_name, viewport in (("1366", WIDE), ("390", PHONE)):
            for user in (None, buyer):
                page = self.new_page(user=user, viewport=viewport)
                for name, path in PAGES.items():
                    if user is not None and name != "front":
                        continue
                    page.goto(self.live_server_url + path)
                    banner = page.get_by_role("note").filter(has_text="Test mode: no real money.")
                    expect(banner).to_be_visible()
                    who = "buyer" if user else "guest"
                    assert_accessible(page, f"staging {name} as {who} at {width_name} px")
                    screenshot(page, f"trust-staging-{name}-{who}-{width_name}")


def _unverified_link(handle: str) -> str:
    from accounts import tokens
    from accounts.services import user_create

    user = user_create(handle=handle, email=f"{handle}@example.com", password="pw-12345678")
    return f"/accounts/verify/{tokens.email_token_make(user=user)}/?next=/search/"


class VerificationLink(BrowserTestCase):
    def test_the_link_asks_then_signs_in_and_goes_back(self):
        off_the_event_loop(sections_ensure, coordinates=[(0, 0)])
        for width_name, viewport in (("1366", WIDE), ("390", PHONE)):
            link = off_the_event_loop(_unverified_link, f"newcomer{width_name}")
            page = self.new_page(viewport=viewport)
            page.goto(self.live_server_url + link)
            expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
            assert_accessible(page, f"verification link at {width_name} px")
            screenshot(page, f"trust-verify-confirm-{width_name}")
            page.get_by_role("button", name="Confirm and sign in").click()
            page.wait_for_url("**/search/")
            expect(
                page.get_by_text(f"Welcome to the market, @newcomer{width_name}")
            ).to_be_visible()
