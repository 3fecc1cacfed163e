"""Lays out a demo market: an N x N block of sections from 0/0, stalls, demo logins,
and a few flash auctions near 0/0 that are kept running while the demo is served."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.seeding import DEMO_EMAIL_DOMAIN, users_create_many
from auctions.models import Auction
from auctions.selectors import RUNNING
from auctions.services.starting import auction_start
from governance.models import Role
from governance.services import role_grant
from orders.checkout.services import shipping_address_save
from stalls.seeding import DEMO_SELLER, DemoStall, demo_items_free, demo_stalls_create
from watchlist.seeding import demo_watchlist_create

from .models import Section
from .services import sections_ensure

DEMO_PASSWORD = "bazaar-demo"  # noqa: S105 - printed for people trying the demo
DEMO_LOGINS = {
    "demo_buyer": "a shopper",
    DEMO_SELLER: "a seller with a stall at 0/0",
    "demo_steward": "a steward (admin access)",
    "demo_ops": "ops (admin access)",
}
CENTRE_SLOT = 4
# Flash auctions kept running in the demo, in the sections a newcomer sees first
# (0/0 to DEMO_AUCTION_REACH/DEMO_AUCTION_REACH), ending 3 to 20 minutes apart.
DEMO_AUCTIONS = 4
DEMO_AUCTION_REACH = 1
DEMO_AUCTION_MINUTES = range(3, 20)


@dataclass(frozen=True)
class SeedReport:
    sections_created: int
    stalls_created: int
    sections_total: int
    auctions_started: int


def seed_market(*, sections: int, stalls: int, items_per_stall: int = 3) -> SeedReport:
    """Idempotent: running it again fills only what is missing.

    `stalls` is how many of each section's nine slots get a stall (the demo
    seller's own stall takes the centre of 0/0); each has `items_per_stall` items.
    """
    coordinates = [(x, y) for y in range(sections) for x in range(sections)]
    created_sections = sections_ensure(coordinates=coordinates)
    section_ids = {(s.x, s.y): s.pk for s in Section.objects.all()}
    users = users_create_many(handles=list(DEMO_LOGINS), password=DEMO_PASSWORD)
    with transaction.atomic():
        role_grant(user=users["demo_steward"], role=Role.STEWARD)
        role_grant(user=users["demo_ops"], role=Role.OPS)
    placements = [DemoStall(handle=DEMO_SELLER, x=0, y=0, slot=CENTRE_SLOT)]
    for x, y in coordinates:
        rng = random.Random(f"{x}/{y}")
        slots = [s for s in range(9) if (x, y, s) != (0, 0, CENTRE_SLOT)]
        for slot in sorted(rng.sample(slots, min(stalls, len(slots)))):
            placements.append(DemoStall(handle=f"seller_{x}_{y}_{slot}", x=x, y=y, slot=slot))
    sellers = users_create_many(handles=[p.handle for p in placements], password=DEMO_PASSWORD)
    made = demo_stalls_create(
        users=sellers,
        placements=placements,
        section_ids=section_ids,
        items_per_stall=items_per_stall,
    )
    _demo_buyer_address(buyer=users["demo_buyer"])
    demo_watchlist_create(buyer=users["demo_buyer"])
    return SeedReport(
        sections_created=created_sections,
        stalls_created=made,
        sections_total=len(section_ids),
        auctions_started=len(demo_auctions_keep()),
    )


def _demo_buyer_address(*, buyer) -> None:
    """demo_buyer can check out at once."""
    shipping_address_save(
        buyer=buyer,
        name="Demo Buyer",
        line1="1 Market Square",
        line2="",
        city="Springfield",
        postal_code="12345",
        country="US",
    )


def demo_auctions_running(*, now: datetime | None = None) -> list[Auction]:
    """The demo sellers' auctions still open to bids, ending soonest first. One past
    its end is not counted even before the sweep closes it (after a restart, say)."""
    return list(
        Auction.objects.filter(
            status__in=RUNNING,
            ends_at__gt=now or timezone.now(),
            seller__email__endswith=f"@{DEMO_EMAIL_DOMAIN}",
        )
        .select_related("item")
        .order_by("ends_at")
    )


def _staggered(*, ends: list[timedelta], count: int, rng: random.Random) -> list[timedelta]:
    """Durations for `count` new auctions, each as far as can be from every other
    end (in whole minutes, plus some seconds), so they do not all close at once."""
    chosen = []
    for _ in range(count):
        minutes = max(
            DEMO_AUCTION_MINUTES,
            key=lambda m: (
                min((abs(timedelta(minutes=m) - end) for end in ends), default=timedelta.max),
                rng.random(),
            ),
        )
        duration = timedelta(minutes=minutes, seconds=rng.randrange(60))
        ends.append(duration)
        chosen.append(duration)
    return chosen


def demo_auctions_keep(*, now: datetime | None = None) -> list[Auction]:
    """Start demo auctions until DEMO_AUCTIONS are running: what keeps the demo
    market alive (beat runs it while the demo is served; `seed_market` too).

    The demo seller's stall, where a newcomer starts, always has one if it has
    anything left to sell; the others go to stalls near 0/0. Ends are staggered
    between 3 and 20 minutes. Returns the auctions started.
    """
    now = now or timezone.now()
    running = demo_auctions_running(now=now)
    missing = DEMO_AUCTIONS - len(running)
    if missing <= 0:
        return []
    rng = random.Random(now.isoformat())
    candidates = demo_items_free(
        reach=DEMO_AUCTION_REACH, exclude={auction.item_id for auction in running}
    )
    rng.shuffle(candidates)
    busy_sellers = {auction.seller_id for auction in running}
    # One auction per seller, the demo seller's first.
    candidates.sort(key=lambda item: item.stall.seller.user.handle != DEMO_SELLER)
    picked = []
    for item in candidates:
        if item.stall.seller.user_id not in busy_sellers:
            picked.append(item)
            busy_sellers.add(item.stall.seller.user_id)
        if len(picked) == missing:
            break
    ends = [auction.ends_at - now for auction in running]
    durations = _staggered(ends=ends, count=len(picked), rng=rng)
    attempts = dict(
        Auction.objects.filter(item__in=picked)
        .values("item")
        .annotate(n=Count("id"))
        .values_list("item", "n")
    )
    started = []
    for item, duration in zip(picked, durations, strict=True):
        start_cents = max(100, item.price_cents // 2 // 100 * 100)
        started.append(
            auction_start(
                actor=item.stall.seller.user,
                item=item,
                start_cents=start_cents,
                reserve_cents=None,
                buy_now_cents=item.price_cents if item.price_cents > start_cents else None,
                duration=duration,
                idempotency_key=f"demo-{item.public_id}-{attempts.get(item.pk, 0)}",
            )
        )
    return started
