"""The top bar of a signed-in page (discovery.context_processors): the menu's roles,
the bell's count and the cart's units (with the viewer's accepted offers, for a page's
cart buttons) from one cache round trip, each as it is now."""

import pytest
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
    client, make_user, stall, make_item, on_commit, cache_reads_counted
):
    buyer = make_user("topbuyer")
    client.force_login(buyer)
    page = reverse("market:section", args=[0, 0])
    client.get(page)  # warm
    reads = cache_reads_counted()
    bar = top_bar(client.get(page).content.decode())
    viewer = ("roles", "unread", "cart", "offers-accepted")
    keys = [key for read in reads for key in read if any(part in key for part in viewer)]
    together = [read for read in reads if len([key for key in read if key in keys]) == len(keys)]
    # roles, unread, the cart's scope and units, the accepted offers' scope and entry
    assert len(keys) == 6 and together
    assert "Sell here" in bar and 'aria-label="Notifications"' in bar
    assert cart_count(bar) == "></span>"

    on_commit(cart_add, buyer=buyer, item=make_item(stall, title="Lamp", inventory=3), quantity=2)
    on_commit(notify, buyer, Kind.OUTBID, title="You were outbid on Lamp", url="/x/")
    on_commit(seller_register, user=buyer, legal_name="Top Buyer", country="US")
    bar = top_bar(client.get(page).content.decode())
    assert "My stall" in bar and "Sell here" not in bar
    assert 'aria-label="Notifications, 1 unread"' in bar
    assert '</span>2<span class="visually-hidden"> items' in cart_count(bar)


def test_a_stall_pages_cart_buttons_take_the_accepted_offers_read_with_the_top_bar(
    client, make_user, stall, make_item, on_commit, cache_reads_counted
):
    from bazaar.ids import new_ulid
    from offers.services import offer_accept, offer_make

    buyer, lamp = make_user("offerer"), make_item(stall, title="Lamp", price_cents=2500)
    offer = on_commit(
        offer_make, buyer=buyer, item=lamp, amount_cents=2000, message="", idempotency_key="k1"
    )
    on_commit(offer_accept, actor=stall.seller.user, offer=offer, idempotency_key=new_ulid())
    client.force_login(buyer)
    page = reverse("stalls:detail", args=[stall.public_id])
    client.get(page)  # warm
    reads = cache_reads_counted()
    html = client.get(page).content.decode()
    assert len([read for read in reads if any("offers-accepted" in key for key in read)]) == 1
    assert "$20" in html.split(f'id="item-{lamp.public_id}"')[1].split("</li>")[0]


def test_each_viewer_sees_their_own_menu_and_logs_out_with_their_own_token(make_user):
    """The top bar is remembered per process for each viewer's state ({% remembered %}):
    nothing of one viewer's shows to another, and its CSRF token is each request's."""
    import re

    from django.test import Client

    page = reverse("market:section", args=[0, 0])
    for handle in ("firstshopper", "secondshopper"):
        viewer = Client(enforce_csrf_checks=True)
        viewer.force_login(make_user(handle))
        bar = top_bar(viewer.get(page).content.decode())
        assert f"@{handle}" in bar and "@firstshopper @secondshopper" not in bar
        other = "secondshopper" if handle == "firstshopper" else "firstshopper"
        assert f"@{other}" not in bar
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', bar).group(1)
        response = viewer.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": token})
        assert response.status_code == 302


def test_a_guests_log_in_link_comes_back_to_the_page_they_are_on(client, stall):
    for page in (
        reverse("market:section", args=[0, 0]),
        reverse("stalls:detail", args=[stall.public_id]),
    ):
        bar = top_bar(client.get(page).content.decode())
        assert f'href="/accounts/login/?next={page}"' in bar and "Log out" not in bar
