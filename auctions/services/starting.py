"""Starting and cancelling an auction."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from bazaar.ids import new_ulid
from bazaar.money import format_money
from stalls.models import Item

from ..locks import auction_and_item_for_update
from ..models import Auction, AuctionEvent
from ..rules import check_duration, hard_end
from ..selectors import auction_for_key
from .lifecycle import (
    RESERVATION_MARGIN,
    SCHEDULE_AHEAD,
    Status,
    release_stock,
    reserve_unit,
    running_changed_on_commit,
    save,
    transition,
)


def auction_start(
    *,
    actor,
    item: Item,
    start_cents: int,
    reserve_cents: int | None,
    buy_now_cents: int | None,
    duration: timedelta,
    starts_at: datetime | None = None,
    idempotency_key: str,
) -> Auction:
    """Put one unit of the seller's item up for auction; the unit is reserved until
    the auction is settled, unsold or cancelled. A repeated key returns the first."""
    previous = auction_for_key(seller=actor, key=idempotency_key)
    if previous is not None:
        return previous
    if item.stall.seller.user_id != actor.pk:
        raise NotAllowed("Only the item's seller can auction it.")
    _validate_prices(start_cents, reserve_cents, buy_now_cents, item.currency)
    check_duration(duration)
    now = timezone.now()
    starts_at = starts_at or now
    if starts_at < now - timedelta(minutes=1) or starts_at > now + SCHEDULE_AHEAD:
        raise Invalid("Start the auction now or within the next 7 days.", code="starts_at")
    starts_at = max(starts_at, now)
    hard_ends_at = hard_end(starts_at=starts_at, duration=duration)
    public_id = new_ulid()
    try:
        with transaction.atomic():
            reservation = reserve_unit(
                item=item,
                holder=actor,
                until=hard_ends_at + RESERVATION_MARGIN,
                reference=public_id,
            )
            auction = Auction.objects.create(
                public_id=public_id,
                item=item,
                seller=actor,
                reservation=reservation,
                currency=item.currency,
                start_cents=start_cents,
                reserve_cents=reserve_cents,
                buy_now_cents=buy_now_cents,
                starts_at=starts_at,
                ends_at=starts_at + duration,
                hard_ends_at=hard_ends_at,
                status=Status.LIVE if starts_at <= now else Status.SCHEDULED,
                idempotency_key=idempotency_key,
            )
            AuctionEvent.objects.create(auction=auction, to_status=auction.status, actor=actor)
            running_changed_on_commit(auction)
    except (IntegrityError, Conflict) as error:
        # The same key raced in on another request and won (this one then found the
        # unit it took held, or the key taken): answer as it was answered.
        if isinstance(error, Conflict) and error.code != "out_of_stock":
            raise
        previous = auction_for_key(seller=actor, key=idempotency_key)
        if previous is None:
            raise
        return previous
    return auction


def _validate_prices(start: int, reserve: int | None, buy_now: int | None, currency: str):
    money = lambda cents: format_money(cents, currency)  # noqa: E731
    if start <= 0:
        raise Invalid("The starting price must be more than zero.", code="start_price")
    if reserve is not None and reserve <= start:
        raise Invalid(
            f"A reserve must be above the starting price ({money(start)}); leave it empty "
            "for none.",
            code="reserve",
        )
    floor = max(start, reserve or 0)
    if buy_now is not None and buy_now <= floor:
        raise Invalid(
            f"The buy-it-now price must be above {money(floor)} (the starting price and "
            "any reserve).",
            code="buy_now",
        )


@transaction.atomic
def auction_cancel(*, actor, auction: Auction) -> Auction:
    """The seller withdraws the auction, which is allowed only before the first bid."""
    auction = auction_and_item_for_update(auction.pk)
    if auction.seller_id != actor.pk:
        raise NotAllowed("Only the seller can cancel this auction.")
    if auction.status not in (Status.SCHEDULED, Status.LIVE):
        raise Conflict("This auction is over; there is nothing to cancel.", code="auction_ended")
    if auction.bid_count:
        raise Conflict(
            "Bids have been placed: an auction can be cancelled only before the first bid.",
            code="has_bids",
        )
    transition(auction, Status.CANCELLED, actor=actor)
    release_stock(auction, "auction cancelled")
    return save(auction, "cancelled")
