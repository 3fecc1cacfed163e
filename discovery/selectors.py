"""Reads for the shopper's ways in: item cards, search with filters and sorts, the
front page's rows. Everything here is public; the one private fact a card shows,
"Held for you", comes from the viewer's own reservations and nobody else's.

Every list costs a fixed number of queries whatever its length: the items with their
stall, then one query each for their stock, photos, running auctions and the viewer's
holds; "live" is one cache read. Filters test stock and auctions with subqueries that
run once per query (over the few active reservations and auctions), not once per item.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
)

from auctions.models import Auction
from auctions.selectors import (
    auction_running_of,
    auctions_running,
    auctions_running_by_item,
    auctions_running_in_stall,
    items_in_auction,
)
from bazaar.errors import NotFound
from bazaar.prepared import Prepared
from shows.models import Show
from shows.selectors import live_now
from stalls.cards import stall_item_cards_and_photos
from stalls.models import Category, Condition, Item, Photo, Stall
from stalls.room.presence import live_stall_ids
from stalls.selectors import (
    items_held_for,
    items_matching,
    items_unavailable,
    stalls_live_now,
    units_held_for,
    units_reserved,
)

PAGE_SIZE = 24
ROW_LENGTH = 8
CONDITION_LABELS = dict(Condition.choices)  # get_condition_display flattens choices per call


class Sort(TextChoices):
    RELEVANCE = "relevance", "Best match"
    NEWEST = "newest", "Newly listed"
    PRICE_LOW = "price", "Price: lowest first"
    PRICE_HIGH = "-price", "Price: highest first"
    ENDING = "ending", "Auctions ending soonest"


@dataclass(frozen=True)
class SearchFilters:
    """What the shopper asked for, already checked (`discovery.forms.SearchForm`)."""

    words: tuple[str, ...] = ()
    category: str = ""
    conditions: tuple[str, ...] = ()
    min_cents: int | None = None
    max_cents: int | None = None
    in_auction: bool = False
    live_now: bool = False
    sold_out: bool = False  # include items nobody can buy now
    sort: str = ""

    @property
    def order(self) -> str:
        """The sort in force: best match for words typed, else the newest first."""
        if self.sort == Sort.RELEVANCE and not self.words:
            return Sort.NEWEST
        return self.sort or (Sort.RELEVANCE if self.words else Sort.NEWEST)


@dataclass
class ItemCard:
    """One item as a card shows it to one viewer."""

    item: Item
    photos: list[Photo]  # in order: the card shows the first, the item page them all
    available: int
    on_hold: int
    held_for_you: int = 0
    auction: Auction | None = None
    live: bool = False

    @property
    def photo(self) -> Photo | None:
        return self.photos[0] if self.photos else None

    @property
    def facts(self) -> str:
        """Condition, brand and size, those given ("Good · Levi's · M")."""
        item = self.item
        condition = CONDITION_LABELS.get(item.condition, "")
        return " · ".join(fact for fact in (condition, item.brand, item.size) if fact)

    @property
    def sold_out(self) -> bool:
        return self.available == 0 and self.auction is None and not self.held_for_you

    @property
    def stock_text(self) -> str:
        """As the stall page words it: a holder reads "Held for you", others "Sold out"."""
        if self.available:
            return f"{self.available} left"
        if self.held_for_you:
            return "Held for you"
        if self.auction is not None:
            return "Only in the auction"
        return f"Sold out · {self.on_hold} on hold" if self.on_hold else "Sold out"


@dataclass
class SearchResults:
    page: Page
    cards: list[ItemCard]
    filters: SearchFilters


# Compiled once per length of the list (`bazaar.prepared`): a page's cards are few.
_PHOTOS_OF_ITEMS = Prepared(
    lambda item_ids: Photo.objects.filter(item_id__in=item_ids).order_by("position", "id")
)


def _photos_by_item(item_ids: list[int]) -> dict[int, list[Photo]]:
    """Each item's photos in order (by position), in one query."""
    photos: dict[int, list[Photo]] = {}
    for photo in _PHOTOS_OF_ITEMS.rows(item_ids) if item_ids else []:
        photos.setdefault(photo.item_id, []).append(photo)
    return photos


def item_cards(items: list[Item], *, viewer) -> list[ItemCard]:
    """Cards for items read with their stall: four queries (stock, photos, auctions, the
    viewer's holds) and one cache read, however many items."""
    if not items:
        return []
    ids = [item.pk for item in items]
    return _cards(
        items,
        reserved=units_reserved(item_ids=ids),
        auctions=auctions_running_by_item(item_ids=ids),
        held=units_held_for(holder=viewer, item_ids=ids),
        photos=_photos_by_item(ids),
    )


