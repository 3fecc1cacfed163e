"""The demo buyer starts with a watchlist near 0/0, and seeding again keeps it as is."""

import pytest
from django.core.management import call_command

from accounts.models import User
from watchlist.models import Follow, Watch
from watchlist.seeding import DEMO_FOLLOWED_STALLS, DEMO_SAVED_ITEMS
from watchlist.selectors import followed_stalls_for, saved_items_for

pytestmark = pytest.mark.django_db


def test_the_demo_buyer_has_saved_items_and_followed_stalls_near_the_origin():
    call_command("seed_market", "--sections", "2", "--stalls", "3")
    buyer = User.objects.get(handle="demo_buyer")
    cards = saved_items_for(user=buyer)
    stalls = followed_stalls_for(user=buyer)
    assert len(cards) == DEMO_SAVED_ITEMS and len(stalls) == DEMO_FOLLOWED_STALLS
    assert len({card.item.stall_id for card in cards}) > 1  # from more than one stall
    assert "demo_seller" in {card.stall.seller.user.handle for card in stalls}
    for section in [card.item.stall.section for card in cards] + [c.stall.section for c in stalls]:
        assert (section.x, section.y) == (0, 0)
    rows = (Watch.objects.count(), Follow.objects.count())
    call_command("seed_market", "--sections", "2", "--stalls", "3")
    assert (Watch.objects.count(), Follow.objects.count()) == rows
