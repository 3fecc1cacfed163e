"""Bid retraction, in eBay's manner: for a typo or a changed description. With 12
hours or more left it takes back all of the bidder's bids on the auction; in the
last 12 hours only their latest bid, and only within an hour of placing it. The
price is then worked out again from the bids that stand, as if the retracted ones
had never been placed."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bazaar.errors import Conflict, DomainError, Invalid, NotFound

from ..locks import auction_for_update
from ..models import Auction, Bid, BidRetraction
from ..rules import Ladder, minimum_bid, resolve_bid
from .bid_batch import BID_FIELDS
from .lifecycle import Status, save

ALL_BIDS_BEFORE = timedelta(hours=12)
LATEST_BID_WITHIN = timedelta(hours=1)


def bid_retract(
    *, bidder, auction: Auction, reason: str, now: datetime | None = None
) -> BidRetraction:
    """Take back the bidder's bid(s) under the auction's lock, or refuse with why."""
    now = now or timezone.now()
    if reason not in BidRetraction.Reason.values:
        raise Invalid(
            "Choose why you are retracting: a typo in the amount, or a changed description.",
            code="reason",
        )
    with transaction.atomic():
        locked = auction_for_update(auction.pk)
        if locked.status != Status.LIVE or now >= locked.ends_at:
            raise Conflict(
                "Bidding has closed: bids can no longer be retracted.", code="auction_ended"
            )
        standing = list(locked.bids.filter(bidder=bidder, retraction=None).order_by("id"))
        placed = [bid for bid in standing if bid.idempotency_key]
        if not placed:
            raise NotFound("You have no bids on this auction to retract.")
        taken = _bids_to_take(locked, standing, placed[-1], now)
        retraction = BidRetraction.objects.create(
            auction=locked, bidder=bidder, reason=reason, created_at=now
        )
        Bid.objects.filter(pk__in=[bid.pk for bid in taken]).update(
            retraction=retraction, leading=False
        )
        _work_out_again(locked)
        for bid in taken:
            bid.retraction, bid.leading = retraction, False
        save(locked, "retracted", taken, BID_FIELDS)
    return retraction


def _bids_to_take(auction: Auction, standing: list[Bid], latest: Bid, now: datetime) -> list[Bid]:
    if auction.ends_at - now >= ALL_BIDS_BEFORE:
        return standing
    if now - latest.received_at > LATEST_BID_WITHIN:
        placed_at = timezone.localtime(latest.received_at).strftime("%H:%M")
        raise Conflict(
            "With less than 12 hours left, a bid can be retracted only within an hour of "
            f"placing it; your latest bid was placed at {placed_at}.",
            code="retraction_too_late",
        )
    # The latest bid, and the automatic bids it has made for them since.
    return [bid for bid in standing if bid.pk >= latest.pk]


def _work_out_again(auction: Auction) -> None:
    """Replay the standing bids people placed, in order, on an empty ladder: the
    price, leader and maximum they give. Rows above the new price no longer lead."""
    ladder = Ladder(
        currency=auction.currency,
        start_cents=auction.start_cents,
        reserve_cents=auction.reserve_cents,
    )
    placed = auction.bids.filter(retraction=None).exclude(idempotency_key="").order_by("id")
    for bid in placed:
        offered = bid.offered_cents or bid.amount_cents
        maximum = max(offered, bid.max_cents or 0)
        amount = max(offered, minimum_bid(ladder)) if ladder.leader != bid.bidder_id else offered
        try:
            resolution = resolve_bid(
                ladder,
                bidder=bid.bidder_id,
                amount_cents=min(amount, maximum),
                max_cents=maximum if maximum > amount else None,
            )
        except DomainError:
            continue  # it would not stand without the retracted bids ahead of it
        ladder = Ladder(
            currency=ladder.currency,
            start_cents=ladder.start_cents,
            reserve_cents=ladder.reserve_cents,
            price_cents=resolution.price_cents,
            leader=resolution.leader,
            leader_max_cents=resolution.leader_max_cents,
        )
    auction.price_cents = ladder.price_cents
    auction.leader_id = ladder.leader
    auction.leader_max_cents = ladder.leader_max_cents
    standing = auction.bids.filter(retraction=None)
    auction.bid_count = sum(bid.public for bid in standing.only("kind", "leading"))
    if ladder.price_cents is not None:
        standing.filter(leading=True, amount_cents__gt=ladder.price_cents).update(leading=False)
    else:
        standing.filter(leading=True).update(leading=False)
