"""Bargaining: offers, counter-offers, answers, expiry and a seller's auto prices.

Every status change goes through `transitions.transition`, which checks the move
against its table and writes an `OfferEvent`. Every action locks the item row first
(`stalls.services.item_lock`) and the offer row second (`offers.locks`), the order
stalls' reservation functions and orders' checkout use, so no two of them can
deadlock. Expiry is checked whenever an offer is acted on, so a late sweep never lets
an expired offer be accepted; the expiry is committed even though the action is
refused.

An action is a handful of queries: the item and offer come locked in one read with
what the rules read (`offers.locks`), the buyer's open thread and amount count are one
aggregate, and the stall document's ladder is written after commit (`ladder.publish`),
so the locks are held only for the action's own rows.

Money actions carry an idempotency key. It is stored on the action's audit row,
unique per actor: a retried request (a double click, a resent POST) returns the
offer as the first request left it, and acts no further. The key is looked up only
when an action fails: a retry always does, either on the state the first request
left (the offer is no longer pending, the thread is open) or on the key's unique
index, so the common, first request pays no lookup.
"""

from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record
from bazaar.database import atomic_pipelined
from bazaar.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from bazaar.ids import new_ulid
from bazaar.money import AmountError, format_money, parse_amount
from bazaar.prepared import Prepared
from bazaar.ratelimit import Rate, rate_check
from notifications.selectors import dedupe_keys_used
from stalls.models import Item, Reservation
from stalls.selectors import reserved_units_subquery, units_available
from stalls.services import (
    item_lock,
    require_stall_editor,
    reservation_release,
    reservation_take,
)

from .ladder import publish
from .locks import ITEM_RELATED, offer_for_update, offer_with_item_for_update
from .models import AutoPrices, Offer, OfferEvent
from .notices import expiring_dedupe_key, expiring_side, offer_expiring_notify, offer_notify
from .transitions import NEW_OFFER, record_creation, transition

OFFER_TTL = timedelta(hours=48)
# The person who must act hears this long before an offer runs out.
EXPIRY_WARNING = timedelta(hours=1)
ACCEPTED_TTL = timedelta(hours=24)
AMOUNTS_PER_ITEM = 5
MESSAGE_MAX_LENGTH = 280

Status = Offer.Status
Side = Offer.Side

# A person's offer actions (a retry of one is still told its first answer: `_act`).
OFFER_RATE = Rate(30, 60, "30 offer actions a minute")


# Checks shared by every action


def offer_amount_parse(*, text: str, currency: str) -> int:
    """What a person typed (`25`, `$25.50`, `25,50`) as cents, or a clear refusal."""
    try:
        return parse_amount(str(text), currency)
    except AmountError as error:
        raise Invalid(str(error), code="bad_amount") from error


def _cents(amount: int | str, currency: str) -> int:
    """An amount given in cents, or as the text a person typed (read in `currency`,
    which a view only learns from the locked row)."""
    return amount if isinstance(amount, int) else offer_amount_parse(text=amount, currency=currency)


def _check_message(message: str) -> str:
    message = message.replace("\r\n", "\n").strip()
    if len(message) > MESSAGE_MAX_LENGTH:
        raise Invalid(
            f"A message with an offer is at most {MESSAGE_MAX_LENGTH} characters; "
            f"this one has {len(message)}."
        )
    return message


def _money(cents: int, offer_or_item) -> str:
    return format_money(cents, offer_or_item.currency)


def _is_seller(user, item: Item) -> bool:
    return item.stall.seller.user_id == user.pk


def _side_of(user, offer: Offer) -> str:
    """Which side of the thread `user` is on; a stranger gets 404 (offers are private)."""
    if offer.buyer_id == user.pk:
        return Side.BUYER
    if _is_seller(user, offer.item):
        return Side.SELLER
    raise NotFound("No offer of yours has that address.")


def _require_turn(user, offer: Offer) -> str:
    """The answering side acts on a pending offer; its maker waits. Returns the side."""
    side = _side_of(user, offer)
    if offer.status != Status.PENDING:
        raise Conflict(f"This offer is already {offer.get_status_display().lower()}.")
    if side == offer.side:
        raise Conflict(
            "Wait for the other side to answer this offer before you send another.",
            code="not_your_turn",
        )
    return side


