"""Writes for payments, money going out, payout accounts and saved cards.

- A payment settles here (`payment_paid`, `payment_cancel`): its orders move into
  escrow or are cancelled through `orders.escrow.services.order_transition`.
- Stock moves only through `stalls.services.reservation_*`, in the same transaction
  as the order change that needs it.
- No gateway call while a row lock is held. A refund or transfer decided by escrow is
  sent after commit with its own idempotency key (`money_move_send`), so a retry or a
  second runner cannot pay twice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, NotAllowed
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from stalls.models import Reservation
from stalls.selectors import seller_profile_for_user
from stalls.services import reservation_consume, reservation_release, reservation_take

from ..escrow.services import order_transition, refund_in_full
from ..models import (
    CartLine,
    MoneyMove,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PayoutAccount,
    SavedCard,
)
from .backends import current_gateway, gateway_named
from .gateway import GatewayError
from .selectors import saved_card_for

log = logging.getLogger(__name__)

S = Order.Status
# A move whose sender died mid-call is picked up again after this long (the gateway
# call carries the move's idempotency key, so resending cannot pay twice).
SENDING_STALE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 8


class PaymentFailed(Conflict):
    """The buyer's card was declined: no order was paid, nothing else changed."""

    code = "payment_failed"


class PaymentUnavailable(Conflict):
    """The gateway did not answer; trying again with the same key is safe."""

    code = "payment_unavailable"


# A payment ends unpaid


def payment_cancel(*, payment: Payment, note: str) -> bool:
    """An open payment ends unpaid (expired, replaced): its orders are cancelled and
    their checkout stock released. An accepted offer's reservation stays the offer's.
    False if the payment was no longer open (paid or cancelled meanwhile)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != Payment.Status.OPEN:
            return False
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status"])
        for order in _orders_for_update(payment):
            order_transition(order=order, to=S.CANCELLED, note=note)
            for line in order.lines.all():
                if not line.offer_public_id:
                    reservation_release(reservation=line.reservation, note="checkout ended")
    return True


def _orders_for_update(payment: Payment) -> list[Order]:
    """The payment's orders, locked in primary-key order (a fixed order: no deadlocks),
    with their lines read once for all of them."""
    lines = OrderLine.objects.select_related("reservation", "item")
    return list(
        Order.objects.select_for_update()
        .filter(payment_id=payment.pk)
        .order_by("pk")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )


# Payment succeeded


def payment_paid(*, payment: Payment, payment_intent_id: str, charge_id: str = "") -> str:
    """The gateway took the buyer's money: orders move into escrow, their stock is
    consumed, accepted offers are marked bought, the cart forgets what was bought.

    Idempotent: a second call changes nothing. Money that arrives for a payment we
    had already cancelled (the buyer paid as the session expired) is refunded.
    Returns a note for the webhook log.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == Payment.Status.PAID:
            return "already paid"
        late = payment.status != Payment.Status.OPEN
        payment.status = Payment.Status.PAID
        payment.paid_at = timezone.now()
        payment.payment_intent_id = payment_intent_id
        payment.charge_id = charge_id or payment.charge_id
        payment.save(update_fields=["status", "paid_at", "payment_intent_id", "charge_id"])
        bought = []
        for order in _orders_for_update(payment):
            if late:
                refund_in_full(order, note="Paid after the checkout had ended: refunded.")
                log.warning("late payment %s refunded (order %s)", payment.public_id, order)
            elif _order_stock_consume(order):
                order_transition(order=order, to=S.PAID_ESCROW, note="Payment received.")
                bought += [line.item_id for line in order.lines.all()]
            else:
                order_transition(
                    order=order, to=S.CANCELLED, note="Sold out while you paid: refunded."
                )
                refund_in_full(order, note="Sold out while the buyer paid.")
                log.warning("order %s sold out during payment; refunding", order.public_id)
        CartLine.objects.filter(buyer_id=payment.buyer_id, item_id__in=bought).delete()
    return "late payment refunded" if late else "paid"


def _order_stock_consume(order: Order) -> bool:
    """Take the order's units out of inventory. A reservation that ran out meanwhile is
    taken again if the stock is still there; if not, nothing of this order is
    consumed (a savepoint undoes its other lines) and False says so."""
    now = timezone.now()
    try:
        with transaction.atomic():
            for line in order.lines.all():
                reservation = line.reservation
                if reservation.released_at or reservation.expires_at <= now:
                    reservation_release(reservation=reservation, note="ran out before payment")
                    reservation = reservation_take(
                        item=line.item,
                        holder=order.buyer,
                        reason=Reservation.Reason.CHECKOUT,
                        quantity=line.quantity,
                        ttl=timedelta(minutes=1),
                        reference=order.payment.public_id,
                    )
                    line.reservation = reservation
                    line.save(update_fields=["reservation"])
                reservation_consume(reservation=reservation)
                if line.offer_public_id:
                    _offer_purchased(order=order, line=line)
    except Conflict:
        return False
    return True


