"""`manage.py close_auctions`: the beat's sweep, run by hand."""

from io import StringIO

import pytest
from django.core.management import call_command

from auctions.models import Auction
from tests.auctions.conftest import end_passes


@pytest.mark.django_db
def test_close_auctions_runs_the_sweep_and_says_what_it_did(auction, make_bidder, bid, cards):
    bid(make_bidder("alice"), 1000)
    end_passes(auction.pk)
    out = StringIO()
    call_command("close_auctions", stdout=out)
    assert out.getvalue().strip() == "opened: 0, closed: 1, charged: 1, expired: 0"
    assert Auction.objects.get(pk=auction.pk).status == Auction.Status.SETTLED
