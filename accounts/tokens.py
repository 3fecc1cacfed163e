"""Signed, expiring email-verification links.

A token names the user by public id and carries a keyed fingerprint of the address it
was mailed to: it stops working if the address changes, and the address never shows up
in URLs or access logs. No table needed; the signature and timestamp are the state.
"""

from datetime import timedelta

from django.core import signing
from django.utils.crypto import salted_hmac

from .models import User

SALT = "accounts.email-verification"
MAX_AGE = timedelta(days=3)


def _fingerprint(email: str) -> str:
    return salted_hmac(SALT, email.lower()).hexdigest()[:24]


def email_token_make(*, user: User) -> str:
    payload = {"user": user.public_id, "email": _fingerprint(user.email)}
    return signing.TimestampSigner(salt=SALT).sign_object(payload)


def email_token_user(*, token: str) -> User:
    """The user a token was made for; raises SignatureExpired or BadSignature otherwise."""
    payload = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=MAX_AGE)
    user = User.objects.filter(public_id=payload["user"]).first()
    if user is None or payload["email"] != _fingerprint(user.email):
        raise signing.BadSignature("The account or its email address has changed.")
    return user
