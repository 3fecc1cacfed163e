"""Reads: who watches an item or follows a stall (the recipients of notices), and a
person's own saved items and followed stalls. A watchlist is private: every read
of one is scoped to the person it belongs to."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from bazaar.cache import kept_until_changed
from discovery.selectors import ItemCard, StallCard, item_cards, stall_cards, stalls_with_item_count
from stalls.models import Item, Stall

from .models import Follow, Watch

User = get_user_model()
# A bound for rows that go without a service (an account deleted, the admin).
COUNT_KEPT_SECONDS = 300


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


def _toggle(rows: QuerySet, user) -> Toggle:
    """How many rows there are and whether one is the user's: one query."""
    mine = Q(user=user) if user.is_authenticated else Q(pk__in=[])
    counted = rows.aggregate(count=Count("pk"), mine=Count("pk", filter=mine))
    return Toggle(on=bool(counted["mine"]), count=counted["count"])


def watches_scope(item_id: int) -> str:
    """What `watchlist.services` marks changed when someone saves the item or forgets it."""
    return f"item-watches:{item_id}"


def follows_scope(stall_id: int) -> str:
    """What `watchlist.services` marks changed when someone follows the stall or stops."""
    return f"stall-follows:{stall_id}"


def item_watch_state(*, user, item: Item) -> Toggle:
    return _toggle_for(user, Watch.objects.filter(item=item), watches_scope(item.pk))


def stall_follow_state(*, user, stall: Stall) -> Toggle:
    return _toggle_for(user, Follow.objects.filter(stall=stall), follows_scope(stall.pk))


def _toggle_for(user, rows: QuerySet, scope: str) -> Toggle:
    """For a signed-out viewer (most of a page's, and theirs is only the count) the
    count is kept until someone turns the button on or off (`scope`); a signed-in
    viewer's is read, since it says whether the button is theirs."""
    if user.is_authenticated:
        return _toggle(rows, user)
    return kept_until_changed(
        scope=scope,
        name="count",
        read=lambda: _toggle(rows, user),
        timeout=COUNT_KEPT_SECONDS,
    )


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
