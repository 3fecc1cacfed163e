"""Reads for stalls, items and stock, scoped to who is asking."""

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import NotFound

from .models import SLOTS_PER_SECTION, Item, Photo, Reservation, SellerProfile, Stall


def seller_profile_for_user(*, user) -> SellerProfile | None:
    if not user.is_authenticated:
        return None
    return SellerProfile.objects.filter(user=user).first()


def stall_for_user(*, user) -> Stall | None:
    """The signed-in seller's own stall, if they have opened one."""
    if not user.is_authenticated:
        return None
    return Stall.objects.select_related("section", "seller").filter(seller__user=user).first()


def stall_get(*, public_id: str) -> Stall:
    stall = (
        Stall.objects.select_related("section", "seller__user").filter(public_id=public_id).first()
    )
    if stall is None:
        raise NotFound("No stall has that address.")
    return stall


def active_reservations(*, at=None) -> Q:
    """Reservations that still hold stock: not released, not consumed, not expired."""
    return Q(
        released_at__isnull=True, consumed_at__isnull=True, expires_at__gt=at or timezone.now()
    )


def _reserved_subquery(now) -> Coalesce:
    reserved = (
        Reservation.objects.filter(active_reservations(at=now), item=OuterRef("pk"))
        .values("item")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(reserved, output_field=IntegerField()), 0)


def items_with_availability(*, stall: Stall) -> QuerySet[Item]:
    """A stall's live items, each with `reserved` units, in one query plus photos."""
    return (
        stall.items.filter(archived_at__isnull=True)
        .annotate(reserved=_reserved_subquery(timezone.now()))
        .prefetch_related("photos")
        .order_by("-created_at", "-id")
    )


def item_stock(*, item: Item) -> tuple[int, int]:
    """(available, on hold): units for sale now, and units held by reservations."""
    reserved = item.reservations.filter(active_reservations()).aggregate(
        total=Coalesce(Sum("quantity"), 0)
    )["total"]
    return max(item.inventory - reserved, 0), reserved


def item_available_quantity(*, item: Item) -> int:
    return item_stock(item=item)[0]


def item_get(*, public_id: str) -> Item:
    item = (
        Item.objects.select_related("stall__section", "stall__seller")
        .filter(public_id=public_id, archived_at__isnull=True)
        .first()
    )
    if item is None:
        raise NotFound("No item has that address.")
    return item


def free_slots(*, section_id: int, keep_stall: Stall | None = None) -> list[int]:
    """Slots 0-8 of a section not taken by another stall."""
    taken = set(
        Stall.objects.filter(section_id=section_id)
        .exclude(pk=getattr(keep_stall, "pk", None))
        .values_list("slot", flat=True)
    )
    return [slot for slot in range(SLOTS_PER_SECTION) if slot not in taken]


def section_cards_cache_key(section_id: int) -> str:
    return f"stalls:section-cards:{section_id}"


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


def search_stalls_and_items(*, query: str, limit: int = 12) -> dict:
    """Stalls and live items whose name or description contains every word typed."""
    words = query.split()[:6]
    if not words:
        return {"stalls": [], "stall_total": 0, "items": [], "item_total": 0}
    stall_filter, item_filter = Q(), Q(archived_at__isnull=True)
    for word in words:
        stall_filter &= Q(name__icontains=word) | Q(description__icontains=word)
        item_filter &= (
            Q(title__icontains=word) | Q(description__icontains=word) | Q(brand__icontains=word)
        )
    stalls = Stall.objects.filter(stall_filter)
    items = Item.objects.filter(item_filter)
    return {
        "stalls": list(stalls.select_related("section").order_by("name", "id")[:limit]),
        "stall_total": stalls.count(),
        "items": list(items.select_related("stall__section").order_by("title", "id")[:limit]),
        "item_total": items.count(),
    }


CHAT_PAGE = 50


def chat_history(*, stall: Stall, viewer, before: str | None, limit: int = CHAT_PAGE) -> dict:
    """Older messages for the chat's scroll-back: visible ones, plus the viewer's
    own held ones (shown to them alone), newest first, `limit` at a time."""
    from .models import ChatMessage

    shown = Q(status=ChatMessage.Status.VISIBLE)
    if viewer.is_authenticated:
        shown |= Q(status=ChatMessage.Status.HELD, author=viewer)
    messages = ChatMessage.objects.filter(shown, stall=stall).select_related("author")
    if before:
        messages = messages.filter(public_id__lt=before)
    page = list(messages.order_by("-public_id")[: limit + 1])
    return {"messages": page[:limit], "more": len(page) > limit}
