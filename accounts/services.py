"""Writes to accounts: creating users, verifying email, staff access."""

from django.db import transaction
from django.utils import timezone

from .models import User


@transaction.atomic
def user_create(*, handle: str, email: str, password: str | None, verified: bool = False) -> User:
    """A new buyer. Passwords are hashed; email is verified separately unless told."""
    user = User(handle=handle, email=User.objects.normalize_email(email))
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    if verified:
        user.email_verified_at = timezone.now()
    user.full_clean()
    user.save()
    return user


def user_set_staff(*, user: User, is_staff: bool) -> None:
    """Admin access follows steward and ops roles (governance decides, we store)."""
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
