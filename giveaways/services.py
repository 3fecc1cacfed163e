"""Writes for giveaways: open, enter, draw, cancel, claim.

Every change takes the giveaway's row lock (`locks.giveaway_for_update`) and writes an
audit row in the same transaction; the stall room is nudged after commit. The prize's
unit is held in stalls' ledger from opening until the winner's order consumes it.

Entering is a tap, as on Whatnot, rather than everyone present counting: nobody is
put in for a prize (and asked for their address) without asking, and a tap shows a
person is watching, not a tab left open. The draw is among those who entered and are
in the stall's room at the draw (and, for followers-only giveaways, still follow).
"""

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from notifications.models import Kind
from notifications.services import notify
from orders.checkout.prizes import order_create_for_prize
from orders.checkout.services import shipping_address_save
from stalls.models import Item, Reservation
from stalls.room.overlay import overlay_announce_on_commit
from stalls.room.visitors import room_present_user_ids
from stalls.services import reservation_release, reservation_take
from watchlist.selectors import followers_of_stall

from .locks import giveaway_and_item_for_update, giveaway_for_update
from .models import Giveaway, GiveawayDraw, GiveawayEntry, GiveawayEvent
from .selectors import OVERLAY_TOPIC

Status = Giveaway.Status
# An open giveaway is drawn within this time or no longer shown; the winner has
# CLAIM_FOR to give an address. The unit is held for both, and a margin.
OPEN_FOR = timedelta(hours=1)
CLAIM_FOR = timedelta(hours=48)
HOLD_MARGIN = timedelta(hours=1)

TRANSITIONS = {
    Status.OPEN: {Status.DRAWN, Status.CANCELLED, Status.EXPIRED},
    Status.DRAWN: {Status.CLAIMED, Status.UNCLAIMED},
}


def _transition(giveaway: Giveaway, to: Status, *, actor=None, note: str = "") -> None:
    """The one way a giveaway's status changes: checked against TRANSITIONS, audited.
    The caller holds the lock and saves the row."""
    if to not in TRANSITIONS.get(giveaway.status, set()):
        raise Conflict(
            f"A giveaway that is {giveaway.get_status_display().lower()} cannot be {to}."
        )
    GiveawayEvent.objects.create(
        giveaway=giveaway, from_status=giveaway.status, to_status=to, actor=actor, note=note[:200]
    )
    giveaway.status = to


def _announce(giveaway: Giveaway, event: str) -> None:
    overlay_announce_on_commit(
        stall_public_id=giveaway.stall.public_id, topic=OVERLAY_TOPIC, event=event
    )


def giveaway_open(*, actor, item: Item, audience: str, idempotency_key: str) -> Giveaway:
    """The seller puts one unit of their item up as a giveaway in their stall; the
    unit is held until the winner's order takes it. A repeated key returns the first."""
    previous = Giveaway.objects.filter(seller=actor, idempotency_key=idempotency_key).first()
    if previous is not None:
        return previous
    if item.stall.seller.user_id != actor.pk:
        raise NotAllowed("Only the stall's seller can give its items away.")
    if audience not in Giveaway.Audience.values:
        raise Invalid("Choose who may enter: everyone in the stall, or its followers.")
    now = timezone.now()
    try:
        with transaction.atomic():
            giveaway = Giveaway.objects.create(
                stall=item.stall,
                item=item,
                seller=actor,
                audience=audience,
                opened_at=now,
                draw_by=now + OPEN_FOR,
                idempotency_key=idempotency_key,
            )
            giveaway.reservation = _hold(item=item, holder=actor, giveaway=giveaway)
            giveaway.save(update_fields=["reservation"])
            GiveawayEvent.objects.create(giveaway=giveaway, to_status=Status.OPEN, actor=actor)
            _announce(giveaway, "opened")
    except (IntegrityError, Conflict) as error:
        # The same key may have raced in on another request and won (this one then
        # found the unit held, or the open index taken): answer as it was answered.
        previous = Giveaway.objects.filter(seller=actor, idempotency_key=idempotency_key).first()
        if previous is not None:
            return previous
        if isinstance(error, Conflict):
            raise
        raise Conflict(
            "A giveaway is already open in your stall: draw it (or cancel it) first.",
            code="giveaway_open",
        ) from error
    return giveaway


