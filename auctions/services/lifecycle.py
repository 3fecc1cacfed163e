"""What every auction write shares: the status machine, saving under a new version
(published after commit), and the unit the auction holds in the stock ledger."""

from datetime import datetime, timedelta

from django.utils import timezone

from bazaar.cache import changed_on_commit
from bazaar.errors import Conflict
from stalls.models import Item, Reservation
from stalls.services import reservation_release, reservation_take

from ..frames import publish
from ..models import Auction, AuctionEvent, Bid
from ..selectors import RUNNING, running_scope

Status = Auction.Status
ChargeKind = Auction.ChargeKind

# A bid that arrived before the end counts even if it is still waiting for the lock
# when the end passes: the sweep closes an auction only this long after its end.
CLOSE_GRACE = timedelta(seconds=2)
# The stock reservation outlives the hard end by this much, for closing and charging.
RESERVATION_MARGIN = timedelta(hours=1)
SECOND_CHANCE_FOR = timedelta(hours=24)
# A charge claimed by a caller that died is taken up again after this long.
CHARGE_RETRY_AFTER = timedelta(seconds=60)
SCHEDULE_AHEAD = timedelta(days=7)

TRANSITIONS = {
    Status.SCHEDULED: {Status.LIVE, Status.CANCELLED},
    Status.LIVE: {Status.ENDED, Status.CANCELLED},
    # A buy-it-now whose card is declined goes back to live bidding.
    Status.ENDED: {Status.SETTLED, Status.UNSOLD, Status.LIVE},
}


def transition(auction: Auction, to: Status, *, actor=None, note: str = "") -> None:
    """The one way an auction's status changes: checked against TRANSITIONS, audited.
    The caller holds the lock and saves the row."""
    if to not in TRANSITIONS.get(auction.status, set()):
        raise Conflict(f"An auction that is {auction.get_status_display().lower()} cannot be {to}.")
    AuctionEvent.objects.create(
        auction=auction, from_status=auction.status, to_status=to, actor=actor, note=note[:200]
    )
    if (to in RUNNING) != (auction.status in RUNNING):
        running_changed_on_commit(auction)
    auction.status = to


def running_changed_on_commit(auction: Auction) -> None:
    """After commit: the auction runs now, or has stopped, so its stall's kept running
    auctions (`auctions_running_in_stall`) are stale."""
    changed_on_commit(running_scope(auction.item.stall_id))


def save(
    auction: Auction, event: str, bids: list[Bid] = (), fields: list[str] | None = None
) -> Auction:
    """Store a changed auction under a new version and announce it after commit."""
    auction.version += 1
    auction.save(update_fields=None if fields is None else [*fields, "version"])
    publish(auction, event, bids)
    return auction


def release_stock(auction: Auction, note: str) -> None:
    if auction.reservation_id:
        reservation_release(reservation=auction.reservation, note=note)


def reserve_unit(*, item: Item, holder, until: datetime, reference: str) -> Reservation:
    try:
        return reservation_take(
            item=item,
            holder=holder,
            reason=Reservation.Reason.AUCTION,
            ttl=until - timezone.now(),
            reference=reference,
        )
    except Conflict as error:
        if error.code != "out_of_stock":
            raise
        raise Conflict(
            f"Every unit of “{item.title}” is sold or held already; none is free to auction.",
            code="out_of_stock",
        ) from error
