"""The cart: kept on the server for buyers, in the session for guests, merged at login."""

import re

import pytest
from django.urls import reverse

from bazaar.errors import Conflict, Invalid
from orders.checkout.selectors import cart_entries_for_buyer, cart_plan
from orders.checkout.services import cart_add, cart_set_quantity, session_cart_set
from orders.escrow.services import stall_shipping_set
from orders.models import CartLine
from stalls.services import item_delete

pytestmark = pytest.mark.django_db


def test_adding_up_to_what_is_available(buyer, vase):
    cart_add(buyer=buyer, item=vase, quantity=2)
    cart_add(buyer=buyer, item=vase)
    assert CartLine.objects.get().quantity == 3
    with pytest.raises(Conflict, match="Only 3 of “Green vase” available"):
        cart_add(buyer=buyer, item=vase)
    with pytest.raises(Invalid, match="from 1 to 99"):
        cart_set_quantity(buyer=buyer, item=vase, quantity=100)
    cart_set_quantity(buyer=buyer, item=vase, quantity=1)
    assert CartLine.objects.get().quantity == 1
    cart_set_quantity(buyer=buyer, item=vase, quantity=0)
    assert not CartLine.objects.exists()


def test_no_buying_from_your_own_stall_or_archived_items(stall, lamp, buyer):
    with pytest.raises(Invalid, match="your own stall"):
        cart_add(buyer=stall.seller.user, item=lamp)
    lamp.archived_at = lamp.created_at
    lamp.save()
    with pytest.raises(Conflict, match="no longer for sale"):
        cart_add(buyer=buyer, item=lamp)


def test_the_plan_groups_by_stall_with_shipping_and_flags_problems(buyer, lamp, vase, stall):
    stall_shipping_set(actor=stall.seller.user, stall=stall, cost_cents=700)
    cart_add(buyer=buyer, item=lamp)
    cart_add(buyer=buyer, item=vase, quantity=2)
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    assert [group.stall for group in plan.groups] == [lamp.stall, vase.stall]
    assert [group.total_cents for group in plan.groups] == [3200, 3600]
    assert plan.total_cents == 6800 and plan.count == 3 and plan.problems == []
    vase.inventory = 1
    vase.save()
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    assert plan.problems == ["Only 1 of “Green vase” left; lower the quantity to check out."]


def test_a_deleted_item_leaves_the_cart(buyer, lamp, stall):
    cart_add(buyer=buyer, item=lamp)
    item_delete(actor=stall.seller.user, item=lamp)
    assert not CartLine.objects.exists()


def test_a_buyer_s_count_shows_a_line_gone_with_its_item(client, buyer, lamp, stall, on_commit):
    """Kept until a line changes: a cascade from the item's deletion counts too."""
    cart_add(buyer=buyer, item=lamp)
    client.force_login(buyer)
    assert 'id="cart-count"><span class="visually-hidden">, </span>1' in cart_page(client)
    on_commit(item_delete, actor=stall.seller.user, item=lamp)
    assert 'id="cart-count"></span>' in cart_page(client)


def test_a_line_not_committed_leaves_the_kept_count(client, buyer, lamp, vase):
    cart_add(buyer=buyer, item=lamp)
    client.force_login(buyer)
    assert 'id="cart-count"><span class="visually-hidden">, </span>1' in cart_page(client)
    cart_add(buyer=buyer, item=vase)  # rolled back with the test: never committed
    assert 'id="cart-count"><span class="visually-hidden">, </span>1' in cart_page(client)


def cart_page(client) -> str:
    return client.get(reverse("orders:cart")).content.decode()


def test_a_guest_cart_follows_the_same_rules(lamp, vase):
    cart = session_cart_set(session_cart={}, item=vase, quantity=2, add=True)
    assert cart == {vase.public_id: 2}
    with pytest.raises(Conflict):
        session_cart_set(session_cart=cart, item=vase, quantity=2, add=True)
    assert session_cart_set(session_cart=cart, item=vase, quantity=0, add=False) == {}


def test_a_guest_cart_is_merged_at_login(client, make_user, lamp, vase, stall):
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    client.post(reverse("orders:cart_add"), {"item": vase.public_id, "quantity": "2"})
    page = client.get(reverse("orders:cart")).content.decode()
    assert "Brass lamp" in page and "Green vase" in page and "Log in to check out" in page
    shopper = make_user("shopper")
    cart_add(buyer=shopper, item=vase)
    response = client.post(
        reverse("accounts:login"),
        {"username": "shopper", "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    lines = dict(CartLine.objects.filter(buyer=shopper).values_list("item__title", "quantity"))
    assert lines == {"Brass lamp": 1, "Green vase": 3}
    assert "cart" not in client.session


def test_the_seller_logging_in_drops_their_own_items_from_the_guest_cart(client, lamp, stall):
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    client.post(
        reverse("accounts:login"),
        {"username": stall.seller.user.handle, "password": "correct-horse-battery"},
    )
    assert not CartLine.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_top_bar_counts_the_units_in_the_cart(client, buyer, lamp, vase):
    """Requests that commit, as they do live: a buyer's count is kept until a change to
    one of their lines commits, which is before the answer to that change renders."""

    def count(html: str) -> str:
        """What the top bar's cart count says, as a screen reader reads it."""
        badge = re.search(r'<span class="cart-count" id="cart-count"[^>]*>(.*?)</span>\n', html)
        return re.sub(r"<[^>]+>", "", badge.group(1))

    def page() -> str:
        return client.get(reverse("orders:cart")).content.decode()

    assert count(page()) == ""
    client.post(reverse("orders:cart_add"), {"item": vase.public_id, "quantity": "2"})
    assert count(page()) == ", 2 items"  # a guest's, from the session
    client.force_login(buyer)  # merged into the buyer's cart
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    assert count(page()) == ", 3 items"
    added = client.post(
        reverse("orders:cart_add"), {"item": vase.public_id}, HTTP_HX_REQUEST="true"
    )
    assert 'id="cart-count" hx-swap-oob="true"' in added.content.decode()  # htmx: with the answer
    assert count(added.content.decode()) == ", 4 items"
