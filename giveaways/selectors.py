"""Reads for giveaways: what the stall's overlay shows a person, a giveaway's page,
and the seller's tools. Anyone sees a giveaway, its count of entries and its winner;
the list of who was eligible at the draw is the seller's (and the stewards', in the
admin)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Q, When
from django.utils import timezone

from bazaar.errors import NotFound
from stalls.models import Stall
from stalls.room.overlay import overlay_keys, overlay_shown

from .models import Giveaway, GiveawayEntry

Status = Giveaway.Status
OVERLAY_TOPIC = "giveaway"
# The result stays over the stall this long after the draw, for those present to read.
RESULT_SHOWN_FOR = timedelta(minutes=2)


def giveaway_get(*, public_id: str) -> Giveaway:
    giveaway = (
        Giveaway.objects.select_related("stall__seller__user", "item", "winner", "seller")
        .filter(public_id=public_id)
        .first()
    )
    if giveaway is None:
        raise NotFound("No giveaway has that address.")
    return giveaway


def giveaway_shown(*, stall: Stall, user, now: datetime | None = None) -> Giveaway | None:
    """The giveaway over the stall, in one query: the open one; else, for a short
    while, the last draw's result; else, for its winner, their prize until it is
    claimed or runs out. That none shows to anyone now is kept until the stall's next
    announcement (every change of a giveaway's status announces), with no query."""
    if now is None and not giveaway_over_stall(stall=stall):
        return None
    now = now or timezone.now()
    open_now, result = _open_now(now), _result(now)
    shown = open_now | result
    if user.is_authenticated:
        shown |= Q(winner=user, status=Status.DRAWN, claim_by__gt=now)
    rank = Case(When(open_now, then=0), When(result, then=1), default=2)
    return (
        Giveaway.objects.filter(shown, stall=stall)
        .select_related("item", "winner")
        .order_by(rank, "-drawn_at", "claim_by")
        .first()
    )


def _open_now(now: datetime) -> Q:
    return Q(status=Status.OPEN, draw_by__gt=now)


def _result(now: datetime) -> Q:
    return Q(status__in=(Status.DRAWN, Status.CLAIMED), drawn_at__gt=now - RESULT_SHOWN_FOR)


def giveaway_over_stall(*, stall: Stall) -> bool:
    """Whether a giveaway shows over the stall to anyone, a winner's prize included.
    That none does is kept until the stall's next announcement, with no query."""

    def any_shown() -> int | None:
        now = timezone.now()
        unclaimed = Q(status=Status.DRAWN, claim_by__gt=now)
        anyone = _open_now(now) | _result(now) | unclaimed
        return Giveaway.objects.filter(anyone, stall=stall).values_list("pk", flat=True).first()

    return (
        overlay_shown(stall_public_id=stall.public_id, topic=OVERLAY_TOPIC, read=any_shown)
        is not None
    )


def giveaway_overlay_keys(stall: Stall) -> list[str]:
    """What the stage's giveaway reads from the cache (the stall page reads it ahead)."""
    return overlay_keys(stall_public_id=stall.public_id, topic=OVERLAY_TOPIC)


def giveaway_open_for_stall(*, stall: Stall) -> Giveaway | None:
    """The seller's open giveaway (the tools offer to draw or cancel it)."""
    return Giveaway.objects.filter(stall=stall, status=Status.OPEN).select_related("item").first()


@dataclass(frozen=True)
class Part:
    """One person's part in a giveaway: whether they may enter, have entered, won."""

    entered: bool
    won: bool
    is_seller: bool


def viewer_part(*, giveaway: Giveaway, user) -> Part:
    if not user.is_authenticated:
        return Part(entered=False, won=False, is_seller=False)
    return Part(
        entered=GiveawayEntry.objects.filter(giveaway=giveaway, user=user).exists(),
        won=giveaway.winner_id == user.pk,
        is_seller=giveaway.seller_id == user.pk,
    )


def entry_count(*, giveaway: Giveaway) -> int:
    return giveaway.entries.count()
