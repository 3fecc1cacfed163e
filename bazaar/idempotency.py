"""Idempotency keys for money actions (offers, checkout, bids).

Every form that moves money carries a key minted when the form is rendered, so a
double click or a retried request sends the same key twice. The service stores the
key on the object it creates under a unique constraint (per actor) and, when the key
comes back, returns the object created the first time instead of acting again.
"""

import re

from django.db import transaction

from bazaar.errors import Invalid
from bazaar.ids import new_ulid

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_key() -> str:
    return new_ulid()


def valid_key(key: str) -> bool:
    """16 to 64 letters, digits, `-` or `_` (a ULID, a UUID, a hex token)."""
    return bool(_KEY.match(key))


def key_in_request(request) -> str:
    """The request's key as sent (the `Idempotency-Key` header or the form field), or ""."""
    return request.headers.get(HEADER) or request.POST.get(FIELD, "")


def key_from_request(request) -> str:
    """The request's key, from the `Idempotency-Key` header or the form field."""
    key = key_in_request(request)
    if not valid_key(key):
        raise Invalid(
            "This request has no valid idempotency key; reload the page and try again.",
            code="idempotency_key",
        )
    return key


def key_lock(*, scope: str, owner_id: int) -> None:
    """Inside a transaction: wait until no other transaction holds `scope` for this
    owner, then hold it until this one ends.

    For a service whose first write comes late (checkout reads the cart and takes
    stock before it stores the payment that carries the key): looking the key up
    under this lock, a repeat that arrives while the first request is in flight waits
    for it and then finds what it made, instead of racing it for the same stock. On
    PostgreSQL a transaction-level advisory lock; SQLite needs none, since its write
    transactions (IMMEDIATE) already run one at a time.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{scope}:{owner_id}"]
        )
