"""A realistic event stream for benchmarks and demos (`manage.py analytics_seed`).

Visitors come back on several days, mostly in the afternoon and evening; a few
sections and stalls draw most of the crowd (Zipf-like weights); each visit walks a
few sections, looks into stalls and items, and some visits chat, bargain, bid, fill
a cart and pay. Paid orders ship within days and are released or, rarely, disputed
and refunded. The ratios are those of a busy flea market, not measured ones.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone

from .models import Event, Kind

# Visits by hour of day (UTC), a market that is busiest after work.
HOURLY = [1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 10, 11, 12, 14, 15, 13, 10, 6, 3]
BATCH = 5000


@dataclass(frozen=True)
class Catalogue:
    """What exists to be visited: section ids, and per stall its section and items."""

    sections: list[int]
    stalls: list[tuple[int, int, list[int]]]  # (stall id, section id, item ids)


def _zipf_weights(count: int) -> list[float]:
    return [1 / (rank + 1) ** 0.8 for rank in range(count)]


def _visit(rng: random.Random, catalogue: Catalogue, weights):
    """One visit's events, in order: (kind, seconds after start, stall, item, amounts)."""
    t = 0.0
    for _ in range(rng.randint(1, 4)):
        yield Kind.GRID_VIEWED, t, rng.choice(catalogue.sections), None, None, {}
        t += rng.uniform(3, 40)
    stall_id, section_id, items = rng.choices(catalogue.stalls, weights)[0]
    yield Kind.STALL_VIEWED, t, section_id, stall_id, None, {}
    if rng.random() < 0.15:
        yield Kind.CHAT_SENT, t + 20, section_id, stall_id, None, {}
    for item in rng.sample(items, min(len(items), rng.randint(0, 3))):
        t += rng.uniform(5, 60)
        price = rng.randrange(500, 20000, 50)
        yield Kind.ITEM_VIEWED, t, section_id, stall_id, item, {}
        if rng.random() < 0.06:
            yield (
                Kind.OFFER_MADE,
                t + 30,
                section_id,
                stall_id,
                item,
                {"amount_cents": price * 4 // 5},
            )
            if rng.random() < 0.4:
                yield (
                    Kind.OFFER_ACCEPTED,
                    t + 600,
                    section_id,
                    stall_id,
                    item,
                    {"amount_cents": price * 4 // 5},
                )
        if rng.random() < 0.03:
            yield Kind.BID_PLACED, t + 10, section_id, stall_id, item, {"amount_cents": price}
        if rng.random() < 0.09:
            yield from _purchase(rng, t, section_id, stall_id, item, price)


def _purchase(rng, t, section_id, stall_id, item, price):
    yield Kind.CART_ADDED, t + 15, section_id, stall_id, item, {}
    if rng.random() > 0.55:
        return
    yield Kind.CHECKOUT_STARTED, t + 60, None, None, None, {"amount_cents": price}
    if rng.random() > 0.85:
        return
    fee = price * 5 // 100
    money = {"amount_cents": price, "fee_cents": fee}
    yield Kind.ORDER_PAID, t + 120, section_id, stall_id, None, money
    waited = rng.uniform(2, 96) * 3600
    yield (
        Kind.ORDER_SHIPPED,
        t + 120 + waited,
        section_id,
        stall_id,
        None,
        {
            "amount_cents": price,
            "duration_seconds": int(waited),
        },
    )
    if rng.random() < 0.03:
        yield (
            Kind.ORDER_DISPUTED,
            t + waited + 86400,
            section_id,
            stall_id,
            None,
            {"amount_cents": price},
        )
        yield (
            Kind.ORDER_REFUNDED,
            t + waited + 3 * 86400,
            section_id,
            stall_id,
            None,
            {"amount_cents": price},
        )
    else:
        yield (
            Kind.ORDER_RELEASED,
            t + waited + 10 * 86400,
            section_id,
            stall_id,
            None,
            {"amount_cents": price},
        )


def _auctions(rng: random.Random, catalogue: Catalogue, weights, start: datetime, now: datetime):
    """Auctions ending through the period: about two in three sell."""
    days = (now - start).days + 1
    for _ in range(max(1, days * len(catalogue.stalls) // 20)):
        stall_id, section_id, items = rng.choices(catalogue.stalls, weights)[0]
        when = start + (now - start) * rng.random()
        item = rng.choice(items) if items else None
        price = rng.randrange(1000, 30000, 100)
        yield Kind.AUCTION_ENDED, when, section_id, stall_id, item, {"amount_cents": price}
        if rng.random() < 0.65:
            yield Kind.AUCTION_WON, when, section_id, stall_id, item, {"amount_cents": price}


# The columns a generated event fills, in the order `events_generate` yields them.
COLUMNS = (
    "kind",
    "occurred_at",
    "recorded_at",
    "visitor",
    "section_id",
    "stall_id",
    "item_id",
    "amount_cents",
    "fee_cents",
    "duration_seconds",
)


def events_generate(
    *,
    events: int,
    catalogue: Catalogue,
    days: int = 30,
    now: datetime | None = None,
    seed: int = 17,
) -> Iterator[tuple]:
    """About `events` events over the last `days` days (none in the future), as rows of
    `COLUMNS`: a million model instances would cost more than writing them."""
    rng = random.Random(seed)
    now = now or timezone.now()
    # Midnight (UTC) `days - 1` days ago: the hours of HOURLY are hours of the clock, and
    # the days are those of a dashboard's default period (today, so far, and the days
    # before it).
    start = datetime.combine((now - timedelta(days=days - 1)).date(), time(0), tzinfo=UTC)
    weights = _zipf_weights(len(catalogue.stalls))
    rng.shuffle(weights)
    visitors = [f"seed{n:022d}" for n in range(max(50, events // 40))]
    made = 0
    for kind, when, section_id, stall_id, item, money in _auctions(
        rng, catalogue, weights, start, now
    ):
        made += 1
        yield _row(kind, when, "", section_id, stall_id, item, money)
    while made < events:
        day = rng.randrange(days)
        hour = rng.choices(range(24), HOURLY)[0]
        begin = start + timedelta(days=day, hours=hour, seconds=rng.uniform(0, 3600))
        visitor = rng.choice(visitors)
        for kind, t, section_id, stall_id, item, money in _visit(rng, catalogue, weights):
            when = begin + timedelta(seconds=t)
            if when >= now or made >= events:
                break
            made += 1
            yield _row(kind, when, visitor, section_id, stall_id, item, money)


def _row(kind, when, visitor, section_id, stall_id, item, money) -> tuple:
    return (
        kind.value,
        when,
        when + timedelta(seconds=1),
        visitor,
        section_id,
        stall_id,
        item,
        money.get("amount_cents"),
        money.get("fee_cents"),
        money.get("duration_seconds"),
    )


def events_seed(
    *, events: int, catalogue: Catalogue, days: int = 30, now: datetime | None = None
) -> int:
    """Write a generated stream in bulk; returns how many events were written.

    PostgreSQL takes the rows through COPY, other databases through one prepared
    INSERT run over each batch (a million events: seconds, not the minutes that
    `bulk_create` of model instances takes)."""
    rows = events_generate(events=events, catalogue=catalogue, days=days, now=now)
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            # The planner's statistics, as a live market's table has them.
            cursor.execute(f"ANALYZE {table}")
            return written
        # The names are the model's own, quoted; the values go as parameters.
        values = ", ".join(["%s"] * len(COLUMNS))
        insert = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608
        adapt = connection.ops.adapt_datetimefield_value
        while batch := [
            (kind, adapt(occurred), adapt(recorded), *rest)
            for kind, occurred, recorded, *rest in islice(rows, BATCH)
        ]:
            cursor.executemany(insert, batch)
            written += len(batch)
    return written
