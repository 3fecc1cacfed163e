"""Opening and closing auctions on time, and the sweep that drives them."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record

from ..locks import auction_and_item_for_update, auction_for_update
from ..models import Auction
from ..notices import closed_notify
from ..rules import reserve_met
from .charging import auction_charge, charge_due
from .lifecycle import (
    CHARGE_RETRY_AFTER,
    CLOSE_GRACE,
    ChargeKind,
    Status,
    release_stock,
    save,
    transition,
)
from .second_chance import second_chance_expire

log = logging.getLogger(__name__)


def auction_open(*, auction_id: int, now: datetime | None = None) -> Auction | None:
    """A scheduled auction whose start has come goes live (the sweep's first job)."""
    now = now or timezone.now()
    with transaction.atomic():
        auction = auction_for_update(auction_id)
        if auction.status != Status.SCHEDULED or auction.starts_at > now:
            return None
        transition(auction, Status.LIVE, note="the start time came")
        return save(auction, "started")


def auction_close(*, auction_id: int, now: datetime | None = None) -> Auction | None:
    """Close a live auction whose end (re-read under the lock: soft close moves it)
    passed at least CLOSE_GRACE ago. Exactly once: a second caller finds it closed.

    The leader wins if the reserve is met, and is charged next (`auction_charge`);
    otherwise the auction is unsold and its unit goes back on sale.
    """
    now = now or timezone.now()
    with transaction.atomic():
        auction = auction_and_item_for_update(auction_id)
        if auction.status != Status.LIVE or auction.ends_at > now - CLOSE_GRACE:
            return None
        transition(auction, Status.ENDED, note="the end passed")
        auction.closed_at = now
        if auction.leader_id and reserve_met(auction.price_cents, auction.reserve_cents):
            auction.winner = auction.leader
            auction.final_price_cents = auction.price_cents
            charge_due(auction, ChargeKind.WIN)
            record(Kind.AUCTION_WON, user=auction.winner, item=auction.item)
        else:
            note = "the reserve was not met" if auction.leader_id else "there were no bids"
            transition(auction, Status.UNSOLD, note=note)
            release_stock(auction, f"auction unsold: {note}")
        closed_notify(auction=auction)
        record(Kind.AUCTION_ENDED, item=auction.item, amount_cents=auction.final_price_cents)
        return save(auction, "closed")


def auctions_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The beat's job, every second: open what is due, close what has ended, charge
    what is due, expire old offers. Each step re-checks under the auction's lock, so
    two sweeps racing do each thing once. Returns how many of each it did."""
    now = now or timezone.now()
    auctions = Auction.objects.values_list("pk", flat=True)
    jobs = [
        ("opened", auction_open, auctions.filter(status=Status.SCHEDULED, starts_at__lte=now)),
        (
            "closed",
            auction_close,
            auctions.filter(status=Status.LIVE, ends_at__lte=now - CLOSE_GRACE),
        ),
        (
            "charged",
            auction_charge,
            auctions.filter(status=Status.ENDED)
            .exclude(charge_reference="")
            .exclude(charge_started_at__gt=now - CHARGE_RETRY_AFTER),
        ),
        (
            "expired",
            second_chance_expire,
            auctions.filter(
                status=Status.ENDED,
                charge_kind=ChargeKind.SECOND_CHANCE,
                charge_reference="",
                second_chance_until__lte=now,
            ),
        ),
    ]
    done = dict.fromkeys([name for name, _, _ in jobs], 0)
    for name, job, due in jobs:
        for pk in list(due[:200]):
            try:
                done[name] += job(auction_id=pk, now=now) is not None
            except Exception:
                # One auction's trouble (the gateway down, say) must not hold up the
                # others; what failed is due again on a later sweep.
                log.exception("Auction sweep: %s failed for auction %s", name, pk)
    return done
