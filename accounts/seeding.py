"""Demo accounts for `seed_market`: made in bulk, sharing one password hash."""

import functools

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from .models import User

DEMO_EMAIL_DOMAIN = "demo.meshbazaar.test"


@functools.cache
def _hashed(password: str) -> str:
    """One hash per password and process: the demo logins and sellers share it."""
    return make_password(password)


def users_create_many(*, handles: list[str], password: str) -> dict[str, User]:
    """Verified accounts for the given handles; existing ones are kept as they are.

    The password is hashed once for all of them: hashing hundreds of sellers one
    by one would take minutes.
    """
    existing = set(User.objects.filter(handle__in=handles).values_list("handle", flat=True))
    hashed = _hashed(password)
    now = timezone.now()
    User.objects.bulk_create(
        [
            User(
                handle=handle,
                email=f"{handle.lower()}@{DEMO_EMAIL_DOMAIN}",
                password=hashed,
                email_verified_at=now,
            )
            for handle in handles
            if handle not in existing
        ],
        ignore_conflicts=True,
    )
    return {user.handle: user for user in User.objects.filter(handle__in=handles)}