def _offer_purchased(*, order: Order, line: OrderLine) -> None:
    from offers.selectors import offer_for_party
    from offers.services import offer_mark_purchased

    offer = offer_for_party(user=order.buyer, public_id=line.offer_public_id)
    try:
        offer_mark_purchased(offer=offer, reference=order.public_id)
    except Conflict as error:
        # The offer ran out while the buyer paid: the sale stands at the offer's price
        # (the payment started in time, and the stock was taken again above).
        log.warning("offer %s not marked bought for %s: %s", offer.public_id, order, error)


# Money going out: the refunds and transfers escrow decided


def _claimable(now) -> Q:
    return Q(status__in=[MoneyMove.Status.PENDING, MoneyMove.Status.FAILED]) | Q(
        status=MoneyMove.Status.SENDING, claimed_at__lte=now - SENDING_STALE
    )


def money_move_send(*, move_id: int) -> MoneyMove | None:
    """Send one refund or transfer. Claimed under SKIP LOCKED and marked `sending`
    before the gateway call (no lock held during it); the call carries the move's
    idempotency key, so a retry after a crash cannot pay twice. A transfer waits
    while the seller has no payouts account. Returns the move, or None if another
    runner has it."""
    now = timezone.now()
    with transaction.atomic():
        move = (
            MoneyMove.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now), pk=move_id)
            .first()
        )
        if move is None:
            return None
        order = Order.objects.select_related("payment", "stall").get(pk=move.order_id)
        account = None
        if move.kind == MoneyMove.Kind.TRANSFER:
            account = PayoutAccount.objects.filter(
                seller_id=order.stall.seller_id, payouts_enabled=True
            ).first()
            if account is None:
                move.status = MoneyMove.Status.PENDING
                move.last_error = "Waiting for the seller to connect a payouts account."
                move.save(update_fields=["status", "last_error"])
                return move
        move.status = MoneyMove.Status.SENDING
        move.claimed_at = now
        move.attempts += 1
        move.save(update_fields=["status", "claimed_at", "attempts"])
    payment = order.payment
    gateway = gateway_named(payment.gateway)
    metadata = {"order": order.public_id, "payment": payment.public_id}
    try:
        if move.kind == MoneyMove.Kind.REFUND:
            gateway_id = gateway.refund_create(
                payment_intent_id=payment.payment_intent_id,
                amount_cents=move.amount_cents,
                metadata=metadata,
                idempotency_key=move.idempotency_key,
            )
        else:
            gateway_id = gateway.transfer_create(
                amount_cents=move.amount_cents,
                currency=move.currency,
                destination=account.account_id,
                source_transaction=_charge_id(payment, gateway),
                transfer_group=payment.transfer_group,
                metadata=metadata,
                idempotency_key=move.idempotency_key,
            )
    except GatewayError as error:
        log.error("%s %s for %s failed: %s", move.kind, move.public_id, order, error.message)
        MoneyMove.objects.filter(pk=move.pk, status=MoneyMove.Status.SENDING).update(
            status=MoneyMove.Status.FAILED, last_error=error.message[:300]
        )
        move.refresh_from_db()
        return move
    with transaction.atomic():
        move = MoneyMove.objects.select_for_update().get(pk=move.pk)
        if move.status != MoneyMove.Status.DONE:
            move.status = MoneyMove.Status.DONE
            move.gateway_id = gateway_id
            move.done_at = timezone.now()
            move.last_error = ""
            move.save(update_fields=["status", "gateway_id", "done_at", "last_error"])
            OrderEvent.objects.create(
                order=order,
                kind=f"{move.kind}_sent",
                note=f"{move.get_kind_display()} of "
                f"{format_money(move.amount_cents, move.currency)} sent ({gateway_id}).",
            )
    return move


def _charge_id(payment: Payment, gateway) -> str:
    """The charge a transfer is funded from (`source_transaction`), fetched once."""
    if not payment.charge_id:
        payment.charge_id = gateway.charge_of(payment_intent_id=payment.payment_intent_id)
        Payment.objects.filter(pk=payment.pk).update(charge_id=payment.charge_id)
    return payment.charge_id


def money_moves_send_due(*, now=None) -> int:
    """Every few minutes (and from `release_escrow`): send what is decided but not sent:
    new moves whose task was lost, failed ones (up to MAX_SEND_ATTEMPTS), stale ones,
    and transfers that waited for a payouts account. Returns how many were sent."""
    now = now or timezone.now()
    due = MoneyMove.objects.filter(_claimable(now), attempts__lt=MAX_SEND_ATTEMPTS)
    sent = 0
    for move_id in list(due.order_by("pk").values_list("pk", flat=True)[:500]):
        move = money_move_send(move_id=move_id)
        sent += move is not None and move.status == MoneyMove.Status.DONE
    return sent


