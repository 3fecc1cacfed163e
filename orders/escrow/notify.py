"""Emails about an order, sent by a background job once the change has committed."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from bazaar.jobs import enqueue_on_commit

from ..models import Order

log = logging.getLogger(__name__)

# Which status changes are mailed, to whom, under what subject.
SUBJECTS = {
    "paid": {
        "buyer": "Your order from {stall} is paid",
        "seller": "New order to ship: {order}",
    },
    "shipped": {"buyer": "Your order from {stall} is on its way"},
    "received": {"seller": "The buyer received order {order}"},
    "released": {"seller": "Payout released for order {order}"},
    "disputed": {
        "buyer": "Your dispute on order {order} is open",
        "seller": "The buyer opened a dispute on order {order}",
    },
}


def order_mail_on_commit(*, order, kind: str) -> None:
    """Queue the emails for `kind` as a job: a slow or absent mail server never delays,
    undoes or blocks the order change itself, and the job retries until it is back."""
    enqueue_on_commit("orders.tasks.send_order_mail", order_id=order.pk, kind=kind)


def order_mail_send(*, order_id: int, kind: str) -> None:
    order = (
        Order.objects.select_related("buyer", "stall__seller__user")
        .prefetch_related("lines")
        .get(pk=order_id)
    )
    people = {"buyer": order.buyer, "seller": order.stall.seller.user}
    link = settings.SITE_URL.rstrip("/") + reverse("orders:detail", args=[order.public_id])
    for role, subject in SUBJECTS[kind].items():
        context = {
            "order": order,
            "kind": kind,
            "role": role,
            "link": link,
            "ship_days": settings.SHIP_WITHIN_DAYS,
        }
        send_mail(
            subject=subject.format(stall=order.stall.name, order=order.public_id),
            message=render_to_string("orders/emails/order_update.txt", context),
            from_email=None,
            recipient_list=[people[role].email],
        )
