"""Writes for orders after payment: shipping, escrow, release, refunds, disputes.

Money flows as Stripe marketplaces must: the buyer's money is captured at checkout
and held by the platform (separate charges and transfers); each order is released
later by its own transfer from the shared charge, or refunded by a partial refund.

- An order's status changes only in `order_transition`, under the order's row lock,
  with an `OrderEvent` audit row.
- Money going out (refunds, transfers) is a `MoneyMove` decided here, in the order's
  transaction, and sent after commit by `orders.payments.services.money_move_send`
  (by task name: no gateway call while a row lock is held).
"""

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from governance.models import StewardAction
from governance.selectors import user_is_steward
from governance.services import reason_clean, steward_action_record
from stalls.evidence import evidence_receive
from stalls.models import Stall
from stalls.services import require_stall_editor

from ..models import MoneyMove, Order, OrderEvent, StallShipping
from .notices import order_notify
from .notify import order_mail_on_commit
from .recording import order_status_record
from .selectors import ship_deadline

S = Order.Status


def fee_basis_points() -> int:
    """The platform fee setting (a percentage such as "5" or "2.5") in 1/100 of a %."""
    return int(Decimal(settings.PLATFORM_FEE_PERCENT) * 100)


def fee_for(amount_cents: int, basis_points: int) -> int:
    return int((Decimal(amount_cents) * basis_points / 10_000).quantize(Decimal(1), ROUND_HALF_UP))


# Shipping costs


@transaction.atomic
def stall_shipping_set(*, actor, stall: Stall, cost_cents: int) -> StallShipping:
    """The seller's shipping cost per order from their stall (0 = free)."""
    require_stall_editor(actor=actor, stall=stall)
    if cost_cents < 0:
        raise Invalid("Shipping cannot cost less than nothing.")
    shipping, _ = StallShipping.objects.update_or_create(
        stall=stall,
        defaults={
            "cost_cents": cost_cents,
            "currency": settings.MARKET_CURRENCY,
            "updated_at": timezone.now(),
        },
    )
    return shipping


# The order state machine

TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID_ESCROW, S.CANCELLED},
    S.PAID_ESCROW: {S.SHIPPED, S.DISPUTED, S.CANCELLED},
    S.SHIPPED: {S.RECEIVED, S.DISPUTED, S.RELEASED},
    S.RECEIVED: {S.RELEASED, S.DISPUTED},
    S.DISPUTED: {S.REFUNDED, S.PARTLY_REFUNDED, S.RELEASED},
}
_STAMPS = {
    S.PAID_ESCROW: "paid_at",
    S.SHIPPED: "shipped_at",
    S.RECEIVED: "received_at",
    S.DISPUTED: "disputed_at",
    S.RELEASED: "released_at",
    S.REFUNDED: "closed_at",
    S.PARTLY_REFUNDED: "closed_at",
    S.CANCELLED: "closed_at",
}
_MAILED = {
    S.PAID_ESCROW: "paid",
    S.SHIPPED: "shipped",
    S.RECEIVED: "received",
    S.RELEASED: "released",
    S.DISPUTED: "disputed",
}


def order_transition(
    *, order: Order, to: str, actor=None, note: str = "", idempotency_key: str = ""
) -> Order:
    """The one way an order's status changes. The caller holds the order's row lock.

    Refuses a move the table does not allow, stamps its time, writes the audit row,
    and mails and notifies the people concerned once the transaction commits.
    """
    if to not in TRANSITIONS.get(order.status, set()):
        raise Conflict(
            f"This order is {order.get_status_display().lower()}; "
            f"it cannot become {S(to).label.lower()} now.",
            code="bad_transition",
        )
    OrderEvent.objects.create(
        order=order,
        kind="status",
        from_status=order.status,
        to_status=to,
        actor=actor,
        note=note[:300],
        idempotency_key=idempotency_key,
    )
    order.status = to
    setattr(order, _STAMPS[to], timezone.now())
    order.save(update_fields=["status", _STAMPS[to]])
    if to in _MAILED:
        order_mail_on_commit(order=order, kind=_MAILED[to])
    order_notify(order=order, to=to)
    order_status_record(
        order=order, to=to, fee_cents=fee_for(order.total_cents, order.fee_basis_points)
    )
    return order


def _order_for_update(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("stall__seller__user", "buyer", "payment")
        .get(pk=order.pk)
    )


def _replayed(order: Order, idempotency_key: str) -> bool:
    """A retried request whose first run already made its change."""
    return bool(idempotency_key) and order.events.filter(idempotency_key=idempotency_key).exists()


def _require_seller(actor, order: Order, action: str) -> None:
    if order.stall.seller.user_id != actor.pk:
        raise NotAllowed(f"Only the seller can {action} this order.")


