"""Writes for carts and checkout: the buyer's address, the cart, the checkout that
turns it into pending orders and a Checkout Session, and a won auction's order.

The orders, their lines and their stock holds are made in one transaction, and the
gateway is called after it, outside any lock; the payment then settles in
`orders.payments.services` and the orders live on in `orders.escrow`.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record
from bazaar.errors import Conflict, Invalid, NotFound
from bazaar.idempotency import key_lock
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from bazaar.ratelimit import Rate, rate_check
from stalls.models import Item, Reservation, Stall
from stalls.selectors import item_available_quantity
from stalls.services import reservation_consume, reservation_take

from ..escrow.selectors import stall_shipping_cents
from ..escrow.services import fee_basis_points, order_transition
from ..models import CartLine, Order, OrderEvent, OrderLine, Payment, SavedCard, ShippingAddress
from ..payments.backends import gateway_named
from ..payments.gateway import CardDeclined, GatewayError, LineItem
from ..payments.services import PaymentFailed, PaymentUnavailable, payment_cancel
from .selectors import (
    CartPlan,
    accepted_offer,
    cart_entries_for_buyer,
    cart_plan,
    open_checkout_for,
    shipping_address_for,
)

log = logging.getLogger(__name__)

S = Order.Status
# A checkout's stock outlives its Checkout Session by a few minutes, so a payment
# made in the session's last second still finds its units when the event arrives.
RESERVATION_GRACE = timedelta(minutes=5)
CART_MAX_QUANTITY = 99


# The shipping address


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


# New checkouts per buyer (the same key again is answered before this is asked).
CHECKOUT_RATE = Rate(10, 600, "10 checkouts every 10 minutes")


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
    held = open_checkout_for(buyer=buyer)[1].get(item.pk, 0) if buyer is not None else 0
    available = item_available_quantity(item=item) + held  # the buyer's own hold is theirs
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
    record(Kind.CART_ADDED, user=buyer, item=item)
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
    again (a double click, a reload) returns the same payment and session, also while
    the first request is still in flight (`_checkout_create`).
    """
    payment = _payment_with_key(buyer, idempotency_key)
    if payment is None:
        rate_check("checkout", f"user:{buyer.pk}", CHECKOUT_RATE)
        try:
            payment = _checkout_create(
                buyer=buyer, idempotency_key=idempotency_key, expected_total=expected_total_cents
            )
        except IntegrityError:
            payment = _payment_with_key(buyer, idempotency_key)
            if payment is None:
                raise
    return checkout_session_ensure(payment=payment, urls=urls)


def _payment_with_key(buyer, idempotency_key: str) -> Payment | None:
    return Payment.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()


@transaction.atomic
def _checkout_create(*, buyer, idempotency_key: str, expected_total: int) -> Payment:
    """The checkout itself, or the one a request with the same key made meanwhile.

    A buyer's checkouts run one at a time (`key_lock`) and the key is looked up again
    under that lock: a repeat sent while the first was in flight waited for it and
    now finds its payment, instead of reading the first one's stock holds as someone
    else's and being refused ("sold out").
    """
    key_lock(scope="checkout", owner_id=buyer.pk)
    repeated = _payment_with_key(buyer, idempotency_key)
    if repeated is not None:
        return repeated
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
    record(Kind.CHECKOUT_STARTED, user=buyer, amount_cents=payment.amount_cents)
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


def checkout_release(*, buyer, public_id: str) -> Payment:
    """The buyer gives up a checkout they left at the payment page: the session is
    expired at the gateway and the held units go back on sale. Safe to repeat; if the
    buyer paid first (in another tab), nothing is released. Returns the payment as it
    is now: cancelled, paid, or open while its payment event is on its way."""
    payment = Payment.objects.filter(
        buyer=buyer, public_id=public_id, kind=Payment.Kind.CHECKOUT
    ).first()
    if payment is None:
        raise NotFound("No checkout of yours has that address.")
    if payment.status == Payment.Status.OPEN:
        try:
            checkout_expire_session(payment=payment)
        except GatewayError as error:
            raise PaymentUnavailable(
                "The payment service did not answer. Press Release again in a moment."
            ) from error
        payment.refresh_from_db()
    return payment


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


# Closing an account


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
