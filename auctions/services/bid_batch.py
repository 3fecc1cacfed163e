"""One batch of bids on one auction, resolved in one transaction under one lock.

The batch is what `bazaar.group_commit` gathered while the auction's previous batch
was being written. Bids are resolved one by one in arrival order against the ladder
the previous one left (proxy and increment rules, soft close), each accepted bid
under a version of its own and in rows of its own; the auction row is written once
and one update announces the batch's outcome to every watcher.
"""

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, Value
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record_many
from bazaar import metrics
from bazaar.commit_hooks import HeldHooks
from bazaar.errors import Conflict, DomainError, NotAllowed, RateLimited
from bazaar.lookups import AnyOf
from bazaar.money import format_money
from orders.checkout.selectors import buyers_with_shipping_address
from orders.payments.selectors import buyers_with_payment_method

from ..frames import ladder_of, publish
from ..locks import auction_for_bids
from ..models import Auction, Bid, BidRefusal
from ..notices import outbid_notify_on_commit
from ..rules import resolve_bid, soft_close
from .lifecycle import ChargeKind, Status, transition

# What a bid changes: the bid path writes only these columns.
BID_FIELDS = ["status", "price_cents", "leader", "leader_max_cents", "bid_count", "ends_at"]
# Refusals a later state could turn into acceptance (a retraction lowers the price, an
# outbid leader may bid again): their keys keep the first answer. The others either
# cannot change or are asked again on purpose (a late bid waits for an earlier one).
REMEMBERED_REFUSALS = {"bid_too_low", "already_leading"}


class _BidPace:
    """Each bidder's latest bids in this process (a bidder's sockets and requests
    reach one process in the main, and a limit a few processes wide still bounds a
    script): kept in memory, asked under the auction's lock without any round trip."""

    def __init__(self) -> None:
        self.recent: dict[int, deque] = {}

    def allow(self, bidder_id: int, at: datetime) -> bool:
        if settings.BID_PACE is None:
            return True
        most, seconds = settings.BID_PACE
        times = self.recent.setdefault(bidder_id, deque())
        while times and (at - times[0]).total_seconds() >= seconds:
            times.popleft()
        if len(times) >= most:
            return False
        times.append(at)
        if len(self.recent) > 10_000:
            self.recent = {pk: seen for pk, seen in self.recent.items() if seen}
        return True


_pace = _BidPace()


def too_fast() -> RateLimited:
    most, seconds = settings.BID_PACE
    return RateLimited(
        f"Too many bids too fast: at most {most} every {seconds} seconds. Try again in a moment.",
        retry_after=seconds,
    )


@dataclass(frozen=True)
class BidRequest:
    """A bid as it reached the server: `arrived_at` decides its place and whether it
    came before the end."""

    bidder: object
    amount_cents: int
    max_cents: int | None
    idempotency_key: str
    arrived_at: datetime

    @property
    def key(self) -> tuple[int, str]:
        return (self.bidder.pk, self.idempotency_key)


@dataclass(frozen=True)
class BidOutcome:
    """The bidder's own bid row and the auction as it stood right after it."""

    bid: Bid
    auction: Auction

    @property
    def version(self) -> int:
        """The auction's version once this bid was in: a state at or past it shows it."""
        return self.bid.version or self.auction.version

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


def may_bid(*, user, auction: Auction) -> None:
    """The checks that need no query: signed in, and not the seller."""
    if not user.is_authenticated:
        raise NotAllowed("Sign in to bid.", code="auth_required")
    if auction.seller_id == user.pk:
        raise NotAllowed("You cannot bid on your own auction.", code="own_auction")


# Why a bidder cannot bid yet, by refusal code.
UNREADY = {
    "payment_method_required": (
        "Add a payment method before you bid: the winner is charged when the auction ends."
    ),
    "address_required": "Add a shipping address before you bid: the winner's order ships there.",
}


def _unready(user_ids: set[int], with_card: set[int], with_address: set[int]) -> dict[int, str]:
    unready = dict.fromkeys(user_ids - with_address, "address_required")
    return unready | dict.fromkeys(user_ids - with_card, "payment_method_required")


