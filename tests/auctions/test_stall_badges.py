"""The stall page's "In auction" badges: a stall keeps which auctions run in it between
pages, and an auction coming to run or stopping shows on the next page after it
commits (auctions.selectors.auctions_running_in_stall)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from auctions.models import Auction
from auctions.services.closing import auction_close
from auctions.services.lifecycle import save, transition
from auctions.services.starting import auction_cancel

pytestmark = pytest.mark.django_db


def badge(auction: Auction) -> str:
    return f'<a class="auction-badge" href="/auctions/{auction.public_id}/"'


def stall_page(client, stall) -> str:
    return client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()


def test_an_auction_started_after_a_quiet_page_shows_on_the_next(
    client, stall, make_auction, on_commit
):
    assert "auction-badge" not in stall_page(client, stall)
    auction = on_commit(make_auction)
    assert badge(auction) in stall_page(client, stall)


def test_bidding_reopened_after_a_quiet_page_shows_on_the_next(client, stall, auction, on_commit):
    """A declined buy-it-now takes an ended auction back to live: the one way but a
    start that an auction comes to run."""
    Auction.objects.filter(pk=auction.pk).update(status=Auction.Status.ENDED)
    auction.refresh_from_db()
    assert "auction-badge" not in stall_page(client, stall)

    def reopen():
        transition(auction, Auction.Status.LIVE, note="the buy-it-now card was declined")
        save(auction, "reopened", fields=["status"])

    on_commit(reopen)
    assert badge(auction) in stall_page(client, stall)


def test_a_start_not_committed_leaves_the_kept_answer(client, stall, make_auction):
    assert "auction-badge" not in stall_page(client, stall)
    make_auction()  # rolled back with the test: never committed
    assert "auction-badge" not in stall_page(client, stall)


def test_a_stall_with_an_auction_running_reads_it_once(client, stall, make_auction, on_commit):
    auction = on_commit(make_auction)
    assert badge(auction) in stall_page(client, stall)
    with CaptureQueriesContext(connection) as queries:
        assert badge(auction) in stall_page(client, stall)
    assert not [query for query in queries if "auctions_auction" in query["sql"]]


def test_an_auction_that_closes_leaves_the_next_page(client, stall, make_auction, on_commit):
    auction = on_commit(make_auction)
    assert badge(auction) in stall_page(client, stall)
    on_commit(auction_close, auction_id=auction.pk, now=auction.ends_at + timedelta(minutes=1))
    assert "auction-badge" not in stall_page(client, stall)


def test_a_cancelled_auction_leaves_the_next_page(client, stall, make_auction, on_commit):
    auction = on_commit(make_auction)
    assert badge(auction) in stall_page(client, stall)
    on_commit(auction_cancel, actor=stall.seller.user, auction=auction)
    assert "auction-badge" not in stall_page(client, stall)


def test_an_item_in_auction_says_where_to_bid(client, stall, make_auction, on_commit):
    auction = on_commit(make_auction)
    link = f'<a class="button primary" href="/auctions/{auction.public_id}/">Bid now'
    assert f'<p class="auction-cta">{link}' in stall_page(client, stall)
    on_commit(auction_cancel, actor=stall.seller.user, auction=auction)
    assert "auction-cta" not in stall_page(client, stall)
