"""Bidding: bids (with an optional proxy maximum) by POST or over the auction's
socket, gathered per auction into batches (`bazaar.group_commit`, resolved by
`bid_batch`), and buy-it-now. A repeated key answers as the first time.

Arrival order is the order bids reach the server (`arrived_at`, taken before any
wait) within a batch, and the order batches take the auction's row lock between
batches; docs/decisions.md says why that is fair across several web processes.
"""

import asyncio
import os
import time
from datetime import datetime
from functools import cache

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from bazaar.commit_hooks import HeldHooks
from bazaar.errors import Conflict, Invalid
from bazaar.group_commit import GroupCommit, Written
from bazaar.threads import ProcessThreads

from ..locks import auction_for_update
from ..models import Auction
from .bid_batch import (
    BidOutcome,
    BidRequest,
    bids_write,
    may_bid,
    open_for_bids,
    unready_bidders,
    unready_refusal,
)
from .charging import charge_due, charge_or_refuse
from .lifecycle import CLOSE_GRACE, ChargeKind, Status, save, transition


def _bids_write_answering_first(auction_id: int, take) -> Written:
    """A batch's answers before its after-commit work (the watchers' broadcast, the
    outbid notices' job, analytics, metrics): its bidders wait for the commit, not for
    the broker and Redis. The batch is taken once the auction is locked."""
    held = HeldHooks()
    return Written(bids_write(auction_id, take, hold=held), then=held.run)


@cache
def _row_locks_exclude() -> bool:
    """The next batch may wait at the auction's row lock while this one writes only
    where that lock excludes it (PostgreSQL); SQLite has no row locks, so there the
    next batch starts once this one is done."""
    return connection.features.has_select_for_update


def _bid_batches() -> GroupCommit:
    return GroupCommit(_bids_write_answering_first, overlap=_row_locks_exclude)


_batches = _bid_batches()
# Socket bids wait without a thread; their checks and the batches they write run here
# (Channels' own database thread is one per process, shared by every consumer).
_bid_threads = ProcessThreads(8, "bids")


def _fresh_after_fork() -> None:
    """A forked process (a pre-forking server's worker, a live-server test's) would wait
    on the parent's unfinished batches, whose writers did not survive the fork. It
    starts batches of its own (the bid threads do so by themselves)."""
    global _batches
    _batches = _bid_batches()


os.register_at_fork(after_in_child=_fresh_after_fork)


