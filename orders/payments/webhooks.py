"""Gateway events: Stripe's webhooks and the test gateway's pages both end here.

`event_handle` stores each event once by its id and processes it in the same
transaction, so an event is processed exactly once: a replay finds the stored row
and changes nothing; a crash rolls both back and the gateway's retry processes it.
Events about objects we do not know, or that arrive after what they describe has
moved on, are stored and change nothing. A payment whose amount does not match is
refused and logged for ops.
"""

import json
import logging
import time
from collections.abc import Callable

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bazaar.errors import Invalid

from ..escrow.services import TRANSITIONS, order_transition
from ..models import Chargeback, MoneyMove, Order, OrderEvent, Payment, WebhookEvent
from .backends import gateway_named
from .gateway import Card, expandable_id
from .services import card_saved, payment_cancel, payment_paid, payout_account_update

log = logging.getLogger(__name__)
Outcome = WebhookEvent.Outcome


class BadSignature(Invalid):
    code = "bad_signature"


def stripe_event_verify(*, payload: bytes, signature: str) -> dict:
    """The event, if the signature is Stripe's for one of our endpoint secrets (the
    platform endpoint, and the Connect endpoint for account events)."""
    secrets = [
        s for s in (settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_CONNECT_WEBHOOK_SECRET) if s
    ]
    if not secrets:
        raise BadSignature("Webhooks are not configured: STRIPE_WEBHOOK_SECRET is not set.")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            continue
        break
    else:
        raise BadSignature("The Stripe-Signature header does not match this payload.")
    # stripe-python refuses a signature older than the tolerance but not one from the
    # future, which a replay with a forged clock (or a leaked signing) would use.
    if _signed_at(signature) > time.time() + stripe.Webhook.DEFAULT_TOLERANCE:
        raise BadSignature("The Stripe-Signature header is dated in the future.")
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise Invalid("The event is not JSON.") from error
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data", {}).get("object"), dict)
    ):
        raise Invalid("The event has no id, type or object.")
    return event


def _signed_at(signature: str) -> int:
    """The `t=` timestamp of a Stripe-Signature header that has passed verification."""
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    raise BadSignature("The Stripe-Signature header has no timestamp.")


def _prepare(event: dict, gateway_name: str) -> Card | None:
    """What must be fetched from the gateway before the transaction (no network call
    while rows are locked): the card behind a completed setup session."""
    obj = event["data"]["object"]
    if event["type"] == "checkout.session.completed" and obj.get("mode") == "setup":
        return gateway_named(gateway_name).setup_card(
            setup_intent_id=expandable_id(obj.get("setup_intent"))
        )
    return None


def event_handle(*, event: dict, gateway_name: str) -> WebhookEvent:
    """Store and process one event, exactly once. Returns its stored row."""
    known = WebhookEvent.objects.filter(event_id=event["id"]).first()
    if known is not None:
        return known
    card = _prepare(event, gateway_name)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    event_id=event["id"],
                    gateway=gateway_name,
                    type=event["type"],
                    payload=event,
                    outcome=Outcome.PROCESSED,
                )
        except IntegrityError:
            return WebhookEvent.objects.get(event_id=event["id"])
        handler = HANDLERS.get(event["type"])
        if handler is None:
            outcome, note = Outcome.IGNORED, "Not an event we act on."
        else:
            outcome, note = handler(event["data"]["object"], card)
        record.outcome, record.note = outcome, note[:300]
        record.save(update_fields=["outcome", "note"])
    return record


def _payment_of(obj: dict) -> Payment | None:
    """Our payment for a session or payment intent: by its metadata, then by ids."""
    metadata = obj.get("metadata") or {}
    payment = Payment.objects.filter(public_id=metadata.get("payment", "")).first()
    if payment is None and obj.get("object") == "checkout.session":
        payment = Payment.objects.filter(session_id=obj["id"]).first()
    if payment is None and obj.get("object") == "payment_intent":
        payment = Payment.objects.filter(payment_intent_id=obj["id"]).first()
    return payment


def _session_completed(session: dict, card: Card | None) -> tuple[str, str]:
    if session.get("mode") == "setup":
        saved = card and card_saved(
            customer_id=card.customer_id,
            payment_method_id=card.payment_method_id,
            brand=card.brand,
            last4=card.last4,
        )
        return (Outcome.PROCESSED, "card saved") if saved else (Outcome.IGNORED, "no such buyer")
    payment = _payment_of(session)
    if payment is None or payment.session_id not in ("", session["id"]):
        return Outcome.IGNORED, "No payment of ours has this session."
    if session.get("payment_status") != "paid":
        return Outcome.IGNORED, "Not paid yet (an asynchronous payment method)."
    amount, currency = session.get("amount_total"), str(session.get("currency", ""))
    if amount != payment.amount_cents or currency.upper() != payment.currency.upper():
        log.error(
            "REFUSED payment %s: session %s says %s %s, we expected %s %s",
            payment.public_id,
            session["id"],
            amount,
            currency,
            payment.amount_cents,
            payment.currency,
        )
        return (
            Outcome.REFUSED,
            f"Amount {amount} {currency} does not match the payment "
            f"({payment.amount_cents} {payment.currency}).",
        )
    return Outcome.PROCESSED, payment_paid(
        payment=payment, payment_intent_id=expandable_id(session.get("payment_intent"))
    )


