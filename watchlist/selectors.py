"""Reads: who watches an item or follows a stall (the recipients of notices), and a
person's own saved items and followed stalls. A watchlist is private: every read
of one is scoped to the person it belongs to."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from bazaar.cache import Kept, kept_keys, kept_together
from bazaar.exports import rows
from discovery.selectors import ItemCard, StallCard, item_cards, stall_cards, stalls_with_item_count
from stalls.models import Item, Stall

from .models import Follow, Watch

User = get_user_model()
# A bound for rows that go without a service (a cascade, the admin).
COUNT_KEPT_SECONDS = 300
_COUNT = "total"


def watchers_of_item(*, item: Item) -> QuerySet:
    """The active people who saved `item`, to tell about its price and its auction."""
    return User.objects.filter(watches__item=item, is_active=True).order_by("pk")


def followers_of_stall(*, stall: Stall) -> QuerySet:
    """The active people who follow `stall`, to tell when its seller is in or lists."""
    return User.objects.filter(follows__stall=stall, is_active=True).order_by("pk")


@dataclass(frozen=True)
class Toggle:
    """One button's state for one viewer: whether they hold it on, and how many do."""

    on: bool
    count: int


def watches_scope(item_id: int) -> str:
    """What `watchlist.services` marks changed when someone saves the item or forgets it."""
    return f"item-watches:{item_id}"


def follows_scope(stall_id: int) -> str:
    """What `watchlist.services` marks changed when someone follows the stall or stops."""
    return f"stall-follows:{stall_id}"


def own_scope(user_id: int) -> str:
    """What `watchlist.services` marks changed when the user saves, forgets, follows or
    stops following anything."""
    return f"watchlist-of:{user_id}"


def item_watch_state(*, user, item: Item) -> Toggle:
    return _toggle(user, Watch, "item_id", item.pk, watches_scope(item.pk))


def stall_follow_state(*, user, stall: Stall) -> Toggle:
    return _toggle(user, Follow, "stall_id", stall.pk, follows_scope(stall.pk))


def stall_follow_count_keys(stall: Stall) -> list[str]:
    """What `stall_follow_state` reads for its count (the stall page reads it ahead)."""
    return kept_keys(follows_scope(stall.pk), _COUNT)


def viewer_own_keys(user) -> list[str]:
    """What the Save and Follow buttons read of a signed-in viewer's own (read ahead)."""
    return [*kept_keys(own_scope(user.pk), "item_id"), *kept_keys(own_scope(user.pk), "stall_id")]


def item_page_count_keys(item: Item) -> list[str]:
    """What an item page's Save and Follow buttons read for their counts (read ahead)."""
    return [*kept_keys(watches_scope(item.pk), _COUNT), *stall_follow_count_keys(item.stall)]


def _toggle(user, rows: type[Watch | Follow], field: str, pk: int, scope: str) -> Toggle:
    """How many hold the button on, kept until someone turns it on or off (`scope`),
    and whether the viewer does: the ids of what they saved or follow (`field`), kept
    until they change one (`own_scope`). One cache round trip for both; no query."""
    count = Kept(
        scope=scope,
        name=_COUNT,
        read=lambda: rows.objects.filter(**{field: pk}).count(),
        timeout=COUNT_KEPT_SECONDS,
    )
    if not user.is_authenticated:
        return Toggle(on=False, count=kept_together(count)[0])
    own = Kept(
        scope=own_scope(user.pk),
        name=field,
        read=lambda: frozenset(rows.objects.filter(user=user).values_list(field, flat=True)),
        timeout=COUNT_KEPT_SECONDS,
    )
    total, own_ids = kept_together(count, own)
    return Toggle(on=pk in own_ids, count=total)


def saved_items_for(*, user) -> list[ItemCard]:
    """The user's saved items still listed, the latest saved first, as cards with
    their price, stock and auction now (sold-out ones marked as such)."""
    items = (
        Item.objects.filter(watches__user=user, archived_at__isnull=True)
        .select_related("stall__section")
        .order_by("-watches__created_at", "-id")
    )
    return item_cards(list(items), viewer=user)


def followed_stalls_for(*, user) -> list[StallCard]:
    """The stalls the user follows, the latest followed first, live ones marked."""
    stalls = stalls_with_item_count(Stall.objects.filter(follows__user=user))
    return stall_cards(list(stalls.order_by("-follows__created_at", "-id")))


def watchlist_export(user) -> dict:
    """What they saved and which stalls they follow, oldest first."""
    return {
        "saved_items": rows(
            Watch.objects.filter(user=user).order_by("created_at"),
            item="item__public_id",
            title="item__title",
            saved_at="created_at",
        ),
        "followed_stalls": rows(
            Follow.objects.filter(user=user).order_by("created_at"),
            stall="stall__public_id",
            name="stall__name",
            followed_at="created_at",
        ),
    }
