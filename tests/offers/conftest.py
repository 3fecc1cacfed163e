import itertools

import pytest

from bazaar.ids import new_ulid
from offers.models import Offer
from offers.services import offer_make


def offered(buyer, item, cents: int = 2000, *, message: str = "", key: str = "") -> Offer:
    """`buyer` offers on `item` (a fresh idempotency key unless one is given)."""
    return offer_make(
        buyer=buyer,
        item=item,
        amount_cents=cents,
        message=message,
        idempotency_key=key or new_ulid(),
    )


@pytest.fixture
def buyer(make_user):
    return make_user("brassbuyer")


@pytest.fixture
def item(stall, make_item):
    return make_item(stall, title="Brass lamp", price_cents=2500, inventory=1)


@pytest.fixture
def seller(stall):
    return stall.seller.user


@pytest.fixture
def amounts():
    """Distinct amounts in cents, for tests that make many offers."""
    return itertools.count(1000, 10)
