"""Stall cards on the grid and item cards on a stall page: prices and badges, with no
query per card."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auctions.services.starting import auction_cancel, auction_start
from bazaar.ids import new_ulid
from stalls.models import Item
from stalls.room.presence import seller_presence_beat
from stalls.services import item_update

pytestmark = pytest.mark.django_db


def section_url(x=0, y=0):
    return reverse("market:section", args=[x, y])


def start_auction(item):
    return auction_start(
        actor=item.stall.seller.user,
        item=item,
        start_cents=500,
        reserve_cents=None,
        buy_now_cents=None,
        duration=timedelta(minutes=10),
        idempotency_key=new_ulid(),
    )


def test_a_stall_card_says_how_many_items_and_from_what_price(client, make_stall, make_item):
    stall = make_stall("pricey", slot=3)
    make_item(stall, title="Teapot", price_cents=1250)
    make_item(stall, title="Radio", price_cents=400)
    gone = make_item(stall, title="Gone", price_cents=100)
    Item.objects.filter(pk=gone.pk).update(archived_at=timezone.now())
    html = client.get(section_url()).content.decode()
    assert "<span>2 items</span>" in html
    assert "from <b>$4</b>" in html


def test_a_stall_with_nothing_for_sale_shows_no_price(client, make_stall):
    make_stall("empty", slot=3)
    html = client.get(section_url()).content.decode()
    assert "<span>0 items</span>" in html and "from <b>" not in html


def test_live_and_in_auction_badges_lead_to_the_seller_and_the_auction(
    client, make_stall, make_item, on_commit
):
    stall = make_stall("auctioneer", slot=1)
    auction = start_auction(make_item(stall, title="Brass telescope"))
    seller_presence_beat(stall_public_id=stall.public_id)
    html = client.get(section_url()).content.decode()
    assert 'class="live-dot is-live"' in html and ">Live</span>" in html
    badge = f'<a class="auction-badge" href="/auctions/{auction.public_id}/"'
    assert badge in html
    assert 'aria-label="In auction: Brass telescope, at auctioneer&#x27;s stall"' in html

    # The badges are kept until an auction in the stall starts or stops and commits.
    on_commit(auction_cancel, actor=stall.seller.user, auction=auction)
    assert "auction-badge" not in client.get(section_url()).content.decode()


def test_an_auction_started_after_a_read_shows_on_the_next(
    client, make_stall, make_item, on_commit
):
    stall = make_stall("auctioneer", slot=1)
    item = make_item(stall, title="Brass telescope")
    assert "auction-badge" not in client.get(section_url()).content.decode()
    start_auction(item)  # inside the test's transaction: never committed, nothing dropped
    assert "auction-badge" not in client.get(section_url()).content.decode()
    on_commit(start_auction, make_item(stall, title="Sextant"))
    assert "auction-badge" in client.get(section_url()).content.decode()


def card_templates(response) -> int:
    return sum(template.name == "market/_stall_card.html" for template in response.templates)


def test_the_grid_is_rendered_once_for_what_it_shows_and_again_when_that_changes(
    client, make_stall, make_item, on_commit
):
    """The grid's markup is kept by everything it shows ({% kept %} varying on it): the
    same section read again renders no card; a seller stepping in, an auction starting
    and its item renamed each show on the next read."""
    stall = make_stall("auctioneer", slot=1)
    item = make_item(stall, title="Brass telescope")
    assert card_templates(client.get(section_url())) == 1
    assert card_templates(client.get(section_url())) == 0
    seller_presence_beat(stall_public_id=stall.public_id)
    response = client.get(section_url())
    assert card_templates(response) == 1 and 'class="live-dot is-live"' in response.content.decode()
    on_commit(start_auction, item)
    assert "In auction: Brass telescope" in client.get(section_url()).content.decode()
    on_commit(
        item_update,
        actor=stall.seller.user,
        item=item,
        title="Copper telescope",
        description=item.description,
        price_cents=item.price_cents,
        currency=item.currency,
        inventory=item.inventory,
    )
    html = client.get(section_url()).content.decode()
    assert "In auction: Copper telescope" in html and "Brass" not in html


def test_a_section_of_auctions_costs_no_query_per_card(
    client, make_stall, make_item, django_assert_max_num_queries
):
    for slot in range(9):
        stall = make_stall(f"busy{slot}", slot=slot)
        start_auction(make_item(stall, title=f"Thing {slot}"))
        make_item(stall, title="Another thing")
    client.get(section_url())
    with django_assert_max_num_queries(4):
        html = client.get(section_url()).content.decode()
    assert html.count('class="auction-badge"') == 9


def test_item_cards_show_their_price_and_the_auction_they_are_in(
    client, stall, make_item, django_assert_max_num_queries
):
    items = [make_item(stall, title=f"Lamp {n}", price_cents=1000 + n * 100) for n in range(6)]
    auctions = [start_auction(item) for item in items[:3]]
    url = reverse("stalls:detail", args=[stall.public_id])
    client.get(url)
    # 9 with the Follow button's count (watchlist) and the rating line (reviews); 11
    # with the show stage's flash auction (auctions) and giveaway (giveaways).
    with django_assert_max_num_queries(11) as captured:
        html = client.get(url).content.decode()
    for auction in auctions:
        assert (
            f'href="/auctions/{auction.public_id}/" aria-label="In auction: {auction.item.title}"'
            in html
        )
    assert html.count('class="auction-badge"') == 3
    assert "$15.00" in html
    many = len(captured)
    auction_cancel(actor=stall.seller.user, auction=auctions[0])
    with django_assert_max_num_queries(many):
        client.get(url)
