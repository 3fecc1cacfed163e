"""The discovery pages as a browser gets them: what they show, to whom, in how many
queries, and what a bad address or filter answers."""

import re

import pytest
from django.urls import reverse

from stalls.models import Photo, Reservation
from stalls.room.presence import seller_presence_beat
from stalls.services import reservation_release
from tests.conftest import new_item, new_photo
from tests.discovery.conftest import auctioned, held

pytestmark = pytest.mark.django_db

LIVE = {"HX-Request": "true", "HX-Target": "search-results"}


def page(client, url, data=None, **kwargs) -> str:
    response = client.get(url, data, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def cards(html: str) -> list[str]:
    """The item cards' titles, in order."""
    return re.findall(r'<a class="card-link" href="/items/[0-9A-Z]{26}/">([^<]+)</a>', html)


# The front page and the market's addresses


def test_the_front_page_is_served_at_the_root_without_a_redirect(client, catalogue):
    new_photo(catalogue["lamps"])  # a stall's own photo: no item, no category
    new_photo(catalogue["lamps"], catalogue["shade"])
    seller_presence_beat(stall_public_id=catalogue["records"].public_id)
    auctioned(catalogue["shade"], seconds=240)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/market/0/0/"' in html  # into the grid
    assert "Bo&#x27;s Crates" in html.split('data-row="live"')[1].split("</section>")[0]
    ending = html.split('data-row="ending"')[1].split("</section>")[0]
    assert "Green glass shade" in ending and "data-countdown-to=" in ending
    lighting = html.split('href="/categories/lighting/"')[0].rsplit("<li", 1)[1]
    assert "/media/thumbs/" in lighting  # the tile shows one of its items
    assert "Lamps &amp; Lighting" in html
    assert 'href="/categories/furniture/"' not in html  # nothing listed there yet
    assert cards(html.split('data-row="new"')[1])[0] == "Seven-inch single"


def test_the_front_page_says_so_when_nothing_is_live_or_running(client, market):
    html = page(client, "/")
    assert "No seller is in their stall this minute." in html
    assert "No auction is running right now." in html
    assert "Nothing is on the tables yet." in html


def test_market_still_redirects_to_the_origin_and_old_search_links_move(client, market):
    assert client.get("/market/").url == "/market/0/0/"
    moved = client.get("/market/search/", {"q": "brass lamp"})
    assert (moved.status_code, moved.url) == (301, "/search/?q=brass+lamp")


# Search and categories


def test_search_results_are_cards_with_photo_price_stall_and_stock(client, catalogue):
    new_photo(catalogue["lamps"], catalogue["brass"])
    html = page(client, reverse("discovery:search"), {"q": "lamp"})
    assert cards(html)[0] == "Brass desk lamp"
    card = html.split('data-item-card="')[1].split("</li>\n")[0]
    assert "/media/thumbs/" in card and "$45.00" in card and "1 left" in card
    assert "Ada&#x27;s Attic" in card
    assert '<p class="shop-card-facts">Good · Anglepoise</p>' in card
    assert "1–3 of 3 items" in html  # the teapot's description, the shade's category


def test_search_marks_auctions_live_stalls_and_sold_out_items(client, catalogue, make_user):
    auctioned(catalogue["shade"])
    seller_presence_beat(stall_public_id=catalogue["lamps"].public_id)
    held(catalogue["teapot"], make_user("buyer"))
    html = page(client, reverse("discovery:search"), {"q": "ada", "sold": "on"})
    shade = html.split("Green glass shade")[0].rsplit('<li class="shop-card', 1)[1]
    assert "In auction" in shade and "Live" in shade
    teapot = html.split("Enamel teapot")[0].rsplit('<li class="shop-card', 1)[1]
    assert "Sold out" in teapot and "is-sold-out" in teapot
    # Without the toggle, the sold-out teapot is left out.
    assert "Enamel teapot" not in cards(page(client, reverse("discovery:search"), {"q": "ada"}))


def test_stalls_whose_name_matches_are_listed_above_the_items(client, make_stall):
    make_stall("lamps", x=2, y=1, slot=3, name="Lamp Emporium")
    html = page(client, reverse("discovery:search"), {"q": "emporium"})
    stalls = html.split('id="stall-matches-title"')[1].split("</section>")[0]
    assert "Lamp Emporium" in stalls and "section 2/1" in stalls
    live = page(client, reverse("discovery:search"), {"q": "emporium"}, headers=LIVE)
    assert "Lamp Emporium" in live


def test_filters_and_sort_come_from_the_address_and_paging_keeps_them(client, stall):
    for number in range(30):
        new_item(stall, title=f"Spoon {number:02d}", price_cents=1000 + number, category="kitchen")
    query = {"q": "spoon", "category": "kitchen", "sort": "-price", "min_price": "10"}
    html = page(client, reverse("discovery:search"), query)
    assert cards(html)[:2] == ["Spoon 29", "Spoon 28"]
    assert "1–24 of 30 items" in html
    next_link = re.search(r'<a class="page-step" href="([^"]+)" rel="next">', html).group(1)
    next_link = next_link.replace("&amp;", "&")
    for kept in ("q=spoon", "category=kitchen", "sort=-price", "min_price=10", "page=2"):
        assert kept in next_link
    second = page(client, reverse("discovery:search") + next_link)
    assert cards(second) == [f"Spoon {number:02d}" for number in range(5, -1, -1)]
    assert "25–30 of 30 items" in second
    assert 'aria-current="page"' in second.split('aria-label="Page 2, this page"')[0][-80:]


def test_each_filter_in_force_is_a_chip_that_takes_it_off(client, catalogue):
    query = "?q=lamp&category=lighting&condition=good&condition=fair&min_price=10&auction=on&page=2"
    html = page(client, reverse("discovery:search") + query)
    found = re.findall(r'<li><a href="([^"]+)" aria-label="Remove the filter ([^"]+)">', html)
    chips = {label: url.replace("&amp;", "&") for url, label in found}
    assert set(chips) == {
        "“lamp”",
        "Lamps &amp; Lighting",
        "Good",
        "Fair",
        "From $10.00",
        "In an auction",
    }
    assert chips["Good"] == ("?q=lamp&category=lighting&condition=fair&min_price=10&auction=on")
    assert "auction" not in chips["In an auction"] and "page" not in chips["“lamp”"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"min_price": "abc"}, "Enter an amount such as 25 or 25.50."),
        ({"min_price": "5", "max_price": "1"}, "The highest price must be at least the lowest."),
        ({"category": "spaceships"}, "Select a valid choice."),
        ({"sort": "cheapest"}, "Select a valid choice."),
    ],
)
def test_a_filter_that_cannot_be_used_is_explained_and_the_rest_still_runs(
    client, catalogue, query, message
):
    html = page(client, reverse("discovery:search"), {"q": "teapot", **query})
    assert message in html
    assert "Some filters could not be used" in html
    assert cards(html) == ["Enamel teapot"]


