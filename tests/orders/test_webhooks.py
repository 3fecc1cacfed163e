"""/webhooks/stripe/: signed events are stored once and processed once; bad input of
every kind gets a 400 or changes nothing."""

import json
import time

import pytest
import stripe
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from orders.escrow.services import order_confirm_received, order_ship
from orders.models import Chargeback, MoneyMove, Order, OrderEvent, Payment, WebhookEvent
from tests.orders.conftest import connect_payouts, pay, start_checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secrets")]
SECRET = "whsec_platform_test_secret"
CONNECT_SECRET = "whsec_connect_test_secret"
URL = "/webhooks/stripe/"


@pytest.fixture
def secrets():
    with override_settings(
        STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_CONNECT_WEBHOOK_SECRET=CONNECT_SECRET
    ):
        yield


def event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "api_version": "2026-10-28.endive",
        "livemode": False,
        "data": {"object": obj},
    }


def post(client, body, *, secret=SECRET, timestamp=None, header=None):
    payload = body if isinstance(body, str) else json.dumps(body)
    if header is None:
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp=timestamp
        )
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def completed(payment: Payment, **overrides) -> dict:
    session = {
        "id": payment.session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": payment.amount_cents,
        "currency": payment.currency.lower(),
        "metadata": payment.metadata,
        "payment_intent": "pi_3Webhook",
    }
    return {**session, **overrides}


@pytest.fixture
def payment(buyer, lamp):
    return start_checkout(buyer, lamp)


def test_a_signed_checkout_completed_event_pays_the_order(client, payment, on_commit):
    body = event("checkout.session.completed", completed(payment))
    response = on_commit(post, client, body)
    assert response.status_code == 200 and response.content == b"processed"
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.payment_intent_id == "pi_3Webhook"
    assert Order.objects.get().status == Order.Status.PAID_ESCROW
    stored = WebhookEvent.objects.get()
    assert (stored.event_id, stored.type, stored.note) == (body["id"], body["type"], "paid")


def test_a_replayed_event_is_stored_once_and_changes_nothing_more(client, payment, on_commit):
    body = event("checkout.session.completed", completed(payment), event_id="evt_replayed")
    on_commit(post, client, body)
    events_before = OrderEvent.objects.count()
    for _ in range(3):
        assert on_commit(post, client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert OrderEvent.objects.count() == events_before


def test_a_second_event_for_the_same_payment_changes_nothing_more(client, payment, on_commit):
    on_commit(post, client, event("checkout.session.completed", completed(payment)))
    response = post(client, event("checkout.session.completed", completed(payment)))
    assert response.content == b"processed"
    assert WebhookEvent.objects.order_by("-id").first().note == "already paid"
    assert Order.objects.get().events.filter(to_status="paid_escrow").count() == 1


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=123,v1=deadbeef",
        "garbage",
        stripe.WebhookSignature.generate_signature_header("{}", SECRET),
    ],
    ids=["missing", "wrong", "unparsable", "other-payload"],
)
def test_a_bad_signature_is_a_400_and_nothing_changes(client, payment, header):
    body = json.dumps(event("checkout.session.completed", completed(payment)))
    response = post(client, body, header=header)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert Payment.objects.get().status == "open"


def test_a_signature_with_another_secret_or_too_old_is_refused(client, payment):
    body = event("checkout.session.completed", completed(payment))
    assert post(client, body, secret="whsec_someone_else").status_code == 400
    old = int(time.time()) - 3600
    response = post(client, body, timestamp=old)
    assert response.status_code == 400
    assert b"does not match" in response.content
    assert not WebhookEvent.objects.exists()


def test_a_signature_dated_beyond_the_tolerance_in_the_future_is_refused(client, payment):
    body = event("checkout.session.completed", completed(payment))
    response = post(client, body, timestamp=int(time.time()) + 600)
    assert response.status_code == 400
    assert b"dated in the future" in response.content
    assert not WebhookEvent.objects.exists()
    assert Payment.objects.get().status == "open"


def test_a_signature_a_little_ahead_of_our_clock_is_accepted(client, payment):
    """Clocks drift: a minute ahead is within Stripe's five-minute tolerance."""
    body = event("checkout.session.completed", completed(payment))
    assert post(client, body, timestamp=int(time.time()) + 60).status_code == 200
    assert Payment.objects.get().status == "paid"


def test_webhooks_without_a_configured_secret_are_refused(client, payment):
    body = event("checkout.session.completed", completed(payment))
    with override_settings(STRIPE_WEBHOOK_SECRET="", STRIPE_CONNECT_WEBHOOK_SECRET=""):
        response = post(client, body)
    assert response.status_code == 400 and b"not configured" in response.content


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps([1, 2]), json.dumps({"id": "evt_1", "type": "x"})],
    ids=["not-json", "not-an-object", "no-data-object"],
)
def test_a_malformed_but_signed_body_is_a_400(client, body):
    assert post(client, body).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_an_amount_that_does_not_match_is_refused_and_logged(client, payment, caplog):
    body = event("checkout.session.completed", completed(payment, amount_total=1))
    response = post(client, body)
    assert response.status_code == 200 and response.content == b"refused"
    assert Payment.objects.get().status == "open"
    stored = WebhookEvent.objects.get()
    assert stored.outcome == "refused" and "does not match" in stored.note
    assert any("REFUSED payment" in record.message for record in caplog.records)
    other_currency = event("checkout.session.completed", completed(payment, currency="eur"))
    assert post(client, other_currency).content == b"refused"


