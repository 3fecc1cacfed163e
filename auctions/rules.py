"""The auction's arithmetic as pure functions: increments, proxy bidding, soft close.

No database and no clock here, so property-based tests can drive them directly;
`auctions.services` apply them under the auction's row lock.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bazaar.errors import Conflict, Invalid
from bazaar.money import exponent, format_money

# (upper bound of the price band in major units, increment in major units):
# $1 under $30, $2 to $50, $3 to $100, $5 to $300, $10 to $1,000, $20 to $2,000, $50 above.
INCREMENT_BANDS = ((30, 1), (50, 2), (100, 3), (300, 5), (1_000, 10), (2_000, 20))
TOP_INCREMENT = 50

SOFT_CLOSE_WINDOW = timedelta(seconds=10)
SOFT_CLOSE_EXTENSION = timedelta(seconds=15)
HARD_END_MARGIN = timedelta(minutes=5)
MIN_DURATION = timedelta(seconds=30)
MAX_DURATION = timedelta(hours=24)


def increment(price_cents: int, currency: str) -> int:
    """The smallest step above `price_cents`, by the band the price is in."""
    unit = 10 ** exponent(currency)
    for upper, step in INCREMENT_BANDS:
        if price_cents < upper * unit:
            return step * unit
    return TOP_INCREMENT * unit


def increment_bands(currency: str) -> list[list[int | None]]:
    """The bands in minor units, `[upper or None, step]`, for the page's stepper."""
    unit = 10 ** exponent(currency)
    bands: list[list[int | None]] = [[upper * unit, step * unit] for upper, step in INCREMENT_BANDS]
    return [*bands, [None, TOP_INCREMENT * unit]]


@dataclass(frozen=True)
class Ladder:
    """What bid resolution needs to know about an auction: the visible price, the
    leader, and the leader's hidden maximum."""

    currency: str
    start_cents: int
    reserve_cents: int | None = None
    price_cents: int | None = None
    leader: Hashable | None = None
    leader_max_cents: int | None = None

    @property
    def has_bids(self) -> bool:
        return self.leader is not None


@dataclass(frozen=True)
class Step:
    """One bid row the resolution produces. `leading`: it became the high bid."""

    bidder: Hashable
    kind: str
    amount_cents: int
    max_cents: int | None
    leading: bool


@dataclass(frozen=True)
class Resolution:
    steps: tuple[Step, ...]
    price_cents: int
    leader: Hashable
    leader_max_cents: int


BID, PROXY, MAX = "bid", "proxy", "max"


def minimum_bid(ladder: Ladder) -> int:
    """The next acceptable bid: the starting price, then the price plus its increment."""
    if not ladder.has_bids:
        return ladder.start_cents
    return ladder.price_cents + increment(ladder.price_cents, ladder.currency)


def reserve_met(cents: int | None, reserve_cents: int | None) -> bool:
    """Whether a price (or a bid) of `cents` sells the item: no reserve, or at least it."""
    return reserve_cents is None or (cents or 0) >= reserve_cents


def _lift_to_reserve(price: int, maximum: int, reserve: int | None) -> int:
    """A maximum at or above the reserve takes the price straight to the reserve."""
    if reserve is not None and maximum >= reserve:
        return max(price, reserve)
    return price


def resolve_bid(
    ladder: Ladder, *, bidder: Hashable, amount_cents: int, max_cents: int | None = None
) -> Resolution:
    """Place `amount_cents` (with an optional proxy maximum) against the ladder.

    The system bids for the holder of the higher maximum by the increment up to it;
    on equal maximums the earlier one (the leader's) wins. The leader bidding again
    raises their maximum without raising the price (except to meet the reserve).
    Raises Invalid/Conflict with the reason when the bid cannot be accepted.
    """
    money = lambda cents: format_money(cents, ladder.currency)  # noqa: E731
    if max_cents is not None and max_cents < amount_cents:
        raise Invalid(
            f"Your maximum ({money(max_cents)}) is below your bid ({money(amount_cents)}).",
            code="max_below_bid",
        )
    maximum = max(amount_cents, max_cents or 0)
    reserve = ladder.reserve_cents

    if ladder.has_bids and bidder == ladder.leader:
        if maximum <= ladder.leader_max_cents:
            raise Conflict(
                f"You are already the high bidder at {money(ladder.price_cents)}; to raise "
                f"your maximum, enter more than {money(ladder.leader_max_cents)}.",
                code="already_leading",
            )
        price = _lift_to_reserve(ladder.price_cents, maximum, reserve)
        lifted = price > ladder.price_cents
        step = Step(bidder, MAX, price, maximum, leading=lifted)
        return Resolution((step,), price, bidder, maximum)

    minimum = minimum_bid(ladder)
    if amount_cents < minimum:
        raise Conflict(
            f"The next minimum bid is {money(minimum)}; bid at least that.", code="bid_too_low"
        )

    if not ladder.has_bids:
        price = _lift_to_reserve(amount_cents, maximum, reserve)
        return Resolution((Step(bidder, BID, price, maximum, True),), price, bidder, maximum)

    defender, defender_max = ladder.leader, ladder.leader_max_cents
    if maximum > defender_max:
        # The newcomer's proxy beats the leader's: the leader's proxy went up to its
        # maximum first, the newcomer stands one increment above it (within their maximum).
        price = max(
            amount_cents, min(maximum, defender_max + increment(defender_max, ladder.currency))
        )
        price = _lift_to_reserve(price, maximum, reserve)
        steps = []
        if defender_max > ladder.price_cents:
            steps.append(Step(defender, PROXY, defender_max, None, True))
        steps.append(Step(bidder, BID, price, maximum, True))
        return Resolution(tuple(steps), price, bidder, maximum)

    # The leader's maximum holds (ties go to the earlier maximum): the newcomer's bid is
    # stored at their maximum and the leader's proxy answers one increment above it.
    price = min(defender_max, maximum + increment(maximum, ladder.currency))
    price = _lift_to_reserve(price, defender_max, reserve)
    steps = (
        Step(bidder, BID, maximum, maximum, False),
        Step(defender, PROXY, price, None, True),
    )
    return Resolution(steps, price, defender, defender_max)


def soft_close(
    *, ends_at: datetime, hard_ends_at: datetime, arrived_at: datetime, sudden_death: bool = False
) -> datetime:
    """A bid arriving in the last 10 s moves the end to 15 s after it, never past the
    hard end; earlier bids leave the end alone. A sudden-death auction's end never moves."""
    if sudden_death or ends_at - arrived_at > SOFT_CLOSE_WINDOW:
        return ends_at
    return max(ends_at, min(arrived_at + SOFT_CLOSE_EXTENSION, hard_ends_at))


def hard_end(*, starts_at: datetime, duration: timedelta) -> datetime:
    return starts_at + duration + HARD_END_MARGIN


def check_duration(duration: timedelta) -> None:
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise Invalid("An auction runs from 30 seconds to 24 hours.", code="duration")
