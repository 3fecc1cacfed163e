"""Password fields (ASVS V2.1.12 and V2.1.8): a button shows what was typed and hides
it again, and a new password says how it measures up as it is typed."""

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import PHONE, BrowserTestCase, screenshot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}


class PasswordFields(BrowserTestCase):
    def test_the_password_can_be_shown_and_is_sent_as_a_password(self):
        page = self.new_page(viewport=WIDE)
        page.goto(f"{self.live_server_url}/accounts/login/")
        page.locator("input[name=username]").fill("nobody-here")
        field = page.get_by_label("Password:", exact=True)
        field.fill("not-my-password")
        page.get_by_role("button", name="Show password").click()
        expect(field).to_have_attribute("type", "text")
        page.get_by_role("button", name="Hide password").press("Enter")
        expect(field).to_have_attribute("type", "password")
        page.get_by_role("button", name="Show password").click()
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".errorlist, .error-message").first).to_be_visible()
        expect(page.get_by_label("Password:", exact=True)).to_have_attribute("type", "password")
        # Only a new password is measured.
        expect(page.locator(".password-strength")).to_have_count(0)

    def test_a_new_password_says_how_it_measures_up(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(viewport=viewport)
            page.goto(f"{self.live_server_url}/accounts/signup/")
            chosen = page.get_by_label("Password:", exact=True)
            expect(page.locator(".password-strength")).to_have_count(1)
            strength = page.locator(f"#{chosen.get_attribute('id')}-strength")
            assert strength.get_attribute("id") in chosen.get_attribute("aria-describedby")
            chosen.fill("short")
            expect(strength).to_have_text("5 of at least 12 characters")
            chosen.fill("aaaaaaaaaaaaaa")
            expect(strength).to_have_text("Weak: too many repeated characters")
            chosen.fill("lanternsandlamps")
            expect(strength).to_have_text("Strong")
            chosen.fill("lanternslamp")
            expect(strength).to_contain_text("Fair")
            expect(page.locator("meter")).to_have_js_property("value", 2)
            assert_accessible(page, f"sign up at {width} px")
            screenshot(page, f"passwords-signup-{width}")