def _hold(*, item: Item, holder, giveaway: Giveaway) -> Reservation:
    try:
        return reservation_take(
            item=item,
            holder=holder,
            reason=Reservation.Reason.GIVEAWAY,
            ttl=OPEN_FOR + CLAIM_FOR + HOLD_MARGIN,
            reference=giveaway.public_id,
        )
    except Conflict as error:
        if error.code != "out_of_stock":
            raise
        raise Conflict(
            f"Every unit of “{item.title}” is sold or held already; none is free to give away.",
            code="out_of_stock",
        ) from error


def _require_open(giveaway: Giveaway, now: datetime) -> None:
    if giveaway.status != Status.OPEN:
        raise Conflict("The draw has been made: this giveaway is closed.", code="giveaway_closed")
    if giveaway.draw_by <= now:
        raise Conflict("This giveaway ran out of time without a draw.", code="giveaway_expired")


def giveaway_enter(*, user, giveaway: Giveaway, now: datetime | None = None) -> GiveawayEntry:
    """One tap: the person is in the draw (again: the same entry). Free, no purchase."""
    now = now or timezone.now()
    if not user.is_authenticated:
        raise NotAllowed("Log in to enter the giveaway.", code="auth_required")
    with transaction.atomic():
        locked = giveaway_for_update(giveaway.pk)
        if locked.seller_id == user.pk:
            raise NotAllowed("You cannot enter your own giveaway.", code="own_giveaway")
        entry = GiveawayEntry.objects.filter(giveaway=locked, user=user).first()
        if entry is not None:
            return entry
        _require_open(locked, now)
        if locked.followers_only and not _follows(locked, [user.pk]):
            raise Conflict(
                "This giveaway is for the stall's followers: follow the stall, then enter.",
                code="followers_only",
            )
        return GiveawayEntry.objects.create(giveaway=locked, user=user, entered_at=now)


def _follows(giveaway: Giveaway, user_ids: list[int]) -> set[int]:
    """Which of these people follow the giveaway's stall now."""
    followers = followers_of_stall(stall=giveaway.stall).filter(pk__in=user_ids)
    return set(followers.values_list("pk", flat=True))