def _offer_open() -> Conflict:
    return Conflict(
        "You already have an open offer on this item: answer or withdraw it first.",
        code="offer_open",
    )


def _replayed(actor, key: str) -> Offer | None:
    """The offer a request with this key already acted on, as it is now."""
    if not key:
        return None
    offer_id = (
        OfferEvent.objects.filter(actor=actor, idempotency_key=key)
        .values_list("offer_id", flat=True)
        .first()
    )
    if offer_id is None:
        return None
    return Offer.objects.select_related(*Offer.RELATED, "reservation").get(pk=offer_id)


def _expire(offer: Offer) -> None:
    """Time ran out: the thread ends, and an accepted offer's unit goes back on sale."""
    transition(offer, Status.EXPIRED, note="expired")
    if offer.reservation_id:
        reservation_release(reservation=offer.reservation, note="offer expired")
    publish(offer, event="expired", by="market")


def _act(*, actor, key: str, lock: Callable[[], tuple[Item, Offer | None]], work) -> Offer:
    """Run `work(item, offer)` under the locks `lock()` takes, once per idempotency key.

    An offer found past its expiry is expired (and that committed) instead, and the
    action refused. A refused action whose key already acted, and a retry racing the
    first request into the key's unique index, return the first request's result.
    """
    try:
        rate_check("offer", f"user:{actor.pk}", OFFER_RATE)
        with atomic_pipelined():
            item, offer = lock()
            if offer is None or not offer.is_due():
                return work(item, offer)
            _expire(offer)
        raise Conflict("This offer has expired; make a new one.", code="expired")
    except (DomainError, IntegrityError) as failure:
        replay = _replayed(actor, key)
        if replay is not None:
            return replay
        if isinstance(failure, IntegrityError):
            raise _offer_open() from None
        raise


def _act_on(offer: Offer | str, *, actor, key: str, work: Callable) -> Offer:
    """`_act` for an answer to an existing offer, given as a row or by its public id
    (all a view has: the locked read is the action's first). Locks its item, then the
    offer, in one query; a stranger gets 404 before anything else is said or done."""

    def lock() -> tuple[Item, Offer]:
        locked = offer_with_item_for_update(
            public_id=offer if isinstance(offer, str) else offer.public_id
        )
        _side_of(actor, locked)
        return locked.item, locked

    return _act(actor=actor, key=key, lock=lock, work=work)


# Making and answering offers


# What a buyer's limits on one item count: their open threads, and the amounts they sent.
_OPEN_THREAD = Q(status__in=Offer.LIVE)
_AMOUNT_SENT = Q(side=Side.BUYER)

# A buyer's open threads and amounts sent on one item, compiled once (`bazaar.prepared`).
_BUYERS_OFFERS = Prepared(
    lambda buyer_id, item_id: (
        Offer.objects.filter(buyer_id=buyer_id, item_id=item_id)
        .values("buyer_id")
        .annotate(open=Count("pk", filter=_OPEN_THREAD), sent=Count("pk", filter=_AMOUNT_SENT))
        .values_list("open", "sent")
    )
)


def _buyers_count(buyer_id: int, counted: Q) -> Coalesce:
    """How many of the buyer's offers on the outer query's item are `counted`."""
    offers = Offer.objects.filter(counted, buyer_id=buyer_id, item=OuterRef("pk"))
    numbers = offers.order_by().values("item").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(numbers, output_field=IntegerField()), 0)


# A new offer's checks after the item's lock, one statement: the units held, the buyer's
# open threads and amounts sent on the item (issue 15: one round trip where two were).
_MAKE_CHECKS = Prepared(
    lambda item_id, buyer_id, now: (
        Item.objects.filter(pk=item_id)
        .annotate(
            reserved=reserved_units_subquery(at=now),
            open=_buyers_count(buyer_id, _OPEN_THREAD),
            sent=_buyers_count(buyer_id, _AMOUNT_SENT),
        )
        .values_list("reserved", "open", "sent")
    )
)


def _check_buyer_may_send(*, buyer, item: Item, opening: bool) -> None:
    """At most five amounts per item, and a new thread only when none is open (one
    query for both)."""
    _check_buyer_counts(*(_BUYERS_OFFERS.first(buyer.pk, item.pk) or (0, 0)), opening=opening)


