"""Giveaway prizes: an order at zero price, in escrow like any other (giveaways calls
`order_create_for_prize` when the winner claims)."""

from django.db import transaction
from django.utils import timezone

from bazaar.errors import Invalid
from stalls.models import Item, Reservation
from stalls.services import reservation_consume

from ..escrow.services import fee_basis_points, order_transition
from ..models import Order, OrderLine, Payment
from .selectors import shipping_address_for
from .services import _order_create

S = Order.Status


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
