"""Flash auctions from the stall room: the seller, in their stall, puts one unit of
one of its items up for 30 seconds to 5 minutes, with the usual soft close or in
"sudden death" (the end never moves); the bid panel and its server-time countdown
appear over the stall for everyone present.

A thin layer over `services.auction_start`: the same stock reservation, idempotency
key and bid path. What it adds: the shorter durations, one live flash auction per
seller at a time (a partial unique index, so two tabs racing cannot both start one),
the `flash` and `sudden_death` flags, and the nudge to the stall room after commit.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from stalls.models import Item, Stall
from stalls.room.overlay import overlay_announce_on_commit, overlay_keys, overlay_shown

from .models import Auction
from .services.starting import auction_start

FLASH_MIN = timedelta(seconds=30)
FLASH_MAX = timedelta(minutes=5)
# What the seller's form offers, in seconds.
FLASH_DURATIONS = (30, 60, 90, 120, 180, 300)
# A closed flash auction stays over the stall this long, so those present read how it ended.
SHOWN_AFTER_CLOSE = timedelta(minutes=2)
OVERLAY_TOPIC = "auction"


def flash_auction_start(
    *,
    actor,
    item: Item,
    start_cents: int,
    duration: timedelta,
    sudden_death: bool,
    idempotency_key: str,
) -> Auction:
    """Start a flash auction of one unit of the seller's `item`, now. A repeated key
    returns the first auction; a second one while the last is live is refused."""
    if not FLASH_MIN <= duration <= FLASH_MAX:
        raise Invalid("A flash auction runs from 30 seconds to 5 minutes.", code="duration")
    if item.stall.seller.user_id != actor.pk:
        raise NotAllowed("Only the stall's seller can start a flash auction of its items.")
    try:
        with transaction.atomic():
            auction = auction_start(
                actor=actor,
                item=item,
                start_cents=start_cents,
                reserve_cents=None,
                buy_now_cents=None,
                duration=duration,
                idempotency_key=idempotency_key,
            )
            if not auction.flash:  # new (a repeated key finds it flagged already)
                auction.flash = True
                auction.sudden_death = sudden_death
                auction.save(update_fields=["flash", "sudden_death"])
                overlay_announce_on_commit(
                    stall_public_id=item.stall.public_id, topic=OVERLAY_TOPIC, event="started"
                )
    except (IntegrityError, Conflict) as error:
        # The same key may have raced in on another request and won (this one then
        # found the unit held, or the flash index taken): answer as it was answered.
        previous = Auction.objects.filter(seller=actor, idempotency_key=idempotency_key).first()
        if previous is not None:
            return previous
        if isinstance(error, Conflict):
            raise
        raise Conflict(
            "Your last flash auction is still running or closing: start the next one when "
            "it has ended.",
            code="flash_running",
        ) from error
    return auction


def flash_auction_shown(*, stall: Stall, now: datetime | None = None) -> Auction | None:
    """The flash auction shown over the stall: the live one, else the last one for a
    short while after it closed. That there is none now is kept until the stall's next
    announcement (only `flash_auction_start` makes one, and it announces)."""
    if now is not None:
        return _flash_auction_at(stall, now)
    return overlay_shown(
        stall_public_id=stall.public_id,
        topic=OVERLAY_TOPIC,
        read=lambda: _flash_auction_at(stall, timezone.now()),
    )


def flash_overlay_keys(stall: Stall) -> list[str]:
    """What `flash_auction_shown` reads from the cache (the stall page reads it ahead)."""
    return overlay_keys(stall_public_id=stall.public_id, topic=OVERLAY_TOPIC)


def _flash_auction_at(stall: Stall, now: datetime) -> Auction | None:
    return (
        Auction.objects.filter(item__stall=stall, flash=True)
        .exclude(status=Auction.Status.CANCELLED)
        .exclude(closed_at__lt=now - SHOWN_AFTER_CLOSE)
        .select_related("item", "leader", "winner")
        .order_by("-created_at", "-id")
        .first()
    )
