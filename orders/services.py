"""Writes for carts, checkout, orders in escrow, payouts and saved cards.

Money flows as Stripe marketplaces must: the buyer's money is captured at checkout
and held by the platform (separate charges and transfers); each order is released
later by its own transfer from the shared charge, or refunded by a partial refund.

Three rules hold throughout:
- An order's status changes only in `order_transition`, under the order's row lock,
  with an `OrderEvent` audit row.
- Stock moves only through `stalls.services.reservation_*`, in the same transaction
  as the order change that needs it.
- No gateway call while a row lock is held. Money going out (refunds, transfers) is a
  `MoneyMove` decided in the order's transaction and sent after commit with its own
  idempotency key (`money_move_send`), so a retry or a second runner cannot pay twice.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from governance.selectors import user_is_steward
from stalls.models import Item, Reservation, Stall
from stalls.selectors import item_available_quantity, seller_profile_for_user
from stalls.services import (
    require_stall_editor,
    reservation_consume,
    reservation_release,
    reservation_take,
)

from .gateway import CardDeclined, GatewayError, LineItem, current_gateway, gateway_named
from .models import (
    CartLine,
    MoneyMove,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PayoutAccount,
    SavedCard,
    ShippingAddress,
    StallShipping,
)
from .notices import order_notify
from .notify import order_mail_on_commit
from .selectors import (
    CartPlan,
    accepted_offer,
    cart_entries_for_buyer,
    cart_plan,
    saved_card_for,
    ship_deadline,
    shipping_address_for,
    stall_shipping_cents,
)

log = logging.getLogger(__name__)

S = Order.Status
# A checkout's stock outlives its Checkout Session by a few minutes, so a payment
# made in the session's last second still finds its units when the event arrives.
RESERVATION_GRACE = timedelta(minutes=5)
# A move whose sender died mid-call is picked up again after this long (the gateway
# call carries the move's idempotency key, so resending cannot pay twice).
SENDING_STALE = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 8
CART_MAX_QUANTITY = 99


class PaymentFailed(Conflict):
    """The buyer's card was declined: no order was paid, nothing else changed."""

    code = "payment_failed"


class PaymentUnavailable(Conflict):
    """The gateway did not answer; trying again with the same key is safe."""

    code = "payment_unavailable"


def fee_basis_points() -> int:
    """The platform fee setting (a percentage such as "5" or "2.5") in 1/100 of a %."""
    return int(Decimal(settings.PLATFORM_FEE_PERCENT) * 100)


def fee_for(amount_cents: int, basis_points: int) -> int:
    return int((Decimal(amount_cents) * basis_points / 10_000).quantize(Decimal(1), ROUND_HALF_UP))


# Addresses and shipping costs


@transaction.atomic
def shipping_address_save(
    *, buyer, name: str, line1: str, line2: str, city: str, postal_code: str, country: str
) -> ShippingAddress:
    """The buyer's one saved address; each order copies it when it is created."""
    fields = {
        "name": name.strip(),
        "line1": line1.strip(),
        "line2": line2.strip(),
        "city": city.strip(),
        "postal_code": postal_code.strip(),
        "country": country.strip().upper(),
    }
    missing = [label for key, label in _ADDRESS_REQUIRED.items() if not fields[key]]
    if missing:
        raise Invalid(f"Fill in the {', '.join(missing)} of your shipping address.")
    if len(fields["country"]) != 2 or not fields["country"].isalpha():
        raise Invalid("Give the country as its two-letter code, such as US or DE.")
    address, _ = ShippingAddress.objects.update_or_create(
        buyer=buyer, defaults={**fields, "updated_at": timezone.now()}
    )
    return address


_ADDRESS_REQUIRED = {
    "name": "name",
    "line1": "street address",
    "city": "city",
    "postal_code": "postal code",
}


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


# The cart


def cart_check(*, buyer, item: Item, quantity: int) -> None:
    """May this item go into a cart in this quantity? (Checkout checks again.)"""
    if item.archived_at is not None:
        raise Conflict("This item is no longer for sale.")
    if buyer is not None and item.stall.seller.user_id == buyer.pk:
        raise Invalid("That is from your own stall.")
    if not 1 <= quantity <= CART_MAX_QUANTITY:
        raise Invalid(f"Choose a quantity from 1 to {CART_MAX_QUANTITY}.")
    offer = accepted_offer(buyer=buyer, item=item) if buyer is not None else None
    if offer is not None:
        return  # its units are held for this buyer; the cart line takes the offer's terms
    available = item_available_quantity(item=item)
    if available < quantity:
        raise Conflict(
            f"Only {available} of “{item.title}” available." if available else "Sold out.",
            code="out_of_stock",
        )


