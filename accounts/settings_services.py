"""Writes behind the account settings: a new email address (switched only once the
link mailed to it is clicked, the old address told), the time zone pages use, and
the identity half of closing an account (privacy.services decides when it may).

A change-of-address link is signed like the verification links (accounts.tokens):
it names the user by public id and carries keyed fingerprints of the current and the
pending address, so it stops working if either changes, and no address shows up in
URLs or access logs.
"""

import zoneinfo
from datetime import timedelta

from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from bazaar.errors import Conflict, Invalid

from .mail import account_mail_on_commit
from .models import User
from .second_factor_services import second_factor_reset
from .services import sign_ins_end_others, user_identity_conflicts, user_set_staff

SALT = "accounts.email-change"
MAX_AGE = timedelta(days=3)
CHANGE_RESEND_SECONDS = 60


def _fingerprint(email: str) -> str:
    return salted_hmac(SALT, email.lower()).hexdigest()[:24]


def email_change_token_make(*, user: User) -> str:
    payload = {
        "user": user.public_id,
        "from": _fingerprint(user.email),
        "to": _fingerprint(user.email_pending),
    }
    return signing.TimestampSigner(salt=SALT).sign_object(payload)


def email_change_request(*, user: User, new_email: str, base_url: str) -> User:
    """Remember the new address and mail a link to it; the account keeps its current
    address until that link is clicked. At most one link a minute."""
    new_email = User.objects.normalize_email(new_email.strip())
    if new_email.lower() == user.email.lower():
        raise Invalid("That is already your email address.", code="same_email")
    conflicts = user_identity_conflicts(email=new_email, exclude=user)
    if conflicts:
        raise Invalid("Another account uses that email address.", code="email_taken")
    if not cache.add(f"accounts:email-change-sent:{user.public_id}", True, CHANGE_RESEND_SECONDS):
        raise Invalid(
            "We sent a link less than a minute ago. Check that inbox (and its spam folder), "
            "or try again in a minute.",
            code="too_soon",
        )
    user.email_pending = new_email
    user.save(update_fields=["email_pending"])
    account_mail_on_commit(
        template="email_change",
        to=new_email,
        user=user,
        new_email=new_email,
        link=base_url + reverse("account:email_confirm", args=[email_change_token_make(user=user)]),
        days=MAX_AGE.days,
    )
    return user


def email_change_cancel(*, user: User) -> None:
    if user.email_pending:
        user.email_pending = ""
        user.save(update_fields=["email_pending"])


def email_change_confirm(*, token: str) -> User:
    """Switch the account to the address the link was mailed to (now verified), and
    tell the old address, in case the change was not its owner's doing."""
    try:
        payload = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=MAX_AGE)
    except signing.SignatureExpired as error:
        raise Invalid(
            "This link has expired: ask for a new one on your account page.", code="expired"
        ) from error
    except signing.BadSignature as error:
        raise Invalid(
            "This link is not valid: it may have been cut short.", code="bad_link"
        ) from error
    with transaction.atomic():
        user = User.objects.select_for_update().filter(public_id=payload["user"]).first()
        if (
            user is None
            or not user.email_pending
            or payload["from"] != _fingerprint(user.email)
            or payload["to"] != _fingerprint(user.email_pending)
        ):
            raise Invalid(
                "This link no longer works: the address was changed or the change was "
                "cancelled since it was sent.",
                code="stale_link",
            )
        old_email, new_email = user.email, user.email_pending
        if user_identity_conflicts(email=new_email, exclude=user):
            raise Conflict(
                "Another account has taken that email address since.", code="email_taken"
            )
        user.email, user.email_pending, user.email_verified_at = new_email, "", timezone.now()
        try:
            with transaction.atomic():
                user.save(update_fields=["email", "email_pending", "email_verified_at"])
        except IntegrityError as error:
            raise Conflict(
                "Another account has taken that email address since.", code="email_taken"
            ) from error
        account_mail_on_commit(
            template="email_changed",
            to=old_email,
            user=user,
            old_email=old_email,
            new_email=new_email,
        )
    return user


def time_zone_set(*, user: User, time_zone: str) -> User:
    if time_zone not in zoneinfo.available_timezones():
        raise Invalid("Choose a time zone from the list.", code="time_zone")
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user


def password_changed_notify(*, user: User) -> None:
    """Tell the account's address its password changed (after commit)."""
    account_mail_on_commit(template="password_changed", to=user.email, user=user)


def user_anonymise(*, user: User) -> User:
    """Close an account: it can no longer log in, its handle and address become
    placeholders (others still see `deleted_…` on the orders and reviews it left), and
    every device it was signed in on is signed out and forgotten."""
    tag = user.public_id[-10:].lower()
    user.handle = f"deleted_{tag}"
    user.email = f"deleted-{tag}@deleted.invalid"
    user.email_pending = ""
    user.email_verified_at = None
    user.time_zone = "UTC"
    user.is_active = False
    user.is_superuser = False
    user.set_unusable_password()
    user.save()
    user_set_staff(user=user, is_staff=False)
    sign_ins_end_others(user=user, keep_session_key=None)
    second_factor_reset(user=user, notify=False)
    return user
