"""Reads for the cart and checkout: a cart re-read against the market as it is now."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bazaar.cache import Kept, kept_together
from bazaar.lookups import AnyOf
from bazaar.prepared import Prepared
from offers.selectors import (
    accepted_offers_for_items,
    accepted_offers_shown,
    offer_accepted_for_checkout,
)
from stalls.models import Item, Stall
from stalls.selectors import reserved_units_subquery

from ..escrow.selectors import stalls_shipping_cents
from ..models import CartLine, OrderLine, Payment, ShippingAddress

SESSION_CART = "cart"
# The cart page, for `bazaar.cache.page_reads`: it reads nothing of its own ahead, only
# what every page reads for its viewer (the top bar).
CART_PAGE = "cart-page"
# A bound for a line written without a model signal (an .update(), raw SQL): none do.
CART_COUNT_KEPT_SECONDS = 600


@dataclass
class PlanLine:
    item: Item
    quantity: int
    unit_price_cents: int
    available: int
    offer: object | None = None
    problem: str = ""
    # Units of it the buyer's own open checkout holds (counted in `available`).
    held: int = 0

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
    # The buyer's checkout still open at the payment page, whose units count as theirs.
    open_checkout: Payment | None = None

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
    return offer_accepted_for_checkout(buyer=buyer, item=item)


def cart_button_context(
    *, user, item: Item, available: int, accepted: dict[int, object] | None = None
) -> dict:
    """What the item's cart button shows this viewer: "Buy at your offer" for a buyer
    whose offer on it was accepted (its unit is held for them, so it counts as
    unavailable), "Add to cart" (hidden while nothing is available), and nothing for
    the item's own seller. `accepted`: the page's accepted offers by item id
    (offers.selectors.accepted_offers_for_items), read once for all its buttons;
    without it the button reads its own."""
    own = user.is_authenticated and item.stall.seller.user_id == user.pk
    offer = None
    if user.is_authenticated and not own:
        offer = (
            accepted.get(item.pk) if accepted is not None else accepted_offer(buyer=user, item=item)
        )
    return {"item": item, "available": available, "offer": offer, "own": own}


def open_checkout_for(*, buyer) -> tuple[Payment | None, dict[int, int]]:
    """The buyer's checkout left open at the payment page (back, or closed the tab)
    and the units it holds per item: until it is paid, released or runs out, those
    units are the buyer's, not sold out. Accepted offers' units are counted with the
    offer. (A new checkout cancels an open one, so there is at most one.)"""
    payment = _OPEN_CHECKOUT.first(buyer.pk, timezone.now())
    if payment is None:
        return None, {}
    held: dict[int, int] = {}
    lines = OrderLine.objects.filter(order__payment=payment, offer_public_id="")
    for item_id, quantity in lines.values_list("item_id", "quantity"):
        held[item_id] = held.get(item_id, 0) + quantity
    return payment, held


def _plan_line(
    *, buyer, item: Item, quantity: int, offer, reserved: int, held: int = 0
) -> PlanLine:
    """One cart line against the market; `offer`: the buyer's accepted offer on the
    item, if any; `reserved`: the units reservations hold; `held`: those of them the
    buyer's own open checkout holds, which are theirs to buy."""
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
        available=max(item.inventory - reserved, 0) + held,
        held=held,
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


def cart_plan(*, buyer, entries: list[tuple[Item, int]], shown: bool = False) -> CartPlan:
    """Group cart entries by stall with today's prices, stock, shipping, the buyer's
    accepted offers and their own open checkout (none for a guest: `buyer` is None).
    Each entry's item carries its `reserved` units (read with the lines); the offers
    and the shipping of every line are one query each; `shown`
    (the cart page) takes the offers as kept for the top bar instead, read in its
    round trip (`accepted_offers_shown`: dropped by every change to one of them,
    expiry checked now), while checkout reads the rows it charges."""
    open_checkout, held = open_checkout_for(buyer=buyer) if buyer is not None else (None, {})
    items = [item for item, _ in entries]
    if buyer is None:
        offers = {}
    elif shown:
        offers = accepted_offers_shown(buyer=buyer, items=items)
    else:
        offers = accepted_offers_for_items(buyer=buyer, items=items)
    stalls = {item.stall_id: item.stall for item in items}
    shipping = stalls_shipping_cents(stalls=list(stalls.values()))
    groups: dict[int, PlanGroup] = {}
    for item, quantity in entries:
        group = groups.get(item.stall_id)
        if group is None:
            group = groups[item.stall_id] = PlanGroup(
                stall=item.stall, shipping_cents=shipping[item.stall_id]
            )
        line = _plan_line(
            buyer=buyer,
            item=item,
            quantity=quantity,
            offer=offers.get(item.pk),
            reserved=item.reserved,
            held=held.get(item.pk, 0),
        )
        group.lines.append(line)
    return CartPlan(
        groups=list(groups.values()), currency=settings.MARKET_CURRENCY, open_checkout=open_checkout
    )


