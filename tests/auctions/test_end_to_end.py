"""The playbook's exit criterion: 100 bids on one auction over HTTP, then the beat's
sweep closes it and the winner's saved card is charged (orders' test gateway)."""

import pytest
from django.test import Client
from django.urls import reverse

from auctions.models import Auction, Bid
from auctions.tasks import sweep_auctions
from bazaar.idempotency import new_key
from orders.models import Order
from stalls.models import Reservation
from tests.auctions.conftest import end_passes

BIDS = 100


@pytest.mark.django_db(transaction=True)
def test_a_hundred_bids_then_the_winner_is_charged(make_auction, make_bidder, cards, item):
    auction = make_auction(start=500, reserve=5000, seconds=60)
    clients = []
    for n in range(10):
        client = Client()
        client.force_login(make_bidder(f"bidder{n}"))
        clients.append(client)
    url = reverse("auctions:bids", args=[auction.public_id])

    minimum, answers = 500, []
    for number in range(BIDS):
        response = clients[number % len(clients)].post(
            url,
            {"amount": f"{minimum / 100:.2f}"},
            HTTP_ACCEPT="application/json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["leading"]
        answers.append(answer)
        minimum = answer["state"]["minimum_cents"]

    prices = [answer["state"]["price_cents"] for answer in answers]
    assert prices == sorted(set(prices)) and len(prices) == BIDS
    assert Bid.objects.filter(auction=auction).count() == BIDS
    final = answers[-1]["state"]
    assert final["bid_count"] == BIDS and final["reserve_met"]

    end_passes(auction.pk)
    done = sweep_auctions.delay().get()
    assert (done["closed"], done["charged"]) == (1, 1)
    assert sweep_auctions.delay().get() == {"opened": 0, "closed": 0, "charged": 0, "expired": 0}

    auction.refresh_from_db()
    winner = f"bidder{(BIDS - 1) % 10}"
    assert auction.status == Auction.Status.SETTLED and auction.winner.handle == winner
    assert cards.charges == [(f"auction:{auction.public_id}:1", winner, final["price_cents"])]
    order = Order.objects.get(public_id=auction.order_reference)
    assert order.status == Order.Status.PAID_ESCROW and order.buyer.handle == winner
    assert [line.item for line in order.lines.all()] == [item]
    assert Reservation.objects.get(pk=auction.reservation_id).consumed_at is not None
    item.refresh_from_db()
    assert item.inventory == 0
