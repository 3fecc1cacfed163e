"""Reads for carts, checkout, orders and payouts, scoped to who is asking.

Orders are private: only their buyer and the stall's seller see one; anyone else
gets 404 (stewards work in the admin).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bazaar.errors import NotFound
from stalls.models import Item, Stall
from stalls.selectors import item_available_quantity

from .models import (
    CartLine,
    MoneyMove,
    Order,
    OrderEvent,
    Payment,
    PayoutAccount,
    SavedCard,
    ShippingAddress,
    StallShipping,
    TestGatewayObject,
)

SESSION_CART = "cart"


@dataclass
class PlanLine:
    item: Item
    quantity: int
    unit_price_cents: int
    available: int
    offer: object | None = None
    problem: str = ""

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class PlanGroup:
    """What one stall sells in this cart: one order at checkout."""

    stall: Stall
    shipping_cents: int
    lines: list[PlanLine] = field(default_factory=list)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.shipping_cents


@dataclass
class CartPlan:
    """A cart re-read against the market as it is now: prices, stock, offers, shipping."""

    groups: list[PlanGroup]
    currency: str

    @property
    def lines(self) -> list[PlanLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def problems(self) -> list[str]:
        return [line.problem for line in self.lines if line.problem]

    @property
    def total_cents(self) -> int:
        return sum(group.total_cents for group in self.groups)

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


def accepted_offer(*, buyer, item: Item):
    """The buyer's accepted offer on `item` (its price and its reservation), if any."""
    from offers.selectors import offer_accepted_for_checkout

    return offer_accepted_for_checkout(buyer=buyer, item=item)


def cart_button_context(*, user, item: Item, available: int) -> dict:
    """What the item's cart button shows this viewer: "Buy at your offer" for a buyer
    whose offer on it was accepted (its unit is held for them, so it counts as
    unavailable), "Add to cart" (hidden while nothing is available), and nothing for
    the item's own seller."""
    own = user.is_authenticated and item.stall.seller.user_id == user.pk
    offer = accepted_offer(buyer=user, item=item) if user.is_authenticated and not own else None
    return {"item": item, "available": available, "offer": offer, "own": own}


def stall_shipping_cents(*, stall: Stall) -> int:
    shipping = StallShipping.objects.filter(stall=stall).first()
    return shipping.cost_cents if shipping else 0


def _plan_line(*, buyer, item: Item, quantity: int) -> PlanLine:
    offer = accepted_offer(buyer=buyer, item=item) if buyer is not None else None
    if offer is not None:
        # The offer's own reservation holds its units: they are the buyer's already.
        units = offer.reservation.quantity
        return PlanLine(
            item=item,
            quantity=units,
            unit_price_cents=offer.amount_cents,
            available=units,
            offer=offer,
        )
    line = PlanLine(
        item=item,
        quantity=quantity,
        unit_price_cents=item.price_cents,
        available=item_available_quantity(item=item),
    )
    if item.archived_at is not None:
        line.problem = f"“{item.title}” is no longer for sale. Remove it to check out."
    elif buyer is not None and item.stall.seller.user_id == buyer.pk:
        line.problem = f"“{item.title}” is from your own stall. Remove it to check out."
    elif line.available < quantity:
        line.problem = (
            f"Only {line.available} of “{item.title}” left; lower the quantity to check out."
            if line.available
            else f"“{item.title}” sold out. Remove it to check out."
        )
    return line


def cart_plan(*, buyer, entries: list[tuple[Item, int]]) -> CartPlan:
    """Group cart entries by stall with today's prices, stock, shipping and the buyer's
    accepted offers (none for a guest: `buyer` is None)."""
    groups: dict[int, PlanGroup] = {}
    for item, quantity in entries:
        group = groups.get(item.stall_id)
        if group is None:
            group = groups[item.stall_id] = PlanGroup(
                stall=item.stall, shipping_cents=stall_shipping_cents(stall=item.stall)
            )
        group.lines.append(_plan_line(buyer=buyer, item=item, quantity=quantity))
    return CartPlan(groups=list(groups.values()), currency=settings.MARKET_CURRENCY)


def cart_entries_for_buyer(*, buyer) -> list[tuple[Item, int]]:
    lines = CartLine.objects.filter(buyer=buyer).select_related(
        "item__stall__seller", "item__stall__section"
    )
    return [(line.item, line.quantity) for line in lines.order_by("added_at", "id")]


def cart_entries_for_session(*, session_cart: dict) -> list[tuple[Item, int]]:
    """A guest's cart: {item public id: quantity} in the session."""
    found = Item.objects.select_related("stall__seller", "stall__section").filter(
        public_id__in=list(session_cart)
    )
    items = {item.public_id: item for item in found}
    return [(items[key], quantity) for key, quantity in session_cart.items() if key in items]


def cart_for_request(request) -> CartPlan:
    user = request.user
    if user.is_authenticated:
        return cart_plan(buyer=user, entries=cart_entries_for_buyer(buyer=user))
    session_cart = request.session.get(SESSION_CART, {})
    return cart_plan(buyer=None, entries=cart_entries_for_session(session_cart=session_cart))


def cart_count_for_request(request) -> int:
    """How many units the cart holds, for the top bar: one small query for a buyer,
    none for a guest (the session is read for the page anyway)."""
    user = request.user
    if user.is_authenticated:
        lines = CartLine.objects.filter(buyer=user)
        return lines.aggregate(units=Coalesce(Sum("quantity"), 0))["units"]
    return sum(request.session.get(SESSION_CART, {}).values())