def _check_buyer_counts(open_threads: int, sent: int, *, opening: bool) -> None:
    if opening and open_threads:
        raise _offer_open()
    if sent >= AMOUNTS_PER_ITEM:
        raise Conflict(
            f"You have sent {AMOUNTS_PER_ITEM} offers on this item, the most allowed.",
            code="offer_limit",
        )


def _auto_answer(offer: Offer) -> str | None:
    """Apply the seller's auto prices to a buyer's amount: "accepted", "declined", or
    None when the seller answers by hand. The prices came with the item's lock."""
    try:
        rule = offer.item.auto_prices
    except AutoPrices.DoesNotExist:
        return None
    if rule.accept_cents is not None and offer.amount_cents >= rule.accept_cents:
        try:
            _accept(offer, actor=None, key="", note="auto-accepted")
        except Conflict:
            return None  # no unit left to hold (refused before any write): by hand
        return "accepted"
    if rule.decline_cents is not None and offer.amount_cents < rule.decline_cents:
        transition(offer, Status.DECLINED, note="auto-declined")
        return "declined"
    return None


def _send(
    *,
    item: Item,
    answers: Offer | None,
    side: str,
    amount_cents: int,
    message: str,
    actor,
    key: str,
) -> Offer:
    """Store a new amount on `item`, opening a thread unless it answers an offer. A
    buyer's amount meets the seller's auto prices at once; both sides are told."""
    public_id = new_ulid()
    now = timezone.now()
    offer = NEW_OFFER.create(
        public_id=public_id,
        thread=answers.thread if answers else public_id,
        item=item,
        buyer=answers.buyer if answers else actor,
        side=side,
        amount_cents=amount_cents,
        currency=item.currency,
        message=message,
        answers=answers,
        expires_at=now + OFFER_TTL,
        created_at=now,
        updated_at=now,
        ladder_pending=True,
    )
    record_creation(offer, actor=actor, key=key)
    answer = _auto_answer(offer) if side == Side.BUYER else None
    thread = (answers, offer) if answers else (offer,)
    event = "countered" if answers else "new"
    publish(*thread, event=answer or event, by="auto" if answer else side, made=True)
    offer_notify(offer, event=answer or event, by="auto" if answer else side)
    return offer


def offer_make(
    *, buyer, item: Item | str, amount_cents: int | str, message: str, idempotency_key: str
) -> Offer:
    """A buyer opens a thread: more than zero, at most the price, on an item in stock,
    one open thread per item and at most five amounts per item in all. `item` is a
    row or its public id; `amount_cents` cents or the text typed (see `_cents`)."""
    if not buyer.is_authenticated:
        raise NotAllowed("Sign in to make an offer.", code="auth_required")
    message = _check_message(message)

    def lock() -> tuple[Item, None]:
        if isinstance(item, str):
            return item_lock(public_id=item, related=ITEM_RELATED), None
        return item_lock(item_id=item.pk, related=ITEM_RELATED), None

    def work(item: Item, _) -> Offer:
        if _is_seller(buyer, item):
            raise NotAllowed("You cannot make offers on your own items.")
        amount = _cents(amount_cents, item.currency)
        if amount <= 0:
            raise Invalid("An offer must be more than zero.", code="bad_amount")
        if item.archived_at is not None:
            raise Conflict("This item is no longer for sale.")
        if amount > item.price_cents:
            raise Invalid(
                f"Offer at most the price, {_money(item.price_cents, item)}.", code="bad_amount"
            )
        reserved, open_threads, sent = _MAKE_CHECKS.first(item.pk, buyer.pk, timezone.now())
        if units_available(item=item, reserved=reserved) < 1:
            raise Conflict("This item is out of stock, so it takes no offers.", code="out_of_stock")
        _check_buyer_counts(open_threads, sent, opening=True)
        offer = _send(
            item=item,
            answers=None,
            side=Side.BUYER,
            amount_cents=amount,
            message=message,
            actor=buyer,
            key=idempotency_key,
        )
        record(Kind.OFFER_MADE, user=buyer, item=item, amount_cents=amount)
        return offer

    return _act(actor=buyer, key=idempotency_key, lock=lock, work=work)


