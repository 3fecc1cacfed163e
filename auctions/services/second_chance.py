"""The runner-up's second-chance offer: accepted (and charged), declined, or run out."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bazaar.errors import Conflict, NotFound

from ..locks import auction_and_item_for_update, auction_for_update
from ..models import Auction
from .charging import charge_due, charge_or_refuse
from .lifecycle import ChargeKind, Status, release_stock, save, transition


def second_chance_accept(*, buyer, auction: Auction, now: datetime | None = None) -> Auction:
    """The runner-up takes the item at their last bid: they are charged now."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = auction_for_update(auction.pk)
        if locked.status == Status.SETTLED and locked.winner_id == buyer.pk:
            return locked
        _require_offer(locked, buyer=buyer, now=now)
        if not locked.charge_reference:
            charge_due(locked, ChargeKind.SECOND_CHANCE)
            save(locked, "accepted")
    return charge_or_refuse(
        locked, now=now, then="Update your card and accept again before the offer runs out."
    )


@transaction.atomic
def second_chance_decline(*, buyer, auction: Auction, now: datetime | None = None) -> Auction:
    locked = auction_and_item_for_update(auction.pk)
    _require_offer(locked, buyer=buyer, now=now or timezone.now())
    if locked.charge_reference:
        raise Conflict("Your payment is being taken; it is too late to decline.", code="charging")
    transition(locked, Status.UNSOLD, actor=buyer, note="the runner-up declined")
    release_stock(locked, "auction unsold: the runner-up declined")
    return save(locked, "unsold")


def _require_offer(auction: Auction, *, buyer, now: datetime) -> None:
    if (
        auction.status != Status.ENDED
        or auction.charge_kind != ChargeKind.SECOND_CHANCE
        or auction.winner_id != buyer.pk
    ):
        raise NotFound("You have no offer on this auction.")
    if auction.second_chance_until <= now:
        raise Conflict("This offer has run out.", code="offer_expired")


@transaction.atomic
def second_chance_expire(*, auction_id: int, now: datetime | None = None) -> Auction | None:
    now = now or timezone.now()
    auction = auction_and_item_for_update(auction_id)
    if (
        auction.status != Status.ENDED
        or auction.charge_kind != ChargeKind.SECOND_CHANCE
        or auction.charge_reference
        or auction.second_chance_until > now
    ):
        return None
    transition(auction, Status.UNSOLD, note="the second-chance offer ran out")
    release_stock(auction, "auction unsold: the second-chance offer ran out")
    return save(auction, "unsold")
