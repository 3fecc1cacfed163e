"""The demo buyer's watchlist, so the Saved page and its notices have something to
show on a fresh demo market: a few items and stalls at 0/0, where a newcomer starts.
One of the stalls followed is the demo seller's, so logging in as `demo_seller` and
opening that stall tells `demo_buyer` the seller is live."""

from django.db.models import Case, IntegerField, Value, When

from stalls.models import Item, Stall
from stalls.seeding import DEMO_SELLER

from .services import item_watch_set, stall_follow_set

DEMO_SAVED_ITEMS = 4
DEMO_FOLLOWED_STALLS = 2


def demo_watchlist_create(*, buyer) -> None:
    """Idempotent: the services set a state, so seeding again changes nothing."""
    demo_seller_first = Case(
        When(seller__user__handle=DEMO_SELLER, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    near = Stall.objects.filter(section__x=0, section__y=0).order_by(demo_seller_first, "slot")
    for stall in near[:DEMO_FOLLOWED_STALLS]:
        stall_follow_set(user=buyer, stall=stall, following=True)
    items = Item.objects.filter(stall__in=near, archived_at__isnull=True).select_related(
        "stall__seller"
    )
    for item in items.order_by("stall__slot", "id")[::3][:DEMO_SAVED_ITEMS]:
        item_watch_set(user=buyer, item=item, watching=True)
