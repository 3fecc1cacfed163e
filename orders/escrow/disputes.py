"""Disputes after the buyer opens one (`services.order_dispute_open`): the seller's
answer, due within SELLER_ANSWER_HOURS; then a steward's decision, due within
STEWARD_DECIDE_HOURS (`services.order_dispute_settle`). Every step is an `OrderEvent`
on the order's timeline. The escrow countdown stops while the order is disputed (the
release sweep takes shipped orders only) and the page says how much was left.
Reminders go out before each deadline, once each (notice and email)."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotFound
from governance.selectors import steward_users
from notifications.models import Kind
from notifications.services import notify

from ..models import Order, OrderEvent
from .selectors import dispute_deadlines
from .services import _order_for_update, _replayed, evidence_add

# Reminders go this long before a deadline.
REMIND_BEFORE = timedelta(hours=12)
ANSWER_LIMIT = 2000


def order_dispute_answer(
    *, actor, order: Order, answer: str, photos: Sequence = (), idempotency_key: str = ""
) -> Order:
    """The seller's side, once, with photos as evidence (screened first). It goes on
    the timeline; the buyer and the stewards are told."""
    answer = answer.strip()
    if not answer:
        raise Invalid("Tell the steward your side.")
    if len(answer) > ANSWER_LIMIT:
        raise Invalid(f"Keep the answer under {ANSWER_LIMIT:,} characters.")
    with transaction.atomic():
        order = _order_for_update(order)
        if order.stall.seller.user_id != actor.pk:
            raise NotFound("No order of yours has that address.")
        if _replayed(order, idempotency_key):
            return order
        if order.status != Order.Status.DISPUTED:
            raise Conflict("This order is not disputed.")
        if order.dispute_answered_at is not None:
            raise Conflict("You have answered already; a steward will decide.")
        order.dispute_answer = answer
        order.dispute_answered_at = timezone.now()
        order.save(update_fields=["dispute_answer", "dispute_answered_at"])
        OrderEvent.objects.create(
            order=order,
            kind="dispute_answer",
            actor=actor,
            note=f"The seller answered: {answer}"[:300],
            idempotency_key=idempotency_key,
        )
        evidence_add(actor=actor, order=order, photos=photos)
        notify(
            order.buyer,
            Kind.DISPUTE,
            title=f"The seller answered your dispute about {order}",
            url=reverse("orders:detail", args=[order.public_id]),
            body=answer[:500],
        )
    return order


def disputes_remind(*, now: datetime | None = None) -> int:
    """Every 15 minutes: remind the seller 12 hours before their answer is due and
    the stewards 12 hours before the decision is due; once each (dedupe keys)."""
    now = now or timezone.now()
    sent = 0
    disputed = Order.objects.filter(status=Order.Status.DISPUTED).select_related(
        "stall__seller__user"
    )
    stewards = None
    for order in disputed:
        seller_due, steward_due = dispute_deadlines(order)
        url = reverse("orders:detail", args=[order.public_id])
        if order.dispute_answered_at is None and seller_due - REMIND_BEFORE <= now < seller_due:
            notify(
                order.stall.seller.user,
                Kind.DISPUTE,
                title=f"Answer the dispute about {order} by {seller_due:%d %b %H:%M} UTC",
                url=url,
                body="After that a steward decides without your side.",
                dedupe_key=f"dispute-seller:{order.public_id}",
            )
            sent += 1
        if steward_due - REMIND_BEFORE <= now:
            stewards = steward_users() if stewards is None else stewards
            late = now >= steward_due
            overdue = "is overdue" if late else f"is due {steward_due:%d %b %H:%M} UTC"
            for steward in stewards:
                notify(
                    steward,
                    Kind.DISPUTE,
                    title=f"The decision on the dispute about {order} {overdue}",
                    url=reverse("stewards:queue") + "?kind=dispute",
                    dedupe_key=f"dispute-steward:{order.public_id}:{'late' if late else 'soon'}",
                )
                sent += 1
    return sent


def disputes_open(*, limit: int) -> tuple[int, list[Order]]:
    """For stewards: disputed orders, oldest first, and how many there are."""
    disputed = Order.objects.filter(status=Order.Status.DISPUTED)
    rows = list(disputed.select_related("buyer", "stall").order_by("disputed_at")[:limit])
    return disputed.count(), rows


def disputes_by_public_ids(*, public_ids: list[str]) -> list[Order]:
    return list(Order.objects.filter(public_id__in=public_ids))