@transaction.atomic
def cart_add(*, buyer, item: Item, quantity: int = 1) -> CartLine:
    """Add units of an item to a signed-in buyer's cart (on top of what is there)."""
    line = CartLine.objects.select_for_update().filter(buyer=buyer, item=item).first()
    total = quantity + (line.quantity if line else 0)
    cart_check(buyer=buyer, item=item, quantity=total)
    if line is None:
        return CartLine.objects.create(buyer=buyer, item=item, quantity=total)
    line.quantity = total
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def cart_set_quantity(*, buyer, item: Item, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes it."""
    if quantity == 0:
        CartLine.objects.filter(buyer=buyer, item=item).delete()
        return None
    cart_check(buyer=buyer, item=item, quantity=quantity)
    line, _ = CartLine.objects.update_or_create(
        buyer=buyer, item=item, defaults={"quantity": quantity}
    )
    return line


def session_cart_set(*, session_cart: dict, item: Item, quantity: int, add: bool) -> dict:
    """A guest's cart (kept in the session) under the same rules as a buyer's."""
    cart = dict(session_cart)
    total = quantity + (cart.get(item.public_id, 0) if add else 0)
    if total == 0:
        cart.pop(item.public_id, None)
        return cart
    cart_check(buyer=None, item=item, quantity=total)
    cart[item.public_id] = total
    return cart


def cart_merge(*, buyer, session_cart: dict) -> int:
    """At login: the guest cart joins the buyer's. Lines that no longer fit (sold out,
    own stall) are dropped rather than blocking the login. Returns how many merged."""
    merged = 0
    items = Item.objects.select_related("stall__seller").filter(public_id__in=list(session_cart))
    for item in items:
        try:
            cart_add(buyer=buyer, item=item, quantity=int(session_cart[item.public_id]))
        except (Conflict, Invalid, ValueError):
            continue
        merged += 1
    return merged


# Checkout


@dataclass(frozen=True)
class CheckoutUrls:
    """Where the gateway sends the buyer back (absolute: Stripe needs them)."""

    base_url: str

    def payment(self, payment: Payment) -> str:
        return self.base_url + reverse("orders:payment", args=[payment.public_id])

    def cart(self) -> str:
        return self.base_url + reverse("orders:cart")


def checkout_start(
    *, buyer, idempotency_key: str, expected_total_cents: int, urls: CheckoutUrls
) -> Payment:
    """Turn the cart into one pending order per stall and a Checkout Session.

    The orders, their lines (prices copied) and the stock reservations are made in one
    transaction; the session is created after it, outside any lock. The same key
    again (a double click, a reload) returns the same payment and session.
    """
    payment = Payment.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if payment is None:
        try:
            payment = _checkout_create(
                buyer=buyer, idempotency_key=idempotency_key, expected_total=expected_total_cents
            )
        except IntegrityError:
            payment = Payment.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
            if payment is None:
                raise
    return checkout_session_ensure(payment=payment, urls=urls)


@transaction.atomic
def _checkout_create(*, buyer, idempotency_key: str, expected_total: int) -> Payment:
    # The buyer's earlier checkout ends first: its stock is theirs to buy again now.
    for earlier in Payment.objects.filter(
        buyer=buyer, kind=Payment.Kind.CHECKOUT, status=Payment.Status.OPEN
    ):
        payment_cancel(payment=earlier, note="Replaced by a newer checkout.")
        _queue_session_expire(earlier)
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    if not plan.groups:
        raise Invalid("Your cart is empty.")
    if plan.problems:
        raise Conflict(plan.problems[0], code="cart_problem")
    if plan.total_cents != expected_total:
        raise Conflict(
            "Prices, offers or shipping changed since you looked. Check the new total "
            f"({format_money(plan.total_cents, plan.currency)}) and pay again.",
            code="total_changed",
        )
    address = shipping_address_for(buyer=buyer)
    if address is None:
        raise Invalid("Add a shipping address before you pay.")
    payment = Payment(
        buyer=buyer,
        kind=Payment.Kind.CHECKOUT,
        gateway=settings.PAYMENT_GATEWAY,
        amount_cents=plan.total_cents,
        currency=plan.currency,
        idempotency_key=idempotency_key,
    )
    payment.expires_at = payment.created_at + timedelta(minutes=settings.CHECKOUT_MINUTES)
    payment.transfer_group = f"payment_{payment.public_id}"
    orders = _orders_create(payment=payment, plan=plan, ship_to=address.as_text())
    payment.metadata = {
        "payment": payment.public_id,
        "orders": ",".join(order.public_id for order in orders),
    }
    payment.save(update_fields=["metadata"])
    return payment


def _order_create(
    *,
    payment: Payment,
    stall: Stall,
    subtotal_cents: int,
    shipping_cents: int,
    fee_basis_points: int,
    ship_to: str,
    reference: str = "",
    actor=None,
) -> Order:
    """A pending order for one stall's part of `payment`, with its "created" audit row
    (`actor` None: the market made it, not a person)."""
    order = Order.objects.create(
        payment=payment,
        buyer=payment.buyer,
        stall=stall,
        currency=payment.currency,
        subtotal_cents=subtotal_cents,
        shipping_cents=shipping_cents,
        total_cents=subtotal_cents + shipping_cents,
        fee_basis_points=fee_basis_points,
        ship_to=ship_to,
        reference=reference,
    )
    OrderEvent.objects.create(order=order, kind="created", to_status=order.status, actor=actor)
    return order


def _orders_create(*, payment: Payment, plan: CartPlan, ship_to: str) -> list[Order]:
    """One pending order per stall; stock taken in item order (a fixed lock order, so
    two buyers with overlapping carts cannot deadlock)."""
    payment.save()
    basis_points = fee_basis_points()
    orders, pending = [], []
    for group in plan.groups:
        order = _order_create(
            payment=payment,
            stall=group.stall,
            subtotal_cents=group.subtotal_cents,
            shipping_cents=group.shipping_cents,
            fee_basis_points=basis_points,
            ship_to=ship_to,
            actor=payment.buyer,
        )
        orders.append(order)
        pending += [(order, line) for line in group.lines]
    ttl = timedelta(minutes=settings.CHECKOUT_MINUTES) + RESERVATION_GRACE
    for order, line in sorted(pending, key=lambda pair: pair[1].item.pk):
        if line.offer is not None:
            reservation = line.offer.reservation  # taken over, not taken again
        else:
            reservation = _reserve(
                item=line.item,
                buyer=payment.buyer,
                quantity=line.quantity,
                ttl=ttl,
                reference=payment.public_id,
            )
        OrderLine.objects.create(
            order=order,
            item=line.item,
            title=line.item.title,
            unit_price_cents=line.unit_price_cents,
            quantity=line.quantity,
            reservation=reservation,
            offer_public_id=line.offer.public_id if line.offer is not None else "",
        )
    return orders


def _reserve(*, item: Item, buyer, quantity: int, ttl: timedelta, reference: str) -> Reservation:
    try:
        return reservation_take(
            item=item,
            holder=buyer,
            reason=Reservation.Reason.CHECKOUT,
            quantity=quantity,
            ttl=ttl,
            reference=reference,
        )
    except Conflict as error:
        raise Conflict(
            f"Sorry, “{item.title}” just sold out. Remove it from your cart to buy the rest.",
            code="out_of_stock",
        ) from error


def checkout_session_ensure(*, payment: Payment, urls: CheckoutUrls) -> Payment:
    """The payment's Checkout Session, created once (the gateway call carries the
    payment's key, so two racing requests get the same session)."""
    if payment.session_url or payment.status != Payment.Status.OPEN:
        return payment
    orders = list(payment.orders.select_related("stall").prefetch_related("lines"))
    line_items = []
    for order in orders:
        line_items += [
            LineItem(name=line.title, unit_amount=line.unit_price_cents, quantity=line.quantity)
            for line in order.lines.all()
        ]
        if order.shipping_cents:
            line_items.append(
                LineItem(
                    name=f"Shipping from {order.stall.name}",
                    unit_amount=order.shipping_cents,
                    quantity=1,
                )
            )
    try:
        session = gateway_named(payment.gateway).checkout_session_create(
            line_items=line_items,
            currency=payment.currency,
            customer_email=payment.buyer.email,
            expires_at=payment.expires_at,
            metadata=payment.metadata,
            transfer_group=payment.transfer_group,
            success_url=urls.payment(payment),
            cancel_url=urls.cart(),
            idempotency_key=f"checkout-{payment.public_id}",
        )
    except GatewayError as error:
        log.warning("checkout session for %s failed: %s", payment.public_id, error.message)
        raise PaymentUnavailable(
            "The payment service did not answer. Press Pay again: you will not be charged twice."
        ) from error
    Payment.objects.filter(pk=payment.pk, session_id="").update(
        session_id=session.id, session_url=session.url
    )
    payment.refresh_from_db()
    return payment


