"""Reads for stalls, items and stock, scoped to who is asking."""

import operator
import re
from functools import reduce

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.cache import cache
from django.db import connection, models
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import NotFound
from bazaar.exports import row, rows
from bazaar.prepared import Prepared

from .models import (
    SLOTS_PER_SECTION,
    ChatMessage,
    Item,
    Photo,
    PhotoUpload,
    Reservation,
    SellerProfile,
    Stall,
)
from .room.presence import live_stall_ids
from .search import SEARCH_CONFIG


def seller_profile_for_user(*, user) -> SellerProfile | None:
    if not user.is_authenticated:
        return None
    return SellerProfile.objects.filter(user=user).first()


def stall_for_user(*, user) -> Stall | None:
    """The signed-in seller's own stall, if they have opened one."""
    if not user.is_authenticated:
        return None
    return Stall.objects.select_related("section", "seller").filter(seller__user=user).first()


# Every stall page's first read, compiled once (`bazaar.prepared`).
_STALL_BY_PUBLIC_ID = Prepared(
    lambda public_id: Stall.objects.select_related("section", "seller__user").filter(
        public_id=public_id
    )[:1]
)


def stall_get(*, public_id: str) -> Stall:
    stall = _STALL_BY_PUBLIC_ID.first(public_id)
    if stall is None:
        raise NotFound("No stall has that address.")
    return stall


def active_reservations(*, at=None) -> Q:
    """Reservations that still hold stock: not released, not consumed, not expired."""
    return Q(
        released_at__isnull=True, consumed_at__isnull=True, expires_at__gt=at or timezone.now()
    )


def reserved_units_subquery(*, at, item: str = "pk") -> Coalesce:
    """Units the active reservations hold of the item of an outer query (0 for none):
    on Item, or on a model whose field `item` names it (a cart line's "item_id"); a
    caller reads the stock in the same statement as its own checks."""
    reserved = (
        Reservation.objects.filter(active_reservations(at=at), item=OuterRef(item))
        .values("item")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(reserved, output_field=IntegerField()), 0)


def items_with_availability(*, stall: Stall) -> QuerySet[Item]:
    """A stall's live items, each with `reserved` units, in one query plus photos."""
    return (
        stall.items.filter(archived_at__isnull=True)
        .annotate(reserved=reserved_units_subquery(at=timezone.now()))
        .prefetch_related("photos")
        .order_by("-created_at", "-id")
    )


# Per item of a page or a cart, compiled once per length of the list (`bazaar.prepared`).
_UNITS_RESERVED = Prepared(
    lambda item_ids, now: (
        Reservation.objects.filter(active_reservations(at=now), item_id__in=item_ids)
        .values("item_id")
        .annotate(units=Sum("quantity"))
        .values_list("item_id", "units")
    )
)


def units_reserved(*, item_ids: list[int]) -> dict[int, int]:
    """Units that active reservations hold, per item (items with none are left out)."""
    if not item_ids:
        return {}
    return dict(_UNITS_RESERVED.rows(list(item_ids), timezone.now()))


def items_unavailable() -> Q:
    """Items nobody can buy a unit of now: none left, or every unit held.

    For listings of many items: one grouped pass over the active reservations (few),
    instead of a sum per item; `units_reserved` then counts for the page alone.
    """
    inventory = Item.objects.filter(pk=OuterRef("item_id")).values("inventory")
    fully_held = (
        Reservation.objects.filter(active_reservations())
        .values("item_id")
        .annotate(units=Sum("quantity"))
        .filter(units__gte=Subquery(inventory))
        .values("item_id")
    )
    return Q(inventory=0) | Q(pk__in=fully_held)


def _offer_holds(holder_id: int, at=None) -> QuerySet[Reservation]:
    return Reservation.objects.filter(
        active_reservations(at=at), holder_id=holder_id, reason=Reservation.Reason.OFFER
    )


def items_held_for(*, holder) -> Q:
    """Items that the holder's accepted offers hold a unit of (theirs to buy)."""
    if not holder.is_authenticated:
        return Q(pk__in=[])
    return Q(pk__in=_offer_holds(holder.pk).values("item_id"))


_UNITS_HELD_FOR = Prepared(
    lambda holder_id, item_ids, now: (
        _offer_holds(holder_id, at=now)
        .filter(item_id__in=item_ids)
        .values("item_id")
        .annotate(units=Sum("quantity"))
        .values_list("item_id", "units")
    )
)


def units_held_for(*, holder, item_ids: list[int]) -> dict[int, int]:
    """Units of these items that the holder's accepted offers hold: what they read as
    "Held for you" where everyone else reads "Sold out". Nobody else's holds."""
    if not holder.is_authenticated or not item_ids:
        return {}
    return dict(_UNITS_HELD_FOR.rows(holder.pk, list(item_ids), timezone.now()))


