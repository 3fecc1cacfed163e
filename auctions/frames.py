"""What `/ws/auctions/<ulid>/` carries (docs/protocol.md): an auction's public state
and its new bids, encoded once per change for the whole group, sent after commit."""

import json
import time

from django.utils import timezone
from django.utils.crypto import salted_hmac

from bazaar.broadcast import broadcast_on_commit
from bazaar.fanout import latest_frame
from bazaar.money import format_money

from .models import Auction, Bid
from .rules import Ladder, increment, minimum_bid, reserve_met

PSEUDONYM_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def pseudonym(auction: Auction, user_id: int) -> str:
    """How a bidder is shown on one auction: stable there, unlinkable across auctions
    (an HMAC of both, keyed by the site's secret), never their handle."""
    digest = salted_hmac("auctions.pseudonym", f"{auction.public_id}:{user_id}").digest()
    letters = "".join(PSEUDONYM_LETTERS[byte % len(PSEUDONYM_LETTERS)] for byte in digest[:4])
    return f"Bidder {letters}"


def auction_group(public_id: str) -> str:
    return f"auction.{public_id}"


def ladder_of(auction: Auction) -> Ladder:
    return Ladder(
        currency=auction.currency,
        start_cents=auction.start_cents,
        reserve_cents=auction.reserve_cents,
        price_cents=auction.price_cents,
        leader=auction.leader_id,
        leader_max_cents=auction.leader_max_cents,
    )


def _unix(moment) -> float | None:
    return moment.timestamp() if moment else None


def _money(cents: int | None, currency: str) -> str | None:
    return format_money(cents, currency) if cents is not None else None


def buy_now_open(auction: Auction) -> bool:
    """Buy-it-now is offered until the first bid, while bidding is open."""
    return (
        auction.buy_now_cents is not None
        and auction.bid_count == 0
        and auction.status in (Auction.Status.SCHEDULED, Auction.Status.LIVE)
    )


def winner_public(auction: Auction) -> bool:
    """Who won is public while their payment is taken and once it is paid. A winner
    whose card was declined, and the runner-up offered the item instead, are known
    only to themselves and the seller (the page tells them, `selectors.viewer_part`)."""
    if auction.status == Auction.Status.SETTLED:
        return True
    paying = auction.charge_kind in (Auction.ChargeKind.WIN, Auction.ChargeKind.BUY_NOW)
    return auction.status == Auction.Status.ENDED and paying


def auction_state(auction: Auction) -> dict:
    """Everything anyone may see of the auction now (never the reserve or a maximum).
    Once bidding has closed only the buyer is named: the high bidder's handle goes
    with the high bid until then. Times are Unix seconds; `version` rises with
    every change."""
    minimum = minimum_bid(ladder_of(auction))
    currency = auction.currency
    buy_now = auction.buy_now_cents if buy_now_open(auction) else None
    winner = auction.winner if auction.winner_id and winner_public(auction) else None
    running = auction.status in (Auction.Status.SCHEDULED, Auction.Status.LIVE)
    leader = auction.leader_id if running else None
    return {
        "auction": auction.public_id,
        "version": auction.version,
        "status": auction.status,
        "currency": currency,
        "price_cents": auction.price_cents,
        "price": _money(auction.price_cents, currency),
        "leader": pseudonym(auction, leader) if leader else None,
        "bid_count": auction.bid_count,
        "minimum_cents": minimum,
        "minimum": format_money(minimum, currency),
        "increment_cents": increment(auction.price_cents or auction.start_cents, currency),
        "reserve_met": None
        if auction.reserve_cents is None
        else reserve_met(auction.price_cents, auction.reserve_cents),
        "buy_now_cents": buy_now,
        "buy_now": _money(buy_now, currency),
        "starts_at": _unix(auction.starts_at),
        "ends_at": _unix(auction.ends_at),
        "hard_ends_at": _unix(auction.hard_ends_at),
        "winner": winner.handle if winner else None,
        "winner_id": winner.public_id if winner else None,
        "final_price": _money(auction.final_price_cents, currency) if winner else None,
        "charging": bool(auction.charge_reference),
    }


def bid_entry(bid: Bid, auction: Auction) -> dict:
    """A bid as the page lists it: who (by pseudonym), how much, when, whether it
    took the lead, whether it was retracted."""
    currency = auction.currency
    return {
        "id": bid.public_id,
        "bidder": pseudonym(auction, bid.bidder_id),
        "kind": bid.kind,
        "retracted": bid.retraction_id is not None,
        "amount_cents": bid.amount_cents,
        "amount": format_money(bid.amount_cents, currency),
        "leading": bid.leading,
        "at": timezone.localtime(bid.received_at).isoformat(),
    }


def publish(auction: Auction, event: str, bids: list[Bid] = ()) -> None:
    """After commit, every socket on the auction gets its new state and new public
    bids. Updates waiting together for a delivery go as one, the newest state with
    every bid since (`bazaar.fanout`'s `latest`): a watcher may skip a state, never
    sees an older one after a newer, and always gets the newest."""
    body = {
        "type": "update",
        "event": event,
        "state": auction_state(auction),
        "server_time": time.time(),
    }
    head = json.dumps(body)[:-1] + ', "bids": '
    items = [json.dumps(bid_entry(bid, auction)) for bid in bids if bid.public]
    broadcast_on_commit(
        auction_group(auction.public_id),
        {
            "type": "auction.update",
            "frame": latest_frame(head, items),
            "latest": {"version": auction.version, "head": head, "items": items},
        },
    )