def _require_buyer(actor, order: Order, action: str) -> None:
    if order.buyer_id != actor.pk:
        raise NotAllowed(f"Only the buyer can {action} this order.")


def order_ship(
    *, actor, order: Order, carrier: str, tracking_number: str, idempotency_key: str = ""
) -> Order:
    """The seller sent the parcel: carrier and tracking number, and the 10-day
    escrow countdown starts."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise Invalid("Give the carrier and the tracking number.")
    if len(carrier) > 60 or len(tracking_number) > 80:
        raise Invalid("Carrier or tracking number is too long.")
    with transaction.atomic():
        order = _order_for_update(order)
        _require_seller(actor, order, "ship")
        if _replayed(order, idempotency_key):
            return order
        order.carrier, order.tracking_number = carrier, tracking_number
        order.save(update_fields=["carrier", "tracking_number"])
        return order_transition(
            order=order,
            to=S.SHIPPED,
            actor=actor,
            note=f"{carrier}, tracking {tracking_number}",
            idempotency_key=idempotency_key,
        )


def order_confirm_received(*, actor, order: Order, idempotency_key: str = "") -> Order:
    """The buyer has the goods: the order is received and released to the seller."""
    with transaction.atomic():
        order = _order_for_update(order)
        _require_buyer(actor, order, "confirm")
        if _replayed(order, idempotency_key):
            return order
        order_transition(
            order=order,
            to=S.RECEIVED,
            actor=actor,
            note="The buyer confirmed receipt.",
            idempotency_key=idempotency_key,
        )
        return _release(order, actor=actor, note="Released after the buyer confirmed receipt.")


def _release(order: Order, *, actor, note: str) -> Order:
    """Escrow ends in the seller's favour: a transfer of what is left after refunds,
    less the platform fee (at the rate the order was made with)."""
    order_transition(order=order, to=S.RELEASED, actor=actor, note=note)
    _transfer_rest(order)
    return order


def _transfer_rest(order: Order) -> None:
    kept = order.total_cents - order.refunded_cents
    fee = fee_for(kept, order.fee_basis_points)
    if kept - fee > 0:
        _money_move(
            order,
            kind=MoneyMove.Kind.TRANSFER,
            amount_cents=kept - fee,
            fee_cents=fee,
            note=f"Platform fee {format_money(fee, order.currency)} kept.",
        )


def order_dispute_open(
    *, actor, order: Order, reason: str, photos: Sequence = (), idempotency_key: str = ""
) -> Order:
    """The buyer has a problem with the order: release pauses until a steward settles.
    `photos` (checked by `stalls.images`) go through screening as evidence."""
    reason = reason.strip()
    if not reason:
        raise Invalid("Tell the steward what went wrong.")
    if len(reason) > 2000:
        raise Invalid("Keep the reason under 2,000 characters.")
    with transaction.atomic():
        order = _order_for_update(order)
        _require_buyer(actor, order, "dispute")
        if _replayed(order, idempotency_key):
            return order
        order.dispute_reason = reason
        order.save(update_fields=["dispute_reason"])
        order_transition(
            order=order,
            to=S.DISPUTED,
            actor=actor,
            note=reason[:300],
            idempotency_key=idempotency_key,
        )
        evidence_add(actor=actor, order=order, photos=photos)
        return order


def evidence_add(*, actor, order: Order, photos: Sequence) -> None:
    """A side's photos for a dispute, each screened before the other side sees it."""
    if len(photos) > settings.DISPUTE_PHOTOS_MAX:
        raise Invalid(f"At most {settings.DISPUTE_PHOTOS_MAX} photos each for a dispute.")
    for processed in photos:
        evidence_receive(
            uploader=actor, stall=order.stall, order_ref=order.public_id, processed=processed
        )


def order_cancel(*, actor, order: Order, idempotency_key: str = "") -> Order:
    """Cancel before shipping, with a full refund: the seller at any time, the buyer
    only once the seller has let the shipping deadline pass."""
    with transaction.atomic():
        order = _order_for_update(order)
        if _replayed(order, idempotency_key):
            return order
        is_seller = order.stall.seller.user_id == actor.pk
        if not is_seller:
            _require_buyer(actor, order, "cancel")
        if order.status != S.PAID_ESCROW:
            raise Conflict(
                "Only an order that has not shipped can be cancelled."
                + ("" if is_seller else " If something is wrong, open a dispute.")
            )
        deadline = ship_deadline(order)
        if not is_seller and timezone.now() < deadline:
            raise Conflict(
                f"The seller has until {deadline:%d %B %Y, %H:%M} UTC to ship. If it has "
                "not shipped by then, you can cancel here for a full refund."
            )
        who = "the seller" if is_seller else "the buyer (not shipped in time)"
        order_transition(
            order=order,
            to=S.CANCELLED,
            actor=actor,
            note=f"Cancelled by {who}; full refund.",
            idempotency_key=idempotency_key,
        )
        refund_in_full(order, note="Cancelled before shipping.")
        return order


