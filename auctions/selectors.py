"""Reads for auctions, scoped to who is asking: anyone sees an auction's public state
and bids; a seller sees their own auctions; a bidder sees where their bids stand."""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from bazaar.cache import kept_keys, kept_scope_keys, kept_until_any_changed, kept_until_changed
from bazaar.errors import NotFound
from bazaar.exports import rows
from bazaar.idempotency import valid_key
from bazaar.prepared import Prepared
from stalls.cards import cards_scope
from stalls.models import Item
from stalls.selectors import items_with_availability

from .frames import pseudonym
from .models import Auction, Bid, BidRetraction
from .rules import reserve_met

RUNNING = (Auction.Status.SCHEDULED, Auction.Status.LIVE)
BIDS_SHOWN = 30
RETRACTIONS_COUNTED_FOR = timedelta(days=182)
# A bound for an auction made to run where no service does (the admin, a shell).
RUNNING_KEPT_SECONDS = 60


def _one(auctions: QuerySet[Auction], public_id: str) -> Auction:
    auction = auctions.filter(public_id=public_id).first()
    if auction is None:
        raise NotFound("No auction has that address.")
    return auction


def auction_get(*, public_id: str) -> Auction:
    """The auction with what its page shows."""
    return _one(
        Auction.objects.select_related(
            "item__stall__section", "seller", "leader", "winner", "declined_bidder"
        ),
        public_id,
    )


def viewer_part(*, auction: Auction, user) -> dict[str, bool]:
    """What the page tells one person about their own part once bidding has closed,
    which nobody else sees: the runner-up offered a second chance (or paying for it),
    the winner whose card was declined, the seller told who and what next, the buyer."""
    if not user.is_authenticated:
        return {}
    ended = auction.status == Auction.Status.ENDED
    second = ended and auction.charge_kind == Auction.ChargeKind.SECOND_CHANCE
    return {
        "offered": second and auction.winner_id == user.pk,
        "declined": auction.declined_bidder_id == user.pk,
        "seller": auction.seller_id == user.pk and auction.declined_bidder_id is not None,
        "bought": auction.status == Auction.Status.SETTLED and auction.winner_id == user.pk,
    }


REF_FIELDS = ("id", "public_id", "seller_id", "currency")


def auction_ref(*, public_id: str) -> Auction:
    """Just enough of an auction to act on it (services lock and re-read the row).
    These fields never change once the auction exists, so each process reads them
    once: a bid by POST then makes no query of its own before its batch."""
    return Auction.from_db("default", REF_FIELDS, _ref_fields(public_id))  # the rest deferred


@functools.lru_cache(maxsize=4096)
def _ref_fields(public_id: str) -> tuple:
    auction = _one(Auction.objects.only(*REF_FIELDS), public_id)
    return tuple(getattr(auction, field) for field in REF_FIELDS)


def auction_for_state(*, public_id: str) -> Auction | None:
    """The auction with the people its public state names (`frames.auction_state`)."""
    return Auction.objects.select_related("leader", "winner").filter(public_id=public_id).first()


def bids_recent(*, auction: Auction, limit: int = BIDS_SHOWN) -> list[Bid]:
    """The newest public bids first (a leader's raised maximum is theirs alone), each
    with its bidder's `pseudonym` on this auction; retracted ones too, marked."""
    public = ~Q(kind=Bid.Kind.MAX) | Q(leading=True)
    bids = list(auction.bids.filter(public).order_by("-id")[:limit])
    for bid in bids:
        bid.pseudonym = pseudonym(auction, bid.bidder_id)
    return bids


@dataclass(frozen=True)
class RetractionShown:
    """A retraction as the bid history shows it, with how many its bidder made lately."""

    pseudonym: str
    reason: str
    bids: int
    at: datetime
    recent_count: int


def retraction_counts(*, user_ids: list[int]) -> dict[int, int]:
    """Bid retractions each of these people made in the past six months (eBay's window)."""
    since = timezone.now() - RETRACTIONS_COUNTED_FOR
    counted = (
        BidRetraction.objects.filter(bidder_id__in=user_ids, created_at__gte=since)
        .values("bidder_id")
        .annotate(n=Count("id"))
    )
    return {row["bidder_id"]: row["n"] for row in counted}


def retractions_shown(*, auction: Auction) -> list[RetractionShown]:
    retractions = list(
        auction.retractions.annotate(bid_total=Count("bids")).order_by("-created_at", "-id")
    )
    counts = retraction_counts(user_ids=[r.bidder_id for r in retractions])
    return [
        RetractionShown(
            pseudonym=pseudonym(auction, r.bidder_id),
            reason=r.get_reason_display(),
            bids=r.bid_total,
            at=r.created_at,
            recent_count=counts.get(r.bidder_id, 0),
        )
        for r in retractions
    ]


