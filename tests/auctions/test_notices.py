"""What auctions put in people's notifications: outbid, won, lost."""

import pytest
from django.core import mail

from auctions.services.closing import auctions_sweep
from notifications.models import Notice
from tests.auctions.test_services import after_end, refresh

pytestmark = pytest.mark.django_db


def notices(user) -> list[tuple[str, str]]:
    return list(Notice.objects.filter(recipient=user).order_by("pk").values_list("kind", "title"))


def test_the_leader_hears_they_were_outbid_and_nobody_else_does(
    auction, make_bidder, bid, on_commit
):
    bob, carol = make_bidder("bob"), make_bidder("carol")
    on_commit(bid, bob, 1000)
    on_commit(bid, bob, 1500)  # raising one's own bid outbids nobody
    on_commit(bid, carol, 1600)
    assert notices(bob) == [("outbid", "You were outbid on “Brass lamp”")]
    assert notices(carol) == []
    (notice,) = Notice.objects.filter(recipient=bob)
    assert "The price is now $16.00." in notice.body
    assert notice.url == f"/auctions/{auction.public_id}/"
    assert [m.subject for m in mail.outbox] == ["You were outbid on “Brass lamp”"]


def test_a_bid_beaten_at_once_by_the_leader_s_maximum_tells_nobody(
    auction, make_bidder, bid, on_commit
):
    bob, carol = make_bidder("bob"), make_bidder("carol")
    on_commit(bid, bob, 1000, maximum=5000)
    on_commit(bid, carol, 2000)  # bob's proxy answers: he keeps the lead
    assert notices(bob) == [] and notices(carol) == []


def test_at_the_close_the_others_hear_it_ended_and_the_winner_once_charged(
    auction, make_bidder, bid, on_commit
):
    bob, carol, dave = make_bidder("bob"), make_bidder("carol"), make_bidder("dave")
    for bidder, amount in ((bob, 1000), (dave, 1100), (carol, 1600)):
        on_commit(bid, bidder, amount)
    Notice.objects.all().delete()

    on_commit(auctions_sweep, now=after_end(auction))
    on_commit(auctions_sweep, now=after_end(auction))  # a second sweep repeats nothing

    auction = refresh(auction)
    lost = ("auction_lost", "“Brass lamp” ended: the winning bid was $16.00")
    assert notices(bob) == [lost] and notices(dave) == [lost]
    assert notices(carol) == [("auction_won", "You won “Brass lamp” at $16.00")]
    won = Notice.objects.get(recipient=carol)
    assert won.url == f"/orders/{auction.order_reference}/"


def test_an_auction_ending_under_its_reserve_tells_its_bidders(
    make_auction, make_bidder, bid, on_commit
):
    auction = make_auction(reserve=5000)
    bob = make_bidder("bob")
    on_commit(bid, bob, 1000, on=auction)
    on_commit(auctions_sweep, now=after_end(auction))
    assert notices(bob) == [("auction_lost", "“Brass lamp” ended unsold: the reserve was not met")]
