"""Reads for auctions, scoped to who is asking: anyone sees an auction's public state
and bids; a seller sees their own auctions."""

from django.db.models import F, Q, QuerySet

from bazaar.errors import NotFound
from stalls.models import Item
from stalls.selectors import items_with_availability

from .models import Auction, Bid

RUNNING = (Auction.Status.SCHEDULED, Auction.Status.LIVE)
BIDS_SHOWN = 30


def _one(auctions: QuerySet[Auction], public_id: str) -> Auction:
    auction = auctions.filter(public_id=public_id).first()
    if auction is None:
        raise NotFound("No auction has that address.")
    return auction


def auction_get(*, public_id: str) -> Auction:
    """The auction with what its page shows."""
    return _one(
        Auction.objects.select_related("item__stall__section", "seller", "leader", "winner"),
        public_id,
    )


def auction_ref(*, public_id: str) -> Auction:
    """Just enough of an auction to act on it (services lock and re-read the row):
    the bid path's first query stays small."""
    return _one(Auction.objects.only("id", "public_id", "seller_id", "currency"), public_id)


def auction_for_state(*, public_id: str) -> Auction | None:
    """The auction with the people its public state names (`frames.auction_state`)."""
    return Auction.objects.select_related("leader", "winner").filter(public_id=public_id).first()


def bids_recent(*, auction: Auction, limit: int = BIDS_SHOWN) -> list[Bid]:
    """The newest public bids first (a leader's raised maximum is theirs alone)."""
    public = ~Q(kind=Bid.Kind.MAX) | Q(leading=True)
    return list(auction.bids.filter(public).select_related("bidder").order_by("-id")[:limit])


def auction_running_for_item(*, item: Item) -> Auction | None:
    """The scheduled or live auction of an item, for a link from the stall page."""
    return item.auctions.filter(status__in=RUNNING).order_by("starts_at").first()


def auctions_running_for_stalls(*, stall_public_ids: list[str]) -> dict[str, Auction]:
    """The soonest-ending running auction of each stall, by the stall's public id, in
    one query: the grid's "In auction" badges."""
    running = {}
    for auction in (
        Auction.objects.filter(status__in=RUNNING, item__stall__public_id__in=stall_public_ids)
        .select_related("item")
        .annotate(stall_public_id=F("item__stall__public_id"))
        .order_by("-ends_at")
    ):
        running[auction.stall_public_id] = auction
    return running


def auctions_running_for_items(*, items: list[Item]) -> dict[int, Auction]:
    """The soonest-ending running auction of each item, by the item's id, in one
    query: the stall page's "In auction" badges."""
    auctions = Auction.objects.filter(status__in=RUNNING, item__in=items).order_by("-ends_at")
    return {auction.item_id: auction for auction in auctions}


def auctions_for_seller(*, user, limit: int = 20) -> list[Auction]:
    return list(
        Auction.objects.filter(seller=user)
        .select_related("item", "leader", "winner")
        .order_by("-created_at", "-id")[:limit]
    )


def items_to_auction(*, stall) -> list[Item]:
    """The stall's items with a unit free to put up for auction."""
    return [item for item in items_with_availability(stall=stall) if item.inventory > item.reserved]
