"""A winner whose card is declined (issue 13, point 8): only the people concerned
learn who it was; the public state names only the buyer; the declined bidder is told
by email and on the page; after the second chance only the new buyer is shown."""

import json

import pytest
from django.core import mail
from django.urls import reverse

from auctions.frames import auction_state
from auctions.models import Auction
from auctions.selectors import auction_for_state, bids_of_bidder
from auctions.services.closing import auctions_sweep
from auctions.services.second_chance import second_chance_accept
from tests.auctions.test_services import after_end, refresh

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def declined(make_auction, make_bidder, bid, on_commit):
    """Bob bids $15.00; Carol leads at $16.00 with a card declined at the close; the
    sweep offers Bob the second chance. Returns (auction, bob, carol)."""
    auction = make_auction(reserve=1500)
    bob, carol = make_bidder("bob"), make_bidder("carol", declined=True)
    bid(bob, 1500, on=auction)
    bid(carol, 1600, maximum=3000, on=auction)
    mail.outbox.clear()
    on_commit(auctions_sweep, now=after_end(auction))
    return refresh(auction), bob, carol


def public_state(auction) -> dict:
    return auction_state(auction_for_state(public_id=auction.public_id))


def test_the_public_state_names_nobody_during_the_second_chance(declined):
    auction, bob, carol = declined
    assert auction.declined_bidder == carol and auction.winner == bob
    state = public_state(auction)
    assert (state["status"], state["winner"], state["leader"]) == ("ended", None, None)
    assert state["final_price"] is None and state["price"] == "$16.00"
    assert "carol" not in json.dumps(state) and "bob" not in json.dumps(state)


def test_after_the_second_chance_only_the_buyer_is_named(declined):
    auction, bob, _ = declined
    second_chance_accept(buyer=bob, auction=auction)
    state = public_state(auction)
    assert (state["status"], state["winner"], state["final_price"]) == ("settled", "bob", "$15.00")
    assert state["leader"] is None and "carol" not in json.dumps(state)


def test_a_winner_who_pays_is_named_as_before(make_auction, make_bidder, bid):
    auction = make_auction()
    bid(make_bidder("alice"), 1000, on=auction)
    auctions_sweep(now=after_end(auction))
    state = public_state(auction)
    assert (state["status"], state["winner"], state["leader"]) == ("settled", "alice", None)


def test_the_declined_winner_is_emailed(declined):
    _, bob, carol = declined
    (to_carol,) = [m for m in mail.outbox if m.to == [carol.email]]
    assert to_carol.subject == "Your payment for “Brass lamp” did not go through"
    assert "declined when we charged it" in to_carol.body
    assert "offered to the next bidder" in to_carol.body
    assert "/account/payments/" in to_carol.body
    assert [m.to for m in mail.outbox if m.to != [carol.email]] == [[bob.email]]  # the offer


def test_with_nobody_to_offer_it_to_the_auction_is_unsold_and_the_winner_told(
    make_auction, make_bidder, bid, on_commit
):
    auction = make_auction()
    carol = make_bidder("carol", declined=True)
    bid(carol, 1000, on=auction)
    on_commit(auctions_sweep, now=after_end(auction))
    auction = refresh(auction)
    assert auction.status == Auction.Status.UNSOLD and auction.winner is None
    assert auction.declined_bidder == carol
    assert public_state(auction)["leader"] is None
    (to_carol,) = mail.outbox
    assert "The auction has ended without a sale." in to_carol.body
    assert [bid.state for bid in bids_of_bidder(user=carol)] == ["payment_failed"]


def test_each_person_is_told_their_own_part_and_nobody_else_is(client, declined, make_user):
    auction, bob, carol = declined
    url = reverse("auctions:your_part", args=[auction.public_id])
    page = reverse("auctions:detail", args=[auction.public_id])
    assert client.get(url).url.startswith(reverse("accounts:login"))

    client.force_login(carol)
    assert "Your card was declined" in client.get(url).content.decode()
    assert "Your card was declined" in client.get(page).content.decode()
    client.force_login(bob)
    offer = client.get(url).content.decode()
    assert "It can still be yours" in offer and "carol" not in offer
    client.force_login(auction.seller)
    told = client.get(url).content.decode()
    assert "@carol's card was declined" in told and "offered to @bob at $15.00" in told
    client.force_login(make_user("dave"))
    for answer in (client.get(url), client.get(page)):
        text = answer.content.decode()
        assert "declined" not in text and "could not pay" not in text
    anonymous = client.get(page).content.decode()
    client.logout()
    assert "declined" not in anonymous


def test_a_refused_second_chance_shows_in_the_runner_ups_panel(declined, client, cards):
    auction, bob, carol = declined
    client.force_login(carol)  # not hers to take
    url = reverse("auctions:second_chance_accept", args=[auction.public_id])
    refused = client.post(url, {"idempotency_key": "k" * 26}, **HTMX)
    assert refused.status_code == 404
    assert "You have no offer on this auction." in refused.content.decode()
    assert "<html" not in refused.content.decode()
    client.force_login(bob)
    taken = client.post(url, {"idempotency_key": "b" * 26}, **HTMX).content.decode()
    assert "It&#x27;s yours: paid into escrow." in taken and "Follow the order" in taken
    assert [bid.state for bid in bids_of_bidder(user=bob)] == ["paid"]
    assert [bid.state for bid in bids_of_bidder(user=carol)] == ["payment_failed"]
