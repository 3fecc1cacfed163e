"""What orders provides to auctions: a saved card, and an off-session charge that
opens a paid order (test gateway)."""

from datetime import timedelta

import pytest

from orders.checkout.services import order_create_for_auction
from orders.escrow.services import stall_shipping_set
from orders.models import Order, Payment, SavedCard
from orders.payments.selectors import buyer_has_payment_method
from orders.payments.services import PaymentFailed, card_forget, card_setup_start
from orders.payments.test_gateway import CARD_DECLINES_OFF_SESSION, CARD_OK, TestGateway
from orders.payments.webhooks import event_handle
from stalls.models import Reservation
from stalls.services import reservation_take

pytestmark = pytest.mark.django_db


def save_card(buyer, number: str) -> None:
    """The buyer saves a card on the test gateway's setup page."""
    url = card_setup_start(buyer=buyer, idempotency_key="setup-0000000001", base_url="")
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    event = TestGateway().session_complete(session_id=session_id, card_number=number)
    event_handle(event=event, gateway_name="test")


def won(buyer, item, reference="auction-1"):
    reservation = reservation_take(
        item=item, holder=buyer, reason=Reservation.Reason.AUCTION, ttl=timedelta(hours=1)
    )
    return reservation, lambda: order_create_for_auction(
        buyer=buyer,
        item=item,
        price_cents=4200,
        currency="USD",
        reservation=reservation,
        reference=reference,
    )


def test_a_saved_card_counts_as_a_payment_method(buyer, make_user):
    assert not buyer_has_payment_method(user=buyer)
    save_card(buyer, CARD_OK)
    assert buyer_has_payment_method(user=buyer)
    card = SavedCard.objects.get(buyer=buyer)
    assert (card.last4, card.brand) == ("4242", "visa")
    card_forget(buyer=buyer)
    assert not buyer_has_payment_method(user=buyer)
    from django.contrib.auth.models import AnonymousUser

    assert not buyer_has_payment_method(user=AnonymousUser())


def test_the_winner_is_charged_once_and_the_order_is_in_escrow(buyer, lamp, stall):
    stall_shipping_set(actor=stall.seller.user, stall=stall, cost_cents=300)
    save_card(buyer, CARD_OK)
    reservation, charge = won(buyer, lamp)
    order = charge()
    assert order.status == Order.Status.PAID_ESCROW and order.reference == "auction-1"
    assert (order.subtotal_cents, order.shipping_cents, order.total_cents) == (4200, 300, 4500)
    assert order.ship_to.startswith("buyer Person")
    assert order.lines.get().unit_price_cents == 4200
    reservation.refresh_from_db()
    assert reservation.consumed_at is not None
    assert charge() == order  # the same reference: same order, charged once
    assert Payment.objects.count() == 1
    assert TestGateway().get(order.payment.payment_intent_id, "payment_intent")["amount"] == 4500


def test_a_declining_card_raises_and_leaves_the_reservation(buyer, lamp):
    save_card(buyer, CARD_DECLINES_OFF_SESSION)
    assert buyer_has_payment_method(user=buyer)
    reservation, charge = won(buyer, lamp)
    with pytest.raises(PaymentFailed, match="declined") as failure:
        charge()
    assert failure.value.status == 409 and failure.value.code == "payment_failed"
    reservation.refresh_from_db()
    assert reservation.consumed_at is None and reservation.released_at is None
    assert not Order.objects.filter(status=Order.Status.PAID_ESCROW).exists()
    with pytest.raises(PaymentFailed):
        charge()


def test_no_saved_card_is_a_payment_failure(buyer, lamp):
    _, charge = won(buyer, lamp)
    with pytest.raises(PaymentFailed, match="no saved card"):
        charge()
    assert not Payment.objects.exists()
