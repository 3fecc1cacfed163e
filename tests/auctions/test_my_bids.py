"""My bids: each auction a person bid on, with where their bid stands, for them alone."""

import pytest
from django.urls import reverse

from auctions.models import Auction
from auctions.selectors import bids_of_bidder
from auctions.services.closing import auction_close, auctions_sweep
from tests.auctions.test_services import after_end

pytestmark = pytest.mark.django_db


def states(user) -> dict[str, str]:
    return {bid.auction.item.title: bid.state for bid in bids_of_bidder(user=user)}


def test_live_bids_are_leading_or_outbid(make_auction, make_bidder, bid):
    auction = make_auction()
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, on=auction)
    bid(bob, 1100, maximum=3000, on=auction)
    assert states(alice) == {"Brass lamp": "outbid"}
    assert states(bob) == {"Brass lamp": "leading"}
    (mine,) = bids_of_bidder(user=alice)
    assert (mine.my_top_cents, mine.live) == (1000, True)


def test_ended_bids_are_won_paid_lost_or_below_the_reserve(
    make_auction, make_bidder, bid, make_item, stall
):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    sold = make_auction()
    bid(alice, 1000, on=sold)
    bid(bob, 1100, on=sold)
    auctions_sweep(now=after_end(sold))
    below = make_auction(target=make_item(stall, title="Copper kettle"), reserve=5000)
    bid(alice, 1000, on=below)
    charging = make_auction(target=make_item(stall, title="Tin box"), seconds=600)
    bid(alice, 1000, on=charging)
    auctions_sweep(now=after_end(below))  # closes, but charging's end has not passed
    auction_close(auction_id=charging.pk, now=after_end(charging))  # closed, not charged

    assert states(alice) == {
        "Brass lamp": "lost",
        "Copper kettle": "reserve_not_met",
        "Tin box": "won",
    }
    assert states(bob) == {"Brass lamp": "paid"}
    (paid,) = bids_of_bidder(user=bob)
    assert paid.auction.order_reference and not paid.live


def test_the_runner_up_offered_a_second_chance_reads_so(make_auction, make_bidder, bid):
    auction = make_auction()
    bob, carol = make_bidder("bob"), make_bidder("carol", declined=True)
    bid(bob, 1000, on=auction)
    bid(carol, 1100, on=auction)
    auctions_sweep(now=after_end(auction))
    assert Auction.objects.get().charge_kind == Auction.ChargeKind.SECOND_CHANCE
    assert states(bob) == {"Brass lamp": "offered"}


def test_the_page_shows_only_the_viewers_own_bids(
    client, make_auction, make_bidder, bid, make_item, stall
):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    shared = make_auction()
    bid(alice, 1000, on=shared)
    bid(bob, 1100, maximum=4200, on=shared)
    bobs_own = make_auction(target=make_item(stall, title="Copper kettle"))
    bid(bob, 1000, on=bobs_own)

    url = reverse("auctions:mine")
    assert client.get(url).url == f"{reverse('accounts:login')}?next={url}"
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "Brass lamp" in page and "Copper kettle" not in page
    assert "Outbid" in page and "$42.00" not in page  # bob's maximum is his alone
    client.force_login(bob)
    page = client.get(url).content.decode()
    assert "Copper kettle" in page and "we bid for you up to $42.00" in page
