"""Log-in lockout (django-axes) and rate limits on sign-up, log-in and password reset:
refused in place, with 429 and Retry-After, and nothing done."""

import time

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import login_services
from accounts.backends import lockout_name
from accounts.models import User
from bazaar.errors import RateLimited
from bazaar.ratelimit import Rate, client_ip, rate_check

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
PASSWORD = "correct-horse-battery"


def log_in(client, username, password, address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("debug", [False, True])
def test_five_failures_lock_the_account_out_from_that_address(client, make_user, debug):
    make_user("ada")
    with override_settings(DEBUG=debug):
        for _ in range(4):
            assert log_in(client, "ada", "wrong-password").status_code == 200
        fifth = log_in(client, "ada", "wrong-password")
        locked = log_in(client, "ada", PASSWORD)

    assert fifth.status_code == 429

    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many failed log-ins for this account from here. Try again in 15 minutes" in page
    assert 'role="alert"' in page and 'value="ada"' in page
    assert SESSION_KEY not in client.session


def test_the_email_or_another_case_is_the_same_account_for_the_count(client, make_user):
    make_user("ada")
    for typed in ("ada", "ADA", "ada@example.com", "Ada@Example.com"):
        assert log_in(client, typed, "wrong-password").status_code == 200

    assert log_in(client, "aDa", "wrong-password").status_code == 429


def test_a_log_in_looks_its_account_up_once(make_user, rf):
    """The slowdown and django-axes's checks and records all ask whose account it is."""
    ada = make_user("ada")
    request = rf.post(LOGIN, {"username": "ADA", "password": "wrong-password"})
    with CaptureQueriesContext(connection) as queries:
        names = {lockout_name(request, None), lockout_name(request, {"username": "ADA"})}
    assert names == {f"account:{ada.pk}"} and len(queries) == 1


def test_the_lockout_is_per_address_and_a_success_clears_the_count(client, make_user):
    make_user("ada")
    for _ in range(4):
        log_in(client, "ada", "wrong-password")
    assert log_in(client, "ada", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "ada", "wrong-password")
    assert log_in(client, "ada", PASSWORD).status_code == 302, "a success starts the count again"
    client.logout()

    for _ in range(5):
        log_in(client, "ada", "wrong-password")
    assert log_in(client, "ada", PASSWORD).status_code == 429
    assert log_in(client, "ada", PASSWORD, address="203.0.113.50").status_code == 302


def fail_from_many_addresses(username: str, failures: int) -> None:
    """`failures` wrong passwords for one account, four from each address (one under
    django-axes's per-address lockout), each from a fresh browser."""
    for number in range(failures):
        address = f"10.0.{number // 4 // 250}.{number // 4 % 250 + 1}"
        assert log_in(Client(), username, "wrong-password", address).status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_past_100_failures_an_hour_an_account_takes_one_try_at_a_time(make_user, debug):
    """ASVS V2.2.1: many addresses together get no more than 100 guesses an hour at one
    account; past that, browsers it does not know get one try every 36 seconds."""
    assert settings.LOGIN_ACCOUNT_FAILURES_PER_HOUR == 100
    assert settings.LOGIN_SLOWED_TRY_SECONDS * 100 <= 3600
    make_user("ada")
    fail_from_many_addresses("ada", 100)

    with override_settings(DEBUG=debug):
        first = log_in(Client(), "ada", "wrong-password", address="192.0.2.1")
        stranger = Client()
        refused = log_in(stranger, "ADA@example.com", PASSWORD, address="192.0.2.2")

    assert first.status_code == 200  # the one try of the moment
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 36
    page = refused.content.decode()
    assert "many failed log-ins in the last hour, so it takes one try at a time." in page
    assert 'role="alert"' in page
    assert SESSION_KEY not in stranger.session
    # Another account is not slowed by Ada's siege.
    make_user("bob")
    assert log_in(Client(), "bob", PASSWORD, address="192.0.2.3").status_code == 302


def test_a_browser_that_logged_in_before_walks_past_the_slowdown(make_user):
    make_user("ada")
    own = Client()
    assert log_in(own, "ada", PASSWORD).status_code == 302
    cookie = own.cookies[settings.KNOWN_DEVICE_COOKIE].value
    assert "ada" not in cookie.lower() and "account" not in cookie  # opaque
    assert own.post(reverse("accounts:logout")).status_code == 302  # the cookie stays
    fail_from_many_addresses("ada", 101)

    assert log_in(own, "ada", "wrong-password").status_code == 200  # not counted either
    assert log_in(own, "ada", PASSWORD).status_code == 302
    forged = Client()
    forged.cookies[settings.KNOWN_DEVICE_COOKIE] = cookie.rsplit(":", 1)[0] + ":forged"
    log_in(forged, "ada", "wrong-password", address="192.0.2.9")
    assert log_in(forged, "ada", PASSWORD, address="192.0.2.9").status_code == 429


def test_the_slowdown_lifts_as_the_failures_leave_the_last_hour(make_user, monkeypatch):
    ada = make_user("ada")
    fail_from_many_addresses("ada", 100)
    assert log_in(Client(), "ada", "wrong-password", address="192.0.2.1").status_code == 200
    assert log_in(Client(), "ada", PASSWORD, address="192.0.2.2").status_code == 429

    # Half an hour into the next hour, the sliding hour covers half of the last one's.
    later = (time.time() // 3600 + 1.5) * 3600
    monkeypatch.setattr(login_services.time, "time", lambda: later)
    assert login_services.login_failures_in_the_last_hour(f"account:{ada.pk}") == 50.5
    assert log_in(Client(), "ada", PASSWORD, address="192.0.2.4").status_code == 302


def test_the_admin_has_no_password_form_of_its_own(client, make_user):
    """One log-in page, one set of limits: the admin's sends people to it."""
    ops = make_user("ops")
    ops.is_staff = True
    ops.save()
    tried = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD})
    assert tried.status_code == 302
    assert tried.url == f"{LOGIN}?next=/admin/"
    assert SESSION_KEY not in client.session