def _check_counter(*, side: str, offer: Offer, amount_cents: int) -> None:
    """Each counter moves toward the other side's last amount, past nobody's, and a
    seller never counters above the list price."""
    theirs = offer.amount_cents
    if side == Side.SELLER:
        ceiling = offer.answers.amount_cents - 1 if offer.answers_id else offer.item.price_cents
        if amount_cents > offer.item.price_cents:
            raise Invalid(
                f"Counter at most the list price, {_money(offer.item.price_cents, offer)}.",
                code="bad_amount",
            )
        if amount_cents > ceiling:
            raise Invalid(
                f"Come down from your last counter of {_money(ceiling + 1, offer)}.",
                code="bad_amount",
            )
        if amount_cents <= theirs:
            raise Invalid(
                f"Counter above the buyer's {_money(theirs, offer)}, or accept it.",
                code="bad_amount",
            )
    else:
        mine = offer.answers.amount_cents
        if amount_cents <= mine:
            raise Invalid(
                f"Go up from your last offer of {_money(mine, offer)}.", code="bad_amount"
            )
        if amount_cents >= theirs:
            raise Invalid(
                f"Counter below the seller's {_money(theirs, offer)}, or accept it.",
                code="bad_amount",
            )


def offer_counter(
    *, actor, offer: Offer | str, amount_cents: int | str, message: str, idempotency_key: str
) -> Offer:
    """Answer a pending offer with another amount: it becomes `countered`, the new
    one starts a fresh 48 hours. Returns the new offer."""
    message = _check_message(message)

    def work(_, offer: Offer) -> Offer:
        side = _require_turn(actor, offer)
        amount = _cents(amount_cents, offer.currency)
        _check_counter(side=side, offer=offer, amount_cents=amount)
        if side == Side.BUYER:
            _check_buyer_may_send(buyer=actor, item=offer.item, opening=False)
        transition(offer, Status.COUNTERED, actor=actor, note="countered")
        return _send(
            item=offer.item,
            answers=offer,
            side=side,
            amount_cents=amount,
            message=message,
            actor=actor,
            key=idempotency_key,
        )

    return _act_on(offer, actor=actor, key=idempotency_key, work=work)


def _accept(offer: Offer, *, actor, key: str, note: str = "accepted") -> None:
    """Hold one unit for the buyer at this price for 24 hours, then mark it accepted."""
    try:
        reservation = reservation_take(
            item=offer.item,
            item_locked=True,
            holder=offer.buyer,
            reason=Reservation.Reason.OFFER,
            ttl=ACCEPTED_TTL,
            reference=offer.public_id,
        )
    except Conflict as error:
        raise Conflict(
            "No unit is left to hold for this offer: the item sold out or every unit is "
            "held for another buyer.",
            code="out_of_stock",
        ) from error
    offer.reservation = reservation
    offer.expires_at = reservation.expires_at
    held = ("reservation", "expires_at")
    transition(offer, Status.ACCEPTED, actor=actor, note=note, key=key, fields=held)
    record(Kind.OFFER_ACCEPTED, user=offer.buyer, item=offer.item, amount_cents=offer.amount_cents)


def offer_accept(*, actor, offer: Offer | str, idempotency_key: str) -> Offer:
    """The answering side takes the amount: one unit is held for the buyer for 24 hours
    at this price, for checkout. Racing for the last unit, exactly one wins."""

    def work(_, offer: Offer) -> Offer:
        side = _require_turn(actor, offer)
        _accept(offer, actor=actor, key=idempotency_key)
        publish(offer, event="accepted", by=side)
        offer_notify(offer, event="accepted", by=side)
        return offer

    return _act_on(offer, actor=actor, key=idempotency_key, work=work)


def offer_decline(*, actor, offer: Offer | str, idempotency_key: str) -> Offer:
    """The seller says no to a buyer's amount; the thread ends."""

    def work(_, offer: Offer) -> Offer:
        side = _require_turn(actor, offer)
        if side != Side.SELLER:
            raise Conflict("To say no to the seller's counter, withdraw your offer.")
        transition(offer, Status.DECLINED, actor=actor, note="declined", key=idempotency_key)
        publish(offer, event="declined", by=side)
        return offer

    return _act_on(offer, actor=actor, key=idempotency_key, work=work)


