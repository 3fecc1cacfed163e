"""Reads for orders after payment, scoped to who is asking.

Orders are private: only their buyer and the stall's seller act on one; stewards
also read it (a dispute's timeline and evidence); anyone else gets 404.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.selectors import second_step_passed
from bazaar.errors import NotFound, SecondStepNeeded
from bazaar.exports import row, rows
from bazaar.prepared import Prepared
from governance.selectors import user_is_steward
from stalls.evidence import evidence_image
from stalls.models import Stall
from stalls.selectors import evidence_photos

from ..models import MoneyMove, Order, OrderEvent, OrderLine, ShippingAddress, StallShipping


def stall_shipping_cents(*, stall: Stall) -> int:
    return stalls_shipping_cents(stalls=[stall])[stall.pk]


# Compiled once per length of the list (`bazaar.prepared`): a cart's stalls are few.
_SHIPPING_OF_STALLS = Prepared(
    lambda stall_ids: StallShipping.objects.filter(stall_id__in=stall_ids).values_list(
        "stall_id", "cost_cents"
    )
)


def stalls_shipping_cents(*, stalls: list[Stall]) -> dict[int, int]:
    """Each stall's shipping cost by stall id (0 where none is set), in one query."""
    costs = {stall.pk: 0 for stall in stalls}
    if not costs:
        return {}
    return costs | dict(_SHIPPING_OF_STALLS.rows(list(costs)))


# Orders


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("stall__seller__user", "buyer", "payment")


def order_for_party(*, user, public_id: str) -> Order:
    """An order its buyer or its seller may see; anyone else gets 404."""
    order = _orders().filter(public_id=public_id).first() if user.is_authenticated else None
    if order is None or user.pk not in (order.buyer_id, order.stall.seller.user_id):
        raise NotFound("No order of yours has that address.")
    return order


def order_for_viewer(*, user, public_id: str, session) -> Order:
    """An order its buyer, its seller or a steward may read (the page and its dispute
    evidence); anyone else, signed in or not, gets 404. A steward who is neither party
    reads it only in a session past the second step: the page shows the buyer's address
    and the dispute's photos, which a stolen password alone must not reach."""
    order = _orders().filter(public_id=public_id).first() if user.is_authenticated else None
    if order is not None and user.pk in (order.buyer_id, order.stall.seller.user_id):
        return order
    if order is None or not user_is_steward(user=user):
        raise NotFound("No order of yours has that address.")
    if not second_step_passed(user=user, session=session):
        raise SecondStepNeeded("Stewards pass two-step verification to read others' orders.")
    return order


def _listed(**scope) -> QuerySet[Order]:
    """Orders for a list page: newest first, unpaid checkouts left out."""
    return (
        _orders()
        .filter(**scope)
        .exclude(status=Order.Status.PENDING_PAYMENT)
        .prefetch_related("lines")
        .order_by("-created_at", "-id")
    )


def orders_for_buyer(*, buyer) -> QuerySet[Order]:
    return _listed(buyer_id=buyer.pk)


def orders_for_seller(*, user) -> QuerySet[Order]:
    return _listed(stall__seller__user_id=user.pk)


@dataclass(frozen=True)
class OrderView:
    """What the order page shows one person: their side, what they can do now, and
    the deadlines that matter."""

    order: Order
    is_buyer: bool
    is_seller: bool
    is_steward: bool
    can_ship: bool
    can_seller_cancel: bool
    can_confirm: bool
    can_dispute: bool
    can_buyer_cancel: bool
    ship_by: datetime | None
    release_at: datetime | None
    moves: list[MoneyMove]
    events: list[OrderEvent]
    can_answer: bool = False
    answer_due: datetime | None = None
    decision_due: datetime | None = None
    escrow_left_when_paused: timedelta | None = None
    # Dispute evidence by side ("buyer", "seller"): what this person may see of it.
    evidence: dict = field(default_factory=dict)


def ship_deadline(order: Order) -> datetime | None:
    if order.paid_at is None:
        return None
    return order.paid_at + timedelta(days=settings.SHIP_WITHIN_DAYS)


def release_deadline(order: Order) -> datetime | None:
    if order.shipped_at is None:
        return None
    return order.shipped_at + timedelta(days=settings.ESCROW_RELEASE_DAYS)


SELLER_ANSWER_HOURS = 72
STEWARD_DECIDE_HOURS = 48


def dispute_deadlines(order: Order) -> tuple[datetime | None, datetime | None]:
    """(seller's answer due, steward's decision due) for a disputed order. The
    steward's clock starts at the answer, or when the seller's time ran out."""
    if order.disputed_at is None:
        return None, None
    seller_due = order.disputed_at + timedelta(hours=SELLER_ANSWER_HOURS)
    started = min(order.dispute_answered_at or seller_due, seller_due)
    return seller_due, started + timedelta(hours=STEWARD_DECIDE_HOURS)


def _escrow_left_when_paused(order: Order) -> timedelta | None:
    """How long escrow still had to run when the dispute stopped its clock."""
    release_at = release_deadline(order)
    if release_at is None or order.disputed_at is None:
        return None
    return max(release_at - order.disputed_at, timedelta(0))


