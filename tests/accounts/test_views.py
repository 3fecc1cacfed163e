import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import signing
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.models import User

from .conftest import STRONG_PASSWORD, confirm_link, verify_path

HOME = reverse("market:home")
SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")
SENT = reverse("accounts:signup_sent")
RESEND = reverse("accounts:verify_resend")


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def logged_in_user_id(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


# Sign-up


def test_signup_page_shows_the_form(client, db):
    # when
    response = client.get(SIGNUP)
    # then
    assert response.status_code == 200
    for name in ("handle", "email", "password", "password_confirm"):
        assert f'name="{name}"' in response.content.decode()


def test_signup_creates_the_user_mails_a_verify_link_and_asks_to_check_the_inbox(
    client, db, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, signup_data)
    # then
    user = User.objects.get(handle="Marta_K")
    assert response.status_code == 302
    assert response.url == SENT
    assert not user.email_verified
    assert logged_in_user_id(client) is None  # the link signs in: see below
    [message] = mailoutbox
    assert message.to == [signup_data["email"]]
    assert verify_path(message).startswith("/accounts/verify/")
    page = client.get(SENT).content.decode()
    assert "<h1>Check your inbox</h1>" in page


@pytest.mark.parametrize("debug", [False, True])
def test_signup_asks_for_the_privacy_notice_to_be_read_first(client, db, signup_data, debug):
    unticked = {key: value for key, value in signup_data.items() if key != "privacy_notice"}
    with override_settings(DEBUG=debug):
        response = client.post(SIGNUP, unticked)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Read the privacy notice, then tick the box to join." in page
    assert f'href="{reverse("privacy:notice")}"' in page
    assert 'value="Marta_K"' in page  # what was typed is kept
    assert not User.objects.exists()


def test_signup_records_which_privacy_notice_was_read_and_when(client, db, signup_data):
    before = timezone.now()
    client.post(SIGNUP, signup_data)
    user = User.objects.get(handle="Marta_K")
    assert user.privacy_notice_version == settings.PRIVACY_NOTICE_VERSION
    assert before <= user.privacy_notice_read_at <= timezone.now()


def test_signup_goes_to_a_safe_next_url_through_the_link(
    client, db, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{SIGNUP}?next=/stalls/somewhere/", signup_data)
    followed = confirm_link(client, verify_path(mailoutbox[0]))
    # then
    assert response.url == SENT
    assert followed.status_code == 302
    assert followed.url == "/stalls/somewhere/"
    assert logged_in_user_id(client) == User.objects.get().pk


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "env"]
)
def test_signup_ignores_an_unsafe_next_url(
    client, db, signup_data, next_url, mailoutbox, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, {**signup_data, "next": next_url})
    followed = confirm_link(client, verify_path(mailoutbox[0]))
    # then the account is made, and the link signs in and goes home
    assert response.status_code == 302 and response.url == SENT
    assert "next" not in verify_path(mailoutbox[0])
    assert followed.url == HOME
    assert logged_in_user_id(client) == User.objects.get(handle="Marta_K").pk


def test_signup_refuses_a_handle_taken_in_another_case(client, make_user, signup_data):
    # given
    make_user("marta_k")
    # when
    response = client.post(SIGNUP, {**signup_data, "handle": "MARTA_K"})
    # then
    assert response.status_code == 200
    assert "That handle is taken." in response.content.decode()
    assert User.objects.count() == 1
    assert logged_in_user_id(client) is None