def _queue_session_expire(payment: Payment) -> None:
    if payment.session_id:
        enqueue_on_commit("orders.tasks.expire_checkout_session", payment_id=payment.pk)


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


def checkout_expire_session(*, payment: Payment) -> bool:
    """Expire the payment's session at the gateway, then cancel the payment, unless the
    buyer completed it first (then its payment event is on its way)."""
    if payment.session_id:
        expired = gateway_named(payment.gateway).checkout_session_expire(
            session_id=payment.session_id
        )
        if not expired:
            return False
    return payment_cancel(payment=payment, note="The checkout expired before payment.")


def checkouts_expire_due(*, now=None) -> int:
    """Beat, every minute: end checkouts whose session time is up. Returns how many."""
    now = now or timezone.now()
    due = Payment.objects.filter(
        status=Payment.Status.OPEN, kind=Payment.Kind.CHECKOUT, expires_at__lte=now
    ).order_by("expires_at")[:200]
    ended = 0
    for payment in due:
        try:
            ended += checkout_expire_session(payment=payment)
        except GatewayError as error:
            log.warning("could not expire checkout %s: %s", payment.public_id, error.message)
    return ended


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
                _refund_in_full(order, note="Paid after the checkout had ended: refunded.")
                log.warning("late payment %s refunded (order %s)", payment.public_id, order)
            elif _order_stock_consume(order):
                order_transition(order=order, to=S.PAID_ESCROW, note="Payment received.")
                bought += [line.item_id for line in order.lines.all()]
            else:
                order_transition(
                    order=order, to=S.CANCELLED, note="Sold out while you paid: refunded."
                )
                _refund_in_full(order, note="Sold out while the buyer paid.")
                log.warning("order %s sold out during payment; refunding", order.public_id)
        CartLine.objects.filter(buyer_id=payment.buyer_id, item_id__in=bought).delete()
    return "late payment refunded" if late else "paid"


