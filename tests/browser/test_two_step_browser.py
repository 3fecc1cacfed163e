"""Two-step verification in a browser (ASVS V4.3.1): a new steward signs in with their
password, is taken to set up an authenticator app before the admin, scans (here: reads)
its key, types the first code, keeps their recovery codes and reaches the admin; a
wrong code is said in place. At 1366 and 390 px, axe finds nothing."""

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from governance.models import Role
from governance.services import role_grant
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


def _new_steward(handle: str):
    user = verified_user(handle)
    role_grant(user=user, role=Role.STEWARD)
    return user


def _app_code(user, *, steps_ahead: int = 0) -> str:
    from accounts.models import AuthenticatorApp

    device = AuthenticatorApp.objects.get(user=user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, steps_ahead):06d}"


class TwoStep(BrowserTestCase):
    def _log_in(self, viewport, handle: str):
        page = self.new_page(viewport=viewport)
        page.goto(f"{self.live_server_url}/accounts/login/?next=/admin/")
        page.locator("input[name=username]").fill(handle)
        page.get_by_label("Password:", exact=True).fill("pw-12345678")
        page.get_by_role("button", name="Log in").click()
        return page

    def test_a_new_steward_sets_up_an_app_and_reaches_the_admin(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            steward = off_the_event_loop(_new_steward, f"warden{width}")
            page = self._log_in(viewport, steward.handle)
            expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
            page.get_by_role("button", name="Set up an authenticator app").click()

            qr = page.get_by_role("img", name="QR code that adds Mesh Bazaar")
            expect(qr).to_be_visible()
            assert qr.evaluate("image => image.naturalWidth") > 0
            assert len(page.locator(".secret-key span").all_inner_texts()) == 8
            assert_accessible(page, f"two-step set-up at {width} px")
            screenshot(page, f"two-step-set-up-{width}")

            page.get_by_role("textbox", name="Code:").fill(off_the_event_loop(_app_code, steward))
            page.get_by_role("button", name="Turn on two-step verification").click()
            expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
            expect(page.locator(".recovery-codes li")).to_have_count(10)
            assert_accessible(page, f"recovery codes at {width} px")
            screenshot(page, f"two-step-recovery-codes-{width}")

            page.get_by_role("link", name="I've kept them: continue").click()
            expect(page).to_have_url(f"{self.live_server_url}/admin/")
            expect(page.locator("#site-name")).to_be_visible()

    def test_a_wrong_code_is_said_in_place(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            steward = off_the_event_loop(_new_steward, f"keeper{width}")
            off_the_event_loop(_set_up, steward)
            page = self._log_in(viewport, steward.handle)
            expect(page.get_by_role("heading", name="Type your code")).to_be_visible()
            code = page.get_by_role("textbox", name="Code:")
            expect(code).to_be_focused()
            code.fill("12345")
            page.get_by_role("button", name="Continue").click()
            summary = page.get_by_role("alert")
            expect(summary).to_contain_text("That code is not right")
            expect(page.locator("#id_code_error")).to_contain_text("That code is not right")
            assert_accessible(page, f"two-step code refused at {width} px")
            screenshot(page, f"two-step-wrong-code-{width}")


def _set_up(user) -> None:
    from accounts.second_factor_services import second_factor_begin, second_factor_confirm

    second_factor_begin(user=user)
    second_factor_confirm(user=user, code=_app_code(user))
