"""Random sequences of bargaining actions keep the invariants: never more reserved than
in stock, at most one live thread per buyer and item, terminal states stay terminal,
and the stall document's ladder agrees with the database."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.db.models import Sum
from django.test import TestCase
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from bazaar.errors import DomainError
from bazaar.ids import new_ulid
from offers.models import Offer, OfferEvent
from offers.services import (
    AMOUNTS_PER_ITEM,
    auto_prices_set,
    offer_accept,
    offer_counter,
    offer_decline,
    offer_make,
    offer_mark_purchased,
    offer_withdraw,
    offers_expire_due,
)
from offers.transitions import TRANSITIONS
from stalls.models import Reservation
from stalls.room import document
from stalls.room.document import document_snapshot
from stalls.selectors import active_reservations
from stalls.services import item_create, reservation_consume

BUYERS = 3
PRICE = 2500
KINDS = [
    "make",
    "seller_counters",
    "buyer_counters",
    "seller_accepts",
    "buyer_accepts",
    "seller_declines",
    "buyer_withdraws",
    "time_passes",
    "sweep",
    "purchase",
    "auto_prices",
]
actions = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, BUYERS - 1),
        st.integers(0, PRICE + 200),
        st.integers(0, PRICE + 200),
    ),
    min_size=1,
    max_size=25,
)


class Rollback(Exception):
    """Ends an example: everything it wrote is rolled back for the next."""


def _latest(buyer, item) -> Offer | None:
    return (
        Offer.objects.filter(buyer=buyer, item=item)
        .select_related(*Offer.RELATED)
        .order_by("-public_id")
        .first()
    )


def _step(kind, buyer, seller, item, amount, other) -> None:
    latest = _latest(buyer, item)
    key = new_ulid()
    if kind == "make":
        offer_make(buyer=buyer, item=item, amount_cents=amount, message="", idempotency_key=key)
    elif kind == "auto_prices":
        low, high = sorted((amount, other))
        auto_prices_set(
            actor=seller, item=item, accept_cents=high or None, decline_cents=low or None
        )
    elif kind == "sweep":
        offers_expire_due()
    elif latest is None:
        return
    elif kind in ("seller_counters", "buyer_counters"):
        actor = seller if kind == "seller_counters" else buyer
        offer_counter(
            actor=actor, offer=latest, amount_cents=amount, message="", idempotency_key=key
        )
    elif kind in ("seller_accepts", "buyer_accepts"):
        actor = seller if kind == "seller_accepts" else buyer
        offer_accept(actor=actor, offer=latest, idempotency_key=key)
    elif kind == "seller_declines":
        offer_decline(actor=seller, offer=latest, idempotency_key=key)
    elif kind == "buyer_withdraws":
        offer_withdraw(actor=buyer, offer=latest, idempotency_key=key)
    elif kind == "time_passes":
        Offer.objects.filter(pk=latest.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        Reservation.objects.filter(pk=latest.reservation_id).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    elif kind == "purchase":
        # What orders' checkout does with an accepted offer, in one transaction.
        with transaction.atomic():
            offer_mark_purchased(offer=latest, reference=f"order-{latest.public_id}")
            reservation_consume(reservation=latest.reservation)


def _check(item, buyers, finished: dict) -> None:
    item.refresh_from_db()
    reserved = Reservation.objects.filter(active_reservations(), item=item).aggregate(
        total=Sum("quantity")
    )["total"]
    assert (reserved or 0) <= item.inventory, "more reserved than in stock"

    offers = list(Offer.objects.filter(item=item).select_related("reservation"))
    for buyer in buyers:
        mine = [o for o in offers if o.buyer_id == buyer.pk]
        assert sum(o.status in Offer.LIVE for o in mine) <= 1, "two live threads"
        assert sum(o.side == "buyer" for o in mine) <= AMOUNTS_PER_ITEM

    for offer in offers:
        if offer.pk in finished:
            assert offer.status == finished[offer.pk], "a terminal state changed"
        elif offer.status not in TRANSITIONS:
            finished[offer.pk] = offer.status
        if offer.status == "accepted":
            held = offer.reservation
            assert held.holder_id == offer.buyer_id and held.reference == offer.public_id
            assert held.released_at is None and held.consumed_at is None
        elif offer.reservation_id and offer.status != "purchased":
            assert offer.reservation.released_at is not None, "a finished offer holds stock"
        # Every status was reached by recorded moves, each one the table allows.
        moves = list(
            OfferEvent.objects.filter(offer=offer)
            .order_by("id")
            .values_list("from_status", "to_status")
        )
        assert moves[0] == ("", "pending") and moves[-1][1] == offer.status
        for before, after in moves[1:]:
            assert after in TRANSITIONS[before]

    ladder = {e["id"]: e for e in document_snapshot(stall_id=item.stall_id)["offers"]}
    for offer in offers:
        entry = ladder[offer.public_id]
        assert (entry["status"], entry["amount_cents"]) == (offer.status, offer.amount_cents)
        assert "message" not in entry


@pytest.fixture
def hagglers(make_user):
    return [make_user(f"haggler{n}") for n in range(BUYERS)]


@pytest.mark.django_db
@given(inventory=st.integers(1, 3), steps=actions)
def test_random_bargaining_keeps_the_invariants(stall, hagglers, inventory, steps):
    # Each example is rolled back; the document copies it built must go with it, and
    # each starts with the rate limits' counters empty (a refusal for pace would
    # explore nothing).
    document._replicas.clear()
    cache.clear()
    seller = stall.seller.user
    try:
        with transaction.atomic():
            item = item_create(
                actor=seller,
                stall=stall,
                title="Lamp",
                description="",
                price_cents=PRICE,
                currency="USD",
                inventory=inventory,
            )
            finished: dict[int, str] = {}
            for kind, index, amount, other in steps:
                try:
                    # The ladder is written once an action commits: run that here.
                    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
                        _step(kind, hagglers[index], seller, item, amount, other)
                except DomainError:
                    pass  # a refusal changes nothing; the invariants still hold
                _check(item, hagglers, finished)
            raise Rollback
    except Rollback:
        pass
