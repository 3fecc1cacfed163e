"""The privacy notice as a person meets it: from the footer of any page, readable at
desktop and phone widths, and asked for at sign-up, the refusal said in place."""

import pytest
from playwright.sync_api import expect

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


class PrivacyNotice(BrowserTestCase):
    def test_the_footer_leads_to_the_notice(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(viewport=viewport)
            page.goto(f"{self.live_server_url}/accounts/login/")
            page.get_by_role("contentinfo").get_by_role(
                "link", name="Privacy: what we keep about you"
            ).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Privacy: what we keep about you"
            )
            assert_accessible(page, f"privacy notice at {width} px")
            screenshot(page, f"privacy-notice-{width}")

    def test_sign_up_without_reading_the_notice_is_refused_in_place(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(viewport=viewport)
            page.goto(f"{self.live_server_url}/accounts/signup/")
            page.get_by_label("Handle:").fill(f"marta{width}")
            page.get_by_label("Email:").fill(f"marta{width}@example.com")
            page.get_by_label("Password:", exact=True).fill("lanterns-and-lamps-7")
            page.get_by_label("Confirm password:").fill("lanterns-and-lamps-7")
            box = page.get_by_label("I have read the privacy notice")
            box.evaluate("element => element.removeAttribute('required')")
            page.get_by_role("button", name="Create account").click()
            expect(
                page.get_by_text("Read the privacy notice, then tick the box to join.")
            ).to_be_visible()
            expect(page.get_by_label("Handle:")).to_have_value(f"marta{width}")
            assert_accessible(page, f"sign-up refused for the notice at {width} px")
            screenshot(page, f"privacy-signup-refused-{width}")
            page.get_by_label("I have read the privacy notice").check()
            page.get_by_label("Password:", exact=True).fill("lanterns-and-lamps-7")
            page.get_by_label("Confirm password:").fill("lanterns-and-lamps-7")
            page.get_by_role("button", name="Create account").click()
            expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    def test_a_new_edition_is_shown_once_and_got_it_hides_it(self):
        from accounts.services import privacy_notice_acknowledge

        ada = off_the_event_loop(verified_user, "ada")
        off_the_event_loop(privacy_notice_acknowledge, user=ada, version="2026-01-01")
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            if width == "390":
                off_the_event_loop(privacy_notice_acknowledge, user=ada, version="2026-01-01")
            page = self.new_page(user=ada, viewport=viewport)
            page.goto(f"{self.live_server_url}/")
            banner = page.locator(".notice-due")
            expect(banner).to_contain_text("We updated our privacy notice on")
            assert_accessible(page, f"the new edition's banner at {width} px")
            screenshot(page, f"privacy-new-edition-{width}")
            got_it = banner.get_by_role("button", name="Got it")
            got_it.focus()
            page.keyboard.press("Enter")
            expect(
                page.get_by_text("We have noted that you have seen this edition.")
            ).to_be_visible()
            expect(page.locator(".notice-due")).to_have_count(0)
            assert page.url == f"{self.live_server_url}/"