def unready_bidders(user_ids: set[int]) -> dict[int, str]:
    """The refusal code of each of these people who cannot bid yet (no card to charge,
    no address to ship to). A batch asks this with its keys, in one statement
    (`_what_the_batch_knows`); buy-it-now asks it alone."""
    return _unready(
        user_ids,
        set(buyers_with_payment_method(user_ids=user_ids)),
        set(buyers_with_shipping_address(user_ids=user_ids)),
    )


def unready_refusal(code: str) -> Conflict:
    return Conflict(UNREADY[code], code=code)


_key_index = ~Q(idempotency_key="")  # the predicate of Bid's partial unique index


def _what_the_batch_knows(auction: Auction, requests) -> tuple[dict, dict[int, str]]:
    """One statement under the lock: the keys of this batch answered by an earlier one
    (here or in another process, committed before this batch took the lock), with
    the stored bid or refusal; and who of its bidders cannot pay or ship yet. Asked
    bid by bid before a bid could queue, the card and address were three queries a
    bid and half the bid threads' time in a burst's profile; asked apart from the
    keys, they were two more round trips a batch."""
    user_ids = {request.bidder.pk for request in requests}
    keyed = Q(
        AnyOf(F("bidder_id"), user_ids),
        AnyOf(F("idempotency_key"), {request.idempotency_key for request in requests}),
    )
    columns = ("bidder_id", "idempotency_key")
    bids = Bid.objects.filter(_key_index, keyed).values_list(*columns, Value("bid"))
    refusals = BidRefusal.objects.filter(keyed).values_list(*columns, Value("refusal"))
    holders = [
        people.values_list("buyer_id", Value(""), Value(kind))
        for kind, people in (
            ("card", buyers_with_payment_method(user_ids=user_ids)),
            ("address", buyers_with_shipping_address(user_ids=user_ids)),
        )
    ]
    found: dict[tuple[int, str], object] = {}
    ready: dict[str, set[int]] = {"card": set(), "address": set()}
    for person, key, kind in bids.union(refusals, *holders, all=True):
        if kind in ready:
            ready[kind].add(person)
        elif kind == "refusal":
            refusal = BidRefusal.objects.get(bidder_id=person, idempotency_key=key)
            found[(person, key)] = Conflict(refusal.message, code=refusal.code)
        else:
            bid = Bid.objects.select_related("bidder").get(bidder_id=person, idempotency_key=key)
            found[(person, key)] = BidOutcome(bid=bid, auction=auction)
    return found, _unready(user_ids, ready["card"], ready["address"])


def _snapshot(auction: Auction) -> Auction:
    """The auction as it stands now, for one bid's answer: its fields and the people
    loaded on it, copied (`copy.copy` without the pickling protocol's detour, which
    cost as much again, bid by bid)."""
    snapshot = Auction.__new__(Auction)
    snapshot.__dict__.update(auction.__getstate__())
    return snapshot


class _Batch:
    """The auction under its lock while a batch's bids are applied one by one."""

    def __init__(self, auction: Auction, requests):
        self.auction = auction
        self.people = {request.bidder.pk: request.bidder for request in requests}
        self.rows: list[Bid] = []
        self.refusals: list[BidRefusal] = []
        self.placed: list[dict] = []  # analytics' events, recorded once for the batch
        self.leaders = {auction.leader_id} - {None}  # everyone who led during the batch

    def person(self, pk: int):
        """A bidder of the batch, or the leader from before it (loaded when a proxy
        answers for them or they are told they were outbid)."""
        if pk not in self.people:
            self.people[pk] = get_user_model().objects.get(pk=pk)
        return self.people[pk]

    def place(self, request: BidRequest) -> BidOutcome:
        auction = self.auction
        open_for_bids(auction, request.arrived_at)
        # After the end's check: a bidder pressing on past the close is told it closed.
        if not _pace.allow(request.bidder.pk, request.arrived_at):
            raise too_fast()
        resolution = resolve_bid(
            ladder_of(auction),
            bidder=request.bidder.pk,
            amount_cents=request.amount_cents,
            max_cents=request.max_cents,
        )
        auction.version += 1
        bidder = request.bidder.pk
        rows = [
            Bid(
                auction=auction,
                bidder=self.person(step.bidder),
                kind=step.kind,
                amount_cents=step.amount_cents,
                max_cents=step.max_cents,
                leading=step.leading,
                received_at=request.arrived_at,
                idempotency_key=request.idempotency_key if step.bidder == bidder else "",
                offered_cents=request.amount_cents if step.bidder == bidder else None,
                version=auction.version,
            )
            for step in resolution.steps
        ]
        self.rows.extend(rows)
        auction.price_cents = resolution.price_cents
        auction.leader = self.person(resolution.leader)
        auction.leader_max_cents = resolution.leader_max_cents
        auction.bid_count += sum(row.public for row in rows)
        auction.ends_at = soft_close(
            ends_at=auction.ends_at,
            hard_ends_at=auction.hard_ends_at,
            arrived_at=request.arrived_at,
            sudden_death=auction.sudden_death,
        )
        self.leaders.add(resolution.leader)
        mine = next(row for row in rows if row.idempotency_key)
        self.placed.append(
            {"user": request.bidder, "item": auction.item, "amount_cents": request.amount_cents}
        )
        return BidOutcome(bid=mine, auction=_snapshot(auction))

    def refuse(self, request: BidRequest, refusal: DomainError) -> None:
        if refusal.code in REMEMBERED_REFUSALS:
            self.refusals.append(
                BidRefusal(
                    auction=self.auction,
                    bidder=request.bidder,
                    idempotency_key=request.idempotency_key,
                    code=refusal.code,
                    message=refusal.message[:300],
                )
            )


