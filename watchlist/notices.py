"""Telling watchers and followers, after the change that concerns them committed
(queued by `watchlist.triggers` and the beat schedule). Each notice goes through the
notifications app's one service (`notify`) with a dedupe key, so a task that runs
twice, or a sweep that sees the same auction every minute, tells each person once.

- a followed seller goes live: at most once an hour per stall, however often a
  flapping connection makes the stall live again;
- a followed stall lists an item: once per item;
- a watched item's price drops: once per new price, and not at all if the price
  went back up before the task ran (the notice would be untrue);
- a watched item's auction ends within ten minutes: once per auction and watcher.
"""

from datetime import timedelta

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from auctions.models import Auction
from auctions.selectors import auctions_running
from bazaar.money import format_money
from notifications.selectors import dedupe_keys_used
from notifications.services import notify
from stalls.models import Item, Stall

from .selectors import followers_of_stall, watchers_of_item

LIVE_NOTICE_SECONDS = 3600
ENDING_WITHIN = timedelta(minutes=10)


def seller_live_tell(*, stall_id: int, now=None) -> int:
    """Followers of a stall whose seller just arrived; returns how many were told."""
    stall = Stall.objects.select_related("seller__user").filter(pk=stall_id).first()
    if stall is None or not cache.add(
        f"watchlist:live-told:{stall.public_id}", True, LIVE_NOTICE_SECONDS
    ):
        return 0
    hour = int((now or timezone.now()).timestamp() // LIVE_NOTICE_SECONDS)
    return _tell(
        followers_of_stall(stall=stall),
        "seller_live",
        title=f"{stall.name} is live now",
        url=reverse("stalls:detail", args=[stall.public_id]),
        body=f"@{stall.seller.user.handle} is in the stall: chat, ask, haggle.",
        dedupe_key=f"seller_live:{stall.public_id}:{hour}",
    )


def _tell(people, kind: str, **notice: str) -> int:
    """The same notice to each of `people`; how many were told."""
    told = 0
    for person in people:
        notify(person, kind, **notice)
        told += 1
    return told


def _listed_item(item_id: int) -> Item | None:
    return Item.objects.select_related("stall").filter(pk=item_id, archived_at__isnull=True).first()


def item_listed_tell(*, item_id: int) -> int:
    """Followers of the stall that listed the item."""
    item = _listed_item(item_id)
    if item is None:
        return 0
    return _tell(
        followers_of_stall(stall=item.stall),
        "seller_listed",
        title=f"New at {item.stall.name}: {item.title}",
        url=reverse("discovery:item", args=[item.public_id]),
        body=f"Listed for {format_money(item.price_cents, item.currency)}.",
        dedupe_key=f"seller_listed:{item.public_id}",
    )


def price_drop_tell(*, item_id: int, was_cents: int, now_cents: int) -> int:
    """Watchers of an item whose price went down, if it is still that price."""
    item = _listed_item(item_id)
    if item is None or item.price_cents != now_cents:
        return 0
    now, was = format_money(now_cents, item.currency), format_money(was_cents, item.currency)
    return _tell(
        watchers_of_item(item=item),
        "price_drop",
        title=f"Price drop: {item.title}",
        url=reverse("discovery:item", args=[item.public_id]),
        body=f"Now {now}, was {was}, at {item.stall.name}.",
        dedupe_key=f"price_drop:{item.public_id}:{now_cents}",
    )


def auctions_ending_tell(*, now=None) -> int:
    """Watchers of the items whose live auction ends within ten minutes, those not
    told yet (the sweep runs every minute: it asks once per auction and watcher)."""
    now = now or timezone.now()
    ending = auctions_running().filter(
        status=Auction.Status.LIVE, ends_at__gt=now, ends_at__lte=now + ENDING_WITHIN
    )
    asks = [
        (auction, watcher, f"auction_ending:{auction.public_id}")
        for auction in ending
        for watcher in watchers_of_item(item=auction.item)
    ]
    told = dedupe_keys_used(keys={(watcher.pk, key) for _, watcher, key in asks})
    fresh = [(a, w, key) for a, w, key in asks if (w.pk, key) not in told]
    for auction, watcher, key in fresh:
        minutes = max(round((auction.ends_at - now).total_seconds() / 60), 1)
        price = auction.price_cents or auction.start_cents
        bid = "current bid" if auction.price_cents else "opening bid"
        notify(
            watcher,
            "auction_ending",
            title=f"Ending soon: {auction.item.title}",
            url=reverse("auctions:detail", args=[auction.public_id]),
            body=f"About {minutes} min left; {bid} {format_money(price, auction.currency)}.",
            dedupe_key=key,
        )
    return len(fresh)