def can_retract(*, auction: Auction, user) -> bool:
    """Whether the page offers this person the retraction form (the service decides)."""
    return (
        user.is_authenticated
        and auction.status == Auction.Status.LIVE
        and auction.bids.filter(bidder=user, retraction=None).exclude(idempotency_key="").exists()
    )


def auction_running_for_item(*, item: Item) -> Auction | None:
    """The scheduled or live auction of an item, for a link from the stall page."""
    return auction_running_of(item).first()


def auctions_running() -> QuerySet[Auction]:
    """Scheduled and live auctions, the soonest to end first, with what a card shows."""
    return (
        Auction.objects.filter(status__in=RUNNING)
        .select_related("item__stall__section")
        .order_by("ends_at", "id")
    )


def auction_running_of(item_ref) -> QuerySet[Auction]:
    """The running auction of `item_ref` (an item, or `OuterRef("pk")` in a subquery)."""
    return Auction.objects.filter(item=item_ref, status__in=RUNNING).order_by("starts_at")


def items_in_auction() -> QuerySet[Auction]:
    """The ids of items with a running auction, as a subquery for listings."""
    return Auction.objects.filter(status__in=RUNNING).values("item_id")


# Compiled once per length of the list (`bazaar.prepared`): a page's cards are few.
_RUNNING_OF_ITEMS = Prepared(
    lambda item_ids: Auction.objects.filter(item_id__in=item_ids, status__in=RUNNING).order_by(
        "-starts_at"
    )
)


def auctions_running_by_item(*, item_ids: list[int]) -> dict[int, Auction]:
    """The running auction of each of these items, in one query (for a page of cards)."""
    found = {}
    for auction in _RUNNING_OF_ITEMS.rows(list(item_ids)) if item_ids else []:
        found[auction.item_id] = auction  # the earliest-starting one wins
    return found


def auctions_running_for_stalls(*, stall_ids: list[int]) -> dict[str, Auction]:
    """The soonest-ending running auction of each stall, by the stall's public id: the
    grid's "In auction" badges. Kept until an auction in one of the stalls comes to
    run or stops, or one of their items changes (the badge names the item); one cache
    read when warm, one query when cold."""
    ids = sorted(stall_ids)
    scopes, key = _running_for_stalls_kept(ids)
    return kept_until_any_changed(
        scopes=scopes,
        key=key,
        read=lambda: _auctions_running_for_stalls(ids),
        timeout=RUNNING_KEPT_SECONDS,
    )


def _running_for_stalls_kept(ids: list[int]) -> tuple[list[str], str]:
    scopes = [
        scope for stall_id in ids for scope in (running_scope(stall_id), cards_scope(stall_id))
    ]
    return scopes, f"kept:running-for-stalls:{','.join(map(str, ids))}"


def section_page_badge_keys(cards: list) -> list[str]:
    """What the grid's `auctions_running_for_stalls` reads for a section's cards (the
    grid reads it ahead)."""
    scopes, key = _running_for_stalls_kept(sorted(card["id"] for card in cards if card))
    return [*kept_scope_keys(scopes), key]


def _auctions_running_for_stalls(stall_ids: list[int]) -> dict[str, Auction]:
    running = {}
    for auction in (
        Auction.objects.filter(status__in=RUNNING, item__stall_id__in=stall_ids)
        .select_related("item")
        .only("public_id", "ends_at", "item", "item__title")
        .annotate(stall_public_id=F("item__stall__public_id"))
        .order_by("-ends_at")
    ):
        running[auction.stall_public_id] = auction
    return running


def running_scope(stall_id: int) -> str:
    """What `auctions.services` marks changed when an auction in the stall comes to run
    or stops running."""
    return f"stall-auctions:{stall_id}"


def item_page_running_keys(item) -> list[str]:
    """What an item page's `auctions_running_in_stall` reads (to read ahead)."""
    return kept_keys(running_scope(item.stall_id), "running")


def auctions_running_in_stall(*, stall) -> dict[int, Auction]:
    """The soonest-ending running auction of each of the stall's items, by the item's
    id: the stall page's "In auction" badges. Kept until an auction in the stall comes
    to run or stops (every such change goes through `lifecycle.transition`, which marks
    the stall's scope changed after commit). What is kept is only which auctions run:
    their prices and bids move with every bid, and whoever shows those reads them."""
    return kept_until_changed(
        scope=running_scope(stall.pk),
        name="running",
        read=lambda: _auctions_running_in_stall(stall),
        timeout=RUNNING_KEPT_SECONDS,
    )


