"""Auction services: starting, bidding, soft close, closing, charging, second chance."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auctions.models import Auction, AuctionEvent, Bid
from auctions.services import charging
from auctions.services.bidding import auction_buy_now
from auctions.services.charging import auction_charge
from auctions.services.closing import auction_close, auctions_sweep
from auctions.services.lifecycle import CHARGE_RETRY_AFTER, CLOSE_GRACE
from auctions.services.second_chance import second_chance_accept, second_chance_decline
from auctions.services.starting import auction_cancel
from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from orders.models import Order, ShippingAddress
from stalls.models import Reservation
from stalls.selectors import item_available_quantity

S = Auction.Status


def refresh(auction: Auction) -> Auction:
    return Auction.objects.select_related("leader", "winner", "reservation").get(pk=auction.pk)


def after_end(auction: Auction, extra=timedelta(0)):
    return refresh(auction).ends_at + CLOSE_GRACE + extra


# Starting and cancelling


@pytest.mark.django_db
def test_starting_reserves_one_unit_for_the_auction(auction, item):
    assert auction.status == S.LIVE
    assert auction.ends_at - auction.starts_at == timedelta(seconds=300)
    assert auction.hard_ends_at - auction.ends_at == timedelta(minutes=5)
    reservation = auction.reservation
    assert (reservation.reason, reservation.reference) == (
        Reservation.Reason.AUCTION,
        auction.public_id,
    )
    assert reservation.expires_at > auction.hard_ends_at
    assert item_available_quantity(item=item) == 0
    assert AuctionEvent.objects.filter(auction=auction, to_status=S.LIVE).count() == 1


@pytest.mark.django_db
def test_a_repeated_start_returns_the_first_auction(item, make_item):
    from auctions.services.starting import auction_start

    item.inventory = 3
    item.save()
    arguments = dict(
        actor=item.stall.seller.user,
        item=item,
        start_cents=500,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(minutes=1),
        idempotency_key="start-key-0123456789",
    )
    assert auction_start(**arguments) == auction_start(**arguments)
    assert Auction.objects.count() == 1
    assert item_available_quantity(item=item) == 2


@pytest.mark.django_db
def test_only_the_seller_starts_an_auction_of_their_item(item, make_user):
    from auctions.services.starting import auction_start

    with pytest.raises(NotAllowed, match="Only the item's seller"):
        auction_start(
            actor=make_user("stranger"),
            item=item,
            start_cents=500,
            reserve_cents=None,
            buy_now_cents=None,
            duration=timedelta(minutes=1),
            idempotency_key="stranger-key-0123456789",
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"start": 0}, "more than zero"),
        ({"start": 1000, "reserve": 1000}, r"reserve must be above the starting price \(\$10.00\)"),
        ({"start": 1000, "reserve": 2000, "buy_now": 1500}, r"buy-it-now price must be above \$20"),
        ({"start": 1000, "buy_now": 1000}, r"above \$10.00"),
        ({"seconds": 20}, "30 seconds to 24 hours"),
        ({"seconds": 86401}, "30 seconds to 24 hours"),
    ],
)
def test_bad_prices_and_durations_are_refused(make_auction, item, prices, message):
    with pytest.raises(Invalid, match=message):
        make_auction(**prices)
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_an_item_with_no_free_unit_cannot_be_auctioned(make_auction):
    make_auction()
    with pytest.raises(Conflict, match="none is free to auction"):
        make_auction()


@pytest.mark.django_db
def test_a_scheduled_auction_opens_when_its_time_comes(make_auction, make_bidder, bid):
    starts_at = timezone.now() + timedelta(minutes=10)
    auction = make_auction(starts_at=starts_at)
    assert auction.status == S.SCHEDULED
    alice = make_bidder("alice")
    with pytest.raises(Conflict, match="Bidding opens at") as refused:
        bid(alice, 1000, on=auction)
    assert refused.value.code == "not_started"
    assert auctions_sweep(now=starts_at - timedelta(seconds=1))["opened"] == 0
    assert auctions_sweep(now=starts_at)["opened"] == 1
    assert refresh(auction).status == S.LIVE


@pytest.mark.django_db
def test_a_bid_after_the_start_opens_a_scheduled_auction_itself(make_auction, make_bidder, bid):
    starts_at = timezone.now() + timedelta(minutes=10)
    auction = make_auction(starts_at=starts_at)
    bid(make_bidder("alice"), 1000, on=auction, at=starts_at + timedelta(seconds=1))
    assert refresh(auction).status == S.LIVE


@pytest.mark.django_db
def test_the_seller_cancels_before_the_first_bid_and_the_unit_returns(auction, item):
    cancelled = auction_cancel(actor=auction.seller, auction=auction)
    assert cancelled.status == S.CANCELLED
    assert item_available_quantity(item=item) == 1
    assert AuctionEvent.objects.filter(auction=auction, to_status=S.CANCELLED).exists()


@pytest.mark.django_db
def test_no_cancelling_after_a_bid_or_by_someone_else(auction, make_bidder, bid, make_user):
    with pytest.raises(NotAllowed):
        auction_cancel(actor=make_user("stranger"), auction=auction)
    bid(make_bidder("alice"), 1000)
    with pytest.raises(Conflict, match="only before the first bid"):
        auction_cancel(actor=auction.seller, auction=auction)


# Bidding


@pytest.mark.django_db
def test_a_first_bid_at_the_starting_price_leads(auction, make_bidder, bid):
    alice = make_bidder("alice")
    outcome = bid(alice, 1000)
    assert outcome.bid.leading and outcome.message == "You are the high bidder at $10.00."
    auction = refresh(auction)
    assert (auction.price_cents, auction.leader, auction.bid_count) == (1000, alice, 1)
    assert auction.version == 2
    row = Bid.objects.get()
    assert row.received_at <= timezone.now() and row.kind == Bid.Kind.BID


@pytest.mark.django_db
def test_a_bid_below_the_next_minimum_is_refused_with_the_minimum(auction, make_bidder, bid):
    bid(make_bidder("alice"), 1000)
    with pytest.raises(Conflict, match=r"next minimum bid is \$11.00") as refused:
        bid(make_bidder("bob"), 1050)
    assert refused.value.code == "bid_too_low"
    assert Bid.objects.count() == 1


@pytest.mark.django_db
def test_who_may_bid(auction, bid, make_user, make_bidder):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAllowed, match="your own auction"):
        bid(auction.seller, 1000)
    with pytest.raises(Conflict, match="Add a payment method") as refused:
        bid(make_user("cardless"), 1000)
    assert refused.value.code == "payment_method_required"
    homeless = make_bidder("homeless")
    ShippingAddress.objects.filter(buyer=homeless).delete()
    with pytest.raises(Conflict, match="Add a shipping address") as refused:
        bid(homeless, 1000)
    assert refused.value.code == "address_required"
    with pytest.raises(NotAllowed, match="Sign in to bid"):
        bid(AnonymousUser(), 1000)
    assert Bid.objects.count() == 0


@pytest.mark.django_db
def test_a_repeated_key_returns_the_first_outcome(auction, make_bidder, bid):
    alice = make_bidder("alice")
    first = bid(alice, 1000, key="same-key-0123456789")
    again = bid(alice, 1000, key="same-key-0123456789")
    assert again.bid == first.bid and again.message == first.message
    assert Bid.objects.count() == 1 and refresh(auction).bid_count == 1


@pytest.mark.django_db
def test_proxy_bids_answer_for_the_absent_leader(auction, make_bidder, bid):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, maximum=2500)
    outcome = bid(bob, 1500)
    assert not outcome.bid.leading
    assert "outbid at once" in outcome.message
    auction = refresh(auction)
    assert (auction.price_cents, auction.leader, auction.leader_max_cents) == (1600, alice, 2500)
    ladder = list(Bid.objects.order_by("id").values_list("bidder__handle", "kind", "amount_cents"))
    assert ladder == [("alice", "bid", 1000), ("bob", "bid", 1500), ("alice", "proxy", 1600)]
    assert auction.bid_count == 3


@pytest.mark.django_db
def test_a_bid_equal_to_an_earlier_maximum_is_stored_and_outbid(auction, make_bidder, bid):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000, maximum=2500)
    bid(bob, 2500)
    auction = refresh(auction)
    assert (auction.price_cents, auction.leader) == (2500, alice)
    assert list(Bid.objects.filter(amount_cents=2500).values_list("bidder__handle", "leading")) == [
        ("bob", False),
        ("alice", True),
    ]


@pytest.mark.django_db
def test_the_leader_raises_their_maximum_privately(auction, make_bidder, bid):
    alice = make_bidder("alice")
    bid(alice, 1000)
    outcome = bid(alice, 1100, maximum=5000)
    assert outcome.message == "Your maximum is now $50.00; the price stays where it is."
    auction = refresh(auction)
    assert (auction.price_cents, auction.leader_max_cents, auction.bid_count) == (1000, 5000, 1)


@pytest.mark.django_db
def test_a_bid_in_the_last_ten_seconds_moves_the_end(auction, make_bidder, bid):
    end = auction.ends_at
    bid(make_bidder("alice"), 1000, at=end - timedelta(seconds=11))
    assert refresh(auction).ends_at == end
    bid(make_bidder("bob"), 1100, at=end - timedelta(seconds=3))
    assert refresh(auction).ends_at == end + timedelta(seconds=12)


@pytest.mark.django_db
def test_soft_close_stops_at_the_hard_end(auction, make_bidder, bid):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    at, price, bidders = auction.ends_at - timedelta(seconds=1), 1000, [alice, bob]
    while refresh(auction).ends_at < auction.hard_ends_at:
        bid(bidders[price % 2], price, at=at)
        price += 100
        at = refresh(auction).ends_at - timedelta(seconds=1)
    assert refresh(auction).ends_at == auction.hard_ends_at
    with pytest.raises(Conflict, match="arrived after the end"):
        bid(bidders[price % 2], price, at=auction.hard_ends_at)


@pytest.mark.django_db
def test_arrival_time_decides_whether_a_bid_counted(auction, make_bidder, bid):
    """A bid that arrived before the end counts even if it is stored after it (it
    waited for the lock); one that arrived after the end does not, even though the
    sweep has not closed the auction yet."""
    end = auction.ends_at
    bid(make_bidder("early"), 1000, at=end - timedelta(milliseconds=1))
    new_end = refresh(auction).ends_at
    assert new_end > end
    with pytest.raises(Conflict, match="arrived after the end") as refused:
        bid(make_bidder("late"), 1100, at=new_end)
    assert refused.value.code == "auction_ended"
    assert refresh(auction).status == S.LIVE


@pytest.mark.django_db
def test_a_cancelled_auction_takes_no_bids(auction, make_bidder, bid):
    auction_cancel(actor=auction.seller, auction=auction)
    with pytest.raises(Conflict, match="cancelled"):
        bid(make_bidder("alice"), 1000)


# Closing and charging


@pytest.mark.django_db
def test_the_sweep_closes_after_the_end_and_charges_the_winner_once(
    auction, make_bidder, bid, cards, item
):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    bid(alice, 1000)
    bid(bob, 1100)
    assert auctions_sweep(now=after_end(auction, -timedelta(milliseconds=1)))["closed"] == 0
    done = auctions_sweep(now=after_end(auction))
    assert done == {"opened": 0, "closed": 1, "charged": 1, "expired": 0}
    auction = refresh(auction)
    assert auction.status == S.SETTLED
    assert (auction.winner, auction.final_price_cents) == (bob, 1100)
    assert cards.charges == [(f"auction:{auction.public_id}:1", "bob", 1100)]
    assert auction.order_reference == Order.objects.get(reference=cards.charges[0][0]).public_id
    assert auction.reservation.consumed_at is not None
    item.refresh_from_db()
    assert item.inventory == 0
    assert list(
        AuctionEvent.objects.filter(auction=auction)
        .order_by("id")
        .values_list("to_status", flat=True)
    ) == [S.LIVE, S.ENDED, S.SETTLED]
    assert auctions_sweep(now=after_end(auction, timedelta(minutes=5)))["charged"] == 0
    assert len(cards.charges) == 1


@pytest.mark.django_db
def test_closing_twice_closes_once(auction, make_bidder, bid):
    bid(make_bidder("alice"), 1000)
    now = after_end(auction)
    assert auction_close(auction_id=auction.pk, now=now) is not None
    assert auction_close(auction_id=auction.pk, now=now) is None
    assert AuctionEvent.objects.filter(auction=auction, to_status=S.ENDED).count() == 1


@pytest.mark.django_db
def test_the_close_rereads_the_end_a_late_bid_moved(auction, make_bidder, bid):
    planned_close = after_end(auction)
    bid(make_bidder("alice"), 1000, at=auction.ends_at - timedelta(seconds=2))
    assert auction_close(auction_id=auction.pk, now=planned_close) is None
    assert refresh(auction).status == S.LIVE


@pytest.mark.django_db
def test_reserve_not_met_means_unsold_and_the_unit_returns(make_auction, make_bidder, bid, item):
    auction = make_auction(reserve=5000)
    bid(make_bidder("alice"), 1000, on=auction)
    assert refresh(auction).winner is None
    auctions_sweep(now=after_end(auction))
    auction = refresh(auction)
    assert auction.status == S.UNSOLD and auction.winner is None
    assert item_available_quantity(item=item) == 1
    assert AuctionEvent.objects.filter(note="the reserve was not met").exists()


@pytest.mark.django_db
def test_no_bids_means_unsold(auction, item):
    auctions_sweep(now=after_end(auction))
    assert refresh(auction).status == S.UNSOLD
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_a_declined_winner_makes_way_for_the_runner_up(make_auction, make_bidder, bid, cards, item):
    auction = make_auction(reserve=1500)
    alice, bob, carol = (
        make_bidder("alice"),
        make_bidder("bob"),
        make_bidder("carol", declined=True),
    )
    bid(alice, 1000, on=auction)  # below the reserve: not offered the second chance
    bid(bob, 1500, on=auction)
    bid(carol, 1600, maximum=3000, on=auction)
    now = after_end(auction)
    auctions_sweep(now=now)
    auction = refresh(auction)
    assert auction.status == S.ENDED
    assert (auction.winner, auction.final_price_cents) == (bob, 1500)
    assert auction.second_chance_until > timezone.now() + timedelta(hours=23)
    assert auction.reservation.holder == bob
    assert item_available_quantity(item=item) == 0
    assert cards.charges == []

    with pytest.raises(NotFound):
        second_chance_accept(buyer=alice, auction=auction)
    settled = second_chance_accept(buyer=bob, auction=auction)
    assert settled.status == S.SETTLED
    assert cards.charges == [(f"auction:{auction.public_id}:2", "bob", 1500)]


@pytest.mark.django_db
def test_a_declined_winner_with_no_runner_up_above_the_reserve_is_unsold(
    make_auction, make_bidder, bid, item
):
    auction = make_auction(reserve=1500)
    bid(make_bidder("alice"), 1000, on=auction)
    bid(make_bidder("carol", declined=True), 2000, on=auction)
    auctions_sweep(now=after_end(auction))
    assert refresh(auction).status == S.UNSOLD
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_a_second_chance_runs_out_after_a_day(auction, make_bidder, bid, item):
    bid(make_bidder("bob"), 1000)
    bid(make_bidder("carol", declined=True), 1100)
    auctions_sweep(now=after_end(auction))
    offered = refresh(auction)
    assert auctions_sweep(now=offered.second_chance_until - timedelta(seconds=1))["expired"] == 0
    assert auctions_sweep(now=offered.second_chance_until)["expired"] == 1
    assert refresh(auction).status == S.UNSOLD
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_a_declined_second_chance_card_may_try_again(auction, make_bidder, bid, cards):
    bob = make_bidder("bob", declined=True)
    bid(bob, 1000)
    bid(make_bidder("carol", declined=True), 1100)
    auctions_sweep(now=after_end(auction))
    with pytest.raises(Conflict, match="Your card was declined") as refused:
        second_chance_accept(buyer=bob, auction=auction)
    assert refused.value.code == "payment_failed"
    assert refresh(auction).status == S.ENDED
    cards.add(bob)  # a new card
    assert second_chance_accept(buyer=bob, auction=auction).status == S.SETTLED
    assert cards.charges == [(f"auction:{auction.public_id}:3", "bob", 1000)]


@pytest.mark.django_db
def test_the_runner_up_may_decline(auction, make_bidder, bid, item):
    bob = make_bidder("bob")
    bid(bob, 1000)
    bid(make_bidder("carol", declined=True), 1100)
    auctions_sweep(now=after_end(auction))
    assert second_chance_decline(buyer=bob, auction=auction).status == S.UNSOLD
    assert item_available_quantity(item=item) == 1


@pytest.mark.django_db
def test_a_charge_claimed_by_a_caller_that_died_is_retried_with_the_same_reference(
    auction, make_bidder, bid, cards, monkeypatch
):
    bid(make_bidder("alice"), 1000)
    now = after_end(auction)
    auction_close(auction_id=auction.pk, now=now)

    def dies(**kwargs):
        raise ConnectionError("the worker lost the gateway")

    with monkeypatch.context() as patch:
        patch.setattr(charging, "order_create_for_auction", dies)
        with pytest.raises(ConnectionError):
            auction_charge(auction_id=auction.pk, now=now)
    assert auction_charge(auction_id=auction.pk, now=now) is None  # still claimed
    assert auctions_sweep(now=now + CHARGE_RETRY_AFTER)["charged"] == 1
    assert refresh(auction).status == S.SETTLED
    assert cards.charges == [(f"auction:{auction.public_id}:1", "alice", 1000)]


# Buy it now


@pytest.mark.django_db
def test_buy_it_now_before_the_first_bid(make_auction, make_bidder, bid, cards):
    auction = make_auction(buy_now=5000)
    alice = make_bidder("alice")
    bought = auction_buy_now(buyer=alice, auction=auction)
    assert bought.status == S.SETTLED and bought.final_price_cents == 5000
    assert auction_buy_now(buyer=alice, auction=auction).status == S.SETTLED
    assert cards.charges == [(f"auction:{auction.public_id}:1", "alice", 5000)]
    with pytest.raises(Conflict, match=r"has ended|arrived after the end"):
        bid(make_bidder("bob"), 1000, on=auction)


@pytest.mark.django_db
def test_buy_it_now_goes_with_the_first_bid(make_auction, make_bidder, bid):
    auction = make_auction(buy_now=5000)
    bid(make_bidder("bob"), 1000, on=auction)
    with pytest.raises(Conflict, match="no longer offered"):
        auction_buy_now(buyer=make_bidder("alice"), auction=auction)


@pytest.mark.django_db
def test_a_declined_buy_it_now_reopens_the_bidding(make_auction, make_bidder, bid):
    auction = make_auction(buy_now=5000)
    with pytest.raises(Conflict, match=r"declined.*The auction goes on"):
        auction_buy_now(buyer=make_bidder("alice", declined=True), auction=auction)
    auction = refresh(auction)
    assert auction.status == S.LIVE and auction.winner is None
    assert bid(make_bidder("bob"), 1000, on=auction).bid.leading


@pytest.mark.django_db
def test_the_runner_up_is_mailed_the_offer(
    auction, make_bidder, bid, mailoutbox, django_capture_on_commit_callbacks
):
    bid(make_bidder("bob"), 1000)
    bid(make_bidder("carol", declined=True), 1100)
    with django_capture_on_commit_callbacks(execute=True):
        auctions_sweep(now=after_end(auction))
    offers = [mail for mail in mailoutbox if "can still be yours" in mail.subject]
    assert [mail.to for mail in offers] == [["bob@example.com"]]
    assert "You bid $10.00" in offers[0].body
    assert f"/auctions/{auction.public_id}/" in offers[0].body


@pytest.mark.django_db
def test_a_bid_just_after_the_end_counts_if_an_earlier_bid_still_in_flight_extends_it(
    auction, make_bidder, bid, monkeypatch
):
    """The later bid took the lock first and found the end passed; the earlier one,
    which arrived before the end, was still waiting. The later bid waits out the
    grace and asks again: the earlier bid's soft close now covers it."""
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(ends_at=now - timedelta(milliseconds=500))
    end = refresh(auction).ends_at
    early, late = make_bidder("early"), make_bidder("late")
    waits = []

    def the_earlier_bid_takes_the_lock_meanwhile(seconds):
        waits.append(seconds)
        bid(early, 1000, at=end - timedelta(milliseconds=300))

    monkeypatch.setattr(
        "auctions.services.bidding.time.sleep", the_earlier_bid_takes_the_lock_meanwhile
    )
    outcome = bid(late, 1100, at=now)

    assert 0 < waits[0] <= CLOSE_GRACE.total_seconds()
    assert outcome.bid.amount_cents == 1100 and outcome.auction.leader == late
    assert refresh(auction).ends_at > now


@pytest.mark.django_db
def test_a_bid_just_after_the_end_with_nothing_in_flight_is_refused_after_the_grace(
    auction, make_bidder, bid, monkeypatch
):
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(ends_at=now - timedelta(milliseconds=500))
    waits = []
    monkeypatch.setattr("auctions.services.bidding.time.sleep", waits.append)
    with pytest.raises(Conflict, match="arrived after the end"):
        bid(make_bidder("late"), 1100, at=now)
    assert len(waits) == 1 and 0 < waits[0] <= CLOSE_GRACE.total_seconds()
    # Well after the end there is nothing to wait for.
    with pytest.raises(Conflict, match="arrived after the end"):
        bid(make_bidder("later"), 1100, at=now + CLOSE_GRACE)
    assert len(waits) == 1