def _cards(
    items: list[Item],
    *,
    reserved: dict[int, int],
    auctions: dict,
    held: dict[int, int],
    photos: dict[int, list[Photo]],
) -> list[ItemCard]:
    """Cards from the items' stock, auctions, the viewer's holds and photos, read by
    the caller; "live" one cache read."""
    live = live_stall_ids(public_ids=list({item.stall.public_id for item in items}))
    return [
        ItemCard(
            item=item,
            photos=photos.get(item.pk, []),
            available=max(item.inventory - reserved.get(item.pk, 0), 0),
            on_hold=reserved.get(item.pk, 0),
            held_for_you=held.get(item.pk, 0),
            auction=auctions.get(item.pk),
            live=item.stall.public_id in live,
        )
        for item in items
    ]


def _listed() -> QuerySet[Item]:
    return Item.objects.filter(archived_at__isnull=True)


def _for_sale(viewer) -> Q:
    """Items someone can buy or bid on now, and those the viewer's offers hold."""
    return ~items_unavailable() | Q(pk__in=items_in_auction()) | items_held_for(holder=viewer)


# The item page's first read, compiled once (`bazaar.prepared`).
_LISTED_ITEM = Prepared(
    lambda public_id: (
        _listed()
        .select_related("stall__section", "stall__seller__user")
        .filter(public_id=public_id)[:1]
    )
)


def item_listed(*, public_id: str) -> Item:
    """The item of an item page, with its stall, section and seller (one compiled
    query); NotFound unless it is listed."""
    item = _LISTED_ITEM.first(public_id)
    if item is None:
        raise NotFound("No item has that address.")
    return item


def item_page_cards(*, item: Item, viewer) -> tuple[ItemCard, list[ItemCard]]:
    """One item for its own page, with its stall and seller, and the cards of more
    from its stall: those for sale first, then the newest. The stall's items, their
    stock and photos are kept (`stall_item_cards_and_photos`, dropped by every stock,
    item and photo change), its running auctions read only while it has any
    (`auctions_running_in_stall`); the item's card carries all of its own photos, for
    the gallery; the viewer's holds, one query."""
    stall = item.stall
    stall_items, photos = stall_item_cards_and_photos(stall=stall)
    reserved = {other.pk: other.reserved for other in stall_items}
    held = units_held_for(holder=viewer, item_ids=list(reserved))
    in_auction = auctions_running_in_stall(stall=stall)
    more = [other for other in stall_items if other.pk != item.pk]
    # A stable sort: the newest first among those for sale, then among the rest.
    more.sort(key=lambda other: not (other.available or other.pk in in_auction or other.pk in held))
    shown = [item, *more[:ROW_LENGTH]]
    auctions = auctions_running_by_item(item_ids=[one.pk for one in shown]) if in_auction else {}
    card, *more_cards = _cards(
        shown, reserved=reserved, auctions=auctions, held=held, photos=photos
    )
    return card, more_cards


def _filtered(filters: SearchFilters, viewer) -> QuerySet[Item]:
    items = _listed()
    if filters.words:
        match, rank = items_matching(words=list(filters.words))
        items = items.filter(match).annotate(rank=rank)
    if filters.category:
        items = items.filter(category=filters.category)
    if filters.conditions:
        items = items.filter(condition__in=filters.conditions)
    if filters.min_cents is not None:
        items = items.filter(price_cents__gte=filters.min_cents)
    if filters.max_cents is not None:
        items = items.filter(price_cents__lte=filters.max_cents)
    if filters.in_auction:
        items = items.filter(pk__in=items_in_auction())
    if filters.live_now:
        items = items.filter(stall__public_id__in=stalls_live_now())
    if not filters.sold_out:
        items = items.filter(_for_sale(viewer))
    return items


def _sorted(items: QuerySet[Item], order: str) -> QuerySet[Item]:
    newest = (F("created_at").desc(), F("id").desc())
    if order == Sort.RELEVANCE:
        return items.order_by(F("rank").desc(), *newest)
    if order == Sort.PRICE_LOW:
        return items.order_by("price_cents", *newest)
    if order == Sort.PRICE_HIGH:
        return items.order_by("-price_cents", *newest)
    if order == Sort.ENDING:
        ends = Subquery(auction_running_of(OuterRef("pk")).values("ends_at")[:1])
        return items.annotate(auction_ends=ends).order_by(
            F("auction_ends").asc(nulls_last=True), *newest
        )
    return items.order_by(*newest)


def item_search(*, filters: SearchFilters, viewer, page: int | str = 1) -> SearchResults:
    """A page of the items that pass the filters, in the order asked for."""
    items = _sorted(_filtered(filters, viewer), filters.order).select_related("stall__section")
    found = Paginator(items, PAGE_SIZE).get_page(page)
    return SearchResults(
        page=found, cards=item_cards(list(found.object_list), viewer=viewer), filters=filters
    )


