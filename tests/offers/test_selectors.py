"""The buyer's accepted offers for a page's items (offers.selectors), read by buyer in
one compiled query and picked out for the items asked about."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bazaar.ids import new_ulid
from offers.models import Offer
from offers.selectors import accepted_offers_for_items
from offers.services import offer_accept
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