def _auctions_running_in_stall(stall) -> dict[int, Auction]:
    auctions = (
        Auction.objects.filter(status__in=RUNNING, item__stall=stall)
        .only("public_id", "item_id", "ends_at")
        .order_by("-ends_at")
    )
    return {auction.item_id: auction for auction in auctions}


def auctions_for_seller(*, user, limit: int = 20) -> list[Auction]:
    return list(
        Auction.objects.filter(seller=user)
        .select_related("item", "leader", "winner")
        .order_by("-created_at", "-id")[:limit]
    )


def auction_for_key(*, seller, key: str) -> Auction | None:
    """The auction the seller started with this idempotency key, if any."""
    if not valid_key(key):
        return None
    return Auction.objects.filter(seller=seller, idempotency_key=key).first()


def items_to_auction(*, stall) -> list[Item]:
    """The stall's items with a unit free to put up for auction."""
    return [item for item in items_with_availability(stall=stall) if item.inventory > item.reserved]


# A bidder's own bids ("My bids")


@dataclass(frozen=True)
class MyBid:
    """One auction the user bid on: their highest bid and where it stands for them."""

    auction: Auction
    my_top_cents: int
    state: str  # leading, outbid, won, paid, offered, payment_failed, lost, reserve_not_met

    @property
    def live(self) -> bool:
        return self.auction.status in RUNNING


def _my_bid_state(auction: Auction, user) -> str:
    status, mine = auction.status, auction.winner_id == user.pk
    if status in RUNNING:
        return "leading" if auction.leader_id == user.pk else "outbid"
    if auction.declined_bidder_id == user.pk:
        return "payment_failed"
    if status == Auction.Status.SETTLED:
        return "paid" if mine else "lost"
    if status == Auction.Status.ENDED and mine:
        second = auction.charge_kind == Auction.ChargeKind.SECOND_CHANCE
        return "offered" if second else "won"
    reserve_missed = not reserve_met(auction.price_cents, auction.reserve_cents)
    if status == Auction.Status.UNSOLD and auction.leader_id == user.pk and reserve_missed:
        return "reserve_not_met"
    return "lost"


def bids_of_bidder(*, user, limit: int = 50) -> list[MyBid]:
    """The auctions `user` bid on, live ones first (ending soonest), then the most
    recently ended; at most `limit` of each."""
    auctions = (
        Auction.objects.filter(bids__bidder=user)
        .annotate(my_top_cents=Max("bids__amount_cents"))
        .select_related("item__stall")
        .prefetch_related("item__photos")
    )
    live = auctions.filter(status__in=RUNNING).order_by("ends_at", "id")[:limit]
    past = auctions.exclude(status__in=RUNNING).order_by("-ends_at", "-id")[:limit]
    return [
        MyBid(auction=a, my_top_cents=a.my_top_cents, state=_my_bid_state(a, user))
        for a in [*live, *past]
    ]


def auctions_binding_bidder(*, user) -> list[Auction]:
    """Auctions this person would have to pay for: leading a live one, or the winner
    not charged yet (closing an account waits for them)."""
    return list(
        Auction.objects.filter(
            Q(status=Auction.Status.LIVE, leader_id=user.pk)
            | Q(status=Auction.Status.ENDED, winner_id=user.pk)
        )
        .select_related("item")
        .order_by("ends_at", "id")
    )


def bids_export(user) -> dict:
    """Their bids (with the highest they were willing to go: their own secret) and the
    bids they retracted, oldest first."""
    return {
        "bids": rows(
            Bid.objects.filter(bidder=user).order_by("received_at", "pk"),
            bid="public_id",
            auction="auction__public_id",
            item="auction__item__title",
            kind="kind",
            amount_cents="amount_cents",
            max_cents="max_cents",
            currency="auction__currency",
            received_at="received_at",
        ),
        "retractions": rows(
            BidRetraction.objects.filter(bidder=user).order_by("created_at"),
            auction="auction__public_id",
            reason="reason",
            created_at="created_at",
        ),
        "won": rows(
            Auction.objects.filter(winner=user).order_by("closed_at"),
            auction="public_id",
            item="item__title",
            final_price_cents="final_price_cents",
            currency="currency",
            closed_at="closed_at",
        ),
    }
