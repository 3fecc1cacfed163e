"""Charging the buyer (winner, buy-it-now, second chance) with no lock held, and
what a declined card leads to: the runner-up is offered the item, a buy-it-now
reopens bidding."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bazaar.errors import Conflict
from bazaar.money import format_money
from orders.checkout.services import order_create_for_auction
from orders.payments.services import PaymentFailed

from ..locks import auction_and_item_for_update, auction_for_update
from ..models import Auction, AuctionEvent, Bid
from ..notices import won_notify
from ..notify import payment_declined_mail_on_commit, second_chance_mail_on_commit
from ..rules import reserve_met
from .lifecycle import (
    CHARGE_RETRY_AFTER,
    RESERVATION_MARGIN,
    SECOND_CHANCE_FOR,
    ChargeKind,
    Status,
    release_stock,
    reserve_unit,
    save,
    transition,
)


def charge_due(auction: Auction, kind: ChargeKind) -> None:
    """Mark a new charge of the winner as due (the caller holds the lock and saves)."""
    auction.charge_kind = kind
    auction.charge_attempts += 1
    auction.charge_reference = f"auction:{auction.public_id}:{auction.charge_attempts}"
    auction.charge_started_at = None
    auction.charge_failure = ""


def charge_or_refuse(auction: Auction, *, now: datetime | None, then: str) -> Auction:
    """Charge the buyer now, for a request that waits for the answer: a declined
    card is reported to them as a Conflict (recorded already, in its own transaction)."""
    charged = auction_charge(auction_id=auction.pk, now=now)
    if charged is not None and charged.charge_failure:
        raise Conflict(
            f"Your card was declined ({charged.charge_failure}). {then}", code="payment_failed"
        )
    return charged or auction


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
    transition(auction, Status.SETTLED, actor=auction.winner, note=f"order {order}")
    if auction.charge_kind == ChargeKind.WIN:
        won_notify(auction=auction, order_public_id=order)
    auction.order_reference = order
    auction.charge_reference = ""
    return save(auction, "settled")


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
        transition(auction, Status.LIVE, note="the buy-it-now card was declined")
        auction.winner = None
        auction.final_price_cents = None
        auction.closed_at = None
        auction.charge_kind = ""
        return save(auction, "reopened")
    if auction.charge_kind == ChargeKind.WIN:
        return _offer_second_chance(auction)
    return save(auction, "declined")


def _offer_second_chance(auction: Auction) -> Auction:
    """Offer the item to the next bidder whose last bid meets the reserve, at that
    bid, for 24 hours; with nobody, the auction is unsold. The declined winner is
    told by email (and on the page, as only they and the seller see it)."""
    runner_up = _runner_up(auction)
    auction.declined_bidder = auction.winner
    payment_declined_mail_on_commit(auction=auction, reason=auction.charge_failure)
    if runner_up is None:
        transition(auction, Status.UNSOLD, note="the winner's card was declined")
        release_stock(auction, "auction unsold: the winner's card was declined")
        auction.winner, auction.final_price_cents = None, None
        return save(auction, "unsold")
    bidder, amount = runner_up
    now = timezone.now()
    release_stock(auction, "auction: offered to the runner-up")
    auction.reservation = reserve_unit(
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
    return save(auction, "offered")


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