def _refund_in_full(order: Order, *, note: str) -> None:
    amount = order.total_cents - order.refunded_cents
    order.refunded_cents = order.total_cents
    order.save(update_fields=["refunded_cents"])
    if amount:  # a prize (zero price) has nothing to give back
        _money_move(order, kind=MoneyMove.Kind.REFUND, amount_cents=amount, note=note)


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


def order_dispute_open(*, actor, order: Order, reason: str, idempotency_key: str = "") -> Order:
    """The buyer has a problem with the order: release pauses until a steward settles."""
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
        return order_transition(
            order=order,
            to=S.DISPUTED,
            actor=actor,
            note=reason[:300],
            idempotency_key=idempotency_key,
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
        _refund_in_full(order, note="Cancelled before shipping.")
        return order


def order_dispute_settle(*, actor, order: Order, refund_cents: int) -> Order:
    """A steward decides a dispute: refund in full or in part (the rest goes to the
    seller, less the fee), or nothing refunded and the order released."""
    if not user_is_steward(user=actor):
        raise NotAllowed("Only stewards settle disputes.")
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


# Money going out


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


def buyer_personal_data_erase(*, buyer) -> None:
    """Closing an account: the saved address, card and cart go. Orders keep the address
    they were shipped to, for the seller and the law."""
    ShippingAddress.objects.filter(buyer=buyer).delete()
    SavedCard.objects.filter(buyer=buyer).delete()
    CartLine.objects.filter(buyer=buyer).delete()


# Won auctions: an off-session charge on the saved card


def order_create_for_auction(
    *, buyer, item: Item, price_cents: int, currency: str, reservation: Reservation, reference: str
) -> Order:
    """Charge the winner's saved card and open the order in escrow.

    Idempotent by `reference`: the payment is keyed by it and so is the gateway call,
    so a second call charges nothing and returns the same order. A declined card
    raises PaymentFailed and leaves no paid order and the reservation untouched.
    """
    key = f"auction-{reference}"
    payment = Payment.objects.filter(buyer=buyer, idempotency_key=key).first()
    if payment is not None and payment.status == Payment.Status.PAID:
        return payment.orders.get()
    if payment is not None and payment.status == Payment.Status.FAILED:
        raise PaymentFailed(payment.failure)
    card = SavedCard.objects.filter(buyer=buyer).exclude(payment_method_id="").first()
    if card is None:
        raise PaymentFailed(f"@{buyer.handle} has no saved card to charge.")
    if payment is None:
        payment = _auction_payment(
            buyer=buyer,
            item=item,
            price_cents=price_cents,
            currency=currency,
            key=key,
            reference=reference,
            gateway=card.gateway,
        )
    try:
        charge = gateway_named(payment.gateway).charge_saved_card(
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            customer_id=card.customer_id,
            payment_method_id=card.payment_method_id,
            metadata=payment.metadata,
            transfer_group=payment.transfer_group,
            idempotency_key=key,
        )
    except CardDeclined as error:
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.OPEN).update(
            status=Payment.Status.FAILED, failure=error.message[:200]
        )
        raise PaymentFailed(error.message) from error
    except GatewayError as error:
        raise PaymentUnavailable(
            "The payment service did not answer; try again with the same reference."
        ) from error
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == Payment.Status.PAID:
            return payment.orders.get()
        payment.status = Payment.Status.PAID
        payment.paid_at = timezone.now()
        payment.payment_intent_id = charge.payment_intent_id
        payment.charge_id = charge.charge_id
        payment.save(update_fields=["status", "paid_at", "payment_intent_id", "charge_id"])
        order = Order.objects.select_for_update().get(payment=payment)
        OrderLine.objects.create(
            order=order,
            item=item,
            title=item.title,
            unit_price_cents=price_cents,
            quantity=reservation.quantity,
            reservation=reservation,
        )
        reservation_consume(reservation=reservation)
        return order_transition(
            order=order, to=S.PAID_ESCROW, note="Won at auction; the saved card was charged."
        )