def _in_bid_thread(function):
    """`function` in one of the bid threads, its connection back to the pool after."""

    def closing(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(closing, thread_sensitive=False, executor=_bid_threads)


def require_bidder(*, user, auction: Auction) -> None:
    """Everything a bid needs of its bidder, asked now (buy-it-now; a bid asks the
    last two in its batch)."""
    may_bid(user=user, auction=auction)
    code = unready_bidders({user.pk}).get(user.pk)
    if code is not None:
        raise unready_refusal(code)


def _bid_request(
    *, bidder, auction: Auction, amount_cents, max_cents, idempotency_key, arrived_at
) -> BidRequest:
    """The checks a bid passes before it queues, none of them a query: whether the
    bidder can pay and ship, and whether the key was answered before, are asked in the
    batch, once for all its bids."""
    may_bid(user=bidder, auction=auction)
    if amount_cents <= 0:
        raise Invalid("Enter an amount to bid.", code="amount")
    return BidRequest(
        bidder=bidder,
        amount_cents=amount_cents,
        max_cents=max_cents,
        idempotency_key=idempotency_key,
        arrived_at=arrived_at or timezone.now(),
    )


def bid_place(
    *,
    bidder,
    auction: Auction,
    amount_cents: int,
    max_cents: int | None = None,
    idempotency_key: str,
    arrived_at: datetime | None = None,
) -> BidOutcome:
    """Accept a bid (with an optional proxy maximum) or refuse it with the reason.

    `arrived_at` is when the request reached the server, taken before waiting for
    anything: it orders the bid and decides whether it came before the end. When
    this returns, the bid has committed. A repeated key returns the first outcome.
    """
    request = _bid_request(
        bidder=bidder,
        auction=auction,
        amount_cents=amount_cents,
        max_cents=max_cents,
        idempotency_key=idempotency_key,
        arrived_at=arrived_at,
    )
    _release_connection()
    try:
        return _batches.run(auction.pk, request)
    except Conflict as refusal:
        if refusal.code != "auction_ended":
            raise
        wait = _late_bid_wait(auction_id=auction.pk, arrived_at=request.arrived_at)
        if not wait:
            raise
    time.sleep(wait)
    _release_connection()
    return _batches.run(auction.pk, request)


def _release_connection() -> None:
    """A request about to wait for its batch gives its database connection back to
    the pool, unless a transaction holds it: a hundred bids in flight would otherwise
    hold every pooled connection while waiting, and the rest wait for one (a batch
    takes one when its writer writes). Without a pool (SQLite) it keeps it."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


async def bid_place_async(**bid) -> BidOutcome:
    """`bid_place` for the auction's socket, with the same arguments (`arrived_at`
    given): its batch runs in the bid threads, and it waits for its batch without
    holding a thread."""
    request = _bid_request(**bid)
    auction_id = bid["auction"].pk
    try:
        return await _batches.run_async(auction_id, request, _in_bid_thread)
    except Conflict as refusal:
        if refusal.code != "auction_ended":  # most refusals: no thread hop to ask
            raise
        wait = await _in_bid_thread(_late_bid_wait)(
            auction_id=auction_id, arrived_at=request.arrived_at
        )
        if not wait:
            raise
    await asyncio.sleep(wait)
    return await _batches.run_async(auction_id, request, _in_bid_thread)


def _late_bid_wait(*, auction_id: int, arrived_at: datetime) -> float:
    """Seconds to wait before asking once more whether a bid refused as late counts.

    A bid that arrived before the end may still be waiting for the lock, and its soft
    close would move the end past this one: had it taken the lock first, this bid
    would have counted. Such bids hold the lock within CLOSE_GRACE of the end (the
    bound the sweep waits for), so a bid that arrived in that span waits until it is
    over. Zero when waiting cannot change the answer.
    """
    ends_at, status = Auction.objects.values_list("ends_at", "status").get(pk=auction_id)
    now = timezone.now()
    if status != Status.LIVE or now < ends_at or arrived_at - ends_at >= CLOSE_GRACE:
        return 0.0
    return max(0.0, (ends_at + CLOSE_GRACE - now).total_seconds())


def auction_buy_now(
    *, buyer, auction: Auction, arrived_at: datetime | None = None, now: datetime | None = None
) -> Auction:
    """Buy at the buy-it-now price before the first bid: the auction ends and the
    buyer is charged at once. A declined card puts the auction back to bidding."""
    arrived_at = arrived_at or timezone.now()
    require_bidder(user=buyer, auction=auction)
    with transaction.atomic():
        locked = auction_for_update(auction.pk)
        if locked.winner_id == buyer.pk and locked.charge_kind == ChargeKind.BUY_NOW:
            return locked  # a retry of the purchase already under way (or done)
        open_for_bids(locked, arrived_at)
        if locked.buy_now_cents is None or locked.bid_count:
            raise Conflict(
                "Buy-it-now is no longer offered: bidding has started.", code="buy_now_gone"
            )
        transition(locked, Status.ENDED, actor=buyer, note="bought with buy-it-now")
        locked.closed_at = arrived_at
        locked.winner = buyer
        locked.final_price_cents = locked.buy_now_cents
        charge_due(locked, ChargeKind.BUY_NOW)
        save(locked, "bought")
    return charge_or_refuse(locked, now=now, then="The auction goes on.")