# Payouts (Stripe Connect Express)


def payout_onboarding_link(*, user, base_url: str) -> str:
    """Where the seller goes to connect payouts: a connected account is made once,
    then each visit gets a fresh onboarding link."""
    seller = seller_profile_for_user(user=user)
    if seller is None:
        raise NotAllowed("Open a stall before you connect payouts.")
    account = PayoutAccount.objects.filter(seller=seller).first()
    if account is None:
        gateway = current_gateway()
        made = gateway.account_create(
            email=user.email,
            country=seller.country,
            metadata={"seller": seller.public_id},
            idempotency_key=f"account-{seller.public_id}",
        )
        try:
            account = PayoutAccount.objects.create(
                seller=seller, gateway=gateway.name, account_id=made.id
            )
        except IntegrityError:
            account = PayoutAccount.objects.get(seller=seller)
    return gateway_named(account.gateway).account_link_create(
        account_id=account.account_id,
        refresh_url=base_url + reverse("orders:payouts_connect"),
        return_url=base_url + reverse("orders:payouts_return"),
    )


def payout_account_refresh(*, user) -> PayoutAccount | None:
    """Back from onboarding: ask the gateway how the account stands now."""
    seller = seller_profile_for_user(user=user)
    account = PayoutAccount.objects.filter(seller=seller).first() if seller else None
    if account is None:
        return None
    state = gateway_named(account.gateway).account_retrieve(account_id=account.account_id)
    return payout_account_update(
        account_id=account.account_id,
        details_submitted=state.details_submitted,
        payouts_enabled=state.payouts_enabled,
    )


def payout_account_update(
    *, account_id: str, details_submitted: bool, payouts_enabled: bool
) -> PayoutAccount | None:
    """Record an account's state; when payouts become possible, send the transfers
    that waited for it."""
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().filter(account_id=account_id).first()
        if account is None:
            return None
        newly_enabled = payouts_enabled and not account.payouts_enabled
        account.details_submitted = details_submitted
        account.payouts_enabled = payouts_enabled
        account.updated_at = timezone.now()
        account.save(update_fields=["details_submitted", "payouts_enabled", "updated_at"])
        if newly_enabled:
            waiting = list(
                MoneyMove.objects.filter(
                    order__stall__seller_id=account.seller_id,
                    kind=MoneyMove.Kind.TRANSFER,
                    status__in=[MoneyMove.Status.PENDING, MoneyMove.Status.FAILED],
                ).values_list("pk", flat=True)
            )
            for move_id in waiting:
                enqueue_on_commit("orders.tasks.send_money_move", move_id=move_id)
    return account


# Saved cards


def card_setup_start(*, buyer, idempotency_key: str, base_url: str) -> str:
    """Start saving a card for later (a setup-mode Checkout Session); returns where
    the buyer enters it. The card is recorded when the session's event arrives."""
    card = saved_card_for(buyer=buyer)
    if card is None:
        gateway = current_gateway()
        customer_id = gateway.customer_create(
            email=buyer.email,
            metadata={"buyer": buyer.public_id},
            idempotency_key=f"customer-{buyer.public_id}",
        )
        try:
            card = SavedCard.objects.create(
                buyer=buyer, gateway=gateway.name, customer_id=customer_id
            )
        except IntegrityError:
            card = SavedCard.objects.get(buyer=buyer)
    back = base_url + reverse("orders:account")
    session = gateway_named(card.gateway).setup_session_create(
        customer_id=card.customer_id,
        currency=settings.MARKET_CURRENCY,
        metadata={"buyer": buyer.public_id},
        success_url=back,
        cancel_url=back,
        idempotency_key=f"setup-{buyer.public_id}-{idempotency_key}",
    )
    return session.url


def card_saved(
    *, customer_id: str, payment_method_id: str, brand: str, last4: str
) -> SavedCard | None:
    """The setup completed: this card is the buyer's card for later."""
    with transaction.atomic():
        card = SavedCard.objects.select_for_update().filter(customer_id=customer_id).first()
        if card is None:
            return None
        card.payment_method_id = payment_method_id
        card.brand, card.last4 = brand, last4
        card.saved_at = timezone.now()
        card.save(update_fields=["payment_method_id", "brand", "last4", "saved_at"])
    return card


def card_forget(*, buyer) -> None:
    SavedCard.objects.filter(buyer=buyer).update(
        payment_method_id="", brand="", last4="", saved_at=None
    )
