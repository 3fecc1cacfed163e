"""Escrow: the order state machine, shipping, confirming, releasing with a transfer
from the shared charge (fee kept), disputes settled by stewards, cancellations, the
hourly release job, and payouts that wait for a connected account."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.models import Role
from governance.services import role_grant
from orders.escrow.selectors import order_view
from orders.escrow.services import (
    TRANSITIONS,
    fee_for,
    order_cancel,
    order_confirm_received,
    order_dispute_open,
    order_dispute_settle,
    order_ship,
    order_transition,
    orders_release_due,
)
from orders.models import MoneyMove, Order, OrderEvent
from orders.payments.services import money_moves_send_due
from orders.payments.test_gateway import TestGateway
from tests.orders.conftest import connect_payouts, pay, start_checkout

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture
def paid(buyer, lamp, vase, on_commit):
    """A paid checkout of two orders: (lamp's order, vase's order)."""
    payment = start_checkout(buyer, lamp, vase)
    on_commit(pay, payment)
    mail.outbox.clear()
    orders = {order.stall_id: order for order in payment.orders.all()}
    return orders[lamp.stall_id], orders[vase.stall_id]


@pytest.fixture
def steward(make_user):
    user = make_user("steward")
    role_grant(user=user, role=Role.STEWARD, granted_by=None)
    return user


def seller_of(order):
    return order.stall.seller.user


def ship(order, on_commit, key="ship-key-000000001"):
    return on_commit(
        order_ship,
        actor=seller_of(order),
        order=order,
        carrier="UPS",
        tracking_number="1Z999",
        idempotency_key=key,
    )


def test_the_transition_table_refuses_every_move_it_does_not_list(paid):
    order, _ = paid
    every = list(S)
    for status in every:
        for target in every:
            order.status = status
            if target in TRANSITIONS.get(status, set()):
                continue
            with pytest.raises(Conflict, match="cannot become"):
                order_transition(order=order, to=target)
    assert not OrderEvent.objects.filter(order=order, from_status="released").exists()


def test_ship_confirm_release_pays_the_seller_less_the_fee(paid, buyer, on_commit):
    order, _ = paid
    connect_payouts(seller_of(order))
    ship(order, on_commit)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (S.SHIPPED, "UPS", "1Z999")
    assert [m.subject for m in mail.outbox] == ["Your order from seller's stall is on its way"]

    on_commit(order_confirm_received, actor=buyer, order=order, idempotency_key="c" * 20)
    order.refresh_from_db()
    assert order.status == S.RELEASED and order.received_at and order.released_at
    transfer = MoneyMove.objects.get(order=order)
    assert transfer.kind == "transfer" and transfer.status == "done"
    assert (transfer.amount_cents, transfer.fee_cents) == (2500 - 125, 125)
    data = TestGateway().get(transfer.gateway_id, "transfer")
    order.payment.refresh_from_db()
    assert data["source_transaction"] == order.payment.charge_id
    assert order.payment.charge_id.startswith("ch_test_")
    assert data["transfer_group"] == order.payment.transfer_group
    assert data["destination"] == seller_of(order).seller_profile.payout_account.account_id
    assert data["metadata"] == {"order": order.public_id, "payment": order.payment.public_id}
    kinds = list(order.events.values_list("kind", "to_status"))
    assert kinds[-4:] == [
        ("status", "received"),
        ("status", "released"),
        ("transfer_decided", ""),
        ("transfer_sent", ""),
    ]
    assert {
        f"Payout released for order {order.public_id}",
        f"The buyer received order {order.public_id}",
    } < {m.subject for m in mail.outbox}


def test_only_the_right_side_acts_and_a_retried_action_is_a_no_op(paid, buyer, on_commit):
    order, _ = paid
    with pytest.raises(NotAllowed, match="Only the seller can ship"):
        order_ship(actor=buyer, order=order, carrier="UPS", tracking_number="1")
    with pytest.raises(Invalid, match="carrier and the tracking number"):
        order_ship(actor=seller_of(order), order=order, carrier=" ", tracking_number="1")
    ship(order, on_commit, key="same-key-0000000001")
    ship(order, on_commit, key="same-key-0000000001")  # the double click
    assert order.events.filter(to_status=S.SHIPPED).count() == 1
    with pytest.raises(Conflict, match="is shipped; it cannot become shipped"):
        ship(order, on_commit, key="other-key-000000001")
    with pytest.raises(NotAllowed, match="Only the buyer can confirm"):
        order_confirm_received(actor=seller_of(order), order=order)


def test_without_a_payouts_account_the_release_waits_then_pays(paid, buyer, on_commit):
    order, _ = paid
    ship(order, on_commit)
    on_commit(order_confirm_received, actor=buyer, order=order)
    transfer = MoneyMove.objects.get(order=order)
    assert transfer.status == "pending"
    assert transfer.last_error == "Waiting for the seller to connect a payouts account."
    assert money_moves_send_due() == 0
    on_commit(connect_payouts, seller_of(order))
    transfer.refresh_from_db()
    assert transfer.status == "done" and transfer.gateway_id.startswith("tr_test_")


def test_a_dispute_pauses_release_and_a_steward_refunds_in_full(paid, buyer, steward, on_commit):
    order, _ = paid
    ship(order, on_commit)
    with pytest.raises(Invalid, match="what went wrong"):
        order_dispute_open(actor=buyer, order=order, reason="  ")
    on_commit(order_dispute_open, actor=buyer, order=order, reason="It arrived broken.")
    order.refresh_from_db()
    assert order.status == S.DISPUTED and order.dispute_reason == "It arrived broken."
    assert {tuple(m.to) for m in mail.outbox if "dispute" in m.subject} == {
        ("buyer@example.com",),
        ("seller@example.com",),
    }
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=30))
    assert orders_release_due() == 0

    with pytest.raises(NotAllowed, match="Only stewards"):
        order_dispute_settle(actor=buyer, order=order, refund_cents=2500, reason="Mine")
    with pytest.raises(Invalid, match=r"Refund between \$0\.00 and \$25\.00"):
        order_dispute_settle(actor=steward, order=order, refund_cents=2501, reason="Broken")
    with pytest.raises(Invalid, match="Say why you decided so"):
        order_dispute_settle(actor=steward, order=order, refund_cents=2500, reason="  ")
    on_commit(order_dispute_settle, actor=steward, order=order, refund_cents=2500, reason="Broken")
    order.refresh_from_db()
    assert order.status == S.REFUNDED and order.refunded_cents == 2500
    refund = MoneyMove.objects.get(order=order)
    assert (refund.kind, refund.amount_cents, refund.status) == ("refund", 2500, "done")
    assert TestGateway().get(refund.gateway_id, "refund")["amount"] == 2500


def test_a_partial_refund_pays_the_rest_to_the_seller(paid, buyer, steward, on_commit):
    order, _ = paid
    connect_payouts(seller_of(order))
    on_commit(order_dispute_open, actor=buyer, order=order, reason="One chip.")
    on_commit(order_dispute_settle, actor=steward, order=order, refund_cents=1000, reason="Chip")
    order.refresh_from_db()
    assert order.status == S.PARTLY_REFUNDED and order.refunded_cents == 1000
    assert order.get_status_display() == "Partly refunded"
    moves = {move.kind: move for move in MoneyMove.objects.filter(order=order)}
    assert moves["refund"].amount_cents == 1000
    assert moves["transfer"].amount_cents == 1500 - fee_for(1500, 500)
    assert {move.status for move in moves.values()} == {"done"}

    # The payout and the fee kept are the seller's business; the buyer sees the refund.
    buyers, sellers = (order_view(user=user, order=order) for user in (buyer, seller_of(order)))
    assert [move.kind for move in buyers.moves] == ["refund"]
    assert sorted(move.kind for move in sellers.moves) == ["refund", "transfer"]
    assert not [event for event in buyers.events if "fee" in event.note]
    assert [event.kind for event in sellers.events if "fee" in event.note] == ["transfer_decided"]


def test_a_steward_may_release_a_disputed_order(paid, buyer, steward, on_commit):
    order, _ = paid
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Late.")
    on_commit(order_dispute_settle, actor=steward, order=order, refund_cents=0, reason="Late")
    order.refresh_from_db()
    assert order.status == S.RELEASED
    assert MoneyMove.objects.get(order=order).kind == "transfer"
    with pytest.raises(Conflict, match="is not disputed"):
        order_dispute_settle(actor=steward, order=order, refund_cents=0, reason="Again")


def test_the_seller_cancels_before_shipping_with_a_full_refund(paid, buyer, on_commit):
    order, _ = paid
    on_commit(order_cancel, actor=seller_of(order), order=order, idempotency_key="x" * 20)
    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.refunded_cents == order.total_cents
    assert MoneyMove.objects.get(order=order).status == "done"
    with pytest.raises(Conflict, match="Only an order that has not shipped"):
        order_cancel(actor=seller_of(order), order=order)


def test_the_buyer_may_cancel_only_after_the_shipping_deadline(paid, buyer, on_commit):
    order, other = paid
    with pytest.raises(Conflict, match=r"The seller has until .* to ship"):
        order_cancel(actor=buyer, order=order)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=5, minutes=1))
    on_commit(order_cancel, actor=buyer, order=order)
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    ship(other, on_commit)
    with pytest.raises(Conflict, match="open a dispute"):
        order_cancel(actor=buyer, order=other)


def test_the_hourly_job_releases_orders_shipped_ten_days_ago(paid, on_commit):
    order, other = paid
    connect_payouts(seller_of(order))
    ship(order, on_commit)
    ship(other, on_commit, key="ship-key-000000002")
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=10))
    Order.objects.filter(pk=other.pk).update(shipped_at=timezone.now() - timedelta(days=9))
    assert on_commit(orders_release_due) == 1
    assert on_commit(orders_release_due) == 0
    assert Order.objects.get(pk=order.pk).status == S.RELEASED
    assert Order.objects.get(pk=other.pk).status == S.SHIPPED
    assert MoneyMove.objects.get(order=order).status == "done"
    note = Order.objects.get(pk=order.pk).events.get(to_status=S.RELEASED).note
    assert note == "Released automatically 10 days after shipping, with no dispute."


def test_the_release_escrow_command(paid, on_commit, capsys):
    order, _ = paid
    ship(order, on_commit)
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=11))
    call_command("release_escrow")
    assert "Released 1 order(s); sent 0 refund(s)/payout(s)." in capsys.readouterr().out


def test_a_failed_gateway_call_is_recorded_and_retried(paid, buyer, on_commit, monkeypatch):
    from orders.payments.gateway import GatewayError

    order, _ = paid

    def down(self, **kwargs):
        raise GatewayError("Stripe is having a moment")

    with monkeypatch.context() as patch:
        patch.setattr(TestGateway, "refund_create", down)
        on_commit(order_cancel, actor=seller_of(order), order=order)
    move = MoneyMove.objects.get(order=order)
    assert (move.status, move.attempts, move.last_error) == (
        "failed",
        1,
        "Stripe is having a moment",
    )
    assert money_moves_send_due() == 1
    move.refresh_from_db()
    assert (move.status, move.attempts) == ("done", 2)


def test_shipping_stands_when_the_mail_server_is_away_and_its_email_waits_as_a_job(
    paid, on_commit, settings
):
    """The shipped email is a job written with the change: sending it never runs in
    the seller's request, so a dead mail server neither delays nor undoes the order."""
    from bazaar.models import Job

    settings.JOBS_BACKEND = "embedded"
    settings.EMAIL_BACKEND = "tests.mail.MailServerAway"
    order, _ = paid
    ship(order, on_commit)
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    job = Job.objects.get(task="orders.tasks.send_order_mail")
    assert job.kwargs == {"order_id": order.pk, "kind": "shipped"}
