"""The top bar of a signed-in page (discovery.context_processors): the menu's roles,
the bell's count and the cart's units from one cache round trip, each as it is now."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from notifications.models import Kind
from notifications.services import notify
from orders.checkout.services import cart_add
from stalls.services import seller_register

pytestmark = pytest.mark.django_db


def top_bar(html: str) -> str:
    return html[html.index('<header class="topbar"') : html.index("</header>")]


def cart_count(bar: str) -> str:
    return bar.split('id="cart-count"')[1].split("</a>")[0].strip()


def test_the_top_bar_is_one_cache_read_and_shows_each_change(
    client, make_user, stall, make_item, on_commit, monkeypatch
):
    buyer = make_user("topbuyer")
    client.force_login(buyer)
    page = reverse("market:section", args=[0, 0])
    client.get(page)  # warm
    reads = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or get_many(keys))
    bar = top_bar(client.get(page).content.decode())
    keys = [
        key for read in reads for key in read if "roles" in key or "unread" in key or "cart" in key
    ]
    together = [read for read in reads if len([key for key in read if key in keys]) == len(keys)]
    assert len(keys) == 4 and together  # roles, unread, the cart's scope and its units
    assert "Sell here" in bar and 'aria-label="Notifications"' in bar
    assert cart_count(bar) == "></span>"

    on_commit(cart_add, buyer=buyer, item=make_item(stall, title="Lamp", inventory=3), quantity=2)
    on_commit(notify, buyer, Kind.OUTBID, title="You were outbid on Lamp", url="/x/")
    on_commit(seller_register, user=buyer, legal_name="Top Buyer", country="US")
    bar = top_bar(client.get(page).content.decode())
    assert "My stall" in bar and "Sell here" not in bar
    assert 'aria-label="Notifications, 1 unread"' in bar
    assert '</span>2<span class="visually-hidden"> items' in cart_count(bar)