def test_nothing_found_says_so_and_what_was_typed_is_escaped(client, catalogue):
    html = page(client, reverse("discovery:search"), {"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Nothing for sale matches" in html


def test_the_top_bars_live_search_is_a_short_list_with_a_way_to_all(client, stall):
    for number in range(8):
        new_item(stall, title=f"Tin soldier {number}", category="toys")
    html = page(client, reverse("discovery:search"), {"q": "soldier"}, headers=LIVE)
    assert "<html" not in html
    assert html.count('class="live-row"') == 5
    assert 'href="/search/?q=soldier">See all 8 items for “soldier”' in html
    nothing = page(client, reverse("discovery:search"), {"q": "unicorn"}, headers=LIVE)
    assert "Nothing for sale matches “unicorn”." in nothing
    assert page(client, reverse("discovery:search"), {"q": ""}, headers=LIVE) == ""


def test_a_category_has_its_own_page_and_an_unknown_one_is_a_clear_404(client, catalogue):
    html = page(client, reverse("discovery:category", args=["music"]))
    assert "<title>Records &amp; Music · Mesh Bazaar</title>" in html
    assert set(cards(html)) == {"Kind of Blue LP", "Seven-inch single"}
    assert cards(page(client, "/categories/music/", {"max_price": "10"})) == ["Seven-inch single"]
    missing = client.get("/categories/spaceships/")
    assert missing.status_code == 404
    assert "There is no such category." in missing.content.decode()


def test_search_reads_a_page_in_a_fixed_number_of_queries(
    client, stall, make_user, django_assert_max_num_queries
):
    buyer = make_user("counter")
    for number in range(30):
        item = new_item(stall, title=f"Jar {number}", price_cents=500 + number)
        new_photo(stall, item)
    auctioned(item)
    client.force_login(buyer)
    page(client, reverse("discovery:search"))  # the viewer's roles are cached from here on
    # Session, user and the top bar's cart count; count, page, stock, photos, auctions,
    # the viewer's holds, stalls named.
    with django_assert_max_num_queries(10):
        html = page(client, reverse("discovery:search"), {"q": "jar", "sort": "ending"})
    assert len(cards(html)) == 24


# The item page


def test_the_item_page_has_its_own_address_share_tags_and_everything_to_buy(client, catalogue):
    brass = catalogue["brass"]
    new_photo(catalogue["lamps"], brass)
    html = page(client, reverse("discovery:item", args=[brass.public_id]))
    assert "<title>Brass desk lamp · Ada&#x27;s Attic · Mesh Bazaar</title>" in html
    description = "$45.00 at Ada&#x27;s Attic · Adjustable arm, rewired."
    assert f'<meta name="description" content="{description}">' in html
    assert html.count('<meta name="description"') == 1
    assert f'<meta property="og:description" content="{description}">' in html
    assert '<meta property="og:type" content="product">' in html
    assert '<meta property="og:title" content="Brass desk lamp">' in html
    assert '<meta property="og:image" content="http://testserver/media/photos/' in html
    assert '<meta property="product:price:amount" content="45.00">' in html
    assert "Good" in html and "Used, with light signs of wear" in html
    assert "Anglepoise" in html and 'href="/categories/lighting/"' in html
    assert 'data-lightbox="item"' in html
    assert 'data-cart-button="' + brass.public_id in html  # orders' cart button
    assert f'hx-get="/items/{brass.public_id}/offers/"' in html  # offers' panel
    assert 'href="/stalls/' + catalogue["lamps"].public_id in html  # the seller's card
    more = html.split('id="more-title"')[1]
    assert set(cards(more)) == {"Green glass shade", "Enamel teapot"}
    assert "Kind of Blue LP" not in more


def test_the_item_page_shows_the_item_s_photos_in_their_order(client, catalogue):
    """The gallery comes with the item's card (one photos query for the page's cards):
    the first by position is the main photo, the rest follow in order."""
    brass, lamps = catalogue["brass"], catalogue["lamps"]
    first, second, third = (new_photo(lamps, brass) for _ in range(3))
    Photo.objects.filter(pk=first.pk).update(position=9)
    html = page(client, reverse("discovery:item", args=[brass.public_id]))
    gallery = re.findall(r'<a href="([^"]+)" data-lightbox="item">', html)
    assert gallery == [photo.image.url for photo in (second, third, first)]
    main = html.split('alt="Brass desk lamp, photo 1 of 3"')[0].rsplit("<img", 1)[1]
    assert second.image.url in main


def test_the_item_page_shows_the_auction_when_one_runs(client, catalogue):
    auctioned(catalogue["shade"], start_cents=1200)
    html = page(client, reverse("discovery:item", args=[catalogue["shade"].public_id]))
    panel = html.split('aria-labelledby="auction-title"')[1].split("</section>")[0]
    assert "In a flash auction" in panel and "$12.00" in panel and "opening bid" in panel
    assert "Bid in the live auction" in panel and "data-countdown-to=" in panel
    assert "Only in the auction" in html


def test_the_item_page_shows_the_seller_live_and_tells_a_holder_it_is_theirs(
    client, catalogue, make_user
):
    buyer = make_user("holder")
    held(catalogue["teapot"], buyer)
    seller_presence_beat(stall_public_id=catalogue["lamps"].public_id)
    url = reverse("discovery:item", args=[catalogue["teapot"].public_id])
    assert "Sold out · 1 on hold" in page(client, url)
    assert "is in the stall now" in page(client, url)
    client.force_login(buyer)
    html = page(client, url)
    assert "Held for you" in html and "Sold out" not in html


def test_a_warm_item_page_reads_its_apps_kept_values_in_one_cache_read(
    client, catalogue, cache_reads_counted
):
    """The stall's cards and running auctions, the seller's dot, the Save and Follow
    counts and the stall's scopes: read ahead together (bazaar.cache.read_ahead), one
    round trip, not five, and the kept markup held by the process for those scopes'
    versions; the seller coming in still shows on the next view."""

    url = reverse("discovery:item", args=[catalogue["teapot"].public_id])
    page(client, url)  # warm: the scopes' first versions
    page(client, url)  # the markup kept for them, held
    reads = cache_reads_counted()
    assert "is in the stall now" not in page(client, url)
    assert len(reads) == 1  # the read ahead; the markup held for the versions it read
    wanted = ("stall-items", "stall-auctions", "seller-present", "item-watches", "stall-follows")
    assert all(any(part in key for key in reads[0]) for part in wanted)
    seller_presence_beat(stall_public_id=catalogue["lamps"].public_id)
    assert "is in the stall now" in page(client, url)


def own_stock(html: str) -> str:
    return re.search(r"data-item-stock>([^<]+)<", html).group(1)


def test_the_item_page_shows_stock_changes_on_the_next_view(client, stall, make_user, on_commit):
    """The stall's items and their stock come from the stall page's kept cards
    (stalls.cards): a reservation's commit, or its release, shows on the next view,
    on the item and in "more from this stall" (sold out there goes last)."""
    lamp = new_item(stall, title="Lamp", inventory=1)
    new_item(stall, title="Older shade", inventory=1)
    newer = new_item(stall, title="Newer shade", inventory=1)
    url = reverse("discovery:item", args=[lamp.public_id])
    html = page(client, url)
    assert own_stock(html) == "1 left"
    assert cards(html.split('id="more-title"')[1]) == ["Newer shade", "Older shade"]
    holder = make_user("holder")
    taken = [
        on_commit(held, one, holder, reason=Reservation.Reason.CHECKOUT) for one in (lamp, newer)
    ]
    html = page(client, url)
    assert own_stock(html) == "Sold out · 1 on hold"
    assert cards(html.split('id="more-title"')[1]) == ["Older shade", "Newer shade"]
    on_commit(reservation_release, reservation=taken[0])
    assert own_stock(page(client, url)) == "1 left"


def test_the_item_page_reads_the_stock_kept_until_a_change_commits(client, stall, make_user):
    lamp = new_item(stall, title="Lamp", inventory=1)
    url = reverse("discovery:item", args=[lamp.public_id])
    assert own_stock(page(client, url)) == "1 left"
    held(lamp, make_user("holder"), reason=Reservation.Reason.CHECKOUT)  # never committed
    assert own_stock(page(client, url)) == "1 left"


def test_an_unknown_or_archived_item_is_a_clear_404(client, catalogue):
    from stalls.models import Item

    Item.objects.filter(pk=catalogue["single"].pk).update(archived_at="2026-01-01T00:00Z")
    for public_id in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", catalogue["single"].public_id):
        response = client.get(reverse("discovery:item", args=[public_id]))
        assert response.status_code == 404
        assert "No item has that address." in response.content.decode()


def test_the_item_page_costs_the_same_queries_however_full_the_stall(
    client, stall, django_assert_max_num_queries
):
    items = [new_item(stall, title=f"Bowl {number}") for number in range(12)]
    for item in items:
        new_photo(stall, item)
    # The item (stock, first photo, auction), its photos, the others (the same four),
    # the Save and Follow buttons' counts (one each), the seller's rating (one
    # aggregate, reviews app).
    with django_assert_max_num_queries(12):
        page(client, reverse("discovery:item", args=[items[0].public_id]))


def test_the_stall_page_cards_and_drawer_link_to_the_item_page(client, catalogue):
    brass, lamps = catalogue["brass"], catalogue["lamps"]
    stall_html = page(client, reverse("stalls:detail", args=[lamps.public_id]))
    assert f'class="item-link" href="/items/{brass.public_id}/"' in stall_html
    drawer = page(client, reverse("stalls:item_drawer", args=[lamps.public_id, brass.public_id]))
    assert f'href="/items/{brass.public_id}/">The item\'s own page</a>' in drawer
    assert "Anglepoise" in drawer and "Good" in drawer


# The auction list


def test_the_auction_list_shows_running_auctions_ending_soonest_first(client, catalogue):
    auctioned(catalogue["shade"], seconds=900, start_cents=1500)
    auctioned(catalogue["blue"], seconds=120)
    html = page(client, reverse("discovery:auctions"))
    titles = re.findall(r'<a class="card-link" href="/auctions/[0-9A-Z]{26}/">([^<]+)</a>', html)
    assert titles == ["Kind of Blue LP", "Green glass shade"]
    assert "$15.00" in html and "0 bids" in html and "data-countdown-to=" in html
    assert "1–2 of 2 running" in html


def test_the_auction_list_says_when_none_run(client, market):
    assert "No auction is running right now." in page(client, reverse("discovery:auctions"))


# The authorization matrix: every discovery page is a public read, the same for
# everyone but for the one fact that is the viewer's own (what their offer holds).


@pytest.fixture
def people(catalogue, make_user):
    from governance.models import Role
    from governance.services import role_grant

    holder, stranger, steward = make_user("holder"), make_user("stranger"), make_user("warden")
    role_grant(user=steward, role=Role.STEWARD)
    held(catalogue["teapot"], holder)
    auctioned(catalogue["shade"])
    return {
        "anonymous": None,
        "stranger": stranger,
        "holder": holder,
        "seller": catalogue["lamps"].seller.user,
        "steward": steward,
    }


def _pages(catalogue) -> dict[str, tuple[str, dict]]:
    teapot = catalogue["teapot"].public_id
    return {
        "front": ("/", {}),
        "search": (reverse("discovery:search"), {"q": "teapot", "sold": "on"}),
        "live search": (reverse("discovery:search"), {"q": "teapot"}),
        "category": (reverse("discovery:category", args=["kitchen"]), {"sold": "on"}),
        "item": (reverse("discovery:item", args=[teapot]), {}),
        "auctions": (reverse("discovery:auctions"), {}),
    }


@pytest.mark.parametrize("who", ["anonymous", "stranger", "holder", "seller", "steward"])
@pytest.mark.parametrize(
    "endpoint", ["front", "search", "live search", "category", "item", "auctions"]
)
def test_authorization_matrix_for_discovery(client, catalogue, people, who, endpoint):
    if people[who] is not None:
        client.force_login(people[who])
    url, query = _pages(catalogue)[endpoint]
    headers = LIVE if endpoint == "live search" else {}
    response = client.get(url, query, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    if who != "holder":
        assert "@holder" not in html  # whose offer holds the teapot is nobody else's business
    if endpoint in ("search", "category", "item"):
        assert ("Held for you" in html) == (who == "holder")
        assert ("Sold out · 1 on hold" in html) == (who != "holder")
    if endpoint == "item":
        assert ("Edit this item" in html) == (who == "seller")
    if endpoint == "live search":  # sold-out items are left out, but not the holder's own
        assert ("Enamel teapot" in html) == ("Held for you" in html) == (who == "holder")
    # Reads only: a form post is refused and changes nothing.
    assert client.post(url, query).status_code == 405


def test_the_item_page_shows_every_bid_on_the_next_view(client, catalogue):
    """The page's shared markup is kept until the stall changes ({% kept %}); a bid
    changes no scope, so the auction's figures are each request's own: on the item
    and in "more from this stall"."""
    from auctions.models import Auction

    shade, brass = catalogue["shade"], catalogue["brass"]
    auction = auctioned(shade, start_cents=1200)
    assert "opening bid" in page(client, reverse("discovery:item", args=[shade.public_id]))
    assert "to open" in page(client, reverse("discovery:item", args=[brass.public_id]))
    Auction.objects.filter(pk=auction.pk).update(price_cents=1500, bid_count=1)
    panel = page(client, reverse("discovery:item", args=[shade.public_id]))
    assert "$15.00" in panel and "current bid · 1 bid" in panel
    more = page(client, reverse("discovery:item", args=[brass.public_id]))
    assert "$15.00 <span" in more.split('id="more-title"')[1] and "1 bid" in more


def test_the_item_page_keeps_each_viewers_own_parts(client, catalogue, make_user):
    teapot = catalogue["teapot"]
    url = reverse("discovery:item", args=[teapot.public_id])
    page(client, url)  # a guest's read keeps the shared markup
    seller = catalogue["lamps"].seller.user
    client.force_login(seller)
    assert "Edit this item" in page(client, url)
    client.force_login(make_user("shopper"))
    html = page(client, url)
    assert "Edit this item" not in html and "Report this item" in html


def test_a_photo_added_or_deleted_shows_on_the_item_pages_next_read(client, catalogue, on_commit):
    """The item page's photos are kept with its stall's cards: a photo's add and delete
    each show on the next read after they commit, in the item's own gallery and in the
    "More from" row of another item of the stall."""
    from stalls.services import photo_delete

    brass, shade, lamps = catalogue["brass"], catalogue["shade"], catalogue["lamps"]
    own = reverse("discovery:item", args=[brass.public_id])
    other = reverse("discovery:item", args=[shade.public_id])
    assert "No photo yet" in page(client, own)
    page(client, other)  # both kept without the photo
    photo = on_commit(new_photo, lamps, brass)
    assert photo.image.url in page(client, own) and "No photo yet" not in page(client, own)
    assert photo.thumbnail.url in page(client, other).split('id="more-title"')[1]
    on_commit(photo_delete, actor=lamps.seller.user, photo=photo)
    assert "No photo yet" in page(client, own)
    assert photo.thumbnail.url not in page(client, other)
