"""What orders put in people's notifications (`notifications.services.notify`).

In the app only: these status changes are already mailed by `orders.escrow.notify`, with
the order's lines and totals (the receipt), and the notices app never mails these
kinds (`notifications.kinds.MAILED_BY_ORDERS`), so nobody gets two emails."""

from django.conf import settings
from django.urls import reverse

from bazaar.money import format_money
from notifications.models import Kind
from notifications.services import notify

from ..models import Order

S = Order.Status


def order_notify(*, order: Order, to: str) -> None:
    """After `order` became `to`: tell the side that must act or wants to know."""
    url = reverse("orders:detail", args=[order.public_id])
    total = format_money(order.total_cents, order.currency)
    seller = order.stall.seller.user
    if to == S.PAID_ESCROW:
        person, kind = seller, Kind.ORDER_PAID
        title = f"@{order.buyer.handle} paid {total}: an order to ship"
        body = f"Ship it within {settings.SHIP_WITHIN_DAYS} days and add the tracking number."
    elif to == S.SHIPPED:
        person, kind = order.buyer, Kind.ORDER_SHIPPED
        title = f"{order.stall.name} shipped your order"
        body = f"{order.carrier}, tracking number {order.tracking_number}."
    elif to == S.RECEIVED:
        person, kind = seller, Kind.ORDER_DELIVERED
        title = f"@{order.buyer.handle} received their order"
        body = "The escrow ends and your payout follows."
    else:
        return
    notify(person, kind, title=title, body=body, url=url, dedupe_key=f"{kind}:{order.public_id}")
