"""What the market's analytics hear about orders (analytics.recording, after commit)."""

from analytics.models import Kind
from analytics.recording import record

from ..models import Order

_KINDS = {
    Order.Status.PAID_ESCROW: Kind.ORDER_PAID,
    Order.Status.SHIPPED: Kind.ORDER_SHIPPED,
    Order.Status.DISPUTED: Kind.ORDER_DISPUTED,
    Order.Status.RELEASED: Kind.ORDER_RELEASED,
    Order.Status.REFUNDED: Kind.ORDER_REFUNDED,
    Order.Status.PARTLY_REFUNDED: Kind.ORDER_REFUNDED,
}


def order_status_record(*, order: Order, to: str, fee_cents: int) -> None:
    """One event for each status the dashboards count: GMV and the platform's fee
    (`fee_cents`, at the order's rate) when paid, the wait from payment when shipped,
    the money returned when refunded."""
    kind = _KINDS.get(to)
    if kind is None:
        return
    amount, fee, waited = order.total_cents, None, None
    if kind == Kind.ORDER_PAID:
        fee = fee_cents
    elif kind == Kind.ORDER_SHIPPED and order.paid_at and order.shipped_at:
        waited = int((order.shipped_at - order.paid_at).total_seconds())
    elif kind == Kind.ORDER_REFUNDED:
        amount = order.refunded_cents or order.total_cents
    record(
        kind,
        visitor=order.buyer.public_id,
        stall=order.stall,
        amount_cents=amount,
        fee_cents=fee,
        duration_seconds=waited,
    )
