"""Discovery fixtures: a small catalogue across stalls, categories and prices."""

from datetime import timedelta

import pytest

from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from stalls.models import Reservation
from stalls.services import reservation_take
from tests.conftest import new_item


def auctioned(item, *, seconds=300, start_cents=1000):
    """The item's only unit put up for a live auction by its seller."""
    return auction_start(
        actor=item.stall.seller.user,
        item=item,
        start_cents=start_cents,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(seconds=seconds),
        starts_at=None,
        idempotency_key=new_key(),
    )


def held(item, buyer, *, reason=Reservation.Reason.OFFER, quantity=1):
    """Units of the item held for `buyer` (as an accepted offer holds them)."""
    return reservation_take(
        item=item, holder=buyer, reason=reason, quantity=quantity, ttl=timedelta(hours=24)
    )


@pytest.fixture
def catalogue(make_stall):
    """Two stalls: Ada's Attic (lamps) and Bo's records, with prices from $5 to $120."""
    lamps = make_stall("ada_lamps", slot=0, name="Ada's Attic")
    records = make_stall("bo_records", slot=1, name="Bo's Crates")
    items = {
        "brass": new_item(
            lamps,
            title="Brass desk lamp",
            price_cents=4500,
            category="lighting",
            condition="good",
            brand="Anglepoise",
            description="Adjustable arm, rewired.",
        ),
        "shade": new_item(
            lamps,
            title="Green glass shade",
            price_cents=1800,
            category="lighting",
            condition="fair",
        ),
        "teapot": new_item(
            lamps,
            title="Enamel teapot",
            price_cents=900,
            category="kitchen",
            condition="like_new",
            description="Goes well beside a desk lamp.",
        ),
        "blue": new_item(
            records,
            title="Kind of Blue LP",
            price_cents=12000,
            category="music",
            condition="good",
            brand="Columbia",
        ),
        "single": new_item(
            records, title="Seven-inch single", price_cents=500, category="music", condition="new"
        ),
    }
    return {"lamps": lamps, "records": records, **items}
