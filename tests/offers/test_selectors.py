"""offers.selectors: the buyer's accepted offers for a page's items, read by buyer in
one compiled query and picked out for the items asked about; threads in the order
their offers were made."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from ulid import ULID

from bazaar import ids
from bazaar.ids import new_ulid
from offers.models import Offer
from offers.selectors import (
    accepted_offers_for_items,
    item_ladder,
    item_live_threads_for_seller,
    item_offers_for_buyer,
    offers_for_buyer,
)
from offers.services import offer_accept, offer_counter
from tests.offers.conftest import offered

pytestmark = pytest.mark.django_db


def accepted(buyer, item, seller) -> Offer:
    return offer_accept(actor=seller, offer=offered(buyer, item), idempotency_key=new_ulid())


def test_only_the_buyers_live_accepted_offers_on_the_items_asked_about(
    buyer, seller, stall, make_item, make_user, django_assert_num_queries
):
    lamp, vase, clock, rug = (
        make_item(stall, title=title) for title in ["lamp", "vase", "clock", "rug"]
    )
    on_lamp = accepted(buyer, lamp, seller)
    accepted(buyer, vase, seller)  # not asked about
    accepted(make_user("other"), clock, seller)  # someone else's
    offered(buyer, rug)  # not accepted
    with django_assert_num_queries(1):
        found = accepted_offers_for_items(buyer=buyer, items=[lamp, clock, rug])
    assert found == {lamp.pk: on_lamp}
    assert found[lamp.pk].reservation.quantity == 1  # joined, no query of its own
    Offer.objects.filter(pk=on_lamp.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert accepted_offers_for_items(buyer=buyer, items=[lamp, vase]).keys() == {vase.pk}


def test_a_pages_accepted_offers_are_kept_until_one_of_the_buyers_changes(
    buyer, seller, stall, make_item, make_user, on_commit, django_assert_num_queries, monkeypatch
):
    """The stall page's cart buttons: read once, then from the cache until an offer of
    the buyer's is accepted or stops being (after its commit), expiry checked each time."""
    from offers.selectors import accepted_offers_shown
    from offers.services import offers_expire_due

    lamp, vase, clock = (make_item(stall, title=title) for title in ["lamp", "vase", "clock"])
    items = [lamp, vase, clock]
    on_lamp = on_commit(accepted, buyer, lamp, seller)
    assert accepted_offers_shown(buyer=buyer, items=items) == {lamp.pk: on_lamp}
    on_commit(accepted, make_user("other"), vase, seller)  # someone else's: nothing dropped
    with django_assert_num_queries(0):
        assert accepted_offers_shown(buyer=buyer, items=items) == {lamp.pk: on_lamp}
    on_clock = accepted(buyer, clock, seller)  # its drop waits for a commit
    assert accepted_offers_shown(buyer=buyer, items=items).keys() == {lamp.pk}
    on_vase = on_commit(accepted, buyer, vase_too := make_item(stall, title="vase too"), seller)
    shown = accepted_offers_shown(buyer=buyer, items=[*items, vase_too])
    assert shown.keys() == {lamp.pk, clock.pk, vase_too.pk} and shown[clock.pk] == on_clock
    past = on_lamp.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: past)
    with django_assert_num_queries(0):  # run out by the clock: gone before the sweep
        assert accepted_offers_shown(buyer=buyer, items=[lamp]) == {}
    monkeypatch.undo()
    # The sweep, once every one has run out (on a busy machine the later ones were
    # accepted seconds after the lamp's), drops the kept offers by its transitions.
    swept = max(offer.expires_at for offer in (on_lamp, on_clock, on_vase))
    on_commit(offers_expire_due, now=swept + timedelta(seconds=1))
    assert accepted_offers_shown(buyer=buyer, items=[*items, vase_too]) == {}


def test_a_counter_whose_id_sorts_first_is_still_the_threads_latest(
    buyer, seller, item, monkeypatch
):
    """Ids are random within a millisecond (bazaar.ids): a counter made in the same one
    as the offer it answers may get the smaller id, and is still the latest."""
    descending = itertools.count(int(ULID()), -1)
    monkeypatch.setattr(ids._generator, "generate", lambda: ULID.from_int(next(descending)))
    offer = offered(buyer, item)
    reply = offer_counter(
        actor=seller, offer=offer, amount_cents=2400, message="", idempotency_key="counter-1"
    )
    assert reply.public_id < offer.public_id

    thread = item_offers_for_buyer(buyer=buyer, item=item, available=1).thread
    assert (thread.latest, thread.turn) == (reply, Offer.Side.BUYER)
    assert [entry["id"] for entry in item_ladder(item=item)] == [reply.public_id, offer.public_id]
    assert offers_for_buyer(user=buyer)[0].latest == reply
    assert [t.latest for t in item_live_threads_for_seller(item=item)] == [reply]
