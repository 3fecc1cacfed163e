"""Log-in lockout (django-axes) and rate limits on sign-up, log-in and password reset:
refused in place, with 429 and Retry-After, and nothing done."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.urls import reverse

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