def bids_write(
    auction_id: int,
    requests: Sequence[BidRequest] | Callable[[], Sequence[BidRequest]],
    hold: HeldHooks | None = None,
) -> list:
    """Resolve a batch in arrival order in one transaction; one answer per request, in
    the order given: its BidOutcome, or the DomainError that refused it. `requests`
    may be a call that gathers them, made once the auction is locked (a group
    commit's `take`): the batch then holds every bid that arrived until the lock was
    won. A key sent twice gets its first answer, from this batch or an earlier one
    (before asking whether its bidder can still pay and ship). With `hold`, the
    transaction's after-commit work is left to it, to run once the answers are out."""
    decided = {"accepted": 0, "refused": 0}  # new answers, not replays: /metrics
    with transaction.atomic():
        locked = auction_for_bids(auction_id)
        if callable(requests):
            requests = requests()
        order = sorted(range(len(requests)), key=lambda index: requests[index].arrived_at)
        answers: list = [None] * len(requests)
        batch = _Batch(locked, requests)
        auction = batch.auction
        status, version = auction.status, auction.version
        earlier, unready = _what_the_batch_knows(auction, requests)
        for index in order:
            request = requests[index]
            if request.key in earlier:
                answers[index] = earlier[request.key]
                continue
            try:
                if request.bidder.pk in unready:
                    raise unready_refusal(unready[request.bidder.pk])
                answers[index] = batch.place(request)
                decided["accepted"] += 1
            except DomainError as refusal:
                decided["refused"] += 1
                # The state it was refused against: a JSON answer shows it unread again.
                refusal.auction = _snapshot(auction)
                # A refusal is an answer, not a fault: kept with its traceback, it and
                # this frame (which holds every answer of the batch) made a cycle per
                # refused bid, and the collector's full passes that freed them paused
                # the server 115-140 ms every second of a burst.
                answers[index] = refusal.with_traceback(None)
                batch.refuse(request, refusal)
            earlier[request.key] = answers[index]
        Bid.objects.bulk_create(batch.rows)
        record_many(Kind.BID_PLACED, batch.placed)
        BidRefusal.objects.bulk_create(batch.refusals)
        if batch.rows or auction.status != status:
            auction.version = max(auction.version, version + 1)  # a start alone is a change too
            auction.save(update_fields=[*BID_FIELDS, "version"])
            publish(auction, "bid" if batch.rows else "started", batch.rows)
        outbid_notify_on_commit(auction=auction, outbid=batch.leaders - {auction.leader_id})
        for outcome, amount in decided.items():
            metrics.counted_on_commit(metrics.bids, amount, outcome=outcome)
        # The answers' states name these people: loaded here, in a database thread,
        # not when a socket's acknowledgement is written in the event loop.
        auction.leader, auction.winner  # noqa: B018
        if hold is not None:
            hold.take()
    return answers