def _session_ended(session: dict, card: Card | None) -> tuple[str, str]:
    payment = _payment_of(session)
    if payment is None or session.get("mode") == "setup":
        return Outcome.IGNORED, "No payment of ours has this session."
    note = (
        "The checkout expired before payment."
        if session.get("status") == "expired"
        else ("The payment failed.")
    )
    if payment_cancel(payment=payment, note=note):
        return Outcome.PROCESSED, "cancelled"
    return Outcome.IGNORED, f"The payment is already {payment.get_status_display().lower()}."


def _intent_succeeded(intent: dict, card: Card | None) -> tuple[str, str]:
    """Checkout payments are settled by their session's event; this one brings the
    charge id that transfers are funded from (`source_transaction`)."""
    payment = _payment_of(intent)
    if payment is None:
        return Outcome.IGNORED, "No payment of ours has this payment intent."
    charge = expandable_id(intent.get("latest_charge"))
    if charge and not payment.charge_id:
        Payment.objects.filter(pk=payment.pk, charge_id="").update(charge_id=charge)
        return Outcome.PROCESSED, "charge recorded"
    return Outcome.IGNORED, "Nothing new."


def _intent_failed(intent: dict, card: Card | None) -> tuple[str, str]:
    payment = _payment_of(intent)
    if payment is None or payment.kind != Payment.Kind.OFF_SESSION:
        return Outcome.IGNORED, "Checkout failures are retried on the payment page."
    error = (intent.get("last_payment_error") or {}).get("message", "declined")
    changed = Payment.objects.filter(pk=payment.pk, status=Payment.Status.OPEN).update(
        status=Payment.Status.FAILED, failure=error[:200]
    )
    return (Outcome.PROCESSED, "failed") if changed else (Outcome.IGNORED, "Already settled.")


def _refund_changed(refund: dict, card: Card | None) -> tuple[str, str]:
    move = MoneyMove.objects.filter(gateway_id=refund["id"]).first()
    if move is None:
        return Outcome.IGNORED, "No refund of ours."
    if refund.get("status") not in ("failed", "canceled"):
        return Outcome.IGNORED, f"Refund is {refund.get('status')}."
    MoneyMove.objects.filter(pk=move.pk).update(
        status=MoneyMove.Status.FAILED,
        last_error=f"Refund {refund.get('status')}: {refund.get('failure_reason', '')}"[:300],
        attempts=99,  # a failed refund needs a person: the sweep leaves it to ops
    )
    OrderEvent.objects.create(
        order_id=move.order_id, kind="refund_failed", note=f"Refund {refund['id']} failed."
    )
    log.error("refund %s for order %s failed", refund["id"], move.order_id)
    return Outcome.PROCESSED, "refund failed"


def _transfer_reversed(transfer: dict, card: Card | None) -> tuple[str, str]:
    move = MoneyMove.objects.filter(gateway_id=transfer["id"]).first()
    if move is None:
        return Outcome.IGNORED, "No transfer of ours."
    OrderEvent.objects.create(
        order_id=move.order_id,
        kind="transfer_reversed",
        note=f"Transfer {transfer['id']} reversed ({transfer.get('amount_reversed', 0)}).",
    )
    log.warning("transfer %s for order %s reversed", transfer["id"], move.order_id)
    return Outcome.PROCESSED, "transfer reversal recorded"


def _chargeback(dispute: dict, card: Card | None) -> tuple[str, str]:
    """The buyer's bank disputes the charge. Orders still in escrow stop (disputed);
    released ones get the chargeback on their record, for ops."""
    charge = expandable_id(dispute.get("charge"))
    intent = expandable_id(dispute.get("payment_intent"))
    payment = Payment.objects.filter(charge_id=charge).first() if charge else None
    if payment is None and intent:
        payment = Payment.objects.filter(payment_intent_id=intent).first()
    if payment is None:
        return Outcome.IGNORED, "No payment of ours has this charge."
    chargeback, created = Chargeback.objects.update_or_create(
        dispute_id=dispute["id"],
        defaults={
            "payment": payment,
            "amount_cents": dispute.get("amount", 0),
            "currency": str(dispute.get("currency", payment.currency)).upper(),
            "reason": dispute.get("reason", "") or "",
            "status": dispute.get("status", "") or "",
            "updated_at": timezone.now(),
        },
    )
    note = f"Card dispute {chargeback.dispute_id}: {chargeback.status} ({chargeback.reason})."
    for order in Order.objects.select_for_update().filter(payment=payment).order_by("pk"):
        if created and Order.Status.DISPUTED in TRANSITIONS.get(order.status, set()):
            order_transition(order=order, to=Order.Status.DISPUTED, note=note)
        else:
            OrderEvent.objects.create(order=order, kind="chargeback", note=note[:300])
    log.warning("chargeback %s on payment %s: %s", dispute["id"], payment.public_id, note)
    return Outcome.PROCESSED, note


def _account_updated(account: dict, card: Card | None) -> tuple[str, str]:
    updated = payout_account_update(
        account_id=account["id"],
        details_submitted=bool(account.get("details_submitted")),
        payouts_enabled=bool(account.get("payouts_enabled")),
    )
    if updated is None:
        return Outcome.IGNORED, "No payouts account of ours."
    return Outcome.PROCESSED, f"payouts {'enabled' if updated.payouts_enabled else 'not enabled'}"


HANDLERS: dict[str, Callable[[dict, Card | None], tuple[str, str]]] = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_completed,
    "checkout.session.async_payment_failed": _session_ended,
    "checkout.session.expired": _session_ended,
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "transfer.reversed": _transfer_reversed,
    "charge.dispute.created": _chargeback,
    "charge.dispute.updated": _chargeback,
    "charge.dispute.closed": _chargeback,
    "account.updated": _account_updated,
}
