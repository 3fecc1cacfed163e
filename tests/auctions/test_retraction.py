"""Bid retraction in eBay's manner, the history's pseudonyms and the retraction count."""

from datetime import timedelta

import pytest
from django.urls import reverse

from auctions.frames import pseudonym
from auctions.models import Auction, Bid, BidRetraction
from auctions.selectors import retraction_counts
from auctions.services.retraction import bid_retract
from bazaar.errors import Conflict, Invalid, NotFound
from bazaar.idempotency import new_key

pytestmark = pytest.mark.django_db
TYPO = BidRetraction.Reason.TYPO
HOURS = 3600


def standing(auction):
    return list(
        Bid.objects.filter(auction=auction, retraction=None)
        .order_by("id")
        .values_list("bidder__handle", "amount_cents")
    )


def test_with_twelve_hours_or_more_left_all_the_bidder_s_bids_go(make_auction, make_bidder, bid):
    auction = make_auction(seconds=20 * HOURS)
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, maximum=5000, on=auction)
    bid(bob, 1500, on=auction)  # alice's proxy answers at 16.00
    bid(alice, 6000, on=auction)  # she raises her maximum
    retraction = bid_retract(bidder=alice, auction=auction, reason=TYPO)
    assert retraction.bids.count() == 3  # her two bids and the proxy bid made for her
    assert standing(auction) == [("bob", 1500)]
    worked_out = Auction.objects.get(pk=auction.pk)
    # As if she had never bid: bob alone, at his bid.
    assert (worked_out.price_cents, worked_out.leader_id) == (1500, bob.pk)
    assert worked_out.bid_count == 1 and worked_out.version > auction.version


def test_in_the_last_twelve_hours_only_the_latest_bid_within_the_hour(
    make_auction, make_bidder, bid
):
    auction = make_auction(seconds=6 * HOURS)
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, on=auction)
    bid(bob, 1100, on=auction)
    latest = bid(alice, 1500, on=auction)
    later = latest.bid.received_at + timedelta(minutes=61)
    with pytest.raises(Conflict, match="only within an hour of placing it") as refused:
        bid_retract(bidder=alice, auction=auction, reason=TYPO, now=later)
    assert refused.value.code == "retraction_too_late"
    bid_retract(bidder=alice, auction=auction, reason=TYPO)
    assert standing(auction) == [("alice", 1000), ("bob", 1100)]
    worked_out = Auction.objects.get(pk=auction.pk)
    assert (worked_out.price_cents, worked_out.leader_id) == (1100, bob.pk)
    # The price is free again: someone may bid what the retracted bid stood at.
    carol = make_bidder("carol")
    assert bid(carol, 1500, on=auction).bid.leading


def test_what_cannot_be_retracted(make_auction, make_bidder, bid):
    auction = make_auction(seconds=300)
    alice = make_bidder("alice")
    with pytest.raises(NotFound, match="no bids on this auction"):
        bid_retract(bidder=alice, auction=auction, reason=TYPO)
    bid(alice, 1000, on=auction)
    with pytest.raises(Invalid, match="Choose why"):
        bid_retract(bidder=alice, auction=auction, reason="changed my mind")
    after = auction.ends_at + timedelta(seconds=1)
    with pytest.raises(Conflict, match="Bidding has closed"):
        bid_retract(bidder=alice, auction=auction, reason=TYPO, now=after)
    assert not BidRetraction.objects.exists()


def test_the_page_shows_pseudonyms_the_retraction_and_the_bidder_s_count(
    client, make_auction, make_bidder, bid
):
    auction = make_auction(seconds=20 * HOURS)
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, on=auction)
    bid(bob, 1100, on=auction)
    client.force_login(alice)
    page = reverse("auctions:detail", args=[auction.public_id])
    assert "Retract your bid" in client.get(page).content.decode()
    answer = client.post(
        reverse("auctions:retract", args=[auction.public_id]),
        {"reason": "description_changed", "idempotency_key": new_key()},
        follow=True,
    )
    html = answer.content.decode()
    assert "Retracted: your bid is withdrawn" in html
    name = pseudonym(auction, alice.pk)
    assert f"{name} (you) retracted 1 bid" in html or f"{name} retracted 1 bid" in html
    assert "The seller changed the description" in html
    assert "1 retraction by this bidder in the past 6 months" in html
    assert retraction_counts(user_ids=[alice.pk, bob.pk]) == {alice.pk: 1}
    # Another auction gives her another name.
    assert pseudonym(Auction(public_id="01J0OTHERAUCTION0000000000"), alice.pk) != name


def test_a_refused_retraction_is_explained_beside_the_form(client, make_auction, make_bidder, bid):
    auction = make_auction(seconds=20 * HOURS)
    alice = make_bidder("alice")
    bid(alice, 1000, on=auction)
    client.force_login(alice)
    answer = client.post(
        reverse("auctions:retract", args=[auction.public_id]),
        {"idempotency_key": new_key()},
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="retract-error" role="alert">Choose why you are retracting' in html
    assert '<details class="retract" open>' in html
    assert Bid.objects.get().retraction_id is None
