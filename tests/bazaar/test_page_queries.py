"""What each page costs in queries, so the count cannot creep back (issue 22).

Every page is read once (caches and the viewer's roles warm, as on a live market),
then counted with more than one item on the stall and more than one line in the cart,
at least one of them at an accepted offer. Each budget is the count on SQLite, where
the session is a query of its own (with Redis it is read from the cache). A second
test adds a stall and more items on each (a cart twice as long, over more stalls) and
asks for the same count: a query per item, per line or per stall (an N+1) cannot hide
under a budget that has room to spare.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bazaar.ids import new_ulid
from offers.services import offer_accept, offer_make
from orders.checkout.services import cart_add, shipping_address_save
from tests.conftest import new_item, new_photo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cards_outlive_a_slow_test(settings):
    """The grid's cards live 5 s; on a loaded machine the warm-up read and the
    counted read can be further apart than that, and the count would take in a refill."""
    settings.SECTION_CACHE_SECONDS = 600


class Market:
    """A stall of the seller's and the stalls next to it; a buyer whose cart holds items
    of them all, some at accepted offers."""

    def __init__(self, make_stall, make_user):
        self.make_stall = make_stall
        self.stall = make_stall("seller", slot=0, name="Lamps")
        self.stalls = [self.stall]
        self.buyer = make_user("buyer")
        shipping_address_save(
            buyer=self.buyer,
            name="Buyer Person",
            line1="1 Market Street",
            line2="",
            city="Springfield",
            postal_code="12345",
            country="US",
        )
        self.items = []

    def add(self, count: int) -> None:
        """A stall more, then `count` more items on each stall, each with a photo, all
        in the buyer's cart, every other one of the first stall's at an accepted offer."""
        slot = len(self.stalls)
        self.stalls.append(self.make_stall(f"seller{slot}", slot=slot, name=f"Stall {slot}"))
        for number in range(count):
            for stall in self.stalls:
                item = new_item(
                    stall, title=f"Thing {len(self.items)}", price_cents=2500, inventory=3
                )
                new_photo(stall, item)
                self.items.append(item)
                if stall == self.stall and number % 2 == 0:
                    offer = offer_make(
                        buyer=self.buyer,
                        item=item,
                        amount_cents=2000,
                        message="",
                        idempotency_key=new_ulid(),
                    )
                    offer_accept(actor=stall.seller.user, offer=offer, idempotency_key=new_ulid())
                cart_add(buyer=self.buyer, item=item)


@pytest.fixture
def shop(make_stall, make_user):
    shop = Market(make_stall, make_user)
    shop.add(2)
    return shop


def pages(shop: Market) -> dict[str, tuple[str, bool]]:
    """Each page by name: (path, read signed in)."""
    return {
        "front": (reverse("discovery:home"), False),
        "grid": (reverse("market:section", args=[0, 0]), False),
        "stall signed out": (reverse("stalls:detail", args=[shop.stall.public_id]), False),
        "stall signed in": (reverse("stalls:detail", args=[shop.stall.public_id]), True),
        "item": (reverse("discovery:item", args=[shop.items[0].public_id]), True),
        "cart": (reverse("orders:cart"), True),
        "checkout": (reverse("orders:checkout"), True),
    }


# The budgets, query by query, on SQLite (a signed-in page's session is a query there;
# with Redis it is read from the cache, one fewer).
BUDGETS = {
    # Home: live shows, auctions ending soon with their photos, new items with their
    # stock, photos and auctions.
    "front": 6,
    # The grid: none; its cards, the layout and the stalls' running auctions are kept
    # (stalls.selectors, market.selectors, auctions.selectors).
    "grid": 0,
    # Stall: the stall (the page's shared markup with its item cards, photos, rating
    # and running auctions, a quiet show stage, no review yet and the Follow count
    # are kept until they change: {% kept %}, stalls.cards, reviews.selectors,
    # stalls.room.overlay, auctions.selectors, watchlist.selectors); signed in also
    # session and user (a buyer's accepted offers for the cart buttons, cart count,
    # saves and follows are kept until they change one: offers.selectors,
    # orders.checkout.selectors, watchlist.selectors).
    "stall signed out": 1,
    "stall signed in": 3,
    # Item (signed in): session, user, the item, the viewer's holds in its stall,
    # accepted offer (the stall's items with their stock and photos, no auction
    # running, the rating and the Save and Follow buttons are kept: stalls.cards,
    # auctions.selectors, reviews.selectors, watchlist.selectors).
    "item": 5,
    # Cart: session, user, the lines with their stock, the open checkout, the lines'
    # shipping (the count and the buyer's accepted offers are kept, read with the top
    # bar: orders.checkout.selectors, offers.selectors); checkout reads the accepted
    # offers' rows and the address too.
    "cart": 5,
    "checkout": 7,
}


def count_queries(client, path: str) -> int:
    """The page's queries on a second read (the first warms the caches)."""
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def clients(client, shop):
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(shop.buyer)
    return {False: client, True: signed_in}


# Redis round trips of each page, warm (the cache, the analytics buffer, the crowd):
# a signed-in page's session is one; a page's kept values are read ahead in one, with
# its visit's push (bazaar.cache.writes_with_next_read). The grid also reads the
# layout, its cards, the crowd and the rooms' crowd for the minimap.
ROUND_TRIPS = {
    "grid": 5,
    "stall signed out": 1,
    "stall signed in": 2,
    "item": 2,
    "cart": 2,
}


def count_round_trips(client, path: str, monkeypatch) -> int:
    """The page's Redis round trips on a third read (the first two warm the caches and
    the markup held by the process): a pipeline is one."""
    from redis.connection import Connection

    for _ in range(2):
        assert client.get(path).status_code == 200
    sent = []
    send = Connection.send_packed_command
    monkeypatch.setattr(
        Connection,
        "send_packed_command",
        lambda self, command, *args, **kwargs: (
            sent.append(1) or send(self, command, *args, **kwargs)
        ),
    )
    assert client.get(path).status_code == 200
    monkeypatch.undo()
    return len(sent)


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_each_page_stays_within_its_redis_round_trips(
    name, shop, clients, require_redis, monkeypatch
):
    path, signed_in = pages(shop)[name]
    assert count_round_trips(clients[signed_in], path, monkeypatch) <= ROUND_TRIPS[name]


@pytest.mark.parametrize("name", list(BUDGETS))
def test_each_page_stays_within_its_query_budget(name, shop, clients):
    path, signed_in = pages(shop)[name]
    assert count_queries(clients[signed_in], path) <= BUDGETS[name]


@pytest.mark.parametrize("name", list(BUDGETS))
def test_a_page_costs_the_same_queries_with_twice_the_items_and_cart_lines(name, shop, clients):
    path, signed_in = pages(shop)[name]
    before = count_queries(clients[signed_in], path)
    shop.add(2)
    assert count_queries(clients[signed_in], path) == before
