"""Bidding: a bid (with an optional proxy maximum) and buy-it-now, under the
auction's lock; a repeated key answers as the first time."""

import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from bazaar.money import format_money
from orders.selectors import buyer_has_payment_method, shipping_address_for

from ..frames import ladder_of
from ..locks import auction_for_update
from ..models import Auction, Bid
from ..notices import outbid_notify
from ..rules import resolve_bid, soft_close
from .charging import charge_due, charge_or_refuse
from .lifecycle import CLOSE_GRACE, ChargeKind, Status, save, transition

# What a bid changes: the bid path writes only these columns.
BID_FIELDS = ["status", "price_cents", "leader", "leader_max_cents", "bid_count", "ends_at"]


@dataclass(frozen=True)
class BidOutcome:
    """The bidder's own bid row and the auction as it stood after it."""

    bid: Bid
    auction: Auction

    @property
    def version(self) -> int:
        """The auction's version once this bid was in: its state at or past it shows it."""
        return self.auction.version

    @property
    def message(self) -> str:
        money = lambda cents: format_money(cents, self.auction.currency)  # noqa: E731
        bid = self.bid
        if bid.kind == Bid.Kind.MAX and not bid.leading:
            return f"Your maximum is now {money(bid.max_cents)}; the price stays where it is."
        if bid.leading:
            extra = (
                f" The system bids for you up to {money(bid.max_cents)}."
                if bid.max_cents and bid.max_cents > bid.amount_cents
                else ""
            )
            return f"You are the high bidder at {money(bid.amount_cents)}.{extra}"
        return (
            f"Your bid of {money(bid.amount_cents)} was outbid at once by an earlier "
            "maximum; bid again to take the lead."
        )


def require_bidder(*, user, auction: Auction) -> None:
    if not user.is_authenticated:
        raise NotAllowed("Sign in to bid.", code="auth_required")
    if auction.seller_id == user.pk:
        raise NotAllowed("You cannot bid on your own auction.", code="own_auction")
    if not buyer_has_payment_method(user=user):
        raise Conflict(
            "Add a payment method before you bid: the winner is charged when the auction ends.",
            code="payment_method_required",
        )
    if shipping_address_for(buyer=user) is None:
        raise Conflict(
            "Add a shipping address before you bid: the winner's order ships there.",
            code="address_required",
        )