def order_read_by_steward(*, steward, order: Order) -> None:
    """A steward opened an order they are no party to: its page holds the buyer's
    address and the dispute's photos, so the read goes on the stewards' record
    (OWASP ASVS V8.3.5), as their decisions do."""
    steward_action_record(
        actor=steward,
        action=StewardAction.Action.ORDER_READ,
        target_kind="order",
        target_ref=order.public_id,
        target_label=f"Order from {order.stall.name}, {order.get_status_display().lower()}",
        reason="Read the order's page.",
    )


def order_dispute_settle(*, actor, order: Order, refund_cents: int, reason: str) -> Order:
    """A steward decides a dispute: refund in full or in part (the rest goes to the
    seller, less the fee), or nothing refunded and the order released. The decision
    and `reason` (required: both sides read it) go into the stewards' record and on
    the order's timeline."""
    if not user_is_steward(user=actor):
        raise NotAllowed("Only stewards settle disputes.")
    reason = reason_clean(reason, asked="Say why you decided so: buyer and seller read it")
    with transaction.atomic():
        order = _order_for_update(order)
        if order.status != S.DISPUTED:
            raise Conflict(f"{order} is not disputed; it is {order.get_status_display()}.")
        refundable = order.total_cents - order.refunded_cents
        if not 0 <= refund_cents <= refundable:
            raise Invalid(
                f"Refund between {format_money(0, order.currency)} and "
                f"{format_money(refundable, order.currency)}."
            )
        steward_action_record(
            actor=actor,
            action=StewardAction.Action.DISPUTE_DECIDE,
            target_kind="order",
            target_ref=order.public_id,
            target_label=f"{order} ({order.stall.name})",
            reason=reason,
            detail={"refund_cents": refund_cents, "refundable_cents": refundable},
        )
        OrderEvent.objects.create(
            order=order, kind="dispute_decision", actor=actor, note=f"The steward: {reason}"[:300]
        )
        if refund_cents == 0:
            return _release(order, actor=actor, note="Dispute settled: released to the seller.")
        full = refund_cents == refundable
        order_transition(
            order=order,
            to=S.REFUNDED if full else S.PARTLY_REFUNDED,
            actor=actor,
            note=f"Dispute settled: {'full' if full else 'partial'} refund of "
            f"{format_money(refund_cents, order.currency)}.",
        )
        order.refunded_cents += refund_cents
        order.save(update_fields=["refunded_cents"])
        _money_move(
            order, kind=MoneyMove.Kind.REFUND, amount_cents=refund_cents, note="Dispute settled."
        )
        if not full:
            _transfer_rest(order)
        return order


def orders_release_due(*, now=None) -> int:
    """Hourly: release orders shipped more than ESCROW_RELEASE_DAYS ago with no dispute.

    Safe to run twice at once: each order is taken with SKIP LOCKED and re-checked
    under its lock, so a second runner skips it or finds it released.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ESCROW_RELEASE_DAYS)
    due = Order.objects.filter(status=S.SHIPPED, shipped_at__lte=cutoff)
    released = 0
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=S.SHIPPED, shipped_at__lte=cutoff)
                .first()
            )
            if order is None:
                continue
            _release(
                order,
                actor=None,
                note=f"Released automatically {settings.ESCROW_RELEASE_DAYS} days after "
                "shipping, with no dispute.",
            )
            released += 1
    return released


# Refunds and transfers, decided here and sent by orders.payments


def _money_move(
    order: Order, *, kind: str, amount_cents: int, fee_cents: int = 0, note: str = ""
) -> MoneyMove:
    move = MoneyMove.objects.create(
        order=order,
        kind=kind,
        amount_cents=amount_cents,
        fee_cents=fee_cents,
        currency=order.currency,
    )
    label = MoneyMove.Kind(kind).label
    OrderEvent.objects.create(
        order=order,
        kind=f"{kind}_decided",
        note=f"{label}: {format_money(amount_cents, order.currency)}. {note}".strip()[:300],
    )
    enqueue_on_commit("orders.tasks.send_money_move", move_id=move.pk)
    return move


def refund_in_full(order: Order, *, note: str) -> None:
    amount = order.total_cents - order.refunded_cents
    order.refunded_cents = order.total_cents
    order.save(update_fields=["refunded_cents"])
    if amount:  # a prize (zero price) has nothing to give back
        _money_move(order, kind=MoneyMove.Kind.REFUND, amount_cents=amount, note=note)