def test_signup_with_a_known_email_answers_as_for_a_new_one_and_mails_the_owner(
    make_user, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    """No enumeration: the answer to an address an account uses is byte for byte the
    answer to a new one (each from a fresh browser); the owner is told, the person
    signing up learns nothing."""
    # given
    owner = make_user("someone", email=signup_data["email"])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        known = Client().post(SIGNUP, {**signup_data, "email": signup_data["email"].upper()})
    with django_capture_on_commit_callbacks(execute=True):
        new = Client().post(SIGNUP, {**signup_data, "email": "someone.new@example.com"})
    # then
    assert (known.status_code, known.url) == (new.status_code, new.url) == (302, SENT)
    # Every header alike but the request's own id (bazaar.logs), which differs per request.
    del known.headers["X-Request-ID"], new.headers["X-Request-ID"]
    assert sorted(known.headers.items()) == sorted(new.headers.items())
    assert known.content == new.content
    assert known.cookies.keys() == new.cookies.keys() == {"bazaar_visitor"}
    assert User.objects.filter(email__iexact=signup_data["email"]).get() == owner
    notice, verification = mailoutbox
    assert notice.to == [owner.email]
    assert notice.subject == "Someone tried to sign up with your address at Mesh Bazaar"
    assert "@someone" in notice.body and "/accounts/password-reset/" in notice.body
    assert verification.to == ["someone.new@example.com"]


def test_signup_with_an_unverified_known_email_mails_its_owner_a_new_link(
    client, make_user, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    owner = make_user("someone", email=signup_data["email"], verified=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, signup_data)
    # then
    assert response.url == SENT
    [message] = mailoutbox
    assert message.to == [owner.email] and "@someone" in message.body
    confirm_link(client, verify_path(message))
    owner.refresh_from_db()
    assert owner.email_verified


def test_the_owner_is_told_once_an_hour_however_often_someone_tries(
    client, make_user, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    make_user("someone", email=signup_data["email"])
    for handle in ("first_try", "second_try"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(SIGNUP, {**signup_data, "handle": handle})
        assert response.url == SENT
    assert len(mailoutbox) == 1


def test_signup_refuses_a_weak_password(client, db, signup_data):
    # when
    response = client.post(
        SIGNUP, {**signup_data, "password": "password", "password_confirm": "password"}
    )
    # then
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.exists()


def test_signup_reports_a_bad_handle_with_the_other_field_errors(client, db, signup_data):
    # when
    response = client.post(SIGNUP, {**signup_data, "handle": "marta k!", "email": "not-an-email"})
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "3 to 30 letters, digits or underscores." in body
    assert "Enter a valid email address." in body
    assert not User.objects.exists()


def test_signup_refuses_passwords_that_differ(client, db, signup_data):
    # when
    response = client.post(SIGNUP, {**signup_data, "password_confirm": "something-else-7"})
    # then
    assert response.status_code == 200
    assert "The two passwords don" in response.content.decode()
    assert not User.objects.exists()


def test_signup_password_logs_in_afterwards(
    client, db, signup_data, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SIGNUP, signup_data)
    client.logout()
    response = client.post(LOGIN, {"username": "marta_k", "password": STRONG_PASSWORD})
    # then
    assert logged_in_user_id(client) == User.objects.get().pk
    assert response.status_code == 302


# Verification


def test_verify_link_from_the_email_verifies_the_address_and_signs_in(
    client, signed_up, mailoutbox
):
    # given
    user = signed_up()
    path = verify_path(mailoutbox[0])
    # when
    asked = client.get(path)
    user.refresh_from_db()
    verified_on_sight = user.email_verified
    response = client.post(path)
    # then
    assert asked.status_code == 200 and "@Marta_K" in asked.content.decode()
    assert not verified_on_sight  # nothing changes until the person confirms
    assert response.status_code == 302
    assert response.url == HOME
    user.refresh_from_db()
    assert user.email_verified
    assert logged_in_user_id(client) == user.pk
    assert "Welcome to the market, @Marta_K: your email is verified." in messages_of(response)


def test_a_verify_link_signs_in_only_the_first_time(client, signed_up, mailoutbox):
    # given
    user = signed_up()
    path = verify_path(mailoutbox[0])
    confirm_link(client, path)
    client.logout()
    # when
    response = client.get(path)
    # then
    assert response.url == HOME
    assert logged_in_user_id(client) is None
    assert "Thanks, your email address is verified." in messages_of(response)
    user.refresh_from_db()
    assert user.email_verified


def test_a_verify_link_never_switches_who_is_signed_in(client, signed_up, make_user, mailoutbox):
    # given
    signed_up()
    someone_else = make_user("someone_else")
    client.force_login(someone_else)
    # when
    response = client.get(verify_path(mailoutbox[0]))
    # then
    assert response.url == HOME
    assert logged_in_user_id(client) == someone_else.pk
    assert "Thanks, your email address is verified." in messages_of(response)


def test_verify_tampered_link_shows_the_error_and_a_resend_button(client, signed_up, mailoutbox):
    # given
    user = signed_up()
    client.force_login(user)
    path = verify_path(mailoutbox[0])
    # when
    response = client.get(path.replace("/verify/", "/verify/x", 1))
    # then
    body = response.content.decode()
    assert response.status_code == 400
    assert "This verification link is not valid." in body
    assert f'action="{RESEND}"' in body
    user.refresh_from_db()
    assert not user.email_verified


def test_verify_expired_link_says_so_and_offers_a_login_to_resend(client, make_user, monkeypatch):
    # given a link signed three days and a minute ago, opened while logged out
    user = make_user("Marta_K", verified=False)
    signed_at = time.time() - (tokens.MAX_AGE + timedelta(minutes=1)).total_seconds()
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: signed_at)
        token = tokens.email_token_make(user=user)
    # when
    response = client.get(reverse("accounts:verify", args=[token]))
    # then
    body = response.content.decode()
    assert response.status_code == 400
    assert "This verification link has expired" in body
    assert f"{LOGIN}?next={RESEND}" in body
    user.refresh_from_db()
    assert not user.email_verified


def test_resend_mails_a_new_link_once_a_minute(
    client, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    user = make_user("Marta_K", verified=False)
    client.force_login(user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(RESEND)
        second = client.post(RESEND)
    # then
    assert first.status_code == second.status_code == 302
    assert f"We sent a new link to {user.email}." in messages_of(first)
    assert any("less than a minute ago" in text for text in messages_of(second))
    assert len(mailoutbox) == 1
    assert client.get(verify_path(mailoutbox[0])).status_code == 302
    user.refresh_from_db()
    assert user.email_verified


def test_resend_right_after_signup_is_rate_limited(client, signed_up, mailoutbox):
    # given
    client.force_login(signed_up())
    # when
    response = client.post(RESEND, follow=True)
    # then
    assert "less than a minute ago" in response.content.decode()
    assert len(mailoutbox) == 1


def test_resend_needs_a_login(client, db, mailoutbox):
    # when
    response = client.post(RESEND)
    # then
    assert response.status_code == 302
    assert response.url.startswith(f"{LOGIN}?next=")
    assert mailoutbox == []


# Log in and out


@pytest.mark.parametrize("login_as", ["MARTA_K", "Marta.Kowalska.Market@EXAMPLE.com"])
def test_login_by_handle_or_email_in_any_case(client, make_user, login_as):
    # given
    user = make_user("Marta_K", email="marta.kowalska.market@example.com")
    # when
    response = client.post(LOGIN, {"username": login_as, "password": "correct-horse-battery"})
    # then
    assert response.status_code == 302
    assert response.url == HOME
    assert logged_in_user_id(client) == user.pk


def test_login_page_asks_for_a_handle_or_an_email_of_any_length(client, db):
    # when
    body = client.get(LOGIN).content.decode()
    # then
    assert "Handle or email" in body
    assert re.search(r'name="username"[^>]*maxlength="254"', body)


def test_login_with_a_wrong_password_says_so(client, make_user):
    # given
    make_user("Marta_K")
    # when
    response = client.post(LOGIN, {"username": "Marta_K", "password": "not-it"})
    # then
    assert response.status_code == 200
    assert "That handle or email and password don" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_login_ignores_an_unsafe_next_url(client, make_user):
    # given
    make_user("Marta_K")
    # when
    response = client.post(
        f"{LOGIN}?next=https://evil.example/",
        {"username": "Marta_K", "password": "correct-horse-battery"},
    )
    # then
    assert response.status_code == 302
    assert response.url == HOME


def test_logout_needs_a_post(client, make_user):
    # given
    user = make_user("Marta_K")
    client.force_login(user)
    # when
    refused = client.get(reverse("accounts:logout"))
    # then
    assert refused.status_code == 405
    assert logged_in_user_id(client) == user.pk
    # when
    response = client.post(reverse("accounts:logout"))
    # then
    assert response.status_code == 302
    assert logged_in_user_id(client) is None


# Password reset


def test_password_reset_mails_a_link_that_sets_a_new_password(client, make_user, mailoutbox):
    # given
    user = make_user("Marta_K", email="marta@example.com")
    # when the user asks, in another case
    response = client.post(reverse("accounts:password_reset"), {"email": "MARTA@example.com"})
    # then
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    [message] = mailoutbox
    assert message.to == ["marta@example.com"]
    assert "@Marta_K" in message.body
    confirm = re.search(r"http://testserver(/accounts/password-reset/\S+/\S+/)", message.body)
    assert confirm
    # when they open the link and choose a new password
    form_page = client.get(confirm.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brass-lamp-orchard-5", "new_password2": "brass-lamp-orchard-5"},
    )
    # then
    assert done.status_code == 302
    assert done.url == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("brass-lamp-orchard-5")


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(
    client, db, mailoutbox
):
    # when
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    # then
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mailoutbox == []


def test_password_reset_pages_render(client, db):
    # when / then
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        assert client.get(reverse(f"accounts:{name}")).status_code == 200
    bad_link = reverse("accounts:password_reset_confirm", args=["MQ", "bad-token"])
    assert "That link didn" in client.get(bad_link).content.decode()


def test_another_site_cannot_sign_a_visitor_in_by_sending_them_to_its_link(
    client, signed_up, mailoutbox
):
    """Login CSRF: the link only asks; signing in takes the page's own POST."""
    # given an account someone else opened, and its link
    signed_up()
    path = verify_path(mailoutbox[0])
    client.get(path)
    # when the POST comes without the page's CSRF token
    strict = Client(enforce_csrf_checks=True)
    forged = strict.post(path)
    # then it is refused (bazaar.views.csrf_failure: "This page is out of date")
    assert forged.status_code == 409
    assert logged_in_user_id(strict) is None
    assert not User.objects.get(handle="Marta_K").email_verified