def units_available(*, item: Item, reserved: int) -> int:
    """Units for sale now, of the `reserved` that reservations hold."""
    return max(item.inventory - reserved, 0)


def item_stock(*, item: Item) -> tuple[int, int]:
    """(available, on hold): units for sale now, and units held by reservations."""
    reserved = units_reserved(item_ids=[item.pk]).get(item.pk, 0)
    return units_available(item=item, reserved=reserved), reserved


def item_available_quantity(*, item: Item) -> int:
    return item_stock(item=item)[0]


def item_get(*, public_id: str) -> Item:
    item = (
        Item.objects.select_related("stall__section", "stall__seller__user")
        .filter(public_id=public_id, archived_at__isnull=True)
        .first()
    )
    if item is None:
        raise NotFound("No item has that address.")
    return item


def section_at(*, x: int, y: int) -> models.Model | None:
    """The market's section at x/y, or None. Sections are market's, a layer above stalls:
    they are reached through the stall's foreign key to them, not by importing market."""
    sections = Stall._meta.get_field("section").related_model.objects
    return sections.filter(x=x, y=y).first()


def section_by_pk(*, pk: int) -> models.Model:
    """A section by its key, the same way (for a stall whose row was locked alone)."""
    return Stall._meta.get_field("section").related_model.objects.get(pk=pk)


def free_slots(*, section_id: int, keep_stall: Stall | None = None) -> list[int]:
    """Slots 0-8 of a section not taken by another stall."""
    taken = set(
        Stall.objects.filter(section_id=section_id)
        .exclude(pk=getattr(keep_stall, "pk", None))
        .values_list("slot", flat=True)
    )
    return [slot for slot in range(SLOTS_PER_SECTION) if slot not in taken]


def section_cards_cache_key(section_id: int) -> str:
    # "2": the cards carry the stall's id since the grid keeps its badges by it; a
    # process of the release before reads its own key while both run.
    return f"stalls:section-cards:2:{section_id}"


def stall_cards_for_section(*, section_id: int) -> list[dict | None]:
    """The nine slots of a section as card data (None for an empty slot).

    One cached read for the section page: two queries when cold (stalls with item
    counts, then their photos), none when warm; `stalls.services` clears it when a
    stall, item or photo in the section changes.
    """
    key = section_cards_cache_key(section_id)
    cards = cache.get(key)
    if cards is not None:
        return cards
    stalls = (
        Stall.objects.filter(section_id=section_id)
        .select_related("seller__user")
        .annotate(
            item_count=Count("items", filter=Q(items__archived_at__isnull=True)),
            cheapest_cents=models.Min(
                "items__price_cents", filter=Q(items__archived_at__isnull=True)
            ),
        )
        .prefetch_related(
            Prefetch(
                "photos", queryset=Photo.objects.only("id", "stall_id", "thumbnail", "position")
            )
        )
    )
    cards = [None] * SLOTS_PER_SECTION
    for stall in stalls:
        cards[stall.slot] = {
            "id": stall.pk,
            "public_id": stall.public_id,
            "url": reverse("stalls:detail", args=[stall.public_id]),
            "name": stall.name,
            "slot": stall.slot,
            "item_count": stall.item_count,
            "cheapest_cents": stall.cheapest_cents,
            "seller_handle": stall.seller.user.handle,
            "thumbnails": [photo.thumbnail.url for photo in stall.photos.all()][:8],
        }
    cache.set(key, cards, settings.SECTION_CACHE_SECONDS)
    return cards


SEARCH_WORDS = 6
_WORD = re.compile(r"[^\W_]{1,40}")


def search_words(query: str) -> list[str]:
    """The words of what was typed (letters and digits; at most six), which
    search matches as prefixes: "lam" finds lamps as you type."""
    return _WORD.findall(query)[:SEARCH_WORDS]


def items_matching(*, words: list[str]) -> tuple[Q, Expression]:
    """A filter for items that match every word, in their search document
    (stalls/search.py) or their stall's name, and how well each matches.

    PostgreSQL: each word is a prefix `tsquery` matched against the stored
    `tsvector` (GIN-indexed), a word that is only stop words ("the") is left out,
    and the rank is `ts_rank` over all the words. The stalls whose names match are
    looked up first (one query), so that each word's test is the index's `@@` or a
    list of stall ids, which PostgreSQL combines from two indexes. SQLite: `icontains`
    at a word's start, ranked by how many of the words the title holds.
    """
    match = Q()
    if connection.vendor == "postgresql":
        queries = [
            SearchQuery(f"{word}:*", search_type="raw", config=SEARCH_CONFIG) for word in words
        ]
        stalls = _stalls_named(queries)
        for number, query in enumerate(queries):
            stop_words = Exact(Func(query, function="numnode", output_field=IntegerField()), 0)
            named = [pk for pk, matched in stalls if matched[number]]
            match &= Q(search_document=query) | Q(stall_id__in=named) | Q(stop_words)
        return match, SearchRank(F("search_document"), reduce(operator.or_, queries))
    rank = Value(0.0)
    for word in words:
        match &= _starts_a_word("search_document", word) | _starts_a_word("stall__name", word)
        rank += Case(When(_starts_a_word("title", word), then=Value(1.0)), default=Value(0.0))
    return match, rank


