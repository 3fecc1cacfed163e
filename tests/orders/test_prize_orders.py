"""A giveaway's prize as an order at zero price: straight into escrow, shipped by
the seller, released as usual, and no money moves at any step (nothing to charge,
refund or pay out)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bazaar.errors import Invalid
from orders.checkout.prizes import order_create_for_prize
from orders.escrow.services import (
    order_cancel,
    order_confirm_received,
    order_ship,
    orders_release_due,
)
from orders.models import MoneyMove, Order, Payment
from stalls.models import Reservation
from stalls.services import reservation_take

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture
def prize_order(buyer, lamp, on_commit):
    held = reservation_take(
        item=lamp,
        holder=lamp.stall.seller.user,
        reason=Reservation.Reason.GIVEAWAY,
        ttl=timedelta(hours=2),
    )
    return on_commit(
        order_create_for_prize, buyer=buyer, item=lamp, reservation=held, reference="giveaway:1"
    )


def test_the_prize_order_is_in_escrow_at_zero_with_its_unit_taken(prize_order, buyer, lamp):
    order = prize_order
    assert (order.status, order.buyer, order.total_cents, order.shipping_cents) == (
        S.PAID_ESCROW,
        buyer,
        0,
        0,
    )
    assert order.payment.kind == Payment.Kind.PRIZE and order.payment.amount_cents == 0
    assert order.lines.get().unit_price_cents == 0
    assert "1 Market Street" in order.ship_to
    lamp.refresh_from_db()
    assert lamp.inventory == 0


def test_asking_again_returns_the_same_order(prize_order, buyer, lamp):
    again = order_create_for_prize(
        buyer=buyer,
        item=lamp,
        reservation=prize_order.lines.get().reservation,
        reference="giveaway:1",
    )
    assert again == prize_order and Order.objects.count() == 1


def test_no_address_no_order(lamp, make_user):
    held = reservation_take(
        item=lamp, holder=lamp.stall.seller.user, reason="giveaway", ttl=timedelta(hours=1)
    )
    with pytest.raises(Invalid, match="shipping address"):
        order_create_for_prize(
            buyer=make_user("nowhere"), item=lamp, reservation=held, reference="giveaway:2"
        )
    assert not Order.objects.exists()


def test_shipped_and_confirmed_it_is_released_with_no_payout(prize_order, buyer, on_commit):
    seller = prize_order.stall.seller.user
    on_commit(order_ship, actor=seller, order=prize_order, carrier="UPS", tracking_number="1Z1")
    on_commit(order_confirm_received, actor=buyer, order=prize_order)
    prize_order.refresh_from_db()
    assert prize_order.status == S.RELEASED
    assert not MoneyMove.objects.exists()


def test_the_hourly_release_takes_it_like_any_other(prize_order, on_commit):
    seller = prize_order.stall.seller.user
    on_commit(order_ship, actor=seller, order=prize_order, carrier="UPS", tracking_number="1Z1")
    shipped = timezone.now() - timedelta(days=10)
    Order.objects.filter(pk=prize_order.pk).update(shipped_at=shipped)
    assert on_commit(orders_release_due) == 1
    assert Order.objects.get(pk=prize_order.pk).status == S.RELEASED
    assert not MoneyMove.objects.exists()


def test_the_seller_cancelling_refunds_nothing(prize_order, on_commit):
    on_commit(order_cancel, actor=prize_order.stall.seller.user, order=prize_order)
    prize_order.refresh_from_db()
    assert prize_order.status == S.CANCELLED
    assert not MoneyMove.objects.exists()
