"""Writes for auctions: start, cancel, bid, buy it now, close, charge, second chance.

Every change to an auction happens under its row lock (`auctions.locks`), in one
transaction with an audit row, and is published after commit. Stock moves only
through stalls' reservation services; a change that may move it locks the item
first, then the auction. The winner is
charged through `orders.checkout.services.order_create_for_auction` with no lock held; its
reference makes a repeated charge nothing.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record
from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from bazaar.ids import new_ulid
from bazaar.money import format_money
from orders.checkout.selectors import shipping_address_for
from orders.checkout.services import order_create_for_auction
from orders.payments.selectors import buyer_has_payment_method
from orders.payments.services import PaymentFailed
from stalls.models import Item, Reservation
from stalls.services import reservation_release, reservation_take

from .frames import ladder_of, publish
from .locks import auction_and_item_for_update, auction_for_update
from .models import Auction, AuctionEvent, Bid
from .notices import closed_notify, outbid_notify, won_notify
from .notify import payment_declined_mail_on_commit, second_chance_mail_on_commit
from .rules import check_duration, hard_end, reserve_met, resolve_bid, soft_close

log = logging.getLogger(__name__)
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


def _transition(auction: Auction, to: Status, *, actor=None, note: str = "") -> None:
    """The one way an auction's status changes: checked against TRANSITIONS, audited.
    The caller holds the lock and saves the row."""
    if to not in TRANSITIONS.get(auction.status, set()):
        raise Conflict(f"An auction that is {auction.get_status_display().lower()} cannot be {to}.")
    AuctionEvent.objects.create(
        auction=auction, from_status=auction.status, to_status=to, actor=actor, note=note[:200]
    )
    auction.status = to


# What a bid changes: the bid path writes only these columns.
BID_FIELDS = ["status", "price_cents", "leader", "leader_max_cents", "bid_count", "ends_at"]


def _save(
    auction: Auction, event: str, bids: list[Bid] = (), fields: list[str] | None = None
) -> Auction:
    """Store a changed auction under a new version and announce it after commit."""
    auction.version += 1
    auction.save(update_fields=None if fields is None else [*fields, "version"])
    publish(auction, event, bids)
    return auction


def _release_stock(auction: Auction, note: str) -> None:
    if auction.reservation_id:
        reservation_release(reservation=auction.reservation, note=note)


# Starting and cancelling


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
    previous = _auction_for_key(seller=actor, key=idempotency_key)
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
            reservation = _reserve(
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
    except IntegrityError:
        # The same key raced in on another request and won: answer as it was answered.
        previous = _auction_for_key(seller=actor, key=idempotency_key)
        if previous is None:
            raise
        return previous
    return auction


def _auction_for_key(*, seller, key: str) -> Auction | None:
    return Auction.objects.filter(seller=seller, idempotency_key=key).first()


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


def _reserve(*, item: Item, holder, until: datetime, reference: str) -> Reservation:
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
    _transition(auction, Status.CANCELLED, actor=actor)
    _release_stock(auction, "auction cancelled")
    return _save(auction, "cancelled")


# Bidding


@dataclass(frozen=True)
class BidOutcome:
    """The bidder's own bid row and the auction as it stood after it."""

    bid: Bid
    auction: Auction

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


def _require_bidder(*, user, auction: Auction) -> None:
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


def _open_for_bids(auction: Auction, arrived_at: datetime) -> None:
    """Refuse unless bidding is open at `arrived_at`; a scheduled auction whose start
    has come goes live here. The caller holds the lock."""
    at = lambda moment: timezone.localtime(moment).strftime("%H:%M:%S %Z")  # noqa: E731
    if auction.status == Status.SCHEDULED and arrived_at >= auction.starts_at:
        _transition(auction, Status.LIVE, note="the start time came")
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
    _require_bidder(user=bidder, auction=auction)
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
            _open_for_bids(locked, arrived_at)
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
            _save(locked, "bid", rows, BID_FIELDS)
            outbid_notify(auction=locked, previous_leader=previous_leader)
    except IntegrityError:
        # The same key raced in on another request and won: answer as it was answered.
        previous = _bid_for_key(bidder=bidder, key=idempotency_key)
        if previous is None:
            raise
        return previous
    mine = next(row for row in rows if row.idempotency_key)
    record(Kind.BID_PLACED, user=bidder, item=auction.item, amount_cents=amount_cents)
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
    _require_bidder(user=buyer, auction=auction)
    with transaction.atomic():
        locked = auction_for_update(auction.pk)
        if locked.winner_id == buyer.pk and locked.charge_kind == ChargeKind.BUY_NOW:
            return locked  # a retry of the purchase already under way (or done)
        _open_for_bids(locked, arrived_at)
        if locked.buy_now_cents is None or locked.bid_count:
            raise Conflict(
                "Buy-it-now is no longer offered: bidding has started.", code="buy_now_gone"
            )
        _transition(locked, Status.ENDED, actor=buyer, note="bought with buy-it-now")
        locked.closed_at = arrived_at
        locked.winner = buyer
        locked.final_price_cents = locked.buy_now_cents
        _charge_due(locked, ChargeKind.BUY_NOW)
        _save(locked, "bought")
    return _charge_or_refuse(locked, now=now, then="The auction goes on.")


