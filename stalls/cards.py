"""The stall page's item cards and gallery, rendered once and shared by every viewer.

A card's link (photo, title, price, stock, description) is the same for everyone who
looks, so its HTML is cached per stall: rendering the cards and reading the items,
their stock and photos was most of a stall page's CPU. What differs per viewer (the
cart button, which holds a CSRF token and the viewer's accepted offer) and what other
apps add (the auction badge) are rendered around it on every request. stalls.services
drops a stall's cards after commit whenever its stock, items or photos change (the
events that already send the `stock` frame or refresh the section's cards).
"""

import copy

from django.template.loader import render_to_string

from bazaar.cache import (
    changed_on_commit,
    family_scopes,
    kept_and_held_until_changed,
    kept_scope_keys,
)

from .models import Item, Photo, Stall
from .selectors import items_with_availability

# A reservation that runs out sends no event until the sweep records its release
# (every 60 s: stalls.tasks.release_expired_reservations), which drops the cards; an
# open page's stock waits for that sweep too. The lifetime is that bound again, for a
# change made where no service runs (the admin, a shell).
CARDS_CACHE_SECONDS = 60
# The stall page's gallery: the first photos of the stall, then of its items.
GALLERY_SIZE = 7
# The stall page, as the apps whose fragments it shows name their cache reads for it
# (`bazaar.cache.register_page_reads`), so that the page reads them all at once.
STALL_PAGE = "stall-page"
# An item's own page (discovery's), which shows its stall's cards in "More from".
ITEM_PAGE = "item-page"


def cards_scope(stall_id: int) -> str:
    """What a change to the stall's stock, items or photos marks changed."""
    return f"stall-items:{stall_id}"


def _cards_rendered(stall: Stall) -> list[Item]:
    items = list(items_with_availability(stall=stall))
    for item in items:
        item.available = max(item.inventory - item.reserved, 0)
        item.card_html = render_to_string(
            "stalls/_item_card_link.html", {"item": item, "stall": stall}
        )
        # Kept small: the photos are in the HTML now, the stall is the page's.
        item._prefetched_objects_cache = {}
        item._state.fields_cache.pop("stall", None)
    return items


def stall_item_cards_and_photos(*, stall: Stall) -> tuple[list[Item], dict[int, list[Photo]]]:
    """The stall's live items, newest first, each with `available`, `reserved` and
    `card_html` (its card's link), and each item's photos in order (an item page's
    gallery and its "More from" row): kept together, since every photo change drops the
    cards; held by the process while the read ahead finds their version unchanged, else
    from the cache, three queries when cold. Cards read while a change was committing
    are never served after it (`kept_until_changed`)."""
    items, photos = kept_and_held_until_changed(
        scope=cards_scope(stall.pk),
        name="cards-photos",
        read=lambda: (_cards_rendered(stall), _item_photos(stall)),
        timeout=CARDS_CACHE_SECONDS,
    )
    return _in_stall(items, stall), photos


def stall_cards_and_gallery(*, stall: Stall, size: int) -> tuple[list[Item], list[Photo]]:
    """The stall page's cards (as `stall_item_cards`) and its gallery, the stall's own
    photos first, then its items' (never empty while anything in the stall has a
    picture), at most `size`: kept together, since every photo change drops the cards,
    and held by the process as `stall_item_cards_and_photos`."""
    items, gallery = kept_and_held_until_changed(
        scope=cards_scope(stall.pk),
        name=f"cards-gallery:{size}",
        read=lambda: (_cards_rendered(stall), _gallery(stall)[:size]),
        timeout=CARDS_CACHE_SECONDS,
    )
    return _in_stall(items, stall), gallery


def stall_page_cards_keys(stall: Stall) -> list[str]:
    """The version the stall page's `stall_cards_and_gallery` is held under (to read
    ahead): the cards themselves (~12 KB of items to unpickle) are read only when the
    process holds none for it."""
    return kept_scope_keys([cards_scope(stall.pk)])


def item_page_cards_keys(item: Item) -> list[str]:
    """`stall_page_cards_keys` for an item page's `stall_item_cards_and_photos`."""
    return kept_scope_keys([cards_scope(item.stall_id)])


def stall_page_family_keys(stall: Stall) -> list[str]:
    """The versions of every app's scope of the stall, which the stall page's kept
    markup goes stale with (`{% kept %}`): read ahead, the markup held by the process
    is served with no cache read of its own while none of them changed."""
    return kept_scope_keys(family_scopes("stall", stall.pk))


def item_page_family_keys(item: Item) -> list[str]:
    """`stall_page_family_keys` for an item page, whose kept markup is its stall's."""
    return kept_scope_keys(family_scopes("stall", item.stall_id))


def _in_stall(items: list[Item], stall: Stall) -> list[Item]:
    """A copy of each item with the page's stall: the kept items are shared by the
    process's requests and never changed."""
    return [_copy_in(item, stall) for item in items]


def _copy_in(item: Item, stall: Stall) -> Item:
    """The item's shallow copy, as `copy.copy` makes it (its own `_state` and fields
    cache), without the trip through pickle's reduce protocol: 2 µs an item, not 5."""
    shown = Item.__new__(Item)
    shown.__dict__ = item.__dict__.copy()
    shown._state = copy.copy(item._state)
    shown._state.fields_cache = item._state.fields_cache.copy()
    shown.stall = stall
    return shown


def _item_photos(stall: Stall) -> dict[int, list[Photo]]:
    photos: dict[int, list[Photo]] = {}
    for photo in Photo.objects.filter(
        stall=stall, item__isnull=False, item__archived_at__isnull=True
    ).order_by("position", "id"):
        photos.setdefault(photo.item_id, []).append(photo)
    return photos


def _gallery(stall: Stall) -> list[Photo]:
    return sorted(stall.photos.all(), key=lambda photo: photo.item_id is not None)


def stall_item_cards_forget(*, stall_id: int) -> None:
    """After commit: the stall's cards are stale (stock, an item or a photo changed)."""
    changed_on_commit(cards_scope(stall_id))