def giveaway_draw(*, actor, giveaway: Giveaway, now: datetime | None = None) -> Giveaway:
    """Draw the winner at random (`secrets`) among the eligible: entered, in the stall's
    room now, signed in and active, and following the stall if the giveaway says so.
    Recorded in full (GiveawayDraw). A second draw (a double click, another tab)
    finds the first one made and returns it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = giveaway_for_update(giveaway.pk)
        if locked.seller_id != actor.pk:
            raise NotAllowed("Only the seller draws their giveaway.")
        if locked.status in (Status.DRAWN, Status.CLAIMED):
            return locked
        _require_open(locked, now)
        entries = list(
            locked.entries.filter(user__is_active=True)
            .select_related("user")
            .order_by("user__public_id")
        )
        present = room_present_user_ids(stall_public_id=locked.stall.public_id)
        eligible = [entry.user for entry in entries if entry.user.public_id in present]
        if locked.followers_only:
            following = _follows(locked, [user.pk for user in eligible])
            eligible = [user for user in eligible if user.pk in following]
        if not eligible:
            raise Conflict(_nobody_eligible(locked, entered=len(entries)), code="nobody_eligible")
        pick = secrets.randbelow(len(eligible))
        winner = eligible[pick]
        GiveawayDraw.objects.create(
            giveaway=locked,
            actor=actor,
            drawn_at=now,
            entrants=len(entries),
            present=len(present),
            eligible=[{"id": user.public_id, "handle": user.handle} for user in eligible],
            pick=pick,
            winner=winner,
        )
        _transition(locked, Status.DRAWN, actor=actor, note=f"won by @{winner.handle}")
        locked.winner, locked.drawn_at, locked.claim_by = winner, now, now + CLAIM_FOR
        locked.save(update_fields=["status", "winner", "drawn_at", "claim_by"])
        _announce(locked, "drawn")
        _tell_the_winner(locked)
    return locked


def _tell_the_winner(giveaway: Giveaway) -> None:
    """A bell and (by default) an email, after commit: the prize is theirs only if they
    claim it in time, and they may have left the stall since the draw."""
    notify(
        giveaway.winner,
        Kind.GIVEAWAY_WON,
        title=f"You won “{giveaway.item.title}” in {giveaway.stall.name}'s giveaway",
        body=(
            f"Claim it by {date_format(giveaway.claim_by, 'DATETIME_FORMAT')} (UTC): give the "
            "address to ship it to. It costs nothing."
        ),
        url=reverse("giveaways:detail", args=[giveaway.public_id]),
        dedupe_key=f"giveaway-won:{giveaway.public_id}",
    )


def _nobody_eligible(giveaway: Giveaway, *, entered: int) -> str:
    if not entered:
        return "Nobody has entered yet: wait for entries, then draw."
    who = "followers who entered" if giveaway.followers_only else "people who entered"
    return f"None of the {who} is in the stall now: the winner must be here at the draw."


def giveaway_cancel(*, actor, giveaway: Giveaway) -> Giveaway:
    """The seller withdraws an open giveaway; the held unit goes back on sale."""
    with transaction.atomic():
        locked = giveaway_and_item_for_update(giveaway.pk)
        if locked.seller_id != actor.pk:
            raise NotAllowed("Only the seller can cancel their giveaway.")
        if locked.status == Status.CANCELLED:
            return locked
        if locked.status != Status.OPEN:
            raise Conflict("The draw has been made: the prize is the winner's.", code="drawn")
        _transition(locked, Status.CANCELLED, actor=actor)
        locked.save(update_fields=["status"])
        reservation_release(reservation=locked.reservation, note="giveaway cancelled")
        _announce(locked, "cancelled")
    return locked


def giveaway_claim(
    *, winner, giveaway: Giveaway, address: dict[str, str], now: datetime | None = None
) -> Giveaway:
    """The winner gives a shipping address and gets the prize as an order at zero
    price, in escrow like any other: the seller ships it, escrow releases as usual.
    Claiming twice returns the same order."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = giveaway_and_item_for_update(giveaway.pk)
        if locked.winner_id != winner.pk or locked.status not in (Status.DRAWN, Status.CLAIMED):
            raise NotFound("You have no prize to claim from this giveaway.")
        if locked.status == Status.CLAIMED:
            return locked
        if locked.claim_by <= now:
            raise Conflict("The time to claim this prize has run out.", code="claim_expired")
        shipping_address_save(buyer=winner, **address)
        order = order_create_for_prize(
            buyer=winner,
            item=locked.item,
            reservation=locked.reservation,
            reference=f"giveaway:{locked.public_id}",
        )
        _transition(locked, Status.CLAIMED, actor=winner, note=f"order {order.public_id}")
        locked.order_public_id = order.public_id
        locked.save(update_fields=["status", "order_public_id"])
        _announce(locked, "claimed")
    return locked


def giveaways_close_due(*, now: datetime | None = None) -> int:
    """The scheduled close: an open giveaway not drawn by its `draw_by`, or a prize not
    claimed by its `claim_by`, ends (audited) and its held unit goes back on sale.
    Each under its own locks, checked again there: a draw or a claim that got in
    first wins. How many were closed."""
    now = now or timezone.now()
    due = Giveaway.objects.filter(
        Q(status=Status.OPEN, draw_by__lte=now) | Q(status=Status.DRAWN, claim_by__lte=now)
    ).values_list("pk", flat=True)
    return sum(_close_if_due(giveaway_id, now) for giveaway_id in due)


def _close_if_due(giveaway_id: int, now: datetime) -> bool:
    with transaction.atomic():
        locked = giveaway_and_item_for_update(giveaway_id)
        if locked.status == Status.OPEN and locked.draw_by <= now:
            _transition(locked, Status.EXPIRED, note="not drawn in time")
            note = "giveaway not drawn in time"
        elif locked.status == Status.DRAWN and locked.claim_by <= now:
            _transition(locked, Status.UNCLAIMED, note=f"@{locked.winner.handle} did not claim")
            note = "giveaway prize not claimed in time"
        else:
            return False
        locked.save(update_fields=["status"])
        reservation_release(reservation=locked.reservation, note=note)
        _announce(locked, locked.status)
    return True