def _charge_or_refuse(auction: Auction, *, now: datetime | None, then: str) -> Auction:
    """Charge the buyer now, for a request that waits for the answer: a declined
    card is reported to them as a Conflict (recorded already, in its own transaction)."""
    charged = auction_charge(auction_id=auction.pk, now=now)
    if charged is not None and charged.charge_failure:
        raise Conflict(
            f"Your card was declined ({charged.charge_failure}). {then}", code="payment_failed"
        )
    return charged or auction


# Closing and charging


def _charge_due(auction: Auction, kind: ChargeKind) -> None:
    """Mark a new charge of the winner as due (the caller holds the lock and saves)."""
    auction.charge_kind = kind
    auction.charge_attempts += 1
    auction.charge_reference = f"auction:{auction.public_id}:{auction.charge_attempts}"
    auction.charge_started_at = None
    auction.charge_failure = ""


def auction_open(*, auction_id: int, now: datetime | None = None) -> Auction | None:
    """A scheduled auction whose start has come goes live (the sweep's first job)."""
    now = now or timezone.now()
    with transaction.atomic():
        auction = auction_for_update(auction_id)
        if auction.status != Status.SCHEDULED or auction.starts_at > now:
            return None
        _transition(auction, Status.LIVE, note="the start time came")
        return _save(auction, "started")


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
        _transition(auction, Status.ENDED, note="the end passed")
        auction.closed_at = now
        if auction.leader_id and reserve_met(auction.price_cents, auction.reserve_cents):
            auction.winner = auction.leader
            auction.final_price_cents = auction.price_cents
            _charge_due(auction, ChargeKind.WIN)
            record(Kind.AUCTION_WON, user=auction.winner, item=auction.item)
        else:
            note = "the reserve was not met" if auction.leader_id else "there were no bids"
            _transition(auction, Status.UNSOLD, note=note)
            _release_stock(auction, f"auction unsold: {note}")
        closed_notify(auction=auction)
        record(Kind.AUCTION_ENDED, item=auction.item, amount_cents=auction.final_price_cents)
        return _save(auction, "closed")