# The cart's two reads of its own, compiled once (`bazaar.prepared`); the lines with
# each item's units reserved now, the stock read in the same statement.
_CART_LINES = Prepared(
    lambda buyer_id, now: (
        CartLine.objects.filter(buyer_id=buyer_id)
        .select_related("item__stall__seller")
        .annotate(reserved=reserved_units_subquery(at=now, item="item_id"))
        .order_by("added_at", "id")
    )
)
_OPEN_CHECKOUT = Prepared(
    lambda buyer_id, now: Payment.objects.filter(
        buyer_id=buyer_id,
        kind=Payment.Kind.CHECKOUT,
        status=Payment.Status.OPEN,
        expires_at__gt=now,
    ).order_by("-created_at")[:1]
)


def cart_entries_for_buyer(*, buyer) -> list[tuple[Item, int]]:
    """A buyer's cart lines: each item with its `reserved` units now, and the quantity."""
    entries = []
    for line in _CART_LINES.rows(buyer.pk, timezone.now()):
        line.item.reserved = line.reserved
        entries.append((line.item, line.quantity))
    return entries


def cart_entries_for_session(*, session_cart: dict) -> list[tuple[Item, int]]:
    """A guest's cart: {item public id: quantity} in the session; each item with its
    `reserved` units now."""
    found = (
        Item.objects.select_related("stall__seller")
        .filter(public_id__in=list(session_cart))
        .annotate(reserved=reserved_units_subquery(at=timezone.now()))
    )
    items = {item.public_id: item for item in found}
    return [(items[key], quantity) for key, quantity in session_cart.items() if key in items]


def cart_for_request(request, *, shown: bool = False) -> CartPlan:
    """The viewer's cart as `cart_plan` reads it (`shown`: for the cart page)."""
    user = request.user
    if user.is_authenticated:
        return cart_plan(buyer=user, entries=cart_entries_for_buyer(buyer=user), shown=shown)
    session_cart = request.session.get(SESSION_CART, {})
    return cart_plan(buyer=None, entries=cart_entries_for_session(session_cart=session_cart))


def cart_scope(buyer_id: int) -> str:
    """What a change to any of the buyer's cart lines marks changed (orders.apps)."""
    return f"cart:{buyer_id}"


def cart_count_for_request(request) -> int:
    """How many units the cart holds, for the top bar of every page: for a buyer, kept
    until one of their cart lines is saved or deleted (however: a service, a bought
    line, an item's deletion cascading), for a guest read from the session (read for
    the page anyway)."""
    user = request.user
    if user.is_authenticated:
        return kept_together(cart_units_kept(buyer=user))[0]
    return sum(request.session.get(SESSION_CART, {}).values())


def cart_units_kept(*, buyer) -> Kept:
    """A buyer's units in the cart as kept (`cart_count_for_request`), to read with the
    top bar's other values in one round trip (`bazaar.cache.kept_together`)."""
    return Kept(
        scope=cart_scope(buyer.pk),
        name="units",
        read=lambda: CartLine.objects.filter(buyer=buyer).aggregate(
            units=Coalesce(Sum("quantity"), 0)
        )["units"],
        timeout=CART_COUNT_KEPT_SECONDS,
    )


def shipping_address_for(*, buyer) -> ShippingAddress | None:
    return ShippingAddress.objects.filter(buyer=buyer).first()


def buyers_with_shipping_address(*, user_ids: set[int]) -> QuerySet:
    """Which of these people have an address to ship to, as a query of their
    `buyer_id`s not yet run (auctions join it into a batch's one question)."""
    addresses = ShippingAddress.objects.filter(AnyOf(F("buyer_id"), user_ids))
    return addresses.values_list("buyer_id", flat=True)