def order_view(*, user, order: Order, now: datetime | None = None) -> OrderView:
    now = now or timezone.now()
    status = order.status
    S = Order.Status
    is_buyer = order.buyer_id == user.pk
    is_seller = order.stall.seller.user_id == user.pk
    is_steward = not (is_buyer or is_seller) and user_is_steward(user=user)
    ship_by = ship_deadline(order)
    release_at = release_deadline(order) if status == S.SHIPPED else None
    return OrderView(
        order=order,
        is_buyer=is_buyer,
        is_seller=is_seller,
        is_steward=is_steward,
        can_ship=is_seller and status == S.PAID_ESCROW,
        can_seller_cancel=is_seller and status == S.PAID_ESCROW,
        can_confirm=is_buyer and status == S.SHIPPED,
        can_dispute=is_buyer and status in (S.PAID_ESCROW, S.SHIPPED, S.RECEIVED),
        can_buyer_cancel=is_buyer
        and status == S.PAID_ESCROW
        and ship_by is not None
        and now >= ship_by,
        ship_by=ship_by if status == S.PAID_ESCROW else None,
        release_at=release_at,
        moves=_moves_for(order, seller=is_seller or is_steward),
        events=_events_for(order, seller=is_seller or is_steward),
        evidence=evidence_for_viewer(user=user, order=order),
        **_dispute_view(order, is_seller=is_seller),
    )


def _dispute_view(order: Order, *, is_seller: bool) -> dict:
    if order.status != Order.Status.DISPUTED:
        return {}
    answer_due, decision_due = dispute_deadlines(order)
    return {
        "can_answer": is_seller and order.dispute_answered_at is None,
        "answer_due": answer_due if order.dispute_answered_at is None else None,
        "decision_due": decision_due,
        "escrow_left_when_paused": _escrow_left_when_paused(order),
    }


def _moves_for(order: Order, *, seller: bool) -> list[MoneyMove]:
    """The seller (and a steward) sees the payout and the fee kept; the buyer only
    their refunds."""
    moves = order.money_moves.order_by("created_at", "id")
    return list(moves if seller else moves.filter(kind=MoneyMove.Kind.REFUND))


def _events_for(order: Order, *, seller: bool) -> list[OrderEvent]:
    """The timeline; the payout's steps (with the fee) are the seller's alone."""
    events = order.events.select_related("actor")
    return list(events if seller else events.exclude(kind__startswith="transfer_"))


# Dispute evidence


@dataclass(frozen=True)
class EvidencePhoto:
    public_id: str
    status: str
    status_label: str
    error: str
    mine: bool

    @property
    def shown(self) -> bool:
        return self.status == "published"


def evidence_for_viewer(*, user, order: Order) -> dict[str, list[EvidencePhoto]]:
    """The dispute's photos by side. Screened ones are for the buyer, the seller and
    stewards alike; one still being checked, held for a steward or refused is its
    uploader's alone ("Checking…", or why it was refused)."""
    sides: dict[str, list[EvidencePhoto]] = {"buyer": [], "seller": []}
    for upload in evidence_photos(order_ref=order.public_id):
        mine = upload.uploader_id == user.pk
        if not (mine or upload.status == "published"):
            continue
        side = "buyer" if upload.uploader_id == order.buyer_id else "seller"
        sides[side].append(
            EvidencePhoto(
                public_id=upload.public_id,
                status=upload.status,
                status_label=upload.get_status_display(),
                error=upload.error,
                mine=mine,
            )
        )
    return sides


def order_evidence_image(
    *, user, session, order_public_id: str, photo_public_id: str, thumbnail: bool
) -> bytes:
    """A screened evidence photo, for the order's buyer, seller and stewards only:
    to anyone else neither the order nor the photo exists."""
    order = order_for_viewer(user=user, public_id=order_public_id, session=session)
    return evidence_image(
        order_ref=order.public_id, upload_public_id=photo_public_id, thumbnail=thumbnail
    )


# Closing an account (privacy app)

ORDERS_OPEN = (
    Order.Status.PENDING_PAYMENT,
    Order.Status.PAID_ESCROW,
    Order.Status.SHIPPED,
    Order.Status.RECEIVED,
    Order.Status.DISPUTED,
)


def orders_open_for_user(*, user) -> list[Order]:
    """Orders this person bought or sold that are not finished: money or goods are
    still on their way."""
    return list(
        Order.objects.filter(status__in=ORDERS_OPEN)
        .filter(Q(buyer_id=user.pk) | Q(stall__seller__user_id=user.pk))
        .select_related("stall")
        .order_by("created_at", "id")
    )


# A person's data export (privacy.selectors)


def orders_export(user) -> dict:
    """Their saved address, what they bought (with where it went) and what their stall
    sold (without the buyers' addresses, which are the buyers' data), oldest first."""
    address = row(
        ShippingAddress.objects.filter(buyer=user),
        name="name",
        line1="line1",
        line2="line2",
        city="city",
        postal_code="postal_code",
        country="country",
    )
    columns = {
        "order": "public_id",
        "stall": "stall__name",
        "status": "status",
        "currency": "currency",
        "subtotal_cents": "subtotal_cents",
        "shipping_cents": "shipping_cents",
        "total_cents": "total_cents",
        "refunded_cents": "refunded_cents",
        "carrier": "carrier",
        "tracking_number": "tracking_number",
        "created_at": "created_at",
    }
    bought = Order.objects.filter(buyer=user).order_by("created_at")
    sold = Order.objects.filter(stall__seller__user=user).order_by("created_at")
    return {
        "shipping_address": address,
        "bought": _with_lines(rows(bought, **columns, ship_to="ship_to")),
        "sold": _with_lines(rows(sold, **columns)),
    }


def _with_lines(orders: list[dict]) -> list[dict]:
    lines: dict[str, list[dict]] = {order["order"]: [] for order in orders}
    for line in rows(
        OrderLine.objects.filter(order__public_id__in=lines).order_by("pk"),
        order="order__public_id",
        title="title",
        unit_price_cents="unit_price_cents",
        quantity="quantity",
    ):
        lines[line.pop("order")].append(line)
    return [{**order, "lines": lines[order["order"]]} for order in orders]