def open_for_bids(auction: Auction, arrived_at: datetime) -> None:
    """Refuse unless bidding is open at `arrived_at`; a scheduled auction whose start
    has come goes live here. The caller holds the lock."""
    at = lambda moment: timezone.localtime(moment).strftime("%H:%M:%S %Z")  # noqa: E731
    if auction.status == Status.SCHEDULED and arrived_at >= auction.starts_at:
        transition(auction, Status.LIVE, note="the start time came")
    if auction.status == Status.SCHEDULED:
        raise Conflict(f"Bidding opens at {at(auction.starts_at)}.", code="not_started")
    if auction.status == Status.CANCELLED:
        raise Conflict("This auction was cancelled.", code="auction_cancelled")
    if auction.status == Status.ENDED and auction.charge_kind == ChargeKind.BUY_NOW:
        raise Conflict("Someone is buying this item now at the buy-it-now price.", code="buy_now")
    if auction.status != Status.LIVE or arrived_at >= auction.ends_at:
        raise Conflict(
            f"Bidding closed at {at(auction.ends_at)}; your bid arrived after the end.",
            code="auction_ended",
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
    the auction's lock: it decides whether the bid came before the end. When this
    returns, the bid has committed. A repeated key returns the first outcome.
    """
    arrived_at = arrived_at or timezone.now()
    previous = _bid_for_key(bidder=bidder, key=idempotency_key)
    if previous is not None:
        return previous
    require_bidder(user=bidder, auction=auction)
    if amount_cents <= 0:
        raise Invalid("Enter an amount to bid.", code="amount")
    place = partial(
        _bid_locked,
        bidder=bidder,
        auction=auction,
        amount_cents=amount_cents,
        max_cents=max_cents,
        idempotency_key=idempotency_key,
        arrived_at=arrived_at,
    )
    try:
        return place()
    except Conflict as refusal:
        wait = _late_bid_wait(refusal, auction_id=auction.pk, arrived_at=arrived_at)
        if not wait:
            raise
    time.sleep(wait)
    return place()


def _late_bid_wait(refusal: Conflict, *, auction_id: int, arrived_at: datetime) -> float:
    """Seconds to wait before asking once more whether a bid refused as late counts.

    A bid that arrived before the end may still be waiting for the lock, and its soft
    close would move the end past this one: had it taken the lock first, this bid
    would have counted. Such bids hold the lock within CLOSE_GRACE of the end (the
    bound the sweep waits for), so a bid that arrived in that span waits until it is
    over. Zero when waiting cannot change the answer.
    """
    if refusal.code != "auction_ended":
        return 0.0
    ends_at, status = Auction.objects.values_list("ends_at", "status").get(pk=auction_id)
    now = timezone.now()
    if status != Status.LIVE or now < ends_at or arrived_at - ends_at >= CLOSE_GRACE:
        return 0.0
    return max(0.0, (ends_at + CLOSE_GRACE - now).total_seconds())


def _bid_locked(
    *,
    bidder,
    auction: Auction,
    amount_cents: int,
    max_cents: int | None,
    idempotency_key: str,
    arrived_at: datetime,
) -> BidOutcome:
    """`bid_place`'s work under the auction's lock."""
    try:
        with transaction.atomic():
            locked = auction_for_update(auction.pk)
            # A copy of this bid that took the lock first has committed by now: the
            # key is checked again here, or its copies would be refused by its outcome.
            previous = _bid_for_key(bidder=bidder, key=idempotency_key)
            if previous is not None:
                return previous
            open_for_bids(locked, arrived_at)
            previous_leader = locked.leader  # loaded anyway when a proxy answers
            resolution = resolve_bid(
                ladder_of(locked), bidder=bidder.pk, amount_cents=amount_cents, max_cents=max_cents
            )
            person = lambda pk: bidder if pk == bidder.pk else locked.leader  # noqa: E731
            rows = [
                Bid(
                    auction=locked,
                    bidder=person(step.bidder),
                    kind=step.kind,
                    amount_cents=step.amount_cents,
                    max_cents=step.max_cents,
                    leading=step.leading,
                    received_at=arrived_at,
                    idempotency_key=idempotency_key if step.bidder == bidder.pk else "",
                )
                for step in resolution.steps
            ]
            Bid.objects.bulk_create(rows)
            locked.price_cents = resolution.price_cents
            locked.leader = person(resolution.leader)
            locked.leader_max_cents = resolution.leader_max_cents
            locked.bid_count += sum(row.public for row in rows)
            locked.ends_at = soft_close(
                ends_at=locked.ends_at, hard_ends_at=locked.hard_ends_at, arrived_at=arrived_at
            )
            save(locked, "bid", rows, BID_FIELDS)
            outbid_notify(auction=locked, previous_leader=previous_leader)
    except IntegrityError:
        # The same key raced in on another request and won: answer as it was answered.
        previous = _bid_for_key(bidder=bidder, key=idempotency_key)
        if previous is None:
            raise
        return previous
    mine = next(row for row in rows if row.idempotency_key)
    return BidOutcome(bid=mine, auction=locked)


_key_index = ~Q(idempotency_key="")  # the predicate of Bid's partial unique index


def _bid_for_key(*, bidder, key: str) -> BidOutcome | None:
    """The outcome of the bid this bidder sent with this key before, if any."""
    if not bidder.is_authenticated:
        return None
    # The unique partial index answers this; `first()` would add an ORDER BY that
    # PostgreSQL may serve by walking the primary key past every bid.
    bid = next(iter(Bid.objects.filter(_key_index, bidder=bidder, idempotency_key=key)[:1]), None)
    if bid is None:
        return None
    auction = Auction.objects.select_related("leader", "winner").get(pk=bid.auction_id)
    return BidOutcome(bid=bid, auction=auction)


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
