"""Checkout: one order per seller, stock held while paying, paid through the test
gateway's event, retried safely, expired cleanly."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bazaar.errors import Conflict, Invalid
from orders.checkout.services import (
    cart_add,
    checkout_start,
    checkouts_expire_due,
    shipping_address_save,
)
from orders.escrow.services import stall_shipping_set
from orders.models import CartLine, MoneyMove, Order, OrderLine, Payment, TestGatewayObject
from orders.payments.gateway import CardDeclined
from orders.payments.test_gateway import CARD_DECLINED, TestGateway
from stalls.models import Reservation
from stalls.selectors import item_available_quantity
from stalls.services import item_update
from tests.orders.conftest import URLS, pay, start_checkout

pytestmark = pytest.mark.django_db


def test_one_checkout_makes_one_pending_order_per_seller(buyer, lamp, vase, stall):
    stall_shipping_set(actor=stall.seller.user, stall=stall, cost_cents=500)
    payment = start_checkout(buyer, lamp, vase)

    orders = {order.stall_id: order for order in payment.orders.all()}
    assert set(orders) == {lamp.stall_id, vase.stall_id}
    lamp_order, vase_order = orders[lamp.stall_id], orders[vase.stall_id]
    assert (lamp_order.subtotal_cents, lamp_order.shipping_cents) == (2500, 500)
    assert lamp_order.total_cents == 3000 and vase_order.total_cents == 1800
    assert payment.amount_cents == 4800 and payment.status == Payment.Status.OPEN
    assert {order.status for order in orders.values()} == {Order.Status.PENDING_PAYMENT}
    assert lamp_order.ship_to.startswith("buyer Person\n1 Market Street")
    assert lamp_order.fee_basis_points == 500
    line = OrderLine.objects.get(order=lamp_order)
    assert (line.title, line.unit_price_cents, line.quantity) == ("Brass lamp", 2500, 1)
    assert line.reservation.reason == Reservation.Reason.CHECKOUT
    assert line.reservation.reference == payment.public_id
    assert item_available_quantity(item=lamp) == 0
    assert item_available_quantity(item=vase) == 2
    # The session carries the payment's metadata, transfer group and 30-minute expiry.
    session = TestGateway().get(payment.session_id, "checkout.session")
    assert session["amount_total"] == 4800
    assert session["metadata"] == {
        "payment": payment.public_id,
        "orders": ",".join(o.public_id for o in payment.orders.order_by("pk")),
    }
    assert session["transfer_group"] == payment.transfer_group == f"payment_{payment.public_id}"
    assert session["expires_at"] == int(payment.expires_at.timestamp())
    assert payment.expires_at - payment.created_at == timedelta(minutes=30)
    assert payment.session_url == f"/test-gateway/sessions/{payment.session_id}/"


def test_the_same_key_again_returns_the_same_payment_and_session(buyer, lamp):
    first = start_checkout(buyer, lamp, key="double-click-key-0001")
    again = checkout_start(
        buyer=buyer,
        idempotency_key="double-click-key-0001",
        expected_total_cents=2500,
        urls=URLS,
    )
    assert again.pk == first.pk and again.session_id == first.session_id
    assert Payment.objects.count() == 1
    assert TestGatewayObject.objects.filter(kind="checkout.session").count() == 1
    assert Reservation.objects.filter(item=lamp).count() == 1


def test_a_checkout_whose_session_was_not_created_gets_it_on_retry(buyer, lamp, monkeypatch):
    from orders.payments.gateway import GatewayError
    from orders.payments.services import PaymentUnavailable

    def down(self, **kwargs):
        raise GatewayError("timeout")

    with monkeypatch.context() as patch:
        patch.setattr(TestGateway, "checkout_session_create", down)
        with pytest.raises(PaymentUnavailable, match="you will not be charged twice"):
            start_checkout(buyer, lamp, key="retry-after-timeout-1")
    payment = Payment.objects.get()
    assert payment.session_id == ""
    again = checkout_start(
        buyer=buyer, idempotency_key="retry-after-timeout-1", expected_total_cents=2500, urls=URLS
    )
    assert again.pk == payment.pk and again.session_id


def test_checkout_refuses_an_empty_cart_a_missing_address_and_a_changed_total(
    buyer, make_user, lamp
):
    with pytest.raises(Invalid, match="Your cart is empty"):
        checkout_start(buyer=buyer, idempotency_key="k" * 20, expected_total_cents=0, urls=URLS)
    cart_add(buyer=buyer, item=lamp)
    item_update(
        actor=lamp.stall.seller.user,
        item=lamp,
        title=lamp.title,
        description="",
        price_cents=2700,
        currency=lamp.currency,
        inventory=1,
    )
    with pytest.raises(Conflict, match=r"changed since you looked.*\$27\.00") as refused:
        checkout_start(buyer=buyer, idempotency_key="k" * 20, expected_total_cents=2500, urls=URLS)
    assert refused.value.code == "total_changed"
    nomad = make_user("nomad")
    cart_add(buyer=nomad, item=lamp)
    with pytest.raises(Invalid, match="Add a shipping address"):
        checkout_start(buyer=nomad, idempotency_key="n" * 20, expected_total_cents=2700, urls=URLS)
    assert not Payment.objects.exists()
    assert item_available_quantity(item=lamp) == 1


def test_the_last_unit_goes_to_one_buyer_the_other_is_told_by_name(make_buyer, lamp):
    first, second = make_buyer("first"), make_buyer("second")
    cart_add(buyer=first, item=lamp)
    cart_add(buyer=second, item=lamp)
    checkout_start(buyer=first, idempotency_key="a" * 20, expected_total_cents=2500, urls=URLS)
    with pytest.raises(Conflict, match=r"“Brass lamp” sold out\. Remove it"):
        checkout_start(buyer=second, idempotency_key="b" * 20, expected_total_cents=2500, urls=URLS)
    assert Payment.objects.count() == 1


def test_a_new_checkout_replaces_the_buyers_open_one(buyer, lamp, vase, on_commit):
    first = start_checkout(buyer, lamp)
    second = on_commit(start_checkout, buyer, vase)
    first.refresh_from_db()
    assert first.status == Payment.Status.CANCELLED
    assert second.amount_cents == 2500 + 1800  # the lamp's stock came back to the cart
    assert TestGateway().get(first.session_id, "checkout.session")["status"] == "expired"
    with pytest.raises(Exception, match="expired"):
        pay(first)


def test_paying_moves_orders_into_escrow_consumes_stock_and_empties_the_cart(
    buyer, lamp, vase, on_commit
):
    payment = start_checkout(buyer, lamp, vase)
    record = on_commit(pay, payment)

    assert record.outcome == "processed" and record.note == "paid"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.payment_intent_id.startswith("pi_")
    assert set(payment.orders.values_list("status", flat=True)) == {Order.Status.PAID_ESCROW}
    lamp.refresh_from_db()
    vase.refresh_from_db()
    assert (lamp.inventory, vase.inventory) == (0, 2)
    assert not CartLine.objects.filter(buyer=buyer).exists()
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects[0].startswith("New order to ship") and len(subjects) == 4
    assert {tuple(message.to) for message in mail.outbox} == {
        ("buyer@example.com",),
        ("seller@example.com",),
        ("seller2@example.com",),
    }


def test_a_declined_test_card_changes_nothing(buyer, lamp):
    payment = start_checkout(buyer, lamp)
    with pytest.raises(CardDeclined, match="declined"):
        pay(payment, card=CARD_DECLINED)
    with pytest.raises(CardDeclined, match="only the test card numbers"):
        pay(payment, card="4111 1111 1111 1111")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.OPEN
    assert item_available_quantity(item=lamp) == 0


def test_an_expired_checkout_cancels_its_orders_and_releases_stock(buyer, lamp, vase):
    payment = start_checkout(buyer, lamp, vase)
    assert checkouts_expire_due() == 0
    later = timezone.now() + timedelta(minutes=31)
    assert checkouts_expire_due(now=later) == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert set(payment.orders.values_list("status", flat=True)) == {Order.Status.CANCELLED}
    assert item_available_quantity(item=lamp) == 1 and item_available_quantity(item=vase) == 3
    assert CartLine.objects.filter(buyer=buyer).count() == 2  # still there to try again
    assert TestGateway().get(payment.session_id, "checkout.session")["status"] == "expired"
    assert checkouts_expire_due(now=later) == 0


def test_money_arriving_after_the_checkout_ended_is_refunded(buyer, lamp, on_commit):
    payment = start_checkout(buyer, lamp)
    # The session was paid at the last second, but our expiry ran first.
    event = TestGateway().session_complete(session_id=payment.session_id, card_number="4242" * 4)
    checkouts_expire_due(now=timezone.now() + timedelta(minutes=31))
    assert Payment.objects.get().status == Payment.Status.OPEN  # completed: not expired
    from orders.payments.services import payment_cancel

    payment_cancel(payment=payment, note="test: cancelled first")
    from orders.payments.webhooks import event_handle

    record = on_commit(event_handle, event=event, gateway_name="test")
    assert record.note == "late payment refunded"
    move = MoneyMove.objects.get()
    assert (move.kind, move.amount_cents, move.status) == ("refund", 2500, "done")
    assert Order.objects.get().status == Order.Status.CANCELLED
    lamp.refresh_from_db()
    assert lamp.inventory == 1


def test_a_reservation_that_ran_out_is_taken_again_at_payment(buyer, lamp, on_commit):
    payment = start_checkout(buyer, lamp)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    on_commit(pay, payment)
    assert Order.objects.get().status == Order.Status.PAID_ESCROW
    lamp.refresh_from_db()
    assert lamp.inventory == 0
    assert Reservation.objects.filter(item=lamp, consumed_at__isnull=False).count() == 1


def test_an_item_sold_out_while_paying_is_cancelled_and_refunded(
    buyer, make_buyer, lamp, vase, on_commit
):
    payment = start_checkout(buyer, lamp, vase)
    Reservation.objects.filter(item=lamp).update(expires_at=timezone.now() - timedelta(seconds=1))
    rival = make_buyer("rival")
    start_checkout(rival, lamp)  # takes the lamp in the meantime
    on_commit(pay, payment)
    statuses = dict(payment.orders.values_list("stall_id", "status"))
    assert statuses == {lamp.stall_id: "cancelled", vase.stall_id: "paid_escrow"}
    refund = MoneyMove.objects.get()
    assert (refund.kind, refund.amount_cents, refund.status) == ("refund", 2500, "done")
    vase.refresh_from_db()
    lamp.refresh_from_db()
    assert (lamp.inventory, vase.inventory) == (1, 2)


def test_the_shipping_address_is_checked(make_user):
    user = make_user()
    with pytest.raises(Invalid, match="street address, postal code"):
        shipping_address_save(
            buyer=user, name="A", line1=" ", line2="", city="X", postal_code="", country="US"
        )
    with pytest.raises(Invalid, match="two-letter code"):
        shipping_address_save(
            buyer=user, name="A", line1="1", line2="", city="X", postal_code="1", country="USA"
        )


def test_the_test_gateway_makes_one_customer_per_idempotency_key():
    gateway = TestGateway()
    first = gateway.customer_create(email="a@example.com", metadata={}, idempotency_key="k1")
    again = gateway.customer_create(email="a@example.com", metadata={}, idempotency_key="k1")
    other = gateway.customer_create(email="a@example.com", metadata={}, idempotency_key="k2")
    assert first == again != other


def test_past_the_pace_a_new_checkout_is_refused_and_the_same_key_still_answered(
    buyer, lamp, monkeypatch
):
    from bazaar.errors import RateLimited
    from bazaar.ratelimit import Rate
    from orders.checkout import services

    monkeypatch.setattr(services, "CHECKOUT_RATE", Rate(1, 600, "1 checkout every 10 minutes"))
    first = start_checkout(buyer, lamp, key="first-checkout-key-01")

    with pytest.raises(RateLimited) as refused:
        checkout_start(
            buyer=buyer,
            idempotency_key="other-checkout-key-02",
            expected_total_cents=2500,
            urls=URLS,
        )
    again = checkout_start(
        buyer=buyer, idempotency_key="first-checkout-key-01", expected_total_cents=2500, urls=URLS
    )

    assert "at most 1 checkout every 10 minutes" in refused.value.message
    assert again.pk == first.pk
