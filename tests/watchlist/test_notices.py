"""Who hears what: followers when a seller goes live or lists, watchers when a price
drops or an auction is ending; after commit, once, and never untrue. Through the
notifications app's own `notify`, to the notices it writes."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bazaar.jobs import task_named
from notifications.models import Notice
from stalls.room import visitors
from stalls.room.visitors import Visitor, room_join, room_leave
from stalls.services import item_update
from tests.conftest import new_item
from tests.discovery.conftest import auctioned
from watchlist import notices
from watchlist.services import item_watch_set, stall_follow_set

pytestmark = pytest.mark.django_db


def told() -> list[tuple]:
    """Every notice written, oldest first, as (handle, kind, title, url, body, key)."""
    rows = Notice.objects.select_related("recipient").order_by("pk")
    return [(n.recipient.handle, n.kind, n.title, n.url, n.body, n.dedupe_key) for n in rows]


@pytest.fixture
def follower(stall, make_user):
    user = make_user("fan")
    stall_follow_set(user=user, stall=stall, following=True)
    return user


def price_to(item, cents: int):
    return item_update(
        actor=item.stall.seller.user,
        item=item,
        title=item.title,
        description=item.description,
        price_cents=cents,
        currency=item.currency,
        inventory=item.inventory,
    )


def test_followers_hear_of_a_new_item_after_commit(stall, follower, on_commit):
    item = on_commit(new_item, stall, title="Tin robot", price_cents=1500)
    assert told() == [
        (
            "fan",
            "seller_listed",
            "New at seller's stall: Tin robot",
            f"/items/{item.public_id}/",
            "Listed for $15.00.",
            f"seller_listed:{item.public_id}",
        )
    ]


def test_an_item_listed_in_a_rolled_back_transaction_tells_nobody(
    stall, follower, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                new_item(stall, title="Never was")
                raise RuntimeError("the request failed after the item was made")
        except RuntimeError:
            pass
    assert told() == []


def test_a_stall_nobody_follows_queues_nothing(stall, on_commit, monkeypatch):
    queued = []
    monkeypatch.setattr("watchlist.triggers.enqueue_on_commit", lambda *a, **k: queued.append(a))
    on_commit(new_item, stall)
    assert queued == [] and told() == []


def test_watchers_hear_of_a_lower_price_once_per_price(stall, make_user, on_commit):
    item = new_item(stall, title="Brass lamp", price_cents=4500)
    item_watch_set(user=make_user("keen"), item=item, watching=True)
    on_commit(price_to, item, 5000)  # up: no news
    assert told() == []
    on_commit(price_to, item, 3000)
    assert told() == [
        (
            "keen",
            "price_drop",
            "Price drop: Brass lamp",
            f"/items/{item.public_id}/",
            "Now $30.00, was $50.00, at seller's stall.",
            f"price_drop:{item.public_id}:3000",
        )
    ]


def test_a_drop_undone_before_the_notice_is_sent_is_not_told(stall, make_user, on_commit):
    item = new_item(stall, price_cents=4500)
    item_watch_set(user=make_user("keen"), item=item, watching=True)
    price_to(item, 3000)
    price_to(item, 4500)  # back up before the queued work ran
    assert on_commit(notices.price_drop_tell, item_id=item.pk, was_cents=4500, now_cents=3000) == 0
    assert told() == []


@pytest.fixture
def local_room(monkeypatch):
    monkeypatch.setattr(visitors, "_registry", visitors.LocalRegistry())


def test_followers_hear_the_seller_is_live_once_an_hour_however_it_flaps(
    stall, follower, on_commit, local_room
):
    seller = Visitor(user_id=stall.seller.user.public_id, handle="seller", is_seller=True)
    for _ in range(3):  # arrives, drops, arrives again…
        on_commit(room_join, stall=stall, conn="c1", visitor=seller)
        on_commit(room_leave, stall=stall, conn="c1")
    assert [(handle, kind, title) for handle, kind, title, *_ in told()] == [
        ("fan", "seller_live", "seller's stall is live now")
    ]
    assert told()[0][3] == f"/stalls/{stall.public_id}/"
    assert told()[0][5].startswith(f"seller_live:{stall.public_id}:")


def test_a_buyer_arriving_is_not_the_seller_going_live(stall, follower, on_commit, local_room):
    buyer = Visitor(user_id=follower.public_id, handle="fan")
    on_commit(room_join, stall=stall, conn="c1", visitor=buyer)
    assert told() == []


def test_watchers_hear_an_auction_is_ending_within_ten_minutes(stall, make_user, on_commit):
    soon, later = new_item(stall, title="Soon"), new_item(stall, title="Later")
    keen, other = make_user("keen"), make_user("other")
    for item in (soon, later):
        item_watch_set(user=keen, item=item, watching=True)
    item_watch_set(user=other, item=later, watching=True)  # ends in 20 minutes: not yet
    ending = auctioned(soon, seconds=300, start_cents=1200)
    auctioned(later, seconds=1200)
    assert on_commit(notices.auctions_ending_tell) == 1
    assert told() == [
        (
            "keen",
            "auction_ending",
            "Ending soon: Soon",
            f"/auctions/{ending.public_id}/",
            "About 5 min left; opening bid $12.00.",
            f"auction_ending:{ending.public_id}",
        )
    ]
    # A minute later the sweep sees it again, and asks nobody twice.
    assert on_commit(notices.auctions_ending_tell, now=timezone.now() + timedelta(minutes=1)) == 0
    # A new watcher in the last minutes still hears, once.
    item_watch_set(user=other, item=soon, watching=True)
    assert on_commit(notices.auctions_ending_tell, now=timezone.now() + timedelta(minutes=2)) == 1
    assert [notice[0] for notice in told()] == ["keen", "other"]


def test_beat_runs_the_ending_sweep_every_minute(stall, make_user, on_commit):
    item = new_item(stall)
    item_watch_set(user=make_user("keen"), item=item, watching=True)
    auctioned(item, seconds=120)
    entry = settings.CELERY_BEAT_SCHEDULE["watchlist-auctions-ending"]
    assert entry["schedule"] == 60.0
    assert on_commit(lambda: task_named(entry["task"]).apply().get()) == 1
    assert [notice[1] for notice in told()] == ["auction_ending"]
