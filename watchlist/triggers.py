"""What the watchlist does when stalls says something a watcher or follower cares
about happened (`stalls.signals`: a seller arrives in their stall, lists an item,
lowers a price; `WatchlistConfig.ready` connects them). Each is cheap inside the
sender's transaction (at most one query to see whether anybody is listening) and
queues the telling for after commit (`watchlist.notices` does it), so a rolled-back
change tells nobody and the action that caused it never waits for the notices."""

from bazaar.jobs import enqueue_on_commit
from stalls.models import Item, Stall

from .models import Follow, Watch


def seller_went_live(sender, *, stall: Stall, **kwargs) -> None:
    """The seller arrived and the stall was not live a moment ago."""
    if Follow.objects.filter(stall=stall).exists():
        enqueue_on_commit("watchlist.tasks.tell_seller_live", stall_id=stall.pk)


def item_listed(sender, *, item: Item, **kwargs) -> None:
    """A new item is on the stall's table."""
    if Follow.objects.filter(stall_id=item.stall_id).exists():
        enqueue_on_commit("watchlist.tasks.tell_item_listed", item_id=item.pk)


def item_price_changing(sender, *, item: Item, price_cents: int, **kwargs) -> None:
    """Before the new price is set: a lower one is news to the item's watchers."""
    if price_cents < item.price_cents and Watch.objects.filter(item=item).exists():
        enqueue_on_commit(
            "watchlist.tasks.tell_price_drop",
            item_id=item.pk,
            was_cents=item.price_cents,
            now_cents=price_cents,
        )
