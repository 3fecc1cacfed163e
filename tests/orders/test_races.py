"""Real threads on PostgreSQL: row locks make checkout, release, payouts and webhook
processing safe when two actors (or two job runners) race."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bazaar.errors import Conflict
from orders.checkout.services import cart_add, checkout_start
from orders.escrow.services import order_confirm_received, order_ship, orders_release_due
from orders.models import MoneyMove, Order, Payment, TestGatewayObject, WebhookEvent
from orders.payments.services import money_move_send
from orders.payments.test_gateway import TestGateway
from orders.payments.webhooks import event_handle
from stalls.selectors import item_available_quantity
from tests.conftest import race
from tests.orders.conftest import URLS, connect_payouts, pay, start_checkout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_buyers_race_for_the_last_unit_and_one_wins(require_postgres, make_buyer, lamp):
    buyers = [make_buyer(f"racer{n}") for n in range(6)]
    for buyer in buyers:
        cart_add(buyer=buyer, item=lamp)

    def checkout(buyer):
        return lambda: checkout_start(
            buyer=buyer,
            idempotency_key=f"race-{buyer.handle}-0000000",
            expected_total_cents=2500,
            urls=URLS,
        )

    results = race(*(checkout(buyer) for buyer in buyers))
    won = [r for r in results if isinstance(r, Payment)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 5, results
    assert all("sold out" in error.message for error in lost)
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert item_available_quantity(item=lamp) == 0


def test_the_same_checkout_twice_at_once_makes_one_payment(require_postgres, buyer, vase):
    cart_add(buyer=buyer, item=vase)

    def checkout():
        return checkout_start(
            buyer=buyer,
            idempotency_key="same-click-000000001",
            expected_total_cents=1800,
            urls=URLS,
        )

    first, second = race(checkout, checkout)
    assert isinstance(first, Payment) and isinstance(second, Payment), (first, second)
    assert first.pk == second.pk and first.session_id == second.session_id
    assert TestGatewayObject.objects.filter(kind="checkout.session").count() == 1
    assert item_available_quantity(item=vase) == 2


def test_the_release_job_twice_at_once_releases_and_pays_each_order_once(
    require_postgres, make_buyer, make_item, stall
):
    connect_payouts(stall.seller.user)
    items = [make_item(stall, title=f"Thing {n}", price_cents=1000) for n in range(6)]
    for n, item in enumerate(items):
        payment = start_checkout(make_buyer(f"buyer{n}"), item)
        pay(payment)
    for order in Order.objects.all():
        order_ship(actor=stall.seller.user, order=order, carrier="UPS", tracking_number="1")
    Order.objects.update(shipped_at=timezone.now() - timedelta(days=11))

    results = race(orders_release_due, orders_release_due)
    assert sum(results) == 6, results
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.RELEASED}
    assert MoneyMove.objects.count() == 6
    assert set(MoneyMove.objects.values_list("status", flat=True)) == {"done"}
    assert TestGatewayObject.objects.filter(kind="transfer").count() == 6


def test_one_money_move_sent_by_two_runners_pays_once(
    require_postgres, buyer, lamp, stall, monkeypatch
):
    pay(start_checkout(buyer, lamp))
    order = Order.objects.get()
    connect_payouts(stall.seller.user)
    order_ship(actor=stall.seller.user, order=order, carrier="UPS", tracking_number="1")
    # The move is decided but its task is "lost" so that the two runners race for it.
    monkeypatch.setattr("orders.tasks.send_money_move.delay", lambda move_id: None)
    order_confirm_received(actor=buyer, order=order)
    move = MoneyMove.objects.get()
    results = race(
        lambda: money_move_send(move_id=move.pk), lambda: money_move_send(move_id=move.pk)
    )
    assert TestGatewayObject.objects.filter(kind="transfer").count() == 1
    assert MoneyMove.objects.get().status == "done"
    assert order.events.filter(kind="transfer_sent").count() == 1, results


def test_one_event_delivered_twice_at_once_is_processed_once(require_postgres, buyer, lamp):
    payment = start_checkout(buyer, lamp)
    event = TestGateway().session_complete(session_id=payment.session_id, card_number="4242" * 4)
    results = race(
        lambda: event_handle(event=event, gateway_name="test"),
        lambda: event_handle(event=event, gateway_name="test"),
    )
    assert all(isinstance(result, WebhookEvent) for result in results), results
    assert WebhookEvent.objects.count() == 1
    assert Order.objects.get().events.filter(to_status="paid_escrow").count() == 1