def _starts_a_word(field: str, word: str) -> Q:
    """SQLite: `word` at the start of the text or after a space, as PostgreSQL's prefix
    match finds it ("lamp" finds lamps, not clamps)."""
    return Q(**{f"{field}__istartswith": word}) | Q(**{f"{field}__icontains": f" {word}"})


def _stalls_named(queries: list[SearchQuery]) -> list[tuple[int, tuple[bool, ...]]]:
    """Stalls whose name matches any of the queries, with which ones it matches."""
    if not queries:
        return []
    tests = {
        f"word_{number}": ExpressionWrapper(Q(name_vector=query), output_field=BooleanField())
        for number, query in enumerate(queries)
    }
    rows = (
        Stall.objects.annotate(name_vector=SearchVector("name", config=SEARCH_CONFIG))
        .filter(name_vector=reduce(operator.or_, queries))
        .annotate(**tests)
        .values_list("pk", *tests)
    )
    return [(pk, tuple(matched)) for pk, *matched in rows]


def stalls_matching(*, words: list[str], limit: int) -> list[Stall]:
    """Stalls whose name or description holds every word, for the top of search results."""
    match = Q()
    for word in words:
        match &= Q(name__icontains=word) | Q(description__icontains=word)
    return list(Stall.objects.filter(match).select_related("section").order_by("name")[:limit])


STALL_IDS_CACHE_KEY = "stalls:public-ids"


def stalls_live_now() -> set[str]:
    """The public ids of stalls whose seller is in the stall now, market-wide: the
    stalls' ids (cached for a minute; `stall_create` clears them) and one cache read."""
    public_ids = cache.get(STALL_IDS_CACHE_KEY)
    if public_ids is None:
        public_ids = list(Stall.objects.values_list("public_id", flat=True))
        cache.set(STALL_IDS_CACHE_KEY, public_ids, 60)
    return live_stall_ids(public_ids=public_ids)


def stalls_by_place() -> dict[tuple[int, int, int], Stall]:
    """Every stall by (section x, section y, slot), for the stewards' map: one query."""
    stalls = Stall.objects.select_related("section", "seller__user").only(
        "public_id", "name", "slot", "section__x", "section__y", "seller__user__handle"
    )
    return {(stall.section.x, stall.section.y, stall.slot): stall for stall in stalls}


def uploads_held(*, limit: int) -> tuple[int, list]:
    """For stewards: photos the screening held, oldest first, and how many there are."""
    held = PhotoUpload.objects.filter(status=PhotoUpload.Status.HELD)
    related = held.select_related("stall__seller__user", "item", "uploader")
    return held.count(), list(related.order_by("created_at")[:limit])


def evidence_photos(*, order_ref: str) -> list:
    """Every evidence photo sent for an order (by its public id), oldest first; the
    caller decides who may see which."""
    uploads = PhotoUpload.objects.filter(evidence_for=order_ref).select_related("uploader")
    return list(uploads.order_by("created_at", "id"))


def uploads_pending_for(*, stall: Stall) -> list:
    """The seller's photos not shown yet: being checked, or waiting for a steward."""
    waiting = [PhotoUpload.Status.WAITING, PhotoUpload.Status.HELD]
    return list(
        PhotoUpload.objects.listings()
        .filter(stall=stall, status__in=waiting)
        .select_related("item")
        .order_by("created_at")
    )


def sellers_with_stall_count() -> int:
    """Active sellers (a stall, an account still open): the electorate for stewards."""
    return Stall.objects.filter(seller__user__is_active=True).count()


def stall_export(user) -> dict:
    """As a seller: their profile, their stall and its items; and every chat message
    they wrote in any stall, with what stewards decided about it. Oldest first."""
    return {
        "seller_profile": row(
            SellerProfile.objects.filter(user=user),
            legal_name="legal_name",
            country="country",
            verification="kyc_status",
            created_at="created_at",
        ),
        "stall": row(
            Stall.objects.filter(seller__user=user),
            stall="public_id",
            name="name",
            description="description",
            created_at="created_at",
        ),
        "items": rows(
            Item.objects.filter(stall__seller__user=user).order_by("created_at"),
            item="public_id",
            title="title",
            description="description",
            price_cents="price_cents",
            currency="currency",
            inventory="inventory",
            archived_at="archived_at",
            created_at="created_at",
        ),
        "chat_messages": rows(
            ChatMessage.objects.filter(author=user).order_by("created_at"),
            stall="stall__name",
            text="text",
            status="status",
            created_at="created_at",
        ),
    }
