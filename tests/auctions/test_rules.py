"""The auction's arithmetic, property-based: increments, proxy bidding, soft close."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from auctions.rules import (
    BID,
    MAX,
    PROXY,
    Ladder,
    check_duration,
    hard_end,
    increment,
    minimum_bid,
    resolve_bid,
    soft_close,
)
from bazaar.errors import Conflict, DomainError, Invalid

prices = st.integers(min_value=1, max_value=10_000_000)


# Increments


@pytest.mark.parametrize(
    ("price", "step"),
    [
        (1, 100),
        (2999, 100),
        (3000, 200),
        (4999, 200),
        (5000, 300),
        (9999, 300),
        (10000, 500),
        (29999, 500),
        (30000, 1000),
        (99999, 1000),
        (100000, 2000),
        (199999, 2000),
        (200000, 5000),
        (10**9, 5000),
    ],
)
def test_increments_follow_the_price_bands(price, step):
    assert increment(price, "USD") == step


def test_increments_scale_with_the_currency_minor_unit():
    assert increment(29, "JPY") == 1
    assert increment(2500, "JPY") == 50


@given(prices, prices)
def test_increments_never_shrink_as_the_price_rises(low, high):
    low, high = sorted((low, high))
    assert 0 < increment(low, "USD") <= increment(high, "USD")


@given(prices)
def test_the_next_minimum_is_above_the_price(price):
    ladder = Ladder(
        currency="USD", start_cents=100, price_cents=price, leader=1, leader_max_cents=price
    )
    assert minimum_bid(ladder) == price + increment(price, "USD") > price
    assert minimum_bid(Ladder(currency="USD", start_cents=price)) == price


@given(prices)
def test_a_bid_below_the_next_minimum_is_refused_with_the_minimum(price):
    ladder = Ladder(
        currency="USD", start_cents=100, price_cents=price, leader=1, leader_max_cents=price
    )
    minimum = minimum_bid(ladder)
    with pytest.raises(Conflict) as refused:
        resolve_bid(ladder, bidder=2, amount_cents=minimum - 1)
    assert refused.value.code == "bid_too_low"
    dollars = f"{minimum // 100:,}.{minimum % 100:02d}"
    assert f"${dollars}" in refused.value.message


# Proxy bidding


def test_proxy_bidding_by_example():
    ladder = Ladder(currency="USD", start_cents=1000)
    # Alice opens at $10 with a $25 maximum: the price is her bid.
    first = resolve_bid(ladder, bidder="alice", amount_cents=1000, max_cents=2500)
    assert (first.price_cents, first.leader) == (1000, "alice")
    ladder = _after(ladder, first)
    # Bob bids $15 with no maximum: Alice's proxy answers at $16.
    second = resolve_bid(ladder, bidder="bob", amount_cents=1500)
    assert (second.price_cents, second.leader) == (1600, "alice")
    assert [(s.bidder, s.kind, s.amount_cents, s.leading) for s in second.steps] == [
        ("bob", BID, 1500, False),
        ("alice", PROXY, 1600, True),
    ]
    ladder = _after(ladder, second)
    # Bob bids exactly Alice's maximum: stored, and outbid by it (the earlier one wins).
    third = resolve_bid(ladder, bidder="bob", amount_cents=2500)
    assert (third.price_cents, third.leader) == (2500, "alice")
    assert [(s.bidder, s.amount_cents, s.leading) for s in third.steps] == [
        ("bob", 2500, False),
        ("alice", 2500, True),
    ]
    ladder = _after(ladder, third)
    # Carol's $40 maximum beats it: Alice's proxy is spent, Carol leads one step above.
    fourth = resolve_bid(ladder, bidder="carol", amount_cents=2600, max_cents=4000)
    assert (fourth.price_cents, fourth.leader, fourth.leader_max_cents) == (2600, "carol", 4000)


def test_a_maximum_above_the_reserve_lifts_the_price_to_the_reserve():
    ladder = Ladder(currency="USD", start_cents=1000, reserve_cents=5000)
    opening = resolve_bid(ladder, bidder="alice", amount_cents=1000, max_cents=8000)
    assert opening.price_cents == 5000
    below = resolve_bid(ladder, bidder="alice", amount_cents=1000, max_cents=4000)
    assert below.price_cents == 1000


def test_the_leader_raises_their_maximum_without_raising_the_price():
    ladder = Ladder(
        currency="USD",
        start_cents=1000,
        reserve_cents=5000,
        price_cents=1200,
        leader="a",
        leader_max_cents=2000,
    )
    raised = resolve_bid(ladder, bidder="a", amount_cents=1300, max_cents=3000)
    assert (raised.price_cents, raised.leader_max_cents) == (1200, 3000)
    assert [(s.kind, s.leading) for s in raised.steps] == [(MAX, False)]
    lifted = resolve_bid(ladder, bidder="a", amount_cents=1300, max_cents=6000)
    assert lifted.price_cents == 5000 and lifted.steps[0].leading
    with pytest.raises(Conflict, match="already the high bidder"):
        resolve_bid(ladder, bidder="a", amount_cents=1300, max_cents=2000)


def test_a_maximum_below_the_bid_is_refused():
    with pytest.raises(Invalid, match="below your bid"):
        resolve_bid(
            Ladder(currency="USD", start_cents=100), bidder=1, amount_cents=500, max_cents=400
        )


bids = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),  # bidder
        st.integers(min_value=0, max_value=3000),  # amount above the minimum
        st.one_of(st.none(), st.integers(min_value=0, max_value=20000)),  # maximum above it
    ),
    min_size=1,
    max_size=40,
)


@given(
    bids,
    st.integers(min_value=1, max_value=5000),
    st.one_of(st.none(), st.integers(min_value=1, max_value=30000)),
)
def test_proxy_bidding_invariants(sequence, start, reserve):
    """Over any sequence of bids: the high bids only rise (so no two share a price),
    the leader holds the highest maximum (the earliest of equals), the price never
    exceeds it and is at least every other bidder's maximum, and a leading maximum
    at or above the reserve means the reserve is met."""
    ladder = Ladder(currency="USD", start_cents=start, reserve_cents=reserve)
    maxima: dict[int, tuple[int, int]] = {}  # bidder -> (maximum, when it was set)
    high_bids = []
    for when, (bidder, above, extra) in enumerate(sequence):
        amount = minimum_bid(ladder) + above
        maximum = None if extra is None else amount + extra
        try:
            result = resolve_bid(ladder, bidder=bidder, amount_cents=amount, max_cents=maximum)
        except DomainError:
            assert bidder == ladder.leader  # only a leader's too-small raise is refused
            continue
        own = max(amount, maximum or 0)
        if bidder not in maxima or own > maxima[bidder][0]:
            maxima[bidder] = (own, when)
        high_bids += [step.amount_cents for step in result.steps if step.leading]
        assert (
            ladder.price_cents is None
            or result.price_cents > ladder.price_cents
            or (bidder == ladder.leader)
        )
        ladder = _after(ladder, result)

        best = max(maxima.values(), key=lambda m: (m[0], -m[1]))
        assert (ladder.leader_max_cents, maxima[ladder.leader][1]) == best
        assert ladder.price_cents <= ladder.leader_max_cents
        others = [m for who, (m, _) in maxima.items() if who != ladder.leader]
        assert all(ladder.price_cents >= m for m in others)
        if reserve is not None and ladder.leader_max_cents >= reserve:
            assert ladder.price_cents >= reserve
    assert high_bids == sorted(set(high_bids))


def _after(ladder: Ladder, result) -> Ladder:
    return replace(
        ladder,
        price_cents=result.price_cents,
        leader=result.leader,
        leader_max_cents=result.leader_max_cents,
    )


# Soft close

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
seconds = st.floats(min_value=0, max_value=600, allow_nan=False)


@given(
    duration=st.integers(min_value=30, max_value=86400),
    bid_before_end=seconds,
    extended=st.floats(min_value=0, max_value=300, allow_nan=False),
)
def test_soft_close(duration, bid_before_end, extended):
    """A bid in the last 10 s moves the end to 15 s after it, never past the hard end;
    an earlier bid changes nothing; the end never moves earlier."""
    hard = hard_end(starts_at=T0, duration=timedelta(seconds=duration))
    ends_at = min(T0 + timedelta(seconds=duration + extended), hard)
    arrived = ends_at - timedelta(seconds=bid_before_end)
    assume(arrived >= T0)
    new_end = soft_close(ends_at=ends_at, hard_ends_at=hard, arrived_at=arrived)
    assert ends_at <= new_end <= hard
    if bid_before_end > 10:
        assert new_end == ends_at
    else:
        assert new_end == min(arrived + timedelta(seconds=15), hard)


def test_the_hard_end_is_five_minutes_after_the_planned_end():
    assert hard_end(starts_at=T0, duration=timedelta(minutes=2)) == T0 + timedelta(minutes=7)


@pytest.mark.parametrize("duration", [timedelta(seconds=29), timedelta(hours=24, seconds=1)])
def test_durations_outside_30_seconds_to_24_hours_are_refused(duration):
    with pytest.raises(Invalid, match="30 seconds to 24 hours"):
        check_duration(duration)