def test_unknown_events_and_objects_are_stored_and_ignored(client, payment):
    assert post(client, event("customer.created", {"id": "cus_1"})).content == b"ignored"
    stranger = completed(payment, id="cs_not_ours", metadata={})
    assert post(client, event("checkout.session.completed", stranger)).content == b"ignored"
    unpaid = completed(payment, payment_status="unpaid")
    assert post(client, event("checkout.session.completed", unpaid)).content == b"ignored"
    assert Payment.objects.get().status == "open"
    assert WebhookEvent.objects.filter(outcome="ignored").count() == 3


def test_an_expired_session_cancels_and_a_late_expiry_changes_nothing(client, payment, on_commit):
    expired = completed(payment, status="expired", payment_status="unpaid")
    assert post(client, event("checkout.session.expired", expired)).content == b"processed"
    assert Payment.objects.get().status == "cancelled"
    assert Order.objects.get().status == "cancelled"
    again = post(client, event("checkout.session.expired", expired))
    assert again.content == b"ignored"


def test_expiry_arriving_after_payment_changes_nothing(client, payment, on_commit):
    on_commit(post, client, event("checkout.session.completed", completed(payment)))
    expired = completed(payment, status="expired")
    assert post(client, event("checkout.session.expired", expired)).content == b"ignored"
    assert Order.objects.get().status == Order.Status.PAID_ESCROW


def test_payment_intent_succeeded_records_the_charge(client, payment):
    intent = {
        "id": "pi_3Webhook",
        "object": "payment_intent",
        "metadata": payment.metadata,
        "latest_charge": "ch_3Webhook",
    }
    assert post(client, event("payment_intent.succeeded", intent)).content == b"processed"
    assert Payment.objects.get().charge_id == "ch_3Webhook"
    assert post(client, event("payment_intent.succeeded", intent)).content == b"ignored"
    failed = {**intent, "last_payment_error": {"message": "declined"}}
    assert post(client, event("payment_intent.payment_failed", failed)).content == b"ignored"


def test_a_chargeback_before_release_pauses_the_order(client, payment, on_commit):
    on_commit(pay, payment)
    Payment.objects.update(charge_id="ch_disputed")
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_disputed",
        "amount": 2500,
        "currency": "usd",
        "reason": "fraudulent",
        "status": "needs_response",
    }
    assert on_commit(post, client, event("charge.dispute.created", dispute)).status_code == 200
    order = Order.objects.get()
    assert order.status == Order.Status.DISPUTED
    assert "Card dispute dp_1: needs_response (fraudulent)" in order.events.last().note
    closed = {**dispute, "status": "lost"}
    assert post(client, event("charge.dispute.closed", closed)).content == b"processed"
    assert Chargeback.objects.get().status == "lost"
    assert Order.objects.get().events.last().kind == "chargeback"


def test_a_chargeback_after_release_is_recorded_for_ops(client, buyer, payment, on_commit):
    on_commit(pay, payment)
    order = Order.objects.get()
    seller = order.stall.seller.user
    connect_payouts(seller)
    on_commit(order_ship, actor=seller, order=order, carrier="DHL", tracking_number="9")
    on_commit(order_confirm_received, actor=buyer, order=order)
    charge = Payment.objects.get().charge_id
    dispute = {
        "id": "dp_2",
        "charge": charge,
        "amount": 2500,
        "currency": "usd",
        "reason": "product_not_received",
        "status": "needs_response",
    }
    on_commit(post, client, event("charge.dispute.created", dispute))
    order.refresh_from_db()
    assert order.status == Order.Status.RELEASED
    assert order.events.last().kind == "chargeback"
    assert Chargeback.objects.get().payment.orders.get() == order


def test_account_updated_enables_payouts(client, stall):
    from orders.payments.services import payout_onboarding_link

    payout_onboarding_link(user=stall.seller.user, base_url="http://testserver")
    account = stall.seller.payout_account
    body = event(
        "account.updated",
        {"id": account.account_id, "details_submitted": True, "payouts_enabled": True},
    )
    assert post(client, body, secret=CONNECT_SECRET).content == b"processed"
    account.refresh_from_db()
    assert account.payouts_enabled and account.details_submitted
    unknown = event("account.updated", {"id": "acct_unknown", "payouts_enabled": True})
    assert post(client, unknown).content == b"ignored"


def test_a_failed_refund_and_a_reversed_transfer_are_recorded(client, payment, on_commit):
    on_commit(pay, payment)
    order = Order.objects.get()
    from orders.escrow.services import order_cancel

    on_commit(order_cancel, actor=order.stall.seller.user, order=order)
    refund = MoneyMove.objects.get()
    failed = {
        "id": refund.gateway_id,
        "object": "refund",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
    }
    assert post(client, event("refund.failed", failed)).content == b"processed"
    refund.refresh_from_db()
    assert refund.status == "failed" and "expired_or_canceled_card" in refund.last_error
    pending = {**failed, "status": "pending"}
    assert post(client, event("refund.updated", pending)).content == b"ignored"
    reversed_transfer = {"id": refund.gateway_id, "amount_reversed": 100}
    assert post(client, event("transfer.reversed", reversed_transfer)).content == b"processed"
    assert order.events.filter(kind="transfer_reversed").exists()
    nobody = {"id": "tr_nobody", "amount_reversed": 1}
    assert post(client, event("transfer.reversed", nobody)).content == b"ignored"


def test_the_test_gateway_event_goes_through_the_same_processing(payment, on_commit):
    record = on_commit(pay, payment)
    assert record.gateway == "test" and record.type == "checkout.session.completed"
    assert record.received_at <= timezone.now()
    assert reverse("orders:stripe_webhook") == URL
