"""Two-step verification before the admin (OWASP ASVS V4.3.1): stewards and ops sign in
with their password, then type a code from an authenticator app (or a recovery code)
before the admin or the stewards' console opens. Everyone here signs in through the
log-in form, never `force_login` (which passes both steps: tests/second_step.py)."""

import hashlib
import re
import time
from binascii import hexlify
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from prometheus_client import REGISTRY

from accounts.authenticator_keys import KeyUnreadable, secret_opened
from accounts.models import AuthenticatorApp, RecoveryCode, RecoveryCodes
from accounts.second_factor_services import (
    recovery_codes_renew,
    second_factor_begin,
    second_factor_confirm,
    second_factor_verify,
)
from accounts.selectors import SECOND_STEP_PASSED_AT, SECOND_STEP_USED_AT
from accounts.settings_services import user_anonymise
from tests.conftest import race

PASSWORD = "correct-horse-battery"
LOGIN = reverse("accounts:login")
SET_UP = reverse("account:two_step")
VERIFY = reverse("account:two_step_verify")
RECOVERY = reverse("account:recovery_codes")
ADMIN = reverse("admin:index")
# A recovery code as shown: sixteen base32 characters (80 bits) in groups of four.
SHOWN_CODE = r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>"


def signed_in(user) -> Client:
    """A browser that typed `user`'s password on the log-in page, nothing more."""
    browser = Client()
    response = browser.post(LOGIN, {"username": user.handle, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return browser


def app_code(device: AuthenticatorApp, *, steps_ahead: int = 0) -> str:
    """What the person's authenticator app shows now (or `steps_ahead` periods later)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, steps_ahead):06d}"


def wrong_code(device: AuthenticatorApp) -> str:
    """Six digits the app does not show now, nor one period before or after."""
    shown = {app_code(device, steps_ahead=step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in shown)


@pytest.fixture
def steward_with_app(steward):
    """A steward whose app and recovery codes are set up; `.codes` are the recovery
    codes shown to them."""
    device = second_factor_begin(user=steward)
    _, steward.codes = second_factor_confirm(user=steward, code=app_code(device))
    steward.app = device
    return steward


def test_a_steward_sets_up_an_app_on_their_first_visit_to_the_admin(steward):
    browser = signed_in(steward)
    response = browser.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0] == f"{SET_UP}?next=%2Fadmin%2F"
    assert "Set up an authenticator app" in response.content.decode()

    started = browser.post(f"{reverse('account:two_step_begin')}?next=/admin/", follow=True)
    page = started.content.decode()
    device = AuthenticatorApp.objects.get(user=steward, confirmed=False)
    assert 'src="data:image/svg+xml;base64,' in page and 'alt="QR code' in page
    secret = "".join(re.findall(r"<span>([A-Z2-7]{4})</span>", page))
    assert secret and device.config_url.split("secret=")[1].startswith(secret)
    assert browser.get(ADMIN).status_code == 302  # not on until a code confirms it

    confirmed = browser.post(
        f"{reverse('account:two_step_confirm')}?next=/admin/", {"code": app_code(device)}
    )
    assert confirmed.status_code == 200
    codes = re.findall(SHOWN_CODE, confirmed.content.decode())
    assert len(codes) == 10
    assert 'href="/admin/"' in confirmed.content.decode()
    assert browser.get(ADMIN).status_code == 200  # this session has passed


def test_a_steward_with_an_app_types_its_code_and_goes_where_they_were_going(steward_with_app):
    browser = signed_in(steward_with_app)
    asked = browser.get(reverse("stewards:queue"))
    assert asked.status_code == 302
    assert asked.url == f"{VERIFY}?next=%2Fadmin%2Fqueue%2F"
    page = browser.get(asked.url).content.decode()
    assert 'autocomplete="one-time-code"' in page

    passed = browser.post(
        VERIFY, {"code": app_code(steward_with_app.app, steps_ahead=1), "next": "/admin/queue/"}
    )
    assert passed.status_code == 302 and passed.url == "/admin/queue/"
    assert browser.get(reverse("stewards:queue")).status_code == 200
    assert browser.get(ADMIN).status_code == 200


def _step_clock(browser: Client, *, passed_ago: float, used_ago: float) -> None:
    """Move this session's second step into the past (seconds ago)."""
    session = browser.session
    session[SECOND_STEP_PASSED_AT] = time.time() - passed_ago
    session[SECOND_STEP_USED_AT] = time.time() - used_ago
    session.save()


def test_the_step_lapses_after_30_idle_minutes_or_12_hours_and_use_keeps_it(steward_with_app):
    """ASVS V3.3.2 for role holders: the password session goes on, the second step is
    asked again; a role page used within the half hour starts its idle clock again."""
    browser = signed_in(steward_with_app)
    browser.post(VERIFY, {"code": app_code(steward_with_app.app, steps_ahead=1)})
    assert browser.get(ADMIN).status_code == 200

    _step_clock(browser, passed_ago=3600, used_ago=29 * 60)
    assert browser.get(reverse("stewards:queue")).status_code == 200
    assert time.time() - browser.session[SECOND_STEP_USED_AT] < 60

    _step_clock(browser, passed_ago=3600, used_ago=31 * 60)
    idle = browser.get(reverse("stewards:queue"))
    assert idle.status_code == 302 and idle.url.startswith(VERIFY)
    assert browser.get(reverse("account:hub")).status_code == 200  # still signed in

    _step_clock(browser, passed_ago=12 * 3600 + 1, used_ago=60)
    assert browser.get(ADMIN).status_code == 302

    browser.post(VERIFY, {"code": steward_with_app.codes[0]})  # the app's code was used
    assert browser.get(ADMIN).status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_a_wrong_code_is_refused_in_place_and_a_quick_retry_is_told_to_wait(
    steward_with_app, debug
):
    # The first wrong code locks for 1 s in production; 30 s here, so that a busy test
    # machine cannot let the lock run out before the retry (which then would be judged
    # on its code: the fixture already used this period's).
    with override_settings(DEBUG=debug, OTP_TOTP_THROTTLE_FACTOR=30):
        browser = signed_in(steward_with_app)
        wrong = browser.post(VERIFY, {"code": wrong_code(steward_with_app.app), "next": "/admin/"})
        assert wrong.status_code == 400
        page = wrong.content.decode()
        assert "That code is not right" in page and 'role="alert"' in page
        throttled = REGISTRY.get_sample_value("bazaar_refusals_total", {"kind": "two_step"}) or 0
        retry = browser.post(VERIFY, {"code": app_code(steward_with_app.app), "next": "/admin/"})
        assert retry.status_code == 429
        counted = REGISTRY.get_sample_value("bazaar_refusals_total", {"kind": "two_step"})
        assert counted == throttled + 1
        wait = re.search(r"Too many wrong codes\. Wait (\d+) seconds and try again\.", retry.text)
        assert wait and 1 <= int(wait[1]) <= 30
        assert retry["Retry-After"] == wait[1]
        assert browser.get(ADMIN).status_code == 302


def test_an_app_code_opens_once(steward_with_app):
    code = app_code(steward_with_app.app, steps_ahead=1)
    first = signed_in(steward_with_app).post(VERIFY, {"code": code})
    assert first.status_code == 302 and first.url == ADMIN
    again = signed_in(steward_with_app).post(VERIFY, {"code": code})
    assert again.status_code == 400
    assert "each works once" in again.content.decode()


def test_a_used_code_typed_again_is_refused_logged_and_told_to_the_owner(
    steward_with_app, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    """ASVS V2.8.5: a code seen over a shoulder is worth nothing once used, and its
    owner hears that someone with their password tried it."""
    code = app_code(steward_with_app.app, steps_ahead=1)
    assert signed_in(steward_with_app).post(VERIFY, {"code": code}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        again = signed_in(steward_with_app).post(VERIFY, {"code": code})
    assert again.status_code == 400 and "That code is not right" in again.text
    assert [mail.subject for mail in mailoutbox] == [
        "A used two-step code was typed again on your Mesh Bazaar account"
    ]
    assert mailoutbox[0].to == [steward_with_app.email]
    assert f"typed again for account {steward_with_app.public_id}" in caplog.text
    mailoutbox.clear()
    steward_with_app.app.refresh_from_db()
    steward_with_app.app.throttle_reset()  # the refusal's lock, run out
    with django_capture_on_commit_callbacks(execute=True):
        wrong = signed_in(steward_with_app).post(VERIFY, {"code": wrong_code(steward_with_app.app)})
    assert wrong.status_code == 400 and mailoutbox == []  # merely wrong: no mail


def test_a_recovery_code_opens_once_and_says_how_many_are_left(steward_with_app):
    code = steward_with_app.codes[0]
    browser = signed_in(steward_with_app)
    passed = browser.post(VERIFY, {"code": f" {code.upper()} "}, follow=True)
    assert passed.redirect_chain[-1][0] == ADMIN
    assert "You used a recovery code: 9 left." in passed.content.decode()
    again = signed_in(steward_with_app).post(VERIFY, {"code": code})
    assert again.status_code == 400


def test_a_recovery_code_is_taken_however_it_is_spaced_or_cased(steward_with_app):
    code = steward_with_app.codes[0]
    passed = signed_in(steward_with_app).post(VERIFY, {"code": code.replace("-", " ").upper()})
    assert passed.status_code == 302 and passed.url == ADMIN


def test_recovery_codes_are_kept_only_as_salted_digests(steward_with_app):
    """A copy of the database lets no one in (OWASP ASVS V2.6.2, V2.6.3): each code is
    80 random bits, kept as the SHA-256 of a salt of its own and the code."""
    kept = list(RecoveryCode.objects.filter(device__user=steward_with_app))
    assert len({bytes(code.salt) for code in kept}) == 10
    for shown in steward_with_app.codes:
        typed = shown.replace("-", "")
        assert len(typed) == 16  # 16 base32 characters: 80 bits
        digests = {hashlib.sha256(bytes(code.salt) + typed.encode()).digest() for code in kept}
        assert {bytes(code.digest) for code in kept} & digests
    assert not StaticToken.objects.exists()  # django-otp's table of codes in clear


def test_codes_handed_out_before_digests_still_open_once(steward):
    """The migration to digests keeps working the codes people already wrote down."""
    migration = import_module("accounts.migrations.0004_recovery_codes_hashed")
    device = StaticDevice.objects.create(user=steward, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=device, token="abcdefgh")
    migration.codes_kept_as_digests(apps, None)
    assert not StaticToken.objects.exists()
    assert RecoveryCodes.objects.get(pk=device.pk).verify_token("ABCDEFGH")
    assert not RecoveryCodes.objects.get(pk=device.pk).verify_token("abcdefgh")


def test_new_recovery_codes_need_the_step_and_replace_the_old(steward_with_app):
    browser = signed_in(steward_with_app)
    asked = browser.post(RECOVERY)
    assert asked.status_code == 302 and asked.url.startswith(VERIFY)
    assert RecoveryCode.objects.filter(device__user=steward_with_app).count() == 10

    browser.post(VERIFY, {"code": steward_with_app.codes[0]})
    renewed = browser.post(RECOVERY)
    new_codes = re.findall(SHOWN_CODE, renewed.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(steward_with_app.codes)
    assert "Your old codes no longer work." in renewed.content.decode()
    # The session passed with a recovery code still has: the codes' device is kept.
    assert browser.get(ADMIN).status_code == 200
    old = signed_in(steward_with_app).post(VERIFY, {"code": steward_with_app.codes[1]})
    assert old.status_code == 400


def test_next_never_leaves_the_site(steward_with_app):
    browser = signed_in(steward_with_app)
    response = browser.post(
        VERIFY,
        {"code": app_code(steward_with_app.app, steps_ahead=1), "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response.url == ADMIN


def test_an_htmx_action_of_the_console_before_the_step_sends_the_page_to_it(steward_with_app):
    browser = signed_in(steward_with_app)
    response = browser.post(reverse("stewards:queue_act"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{VERIFY}?next=%2Fadmin%2F"


def test_a_set_up_finished_elsewhere_is_refused_with_a_way_on(steward):
    browser = signed_in(steward)
    browser.post(reverse("account:two_step_begin"))
    device = AuthenticatorApp.objects.get(user=steward)
    second_factor_confirm(user=steward, code=app_code(device))
    response = browser.post(
        reverse("account:two_step_confirm"), {"code": app_code(device, steps_ahead=1)}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "That set-up is no longer open" in page
    assert 'href="#id_code"' not in page and 'name="code"' not in page  # no field to point to


def test_people_without_a_role_are_never_asked_and_cannot_set_it_up(make_user):
    buyer = make_user("buyer")
    browser = signed_in(buyer)
    hub = browser.get(reverse("account:hub")).content.decode()
    assert "Two-step verification" not in hub
    refused = browser.get(SET_UP)
    assert refused.status_code == 403
    assert "Two-step verification is for stewards and ops." in refused.content.decode()
    admin_login = browser.get(ADMIN, follow=True)
    assert admin_login.redirect_chain[-1][0].startswith(reverse("admin:login"))


def test_the_hub_shows_role_holders_their_two_step_page(steward_with_app):
    browser = signed_in(steward_with_app)
    assert f'href="{SET_UP}"' in browser.get(reverse("account:hub")).content.decode()
    page = browser.get(SET_UP).content.decode()
    assert "On</span> since" in page and "<strong>10</strong> unused recovery codes" in page


def test_ops_reset_a_lost_phone_and_the_next_visit_sets_up_again(steward_with_app):
    browser = signed_in(steward_with_app)
    browser.post(VERIFY, {"code": app_code(steward_with_app.app, steps_ahead=1)})
    assert browser.get(ADMIN).status_code == 200

    call_command("two_step_reset", f"@{steward_with_app.handle}")
    assert not TOTPDevice.objects.filter(user=steward_with_app).exists()
    assert not RecoveryCode.objects.filter(device__user=steward_with_app).exists()
    again = browser.get(ADMIN, follow=True)
    assert again.redirect_chain[-1][0] == f"{SET_UP}?next=%2Fadmin%2F"
    with pytest.raises(CommandError, match="No account has the handle @nobody"):
        call_command("two_step_reset", "nobody")


def test_closing_an_account_removes_its_app_and_codes(steward_with_app):
    user_anonymise(user=steward_with_app)
    assert not TOTPDevice.objects.filter(user=steward_with_app).exists()
    assert not RecoveryCode.objects.filter(device__user=steward_with_app).exists()


def test_no_one_reads_authenticator_secrets_in_the_admin(client, make_user):
    ops = make_user("ops")
    ops.is_staff = ops.is_superuser = True
    ops.save()
    client.force_login(ops)
    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404


def test_an_authenticator_secret_is_kept_sealed(steward_with_app, make_user):
    """A copy of the database cannot make anyone's codes (OWASP ASVS V2.8.2): the row
    holds the secret sealed under a key from SECRET_KEY, bound to its owner."""
    stored = TOTPDevice.objects.get(pk=steward_with_app.app.pk).key
    secret, current = secret_opened(stored, user_id=steward_with_app.pk)
    assert current and len(secret) == 20
    assert stored.startswith("v1.") and hexlify(secret).decode() not in stored.lower()
    with pytest.raises(KeyUnreadable):  # copied onto someone else's row, it does not open
        secret_opened(stored, user_id=make_user("other").pk)
    with override_settings(SECRET_KEY="another-key-" * 5), pytest.raises(KeyUnreadable):
        secret_opened(stored, user_id=steward_with_app.pk)


def test_a_rotated_secret_key_keeps_apps_working_and_reseal_moves_them(steward_with_app):
    """After a SECRET_KEY rotation the old key, kept as a fallback, still opens the
    secrets; `two_step_keys_reseal` seals them under the new one, so the fallback can go."""
    app, new = steward_with_app.app, "the-next-secret-key-" * 3
    secret = app.bin_key
    with override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        # The code of the next period: the set-up used this one's.
        assert second_factor_verify(user=steward_with_app, code=app_code(app, steps_ahead=1))
        out = StringIO()
        call_command("two_step_keys_reseal", stdout=out)
        assert "1 authenticator secret(s) sealed under the current key." in out.getvalue()
    with override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[]):
        app.refresh_from_db()
        assert secret_opened(app.key, user_id=steward_with_app.pk) == (secret, True)
        out = StringIO()
        call_command("two_step_keys_reseal", stdout=out)
        assert "0 authenticator secret(s)" in out.getvalue()


def test_apps_set_up_before_sealing_keep_working(steward):
    """The migration seals the secrets that were kept in clear."""
    migration = import_module("accounts.migrations.0005_authenticator_secrets_sealed")
    clear = TOTPDevice.objects.create(user=steward, name="Authenticator app", confirmed=True)
    migration.secrets_sealed(apps, None)
    app = AuthenticatorApp.objects.get(pk=clear.pk)
    assert app.key.startswith("v1.") and app.bin_key == clear.bin_key
    assert second_factor_verify(user=steward, code=app_code(app)) == app


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_once_opens_once(require_postgres, steward):
    device = second_factor_begin(user=steward)
    second_factor_confirm(user=steward, code=app_code(device))
    code = app_code(device, steps_ahead=1)
    outcomes = race(*(lambda: second_factor_verify(user=steward, code=code) for _ in range(4)))
    accepted = [outcome for outcome in outcomes if isinstance(outcome, TOTPDevice)]
    assert len(accepted) == 1, outcomes


def test_the_account_is_told_when_its_second_step_changes(steward, on_commit, mailoutbox):
    device = on_commit(second_factor_begin, user=steward)
    on_commit(second_factor_confirm, user=steward, code=app_code(device))
    on_commit(recovery_codes_renew, user=steward)
    on_commit(call_command, "two_step_reset", steward.handle)
    assert [mail.subject for mail in mailoutbox] == [
        "Two-step verification is on for your Mesh Bazaar account",
        "New recovery codes for your Mesh Bazaar account",
        "Two-step verification was reset on your Mesh Bazaar account",
    ]
    assert all(mail.to == [steward.email] for mail in mailoutbox)


def test_the_ops_dashboard_asks_for_the_step_too(steward_with_app, make_user):
    browser = signed_in(steward_with_app)
    dashboard = reverse("insights:ops")
    asked = browser.get(dashboard)
    assert asked.status_code == 302 and asked.url == f"{VERIFY}?next=%2Fops%2Fanalytics%2F"
    browser.post(VERIFY, {"code": app_code(steward_with_app.app, steps_ahead=1)})
    assert browser.get(dashboard).status_code == 200
    assert signed_in(make_user("shopper")).get(dashboard).status_code == 404