def just_listed(*, viewer, limit: int = ROW_LENGTH) -> list[ItemCard]:
    """The newest items anyone can buy now."""
    items = (
        _listed()
        .filter(_for_sale(viewer))
        .select_related("stall__section")
        .order_by("-created_at", "-id")[:limit]
    )
    return item_cards(list(items), viewer=viewer)


CATEGORY_PHOTOS_SCANNED = 300
CATEGORIES_CACHE_KEY = "discovery:categories"
CATEGORIES_CACHE_SECONDS = 60


def category_counts() -> list[dict]:
    """Every category with how many items are listed in it (empty ones too) and, for
    its tile, a thumbnail of one of its newest items (from the newest few hundred).
    Cached for a minute: the front page shows it to everyone."""
    tiles = cache.get(CATEGORIES_CACHE_KEY)
    if tiles is not None:
        return tiles
    counts = dict(
        Item.objects.filter(archived_at__isnull=True)
        .values_list("category")
        .annotate(listed=Count("id"))
        .order_by()
    )
    thumbnails = {}
    newest = (
        Photo.objects.filter(item__isnull=False, item__archived_at__isnull=True)
        .select_related("item")
        .only("thumbnail", "item__category")
        .order_by("-item__created_at", "position")[:CATEGORY_PHOTOS_SCANNED]
    )
    for photo in newest:
        thumbnails.setdefault(photo.item.category, photo.thumbnail.url)
    tiles = [
        {
            "value": value,
            "label": label,
            "listed": counts.get(value, 0),
            "thumbnail": thumbnails.get(value, ""),
        }
        for value, label in Category.choices
    ]
    cache.set(CATEGORIES_CACHE_KEY, tiles, CATEGORIES_CACHE_SECONDS)
    return tiles


@dataclass
class StallCard:
    stall: Stall
    photo: Photo | None
    item_count: int
    live: bool = False
    show: Show | None = None


def stalls_with_item_count(stalls: QuerySet[Stall]) -> QuerySet[Stall]:
    """Stalls as a card reads them: with their section and how many items are listed."""
    return stalls.select_related("section").annotate(
        item_count=Count("items", filter=Q(items__archived_at__isnull=True))
    )


def stall_cards(stalls: list[Stall]) -> list[StallCard]:
    """Cards for stalls read by `stalls_with_item_count`: one query for the photos and
    one cache read for who is live, however many stalls."""
    photos = {}
    # The stall's own photos before its items': the card shows the stall itself.
    for photo in Photo.objects.filter(stall__in=stalls).order_by(
        F("item_id").desc(nulls_last=True), "-position", "-id"
    ):
        photos[photo.stall_id] = photo
    live = live_stall_ids(public_ids=[stall.public_id for stall in stalls])
    return [
        StallCard(stall, photos.get(stall.pk), stall.item_count, stall.public_id in live)
        for stall in stalls
    ]


def live_stalls(*, limit: int = ROW_LENGTH) -> list[StallCard]:
    """Stalls streaming a show first, the most watched first; then stalls whose seller
    is in the stall now, the fullest tables first."""
    shows = {show.stall_id: show for show in live_now(limit=limit)}
    present = stalls_live_now()
    if not shows and not present:
        return []
    stalls = stalls_with_item_count(
        Stall.objects.filter(Q(pk__in=shows) | Q(public_id__in=present))
    )

    def order(stall: Stall):
        show = shows.get(stall.pk)
        return (show is None, -(show.viewer_count if show else 0), -stall.item_count, stall.name)

    cards = stall_cards(sorted(stalls, key=order)[:limit])
    for card in cards:
        card.show = shows.get(card.stall.pk)
    return cards


@dataclass
class AuctionCard:
    auction: Auction
    photo: Photo | None


def auction_cards(auctions: list[Auction]) -> list[AuctionCard]:
    photos = _photos_by_item([auction.item_id for auction in auctions])
    return [AuctionCard(auction, photos.get(auction.item_id, [None])[0]) for auction in auctions]


def auctions_ending_soon(*, limit: int = ROW_LENGTH) -> list[AuctionCard]:
    """Live auctions, the soonest to end first."""
    auctions = auctions_running().filter(status=Auction.Status.LIVE)[:limit]
    return auction_cards(list(auctions))


def auction_list(*, page: int | str = 1) -> tuple[Page, list[AuctionCard]]:
    """Every running auction, ending soonest first, a page at a time."""
    found = Paginator(auctions_running(), PAGE_SIZE).get_page(page)
    return found, auction_cards(list(found.object_list))
