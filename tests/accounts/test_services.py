import time
from datetime import timedelta

import pytest
from django.core import signing

from accounts import services, tokens
from accounts.models import User
from accounts.services import (
    SignupRefused,
    email_verification_send,
    email_verify,
    user_identity_conflicts,
    user_signup,
)
from bazaar.errors import Invalid

from .conftest import STRONG_PASSWORD, verify_path


def test_user_signup_creates_an_unverified_user_and_mails_a_link_after_commit(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        user = user_signup(
            handle="Marta_K",
            email="Marta@Example.COM",
            password=STRONG_PASSWORD,
            base_url="https://bazaar.example",
        )
    # then nothing is mailed until the account is committed
    assert mailoutbox == []
    assert user.handle == "Marta_K"
    assert user.email == "Marta@example.com"
    assert user.check_password(STRONG_PASSWORD)
    assert not user.email_verified
    for callback in callbacks:
        callback()
    [message] = mailoutbox
    assert message.to == ["Marta@example.com"]
    assert "@Marta_K" in message.body
    assert "https://bazaar.example/accounts/verify/" in message.body


def test_user_signup_refuses_a_handle_taken_in_another_case_and_says_nothing_of_the_email(
    make_user,
):
    # given
    make_user("Marta_K", email="marta@example.com")
    # when
    with pytest.raises(SignupRefused) as refused:
        user_signup(
            handle="marta_k", email="MARTA@example.com", password=STRONG_PASSWORD, base_url=""
        )
    # then
    assert refused.value.errors == {"handle": ["That handle is taken."]}
    assert User.objects.count() == 1


def test_user_signup_with_a_known_email_makes_nothing_and_mails_the_owner(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    owner = make_user("Marta_K", email="marta@example.com")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = user_signup(
            handle="another_one",
            email="MARTA@example.com",
            password=STRONG_PASSWORD,
            base_url="https://bazaar.example",
        )
    # then
    assert result is None
    assert User.objects.get() == owner
    [notice] = mailoutbox
    assert notice.to == ["marta@example.com"]
    assert "https://bazaar.example/accounts/login/" in notice.body


@pytest.mark.parametrize("password", ["password", "12345678", "marta_k1", "short"])
def test_user_signup_refuses_a_weak_password(db, password):
    # when
    with pytest.raises(SignupRefused) as refused:
        user_signup(handle="Marta_K", email="marta@example.com", password=password, base_url="")
    # then
    assert set(refused.value.errors) == {"password"}
    assert not User.objects.exists()


def test_user_signup_refuses_a_handle_the_model_does_not_allow(db):
    # when
    with pytest.raises(SignupRefused) as refused:
        user_signup(
            handle="marta k!", email="marta@example.com", password=STRONG_PASSWORD, base_url=""
        )
    # then
    assert refused.value.errors["handle"] == ["3 to 30 letters, digits or underscores."]


@pytest.mark.parametrize("caught_by", ["model validation", "database constraint"])
def test_user_signup_refuses_a_duplicate_that_slips_past_the_first_check(
    make_user, monkeypatch, caught_by
):
    # given another sign-up takes the handle between the check and the insert
    make_user("Marta_K")
    real_check = services.user_identity_conflicts
    checks = []

    def racing_check(**kwargs):
        checks.append(kwargs)
        return {} if len(checks) == 1 else real_check(**kwargs)

    monkeypatch.setattr(services, "user_identity_conflicts", racing_check)
    if caught_by == "database constraint":
        monkeypatch.setattr(User, "full_clean", lambda self, **kwargs: None)
    # when
    with pytest.raises(SignupRefused) as refused:
        user_signup(
            handle="MARTA_K", email="other@example.com", password=STRONG_PASSWORD, base_url=""
        )
    # then
    assert refused.value.errors == {"handle": ["That handle is taken."]}
    assert User.objects.count() == 1


def test_user_identity_conflicts_ignores_the_user_being_edited(make_user):
    # given
    user = make_user("Marta_K", email="marta@example.com")
    # when / then
    assert user_identity_conflicts(handle="MARTA_K", email="Marta@Example.com", exclude=user) == {}
    assert set(user_identity_conflicts(handle="MARTA_K", email="Marta@Example.com")) == {
        "handle",
        "email",
    }


def test_email_verification_send_allows_one_mail_a_minute_per_user(
    make_user, mailoutbox, on_commit
):
    # given
    marta = make_user("Marta_K", verified=False)
    olek = make_user("Olek", verified=False)
    on_commit(email_verification_send, user=marta, base_url="http://testserver")
    # when
    with pytest.raises(Invalid) as refused:
        email_verification_send(user=marta, base_url="http://testserver")
    on_commit(email_verification_send, user=olek, base_url="http://testserver")
    # then
    assert refused.value.code == "too_soon"
    assert [message.to for message in mailoutbox] == [[marta.email], [olek.email]]


def test_email_verification_send_refuses_a_verified_address(make_user, mailoutbox):
    # given
    user = make_user("Marta_K", verified=True)
    # when
    with pytest.raises(Invalid) as refused:
        email_verification_send(user=user, base_url="http://testserver")
    # then
    assert refused.value.code == "already_verified"
    assert mailoutbox == []


def test_email_verify_marks_the_address_verified_once(signed_up, mailoutbox):
    # given
    user = signed_up()
    token = verify_path(mailoutbox[0]).split("/")[-2]
    # when
    email_verify(token=token)
    first = User.objects.get(pk=user.pk).email_verified_at
    email_verify(token=token)
    # then a second click keeps the first time
    assert first is not None
    assert User.objects.get(pk=user.pk).email_verified_at == first


def test_email_verify_refuses_a_tampered_token(make_user):
    # given
    user = make_user("Marta_K", verified=False)
    token = tokens.email_token_make(user=user)
    # when
    with pytest.raises(Invalid) as refused:
        email_verify(token="x" + token[1:])
    # then
    assert refused.value.code == "bad_link"
    user.refresh_from_db()
    assert not user.email_verified


def test_email_verify_refuses_a_token_older_than_three_days(make_user, monkeypatch):
    # given a token signed three days and a minute ago
    user = make_user("Marta_K", verified=False)
    signed_at = time.time() - (tokens.MAX_AGE + timedelta(minutes=1)).total_seconds()
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: signed_at)
        token = tokens.email_token_make(user=user)
    # when
    with pytest.raises(Invalid) as refused:
        email_verify(token=token)
    # then
    assert refused.value.code == "expired"
    user.refresh_from_db()
    assert not user.email_verified


def test_email_verify_refuses_a_token_for_a_previous_address(make_user):
    # given the address changed after the link was sent
    user = make_user("Marta_K", verified=False)
    token = tokens.email_token_make(user=user)
    User.objects.filter(pk=user.pk).update(email="new@example.com")
    # when
    with pytest.raises(Invalid) as refused:
        email_verify(token=token)
    # then
    assert refused.value.code == "bad_link"


@pytest.mark.django_db
def test_sign_up_stands_when_the_mail_server_is_away_and_its_link_waits_as_a_job(
    settings, on_commit
):
    """The verification link is a job written with the account: a dead mail server
    neither fails the sign-up nor loses the link (the job retries)."""
    from bazaar.models import Job

    settings.JOBS_BACKEND = "embedded"
    settings.EMAIL_BACKEND = "tests.mail.MailServerAway"
    user = on_commit(
        user_signup,
        handle="Nadia",
        email="nadia@example.com",
        password=STRONG_PASSWORD,
        base_url="http://testserver",
    )
    job = Job.objects.get(task="accounts.tasks.send_verification_mail")
    assert job.kwargs == {"user_id": user.pk, "base_url": "http://testserver", "next_url": ""}
