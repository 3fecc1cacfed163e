"""Auction fixtures: a seller's item up for auction, bidders with a card on file."""

from datetime import timedelta

import pytest
from django.db.models import F

from auctions.models import Auction
from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from orders.checkout.services import shipping_address_save
from orders.models import Order, Payment, TestGatewayObject
from orders.payments.services import card_setup_start
from orders.payments.test_gateway import CARD_DECLINES_OFF_SESSION, CARD_OK, TestGateway
from orders.payments.webhooks import event_handle


def save_card(user, number: str = CARD_OK) -> None:
    """The user saves a card on the test gateway's page, as a browser would, and a
    shipping address (bidding needs both)."""
    shipping_address_save(
        buyer=user,
        name=f"{user.handle} Bidder",
        line1="1 Auction Row",
        line2="",
        city="Springfield",
        postal_code="12345",
        country="US",
    )
    url = card_setup_start(buyer=user, idempotency_key=new_key(), base_url="http://testserver")
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    event = TestGateway().session_complete(session_id=session_id, card_number=number)
    event_handle(event=event, gateway_name="test")


def end_passes(auction_id: int) -> None:
    """Time passes beyond the auction's hard end: its clock is moved back instead of
    the test waiting (the sweep reads the real time)."""
    moved = timedelta(days=1, minutes=6)
    Auction.objects.filter(pk=auction_id).update(
        starts_at=F("starts_at") - moved,
        ends_at=F("ends_at") - moved,
        hard_ends_at=F("hard_ends_at") - moved,
    )


class Cards:
    """Saved cards on orders' test gateway, and the charges it took."""

    def add(self, user, *, declined: bool = False):
        """A card that pays, or (`declined`) one refused on off-session charges."""
        save_card(user, CARD_DECLINES_OFF_SESSION if declined else CARD_OK)
        return user

    @property
    def charges(self) -> list[tuple[str, str, int]]:
        """(reference, buyer, price) of each successful charge, from the gateway's side."""
        intents = TestGatewayObject.objects.filter(kind="payment_intent").order_by("id")
        taken = []
        for intent in intents:
            payment = Payment.objects.select_related("buyer").get(
                public_id=intent.data["metadata"]["payment"]
            )
            order = Order.objects.get(payment=payment)
            taken.append((order.reference, payment.buyer.handle, order.subtotal_cents))
        return taken


@pytest.fixture
def cards(db):
    return Cards()


@pytest.fixture
def item(stall, make_item):
    return make_item(stall, title="Brass lamp", price_cents=2500)


@pytest.fixture
def make_auction(item):
    def make(*, target=None, start=1000, reserve=None, buy_now=None, seconds=300, starts_at=None):
        target = target or item
        return auction_start(
            actor=target.stall.seller.user,
            item=target,
            start_cents=start,
            reserve_cents=reserve,
            buy_now_cents=buy_now,
            duration=timedelta(seconds=seconds),
            starts_at=starts_at,
            idempotency_key=new_key(),
        )

    return make


@pytest.fixture
def auction(make_auction):
    return make_auction()


@pytest.fixture
def make_bidder(make_user, cards):
    def make(handle=None, *, declined=False):
        return cards.add(make_user(handle), declined=declined)

    return make


@pytest.fixture
def bid(request):
    """Place a bid as `bidder` (on the `auction` fixture unless another is given)."""
    from auctions.services.bidding import bid_place

    def place(bidder, amount, *, maximum=None, on=None, key=None, at=None):
        return bid_place(
            bidder=bidder,
            auction=on or request.getfixturevalue("auction"),
            amount_cents=amount,
            max_cents=maximum,
            idempotency_key=key or new_key(),
            arrived_at=at,
        )

    return place