def auction_charge(*, auction_id: int, now: datetime | None = None) -> Auction | None:
    """Charge the buyer whose charge is due, then record the outcome.

    The claim (`charge_started_at`, under the lock) makes one caller charge; the
    gateway is called with no lock held; a caller that died mid-charge is replaced
    after CHARGE_RETRY_AFTER, with the same reference, so the card is charged once.
    Returns None when there was nothing to charge or another caller has it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        auction = auction_for_update(auction_id)
        claimed = auction.charge_started_at
        if auction.status != Status.ENDED or not auction.charge_reference:
            return None
        if claimed is not None and claimed > now - CHARGE_RETRY_AFTER:
            return None
        auction.charge_started_at = now
        auction.save(update_fields=["charge_started_at"])
    reference = auction.charge_reference
    try:
        order = order_create_for_auction(
            buyer=auction.winner,
            item=auction.item,
            price_cents=auction.final_price_cents,
            currency=auction.currency,
            reservation=auction.reservation,
            reference=reference,
        )
    except PaymentFailed as declined:
        return _charge_declined(auction_id=auction_id, reference=reference, reason=declined.message)
    return _charge_succeeded(auction_id=auction_id, reference=reference, order=order.public_id)


@transaction.atomic
def _charge_succeeded(*, auction_id: int, reference: str, order: str) -> Auction:
    auction = auction_for_update(auction_id)
    if auction.charge_reference != reference:
        return auction  # recorded already by another caller
    _transition(auction, Status.SETTLED, actor=auction.winner, note=f"order {order}")
    if auction.charge_kind == ChargeKind.WIN:
        won_notify(auction=auction, order_public_id=order)
    auction.order_reference = order
    auction.charge_reference = ""
    return _save(auction, "settled")


@transaction.atomic
def _charge_declined(*, auction_id: int, reference: str, reason: str) -> Auction:
    """A declined winner makes way for the runner-up; a declined buy-it-now reopens
    bidding; a declined second-chance buyer may try again until the offer expires."""
    auction = auction_and_item_for_update(auction_id)
    if auction.charge_reference != reference:
        return auction
    AuctionEvent.objects.create(
        auction=auction,
        from_status=auction.status,
        to_status=auction.status,
        actor=auction.winner,
        note=f"card declined: {reason}"[:200],
    )
    auction.charge_reference = ""
    auction.charge_failure = reason[:200]
    if auction.charge_kind == ChargeKind.BUY_NOW:
        _transition(auction, Status.LIVE, note="the buy-it-now card was declined")
        auction.winner = None
        auction.final_price_cents = None
        auction.closed_at = None
        auction.charge_kind = ""
        return _save(auction, "reopened")
    if auction.charge_kind == ChargeKind.WIN:
        return _offer_second_chance(auction)
    return _save(auction, "declined")


def _offer_second_chance(auction: Auction) -> Auction:
    """Offer the item to the next bidder whose last bid meets the reserve, at that
    bid, for 24 hours; with nobody, the auction is unsold. The declined winner is
    told by email (and on the page, as only they and the seller see it)."""
    runner_up = _runner_up(auction)
    auction.declined_bidder = auction.winner
    payment_declined_mail_on_commit(auction=auction, reason=auction.charge_failure)
    if runner_up is None:
        _transition(auction, Status.UNSOLD, note="the winner's card was declined")
        _release_stock(auction, "auction unsold: the winner's card was declined")
        auction.winner, auction.final_price_cents = None, None
        return _save(auction, "unsold")
    bidder, amount = runner_up
    now = timezone.now()
    _release_stock(auction, "auction: offered to the runner-up")
    auction.reservation = _reserve(
        item=auction.item,
        holder=bidder,
        until=now + SECOND_CHANCE_FOR + RESERVATION_MARGIN,
        reference=auction.public_id,
    )
    auction.winner = bidder
    auction.final_price_cents = amount
    auction.second_chance_until = now + SECOND_CHANCE_FOR
    auction.charge_kind = ChargeKind.SECOND_CHANCE
    AuctionEvent.objects.create(
        auction=auction,
        from_status=auction.status,
        to_status=auction.status,
        actor=bidder,
        note=f"second chance offered at {format_money(amount, auction.currency)}",
    )
    second_chance_mail_on_commit(auction=auction)
    return _save(auction, "offered")


def _runner_up(auction: Auction):
    """(bidder, their last bid) with the highest last bid at or above the reserve,
    other than the declined winner; on equal bids the earlier one."""
    last: dict[int, Bid] = {}
    for bid in (
        auction.bids.exclude(bidder=auction.winner_id).select_related("bidder").order_by("id")
    ):
        if bid.public:
            last[bid.bidder_id] = bid
    candidates = [
        bid for bid in last.values() if reserve_met(bid.amount_cents, auction.reserve_cents)
    ]
    if not candidates:
        return None
    best = min(candidates, key=lambda bid: (-bid.amount_cents, bid.pk))
    return best.bidder, best.amount_cents


def second_chance_accept(*, buyer, auction: Auction, now: datetime | None = None) -> Auction:
    """The runner-up takes the item at their last bid: they are charged now."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = auction_for_update(auction.pk)
        if locked.status == Status.SETTLED and locked.winner_id == buyer.pk:
            return locked
        _require_offer(locked, buyer=buyer, now=now)
        if not locked.charge_reference:
            _charge_due(locked, ChargeKind.SECOND_CHANCE)
            _save(locked, "accepted")
    return _charge_or_refuse(
        locked, now=now, then="Update your card and accept again before the offer runs out."
    )


@transaction.atomic
def second_chance_decline(*, buyer, auction: Auction, now: datetime | None = None) -> Auction:
    locked = auction_and_item_for_update(auction.pk)
    _require_offer(locked, buyer=buyer, now=now or timezone.now())
    if locked.charge_reference:
        raise Conflict("Your payment is being taken; it is too late to decline.", code="charging")
    _transition(locked, Status.UNSOLD, actor=buyer, note="the runner-up declined")
    _release_stock(locked, "auction unsold: the runner-up declined")
    return _save(locked, "unsold")


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
    _transition(auction, Status.UNSOLD, note="the second-chance offer ran out")
    _release_stock(auction, "auction unsold: the second-chance offer ran out")
    return _save(auction, "unsold")


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