def shipping_address_for(*, buyer) -> ShippingAddress | None:
    return ShippingAddress.objects.filter(buyer=buyer).first()


def saved_card_for(*, buyer) -> SavedCard | None:
    return SavedCard.objects.filter(buyer=buyer).first()


def buyer_has_payment_method(*, user) -> bool:
    """A saved card to charge without the buyer present (auctions ask this)."""
    if not user.is_authenticated:
        return False
    return SavedCard.objects.filter(buyer=user).exclude(payment_method_id="").exists()


# Payments and orders


def payment_for_buyer(*, buyer, public_id: str) -> Payment:
    payment = Payment.objects.filter(public_id=public_id, buyer_id=buyer.pk).first()
    if payment is None:
        raise NotFound("No payment of yours has that address.")
    return payment


def orders_of_payment(*, payment: Payment) -> QuerySet[Order]:
    """The payment page's list: each order's stall, status and total."""
    return payment.orders.select_related("stall")


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("stall__seller__user", "buyer", "payment")


def order_for_party(*, user, public_id: str) -> Order:
    """An order its buyer or its seller may see; anyone else gets 404."""
    order = _orders().filter(public_id=public_id).first() if user.is_authenticated else None
    if order is None or user.pk not in (order.buyer_id, order.stall.seller.user_id):
        raise NotFound("No order of yours has that address.")
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
    can_ship: bool
    can_seller_cancel: bool
    can_confirm: bool
    can_dispute: bool
    can_buyer_cancel: bool
    ship_by: datetime | None
    release_at: datetime | None
    moves: list[MoneyMove]
    events: list[OrderEvent]


def ship_deadline(order: Order) -> datetime | None:
    if order.paid_at is None:
        return None
    return order.paid_at + timedelta(days=settings.SHIP_WITHIN_DAYS)


def release_deadline(order: Order) -> datetime | None:
    if order.shipped_at is None:
        return None
    return order.shipped_at + timedelta(days=settings.ESCROW_RELEASE_DAYS)


def order_view(*, user, order: Order, now: datetime | None = None) -> OrderView:
    now = now or timezone.now()
    status = order.status
    S = Order.Status
    is_buyer = order.buyer_id == user.pk
    is_seller = order.stall.seller.user_id == user.pk
    ship_by = ship_deadline(order)
    release_at = release_deadline(order) if status == S.SHIPPED else None
    return OrderView(
        order=order,
        is_buyer=is_buyer,
        is_seller=is_seller,
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
        moves=_moves_for(order, seller=is_seller),
        events=_events_for(order, seller=is_seller),
    )


def _moves_for(order: Order, *, seller: bool) -> list[MoneyMove]:
    """The seller sees the payout and the fee kept; the buyer only their refunds
    (stewards see everything in the admin)."""
    moves = order.money_moves.order_by("created_at", "id")
    return list(moves if seller else moves.filter(kind=MoneyMove.Kind.REFUND))


def _events_for(order: Order, *, seller: bool) -> list[OrderEvent]:
    """The timeline; the payout's steps (with the fee) are the seller's alone."""
    events = order.events.select_related("actor")
    return list(events if seller else events.exclude(kind__startswith="transfer_"))


# Payouts


@dataclass(frozen=True)
class PayoutOverview:
    account: PayoutAccount | None
    shipping_cents: int
    fee_percent: str
    waiting_cents: int
    open_orders: int


def payout_overview(*, stall: Stall) -> PayoutOverview:
    """The seller's payouts panel on the dashboard (`stall`: the viewer's own, from
    `stall_for_user`): account, fee, shipping, and how much released money waits for
    a payouts account."""
    waiting = MoneyMove.objects.filter(
        order__stall=stall,
        kind=MoneyMove.Kind.TRANSFER,
        status__in=[MoneyMove.Status.PENDING, MoneyMove.Status.FAILED],
    ).aggregate(total=Coalesce(Sum("amount_cents"), 0))["total"]
    return PayoutOverview(
        account=PayoutAccount.objects.filter(seller_id=stall.seller_id).first(),
        shipping_cents=stall_shipping_cents(stall=stall),
        fee_percent=settings.PLATFORM_FEE_PERCENT,
        waiting_cents=waiting,
        open_orders=Order.objects.filter(
            stall=stall, status__in=[Order.Status.PAID_ESCROW, Order.Status.DISPUTED]
        ).count(),
    )


# The test gateway's pages


def test_session_for_user(*, user, session_id: str) -> dict:
    """A test-gateway session this user may pay (their checkout) or use to save a
    card (their customer record); anyone else gets 404."""
    found = TestGatewayObject.objects.filter(object_id=session_id, kind="checkout.session").first()
    session = found.data if found else {}
    if session.get("mode") == "payment":
        owns = Payment.objects.filter(session_id=session_id, buyer_id=user.pk).exists()
    else:
        owns = (
            bool(session)
            and SavedCard.objects.filter(customer_id=session["customer"], buyer_id=user.pk).exists()
        )
    if not owns:
        raise NotFound("No checkout of yours has that address.")
    return session


def test_account_for_user(*, user, account_id: str) -> PayoutAccount:
    account = PayoutAccount.objects.filter(
        account_id=account_id, gateway="test", seller__user_id=user.pk
    ).first()
    if account is None:
        raise NotFound("No payouts account of yours has that address.")
    return account


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