def test_one_address_trying_many_accounts_is_slowed(client, make_user):
    for number in range(30):
        assert log_in(client, f"nobody{number}", "guess").status_code == 200

    refused = log_in(client, "someone-else", "guess")

    assert refused.status_code == 429
    assert "Too many tries: at most 30 log-ins every 10 minutes" in refused.content.decode()
    assert int(refused["Retry-After"]) <= 600


def test_sign_ups_from_one_address_are_limited_and_the_refused_one_creates_nothing(
    client, signup_data
):
    signup = reverse("accounts:signup")
    for number in range(5):
        data = {**signup_data, "handle": f"maker{number}", "email": f"maker{number}@example.com"}
        assert client.post(signup, data, REMOTE_ADDR="198.51.100.9").status_code == 302

    data = {**signup_data, "handle": "maker9", "email": "maker9@example.com"}
    refused = client.post(signup, data, REMOTE_ADDR="198.51.100.9")

    assert refused.status_code == 429
    assert "at most 5 sign-ups an hour" in refused.content.decode()
    assert not User.objects.filter(handle="maker9").exists()
    assert client.post(signup, data, REMOTE_ADDR="198.51.100.10").status_code == 302


def test_password_resets_are_limited_and_the_refused_one_sends_nothing(client, make_user):
    make_user("ada")
    reset = reverse("accounts:password_reset")
    for _ in range(5):
        client.post(reset, {"email": "ada@example.com"})
    sent = len(mail.outbox)

    refused = client.post(reset, {"email": "ada@example.com"})

    assert refused.status_code == 429
    assert "at most 5 password resets an hour" in refused.content.decode()
    assert len(mail.outbox) == sent == 5


def test_a_refusal_to_htmx_is_a_fragment_shown_in_place(rf):
    rate = Rate(1, 60, "1 try a minute")
    rate_check("probe", "someone", rate)
    with pytest.raises(RateLimited) as refused:
        rate_check("probe", "someone", rate)

    assert refused.value.status == 429
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.message.startswith("Too many tries: at most 1 try a minute.")
    rate_check("probe", "someone else", rate)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "seen"),
    [
        (0, "203.0.113.1", "10.0.0.2", "10.0.0.2"),
        (1, "203.0.113.1", "10.0.0.2", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "10.0.0.2", "203.0.113.1"),  # a forged entry on the left
        (2, "203.0.113.1, 10.0.0.9", "10.0.0.2", "203.0.113.1"),
        (1, "", "10.0.0.2", "10.0.0.2"),
    ],
)
def test_the_visitor_s_address_behind_trusted_proxies(rf, proxies, forwarded, remote, seen):
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(request) == seen


def test_log_ins_failures_and_log_outs_are_recorded_with_who_and_from_where(client, make_user):
    """OWASP ASVS 7.1.1, 7.2.1: each authentication decision is kept with the account,
    the address and the time (django-axes's tables, read in the admin), also a failure
    that a later success cleared from the lockout count; never the password, and the
    session only as a hash."""
    ada = make_user("ada")
    account = f"account:{ada.pk}"  # accounts.backends.lockout_name: however it was typed

    log_in(client, "ada", "wrong-horse-battery")
    log_in(client, "ada", PASSWORD)
    session_key = client.session.session_key
    client.post(reverse("accounts:logout"), REMOTE_ADDR="198.51.100.7")

    failure = AccessFailureLog.objects.get()
    assert (failure.username, failure.ip_address, failure.locked_out) == (
        account,
        "198.51.100.7",
        False,
    )
    success = AccessLog.objects.get()
    assert (success.username, success.ip_address) == ("ada", "198.51.100.7")
    assert success.logout_time is not None
    assert success.session_hash and session_key not in success.session_hash
    stored = [
        str(value)
        for model in (AccessFailureLog, AccessLog, AccessAttempt)
        for row in model.objects.values()
        for value in row.values()
    ]
    assert not any("horse-battery" in value for value in stored)
