"""Search: words, filters, sorts and paging, on whichever database the run uses
(SQLite's icontains fallback by default; PostgreSQL's full-text search in CI)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from discovery.selectors import PAGE_SIZE, SearchFilters, Sort, item_search
from stalls.room.presence import seller_presence_beat
from stalls.selectors import search_words
from tests.conftest import new_item
from tests.discovery.conftest import auctioned, held

pytestmark = pytest.mark.django_db

GUEST = AnonymousUser()


def titles(viewer=GUEST, **filters) -> list[str]:
    results = item_search(filters=SearchFilters(**filters), viewer=viewer)
    return [card.item.title for card in results.cards]


def words(text: str) -> tuple[str, ...]:
    return tuple(search_words(text))


def test_words_are_letters_and_digits_at_most_six():
    typed = "  brass & <lamp>, 1970s café's!"
    assert search_words(typed) == ["brass", "lamp", "1970s", "café", "s"]
    assert search_words("a b c d e f g h") == ["a", "b", "c", "d", "e", "f"]
    assert search_words("'); DROP TABLE --") == ["DROP", "TABLE"]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("teapot", {"Enamel teapot"}),  # title
        ("anglepoise", {"Brass desk lamp"}),  # brand
        ("rewired", {"Brass desk lamp"}),  # description
        ("lighting", {"Brass desk lamp", "Green glass shade"}),  # category label
        ("crates", {"Kind of Blue LP", "Seven-inch single"}),  # stall name
        ("teap", {"Enamel teapot"}),  # a prefix, as typed
        ("crates blue", {"Kind of Blue LP"}),  # stall name and title together
        ("lamp unicorn", set()),  # every word must match
    ],
)
def test_every_word_is_found_in_the_title_brand_category_description_or_stall(
    catalogue, typed, found
):
    assert set(titles(words=words(typed))) == found


def test_the_best_match_comes_first(catalogue):
    # "desk" is in one title and in another item's description (listed later).
    assert titles(words=words("desk"), sort=Sort.RELEVANCE) == ["Brass desk lamp", "Enamel teapot"]


def test_filters_by_category_condition_and_price_range(catalogue):
    assert set(titles(category="music")) == {"Kind of Blue LP", "Seven-inch single"}
    assert set(titles(conditions=("good", "fair"))) == {
        "Brass desk lamp",
        "Green glass shade",
        "Kind of Blue LP",
    }
    assert set(titles(min_cents=900, max_cents=4500)) == {
        "Brass desk lamp",
        "Green glass shade",
        "Enamel teapot",
    }
    assert titles(category="lighting", max_cents=2000) == ["Green glass shade"]


def test_sorts_newest_price_up_and_down(catalogue):
    assert titles(sort=Sort.NEWEST)[0] == "Seven-inch single"
    assert titles(sort=Sort.PRICE_LOW) == [
        "Seven-inch single",
        "Enamel teapot",
        "Green glass shade",
        "Brass desk lamp",
        "Kind of Blue LP",
    ]
    assert titles(sort=Sort.PRICE_HIGH)[0] == "Kind of Blue LP"
    # Best match without words means the newest first.
    assert titles(sort=Sort.RELEVANCE) == titles(sort=Sort.NEWEST)


def test_ending_soon_lists_auctions_by_their_end_then_the_rest(catalogue):
    auctioned(catalogue["shade"], seconds=600)
    auctioned(catalogue["blue"], seconds=120)
    found = titles(sort=Sort.ENDING)
    assert found[:2] == ["Kind of Blue LP", "Green glass shade"]
    assert set(found[2:]) == {"Brass desk lamp", "Enamel teapot", "Seven-inch single"}


def test_in_auction_and_live_now_filters(catalogue):
    auctioned(catalogue["shade"])
    assert titles(in_auction=True) == ["Green glass shade"]
    assert titles(live_now=True) == []
    seller_presence_beat(stall_public_id=catalogue["records"].public_id)
    assert set(titles(live_now=True)) == {"Kind of Blue LP", "Seven-inch single"}


def test_sold_out_items_are_left_out_unless_asked_for_then_marked(catalogue, make_user):
    buyer = make_user("buyer")
    held(catalogue["teapot"], buyer)
    auctioned(catalogue["shade"])  # its one unit is held by the auction: still biddable
    assert "Enamel teapot" not in titles()
    assert "Green glass shade" in titles()
    cards = {
        card.item.title: card
        for card in item_search(filters=SearchFilters(sold_out=True), viewer=GUEST).cards
    }
    assert cards["Enamel teapot"].sold_out
    assert cards["Enamel teapot"].stock_text == "Sold out · 1 on hold"
    assert not cards["Green glass shade"].sold_out
    assert cards["Green glass shade"].stock_text == "Only in the auction"
    assert cards["Brass desk lamp"].stock_text == "1 left"


def test_held_for_you_is_shown_to_the_holder_alone(catalogue, make_user):
    buyer, stranger = make_user("buyer"), make_user("stranger")
    held(catalogue["teapot"], buyer)

    def teapot(viewer):
        filters = SearchFilters(words=("teapot",), sold_out=True)
        (card,) = item_search(filters=filters, viewer=viewer).cards
        return card

    # Left out of listings as sold out, except for the one it is held for.
    assert "Enamel teapot" in titles(buyer)
    assert "Enamel teapot" not in titles(stranger)
    assert teapot(buyer).stock_text == "Held for you"
    assert not teapot(buyer).sold_out
    assert teapot(stranger).stock_text == "Sold out · 1 on hold"
    assert teapot(GUEST).stock_text == "Sold out · 1 on hold"
    # The seller's own auction hold is not "held for" the seller.
    auctioned(catalogue["shade"])
    seller = catalogue["lamps"].seller.user
    (shade,) = item_search(filters=SearchFilters(words=("shade",)), viewer=seller).cards
    assert shade.held_for_you == 0


def test_pages_of_twenty_four(stall):
    for number in range(PAGE_SIZE + 6):
        new_item(stall, title=f"Spoon {number:02d}", price_cents=100 + number)
    filters = SearchFilters(words=("spoon",), sort=Sort.PRICE_LOW)
    first = item_search(filters=filters, viewer=GUEST)
    second = item_search(filters=filters, viewer=GUEST, page=2)
    assert first.page.paginator.count == 30
    assert [c.item.title for c in first.cards][:2] == ["Spoon 00", "Spoon 01"]
    assert [c.item.title for c in second.cards] == [f"Spoon {n}" for n in range(24, 30)]
    assert (second.page.start_index(), second.page.end_index()) == (25, 30)
    # A page past the end, or not a number, shows the nearest real page.
    assert item_search(filters=filters, viewer=GUEST, page=9).page.number == 2
    assert item_search(filters=filters, viewer=GUEST, page="x").page.number == 1


def test_archived_items_are_never_found(catalogue):
    from stalls.services import item_delete

    held(catalogue["single"], catalogue["lamps"].seller.user)  # history: archived, not deleted
    catalogue["single"].refresh_from_db()
    from stalls.services import reservation_release

    reservation_release(reservation=catalogue["single"].reservations.get())
    assert item_delete(actor=catalogue["records"].seller.user, item=catalogue["single"]) == (
        "archived"
    )
    assert "Seven-inch single" not in titles(sold_out=True)


def test_a_word_is_matched_at_the_start_of_words_only(stall):
    new_item(stall, title="Brass lamp")
    new_item(stall, title="G-clamps, set of 3")
    new_item(stall, title="Lampshade, pleated")
    assert set(titles(words=words("lamp"))) == {"Brass lamp", "Lampshade, pleated"}
