"""The stall page's item cards are cached for everyone (stalls.cards): a change to the
stock, the items or the photos shows at once, and what is one viewer's (the cart
button, its CSRF token, an accepted offer) is never cached for another."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from bazaar.cache import read_ahead
from bazaar.ids import new_ulid
from offers.services import offer_accept, offer_make
from stalls.cards import GALLERY_SIZE, stall_cards_and_gallery, stall_page_cards_keys
from stalls.models import Reservation
from stalls.services import item_delete, reservation_release, reservation_take
from tests.conftest import new_item, new_photo

pytestmark = pytest.mark.django_db


def stall_page(client, stall) -> str:
    response = client.get(reverse("stalls:detail", args=[stall.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def stock_of(html: str, item) -> str:
    return re.search(rf'data-stock-for="{item.public_id}"[^>]*>([^<]+)<', html).group(1)


def test_a_reservation_and_its_release_show_on_the_next_read(client, stall, make_user, on_commit):
    lamp = new_item(stall, title="Lamp", inventory=2)
    assert stock_of(stall_page(client, stall), lamp) == "2 available"
    held = on_commit(
        reservation_take,
        item=lamp,
        holder=make_user("holder"),
        reason=Reservation.Reason.CHECKOUT,
        ttl=timedelta(hours=1),
    )
    assert stock_of(stall_page(client, stall), lamp) == "1 available · 1 on hold"
    on_commit(reservation_release, reservation=held)
    assert stock_of(stall_page(client, stall), lamp) == "2 available"


def test_the_cards_are_read_from_the_cache_until_a_committed_change_drops_them(
    client, stall, make_user
):
    lamp = new_item(stall, title="Lamp", inventory=2)
    stall_page(client, stall)
    reservation_take(
        item=lamp,
        holder=make_user("holder"),
        reason=Reservation.Reason.CHECKOUT,
        ttl=timedelta(hours=1),
    )  # inside the test's transaction: never committed, so nothing is dropped
    assert stock_of(stall_page(client, stall), lamp) == "2 available"


def test_new_and_removed_items_and_photos_show_on_the_next_read(client, stall, on_commit):
    lamp = new_item(stall, title="Lamp")
    html = stall_page(client, stall)
    assert 'class="no-photo">No photo' in html
    photo = on_commit(new_photo, stall, lamp)
    vase = on_commit(new_item, stall, title="Vase")
    html = stall_page(client, stall)
    assert photo.thumbnail.url in html and f'id="item-{vase.public_id}"' in html
    on_commit(item_delete, actor=stall.seller.user, item=vase)
    assert f'id="item-{vase.public_id}"' not in stall_page(client, stall)


def test_the_gallery_shows_a_new_stall_photo_first_on_the_next_read(client, stall, on_commit):
    """The gallery is kept with the cards (one read): a photo's commit drops both."""
    item_photo = on_commit(new_photo, stall, on_commit(new_item, stall, title="Lamp"))
    gallery = stall_page(client, stall).split('class="gallery"')[1].split("</div>")[0]
    assert item_photo.image.url in gallery
    stall_photo = on_commit(new_photo, stall)
    gallery = stall_page(client, stall).split('class="gallery"')[1].split("</div>")[0]
    assert gallery.index(stall_photo.image.url) < gallery.index(item_photo.image.url)


def test_a_cached_card_is_the_same_html_as_a_fresh_one(client, stall):
    new_photo(stall, new_item(stall, title="Lamp <b>bright</b>", description="Old & fine"))
    fresh = stall_page(client, stall)
    cached = stall_page(client, stall)
    assert cached == per_response(fresh, like=cached)
    assert "Lamp &lt;b&gt;bright&lt;/b&gt;" in cached and "Old &amp; fine" in cached


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def per_response(html: str, *, like: str) -> str:
    """`html` with the values each response has of its own (its CSRF token and CSP
    nonce) taken from `like`."""
    nonce = re.compile(r'nonce="([^"]+)"')
    html = html.replace(csrf_token(html), csrf_token(like))
    return nonce.sub(f'nonce="{nonce.search(like).group(1)}"', html)


def test_the_cart_button_stays_each_viewers_own(stall, make_user):
    lamp = new_item(stall, title="Lamp", price_cents=2500, inventory=2)
    buyer, other = make_user("buyer"), make_user("other")
    offer = offer_make(
        buyer=buyer, item=lamp, amount_cents=2000, message="", idempotency_key=new_ulid()
    )
    offer_accept(actor=stall.seller.user, offer=offer, idempotency_key=new_ulid())
    as_buyer, as_other, as_guest, as_seller = Client(), Client(), Client(), Client()
    as_buyer.force_login(buyer)
    as_other.force_login(other)
    as_seller.force_login(stall.seller.user)
    as_guest.get("/")  # a session of its own, hence a CSRF token of its own

    pages = {
        name: stall_page(client, stall)
        for name, client in (
            ("buyer", as_buyer),
            ("other", as_other),
            ("guest", as_guest),
            ("seller", as_seller),
        )
    }

    assert "Buy at your offer, $20.00" in pages["buyer"]
    for name in ("other", "guest"):
        assert "Buy at your offer" not in pages[name] and "Add to cart" in pages[name]
    assert "Add to cart" not in pages["seller"]  # nobody buys from their own stall
    tokens = {name: csrf_token(html) for name, html in pages.items() if name != "seller"}
    assert len(set(tokens.values())) == 3


def test_the_cards_are_held_by_the_process_and_each_page_gets_copies_of_its_own(
    client, stall, cache_reads_counted
):
    """Once held, a page reads the cards' version ahead and nothing more of them (no
    ~12 KB to unpickle); the held items are shared, so each page gets copies."""
    new_item(stall, title="Lamp")
    stall_page(client, stall), stall_page(client, stall)  # kept, then held
    reads = cache_reads_counted()
    assert 'class="item-card"' in stall_page(client, stall)
    keys = [key for round_trip in reads for key in round_trip]
    assert f"scope:stall-items:{stall.pk}" in keys
    assert not [key for key in keys if key.startswith("kept:stall-items:")]

    views = []
    for _ in range(2):
        with read_ahead(stall_page_cards_keys(stall)):
            views.append(stall_cards_and_gallery(stall=stall, size=GALLERY_SIZE)[0])
    (first,), (second,) = views
    assert first.pk == second.pk and first is not second
    assert first.stall is stall and first.card_html == second.card_html
