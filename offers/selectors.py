"""Reads for offers, scoped to who is asking. Expiry is checked on read: an offer
past its time shows (and counts) as expired even before the sweep has run."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from bazaar.cache import Kept, kept_together
from bazaar.errors import NotFound
from bazaar.exports import rows
from bazaar.money import format_money
from bazaar.prepared import Prepared
from stalls.models import Item

from .ladder import offer_entry
from .models import AutoPrices, Offer
from .services import AMOUNTS_PER_ITEM
from .transitions import accepted_scope

LADDER_LENGTH = 20


def _related(queryset: QuerySet[Offer]) -> QuerySet[Offer]:
    return queryset.select_related(*Offer.RELATED)


def offer_status(offer: Offer, now=None) -> str:
    """The status as of now: a live offer past its expiry is expired."""
    return Offer.Status.EXPIRED if offer.is_due(now) else offer.status


# A buyer's accepted, unexpired offers, compiled once (`bazaar.prepared`): by buyer
# alone, not by a page's list of items, since an `IN` list of each length is a query
# of its own to compile (0.6 ms of a signed-in stall page; docs/decisions.md, pages5).
# Accepted offers are few a buyer (each runs out within hours) and have an index.
_ACCEPTED_OFFERS = Prepared(
    lambda buyer_id, now: Offer.objects.filter(
        buyer_id=buyer_id, status=Offer.Status.ACCEPTED, expires_at__gt=now
    ).select_related("reservation")
)


def accepted_offers_for_items(*, buyer, items: Iterable[Item]) -> dict[int, Offer]:
    """The buyer's accepted, unexpired, not yet purchased offers on `items`, by item id,
    in one query however many items a page or a cart holds (a buyer has at most one
    live thread per item). With the reservation (its units are the buyer's) and
    nothing else joined: what the cart button, the cart and checkout read."""
    item_ids = {item.pk for item in items}
    if not buyer.is_authenticated or not item_ids:
        return {}
    return {
        offer.item_id: offer
        for offer in _ACCEPTED_OFFERS.rows(buyer.pk, timezone.now())
        if offer.item_id in item_ids
    }


# A bound for a change made where no transition runs (the admin, a shell).
ACCEPTED_KEPT_SECONDS = 60


def accepted_offers_shown(
    *, buyer, items: Iterable[Item], kept: list[Offer] | None = None
) -> dict[int, Offer]:
    """`accepted_offers_for_items` for a page's cart buttons: the buyer's accepted
    offers kept until one of theirs becomes accepted or stops being (every status
    change is `transitions.transition`, which marks `accepted_scope`), expiry checked
    at each read; `kept`, when the page read them already (`accepted_offers_kept`,
    with the top bar). What they show is a price to start checkout at; checkout
    itself reads the rows (`accepted_offers_for_items`)."""
    item_ids = {item.pk for item in items}
    if not buyer.is_authenticated or not item_ids:
        return {}
    offers = kept if kept is not None else kept_together(accepted_offers_kept(buyer=buyer))[0]
    now = timezone.now()
    return {
        offer.item_id: offer
        for offer in offers
        if offer.item_id in item_ids and offer.expires_at > now
    }


def accepted_offers_kept(*, buyer) -> Kept:
    """The buyer's accepted offers as kept (`accepted_offers_shown`), to read with the
    viewer's other kept values in one round trip (`bazaar.cache.kept_together`)."""
    return Kept(
        scope=accepted_scope(buyer.pk),
        name="accepted",
        read=lambda: _ACCEPTED_OFFERS.rows(buyer.pk, timezone.now()),
        timeout=ACCEPTED_KEPT_SECONDS,
    )


def offer_accepted_for_checkout(*, buyer, item: Item) -> Offer | None:
    """The buyer's accepted, unexpired, not yet purchased offer on `item` (for orders)."""
    return accepted_offers_for_items(buyer=buyer, items=[item]).get(item.pk)


def offer_for_party(*, user, public_id: str) -> Offer:
    """An offer its buyer or its item's seller may act on; anyone else gets 404. With
    its item and stall (what the pages around an action read); the action itself
    reads the rest under its locks."""
    offer = Offer.objects.filter(public_id=public_id).select_related("item__stall__seller").first()
    if offer is None or not user.is_authenticated:
        raise NotFound("No offer of yours has that address.")
    if user.pk not in (offer.buyer_id, offer.item.stall.seller.user_id):
        raise NotFound("No offer of yours has that address.")
    return offer


def item_ladder(*, item: Item) -> list[dict]:
    """The item's most recent offers as the stall document's entries, newest first,
    with the status as of now: what everyone in the stall sees."""
    offers = _related(item.offers.order_by("-id"))[:LADDER_LENGTH]
    return [{**offer_entry(offer), "status": offer_status(offer)} for offer in offers]


@dataclass(frozen=True)
class Thread:
    """One buyer's bargaining on one item: its offers oldest first, the latest last."""

    offers: list[Offer]

    @property
    def latest(self) -> Offer:
        return self.offers[-1]

    @property
    def status(self) -> str:
        return offer_status(self.latest)

    @property
    def live(self) -> bool:
        return self.status in Offer.LIVE

    @property
    def turn(self) -> str:
        """The side whose move it is ("buyer" or "seller"), or "" once nobody's is."""
        if self.status != Offer.Status.PENDING:
            return ""
        return Offer.Side.SELLER if self.latest.side == Offer.Side.BUYER else Offer.Side.BUYER


def _threads(offers: QuerySet[Offer]) -> list[Thread]:
    """Offers grouped by thread, threads newest first."""
    grouped: dict[str, list[Offer]] = {}
    for offer in _related(offers.order_by("id")):
        grouped.setdefault(offer.thread, []).append(offer)
    return sorted(
        (Thread(offers=offers) for offers in grouped.values()),
        key=lambda thread: thread.latest.pk,
        reverse=True,
    )


@dataclass(frozen=True)
class BuyerView:
    """What a buyer sees of their own bargaining on an item."""

    thread: Thread | None
    amounts_left: int
    can_offer: bool


def item_offers_for_buyer(*, buyer, item: Item, available: int) -> BuyerView:
    """The buyer's latest thread on the item, and whether they may open a new one."""
    mine = Offer.objects.filter(buyer=buyer, item=item)
    threads = _threads(mine.filter(thread__in=mine.order_by("-id").values("thread")[:1]))
    thread = threads[0] if threads else None
    sent = mine.filter(side=Offer.Side.BUYER).count()
    left = max(AMOUNTS_PER_ITEM - sent, 0)
    open_thread = thread is not None and thread.live
    return BuyerView(
        thread=thread,
        amounts_left=left,
        can_offer=left > 0 and not open_thread and available > 0,
    )


def _live_threads(offers: QuerySet[Offer]) -> list[Thread]:
    """The threads among `offers` still open (pending or accepted), newest first."""
    live = offers.filter(status__in=Offer.LIVE, expires_at__gt=timezone.now())
    return _threads(offers.filter(thread__in=live.values("thread")))


def item_live_threads_for_seller(*, item: Item) -> list[Thread]:
    return _live_threads(item.offers.all())


def seller_offer_items(*, user) -> list[dict]:
    """The seller's live items, each with its open threads and auto prices (dashboard),
    in three queries however many items there are."""
    items = list(
        Item.objects.filter(stall__seller__user=user, archived_at__isnull=True).order_by(
            "-created_at", "-id"
        )
    )
    rules = {rule.item_id: rule for rule in AutoPrices.objects.filter(item__in=items)}
    threads: dict[int, list[Thread]] = {}
    for thread in _live_threads(Offer.objects.filter(item__in=items)):
        threads.setdefault(thread.latest.item_id, []).append(thread)
    return [
        {"item": item, "threads": threads.get(item.pk, []), "auto": rules.get(item.pk)}
        for item in items
    ]


def offers_for_buyer(*, user, limit: int = 50) -> list[Thread]:
    """The buyer's threads on every item, newest first ("my offers")."""
    recent = Offer.objects.filter(buyer=user).order_by("-id").values("thread")[: limit * 5]
    return _threads(Offer.objects.filter(buyer=user, thread__in=recent))[:limit]


def action_notice(offer: Offer, user) -> str:
    """What the person who acted is told happened (auto prices may have answered): the
    POST's panel and the socket's acknowledgement say the same."""
    amount = format_money(offer.amount_cents, offer.currency)
    for_buyer = offer.buyer_id == user.pk
    if offer.status == Offer.Status.ACCEPTED:
        held = "for you" if for_buyer else "for the buyer"
        return f"Accepted at {amount}: one is held {held} for 24 hours."
    if offer.status == Offer.Status.DECLINED:
        return f"The seller declined {amount}." if for_buyer else f"Declined {amount}."
    if offer.status == Offer.Status.WITHDRAWN:
        return "Offer withdrawn."
    if offer.answers_id:
        return f"Counter of {amount} sent."
    return f"Offer of {amount} sent to the seller."


def offers_export(user) -> dict:
    """Every offer and counter-offer of the haggles they took part in: as the buyer,
    and on their own stall's items (the buyer there named by nothing but the thread),
    oldest first."""
    columns = {
        "offer": "public_id",
        "thread": "thread",
        "item": "item__title",
        "side": "side",
        "amount_cents": "amount_cents",
        "currency": "currency",
        "message": "message",
        "status": "status",
        "created_at": "created_at",
    }
    return {
        "as_buyer": rows(Offer.objects.filter(buyer=user).order_by("created_at"), **columns),
        "on_my_items": rows(
            Offer.objects.filter(item__stall__seller__user=user).order_by("created_at"),
            **columns,
        ),
    }
