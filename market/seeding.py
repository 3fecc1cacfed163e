"""Lays out a demo market: an N x N block of sections from 0/0, stalls, demo logins."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from accounts.seeding import users_create_many
from auctions.services import auction_start
from governance.models import Role
from governance.services import role_grant
from orders.services import shipping_address_save
from stalls.seeding import DemoStall, demo_stalls_create
from stalls.selectors import items_with_availability, stall_for_user

from .models import Section
from .services import sections_ensure

DEMO_PASSWORD = "bazaar-demo"  # noqa: S105 - printed for people trying the demo
DEMO_LOGINS = {
    "demo_buyer": "a shopper",
    "demo_seller": "a seller with a stall at 0/0",
    "demo_steward": "a steward (admin access)",
    "demo_ops": "ops (admin access)",
}
CENTRE_SLOT = 4


@dataclass(frozen=True)
class SeedReport:
    sections_created: int
    stalls_created: int
    sections_total: int


def seed_market(*, sections: int, stalls: int) -> SeedReport:
    """Idempotent: running it again fills only what is missing.

    `stalls` is how many of each section's nine slots get a stall (the demo
    seller's own stall takes the centre of 0/0).
    """
    coordinates = [(x, y) for y in range(sections) for x in range(sections)]
    created_sections = sections_ensure(coordinates=coordinates)
    section_ids = {(s.x, s.y): s.pk for s in Section.objects.all()}
    users = users_create_many(handles=list(DEMO_LOGINS), password=DEMO_PASSWORD)
    with transaction.atomic():
        role_grant(user=users["demo_steward"], role=Role.STEWARD)
        role_grant(user=users["demo_ops"], role=Role.OPS)
    placements = [DemoStall(handle="demo_seller", x=0, y=0, slot=CENTRE_SLOT)]
    for x, y in coordinates:
        rng = random.Random(f"{x}/{y}")
        slots = [s for s in range(9) if (x, y, s) != (0, 0, CENTRE_SLOT)]
        for slot in sorted(rng.sample(slots, min(stalls, len(slots)))):
            placements.append(DemoStall(handle=f"seller_{x}_{y}_{slot}", x=x, y=y, slot=slot))
    sellers = users_create_many(handles=[p.handle for p in placements], password=DEMO_PASSWORD)
    made = demo_stalls_create(users=sellers, placements=placements, section_ids=section_ids)
    _demo_trading_ensure(buyer=users["demo_buyer"], seller=sellers["demo_seller"])
    return SeedReport(
        sections_created=created_sections, stalls_created=made, sections_total=len(section_ids)
    )


def _demo_trading_ensure(*, buyer, seller) -> None:
    """What lets a visitor try the trading loop at once: demo_buyer has a shipping
    address, and the demo seller's dearest item is up for a day-long auction."""
    shipping_address_save(
        buyer=buyer,
        name="Demo Buyer",
        line1="1 Market Square",
        line2="",
        city="Springfield",
        postal_code="12345",
        country="US",
    )
    stall = stall_for_user(user=seller)
    item = items_with_availability(stall=stall).order_by("-price_cents").first() if stall else None
    if item is not None:
        auction_start(
            actor=seller,
            item=item,
            start_cents=max(100, item.price_cents // 2 // 100 * 100),
            reserve_cents=None,
            buy_now_cents=None,
            duration=timedelta(hours=24),
            idempotency_key="demo-market-auction",
        )