def offer_withdraw(*, actor, offer: Offer | str, idempotency_key: str) -> Offer:
    """The buyer ends the thread: a pending amount (theirs or the seller's counter), or
    an accepted one they will not buy, whose held unit goes back on sale."""

    def work(_, offer: Offer) -> Offer:
        if _side_of(actor, offer) != Side.BUYER:
            raise NotAllowed("Only the buyer can withdraw an offer; a seller declines it.")
        reservation = offer.reservation if offer.status == Status.ACCEPTED else None
        transition(offer, Status.WITHDRAWN, actor=actor, note="withdrawn", key=idempotency_key)
        if reservation is not None:
            reservation_release(reservation=reservation, note="offer withdrawn")
        publish(offer, event="withdrawn", by=Side.BUYER)
        return offer

    return _act_on(offer, actor=actor, key=idempotency_key, work=work)


def offer_mark_purchased(*, offer: Offer, reference: str) -> Offer:
    """Orders, inside its payment transaction: the accepted offer was bought.

    Idempotent for the same reference. The reservation is not touched here: orders
    consumes it. An accepted offer may be marked even past its expiry (the payment
    started in time); one the sweep already expired may not.
    """
    with transaction.atomic():
        offer = offer_for_update(offer_id=offer.pk, item=item_lock(item_id=offer.item_id))
        if offer.status == Status.PURCHASED:
            if offer.purchase_reference == reference:
                return offer
            raise Conflict("This offer was already bought with another order.")
        if offer.status != Status.ACCEPTED:
            raise Conflict(
                f"This offer is {offer.get_status_display().lower()}, not accepted; "
                "it cannot be bought at its price.",
                code="offer_not_accepted",
            )
        offer.purchase_reference = reference
        offer.save(update_fields=["purchase_reference"])
        transition(offer, Status.PURCHASED, note=f"order {reference}"[:200])
        publish(offer, event="purchased", by="buyer")
    return offer


def offers_expire_due(*, now=None) -> int:
    """The beat sweep: expire live offers whose time ran out. Returns how many."""
    now = now or timezone.now()
    due = list(
        Offer.objects.filter(status__in=Offer.LIVE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", "item_id")[:500]
    )
    expired = 0
    for offer_id, item_id in due:
        with transaction.atomic():
            offer = offer_for_update(offer_id=offer_id, item=item_lock(item_id=item_id))
            if offer.is_due(now):
                _expire(offer)
                expired += 1
    return expired


def offers_warn_expiring(*, now=None) -> int:
    """The beat sweep: warn whoever must act on a live offer that runs out within
    EXPIRY_WARNING, once per offer (the notice's dedupe key; offers already warned
    are skipped here so a frequent sweep queues nothing new). Returns how many."""
    now = now or timezone.now()
    soon = list(
        Offer.objects.filter(
            status__in=Offer.LIVE, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING
        )
        .select_related(*Offer.RELATED)
        .order_by("expires_at")[:500]
    )

    def recipient_id(offer: Offer) -> int:
        if expiring_side(offer) == Side.BUYER:
            return offer.buyer_id
        return offer.item.stall.seller.user_id

    warned = dedupe_keys_used(keys={(recipient_id(o), expiring_dedupe_key(o)) for o in soon})
    fresh = [o for o in soon if (recipient_id(o), expiring_dedupe_key(o)) not in warned]
    for offer in fresh:
        offer_expiring_notify(offer)
    return len(fresh)


# Auto prices


@transaction.atomic
def auto_prices_set(
    *, actor, item: Item, accept_cents: int | None, decline_cents: int | None
) -> AutoPrices:
    """The seller's standing answers for an item; None clears one. Both stay below the
    list price, auto-decline below auto-accept. They apply to amounts sent from now on."""
    require_stall_editor(actor=actor, stall=item.stall)
    for label, cents in (("auto-accept", accept_cents), ("auto-decline", decline_cents)):
        if cents is None:
            continue
        if cents <= 0:
            raise Invalid(f"The {label} price must be more than zero.")
        if cents >= item.price_cents:
            raise Invalid(
                f"The {label} price must be below the list price, {_money(item.price_cents, item)}."
            )
    if accept_cents is not None and decline_cents is not None and decline_cents >= accept_cents:
        raise Invalid("The auto-decline price must be below the auto-accept price.")
    rule, _ = AutoPrices.objects.update_or_create(
        item=item,
        defaults={
            "accept_cents": accept_cents,
            "decline_cents": decline_cents,
            "updated_at": timezone.now(),
        },
    )
    return rule