def _auction_payment(
    *, buyer, item: Item, price_cents: int, currency: str, key: str, reference: str, gateway: str
) -> Payment:
    """The payment and its pending order, before the charge (so a crash leaves a trace
    that the same reference picks up again)."""
    address = shipping_address_for(buyer=buyer)
    shipping = stall_shipping_cents(stall=item.stall)
    payment = Payment(
        buyer=buyer,
        kind=Payment.Kind.OFF_SESSION,
        gateway=gateway,
        amount_cents=price_cents + shipping,
        currency=currency,
        idempotency_key=key,
    )
    payment.transfer_group = f"payment_{payment.public_id}"
    try:
        with transaction.atomic():
            payment.save()
            order = _order_create(
                payment=payment,
                stall=item.stall,
                subtotal_cents=price_cents,
                shipping_cents=shipping,
                fee_basis_points=fee_basis_points(),
                ship_to=address.as_text() if address else "",
                reference=reference,
            )
            payment.metadata = {
                "payment": payment.public_id,
                "orders": order.public_id,
                "auction": reference,
            }
            payment.save(update_fields=["metadata"])
    except IntegrityError:
        return Payment.objects.get(buyer=buyer, idempotency_key=key)
    return payment


# Giveaway prizes: an order at zero price, in escrow like any other


def order_create_for_prize(*, buyer, item: Item, reservation: Reservation, reference: str) -> Order:
    """The prize's order, at zero price with free shipping, straight into escrow: the
    seller ships it, the buyer confirms receipt (or it is released 10 days after
    shipping), and nothing is charged, refunded or paid out. The reservation held for
    the prize is consumed. Idempotent by `reference`: a second call returns the order."""
    key = f"prize-{reference}"
    address = shipping_address_for(buyer=buyer)
    if address is None:
        raise Invalid("Give a shipping address for the prize.", code="address_required")
    with transaction.atomic():
        payment = Payment.objects.filter(buyer=buyer, idempotency_key=key).first()
        if payment is not None:
            return payment.orders.get()
        payment = Payment(
            buyer=buyer,
            kind=Payment.Kind.PRIZE,
            status=Payment.Status.PAID,
            gateway="",
            amount_cents=0,
            currency=item.currency,
            idempotency_key=key,
            paid_at=timezone.now(),
        )
        payment.transfer_group = f"payment_{payment.public_id}"
        payment.metadata = {"payment": payment.public_id, "prize": reference}
        payment.save()
        order = _order_create(
            payment=payment,
            stall=item.stall,
            subtotal_cents=0,
            shipping_cents=0,
            fee_basis_points=fee_basis_points(),
            ship_to=address.as_text(),
            reference=reference,
        )
        OrderLine.objects.create(
            order=order,
            item=item,
            title=item.title,
            unit_price_cents=0,
            quantity=reservation.quantity,
            reservation=reservation,
        )
        reservation_consume(reservation=reservation)
        return order_transition(
            order=order, to=S.PAID_ESCROW, note="A giveaway prize: nothing to pay."
        )
