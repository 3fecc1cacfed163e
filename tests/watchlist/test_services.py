"""Saving items and following stalls: idempotent, refused for one's own, one row
whatever the order of presses, and the selectors that pick recipients."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError
from django.utils import timezone

from bazaar.errors import Invalid
from stalls.models import Item
from stalls.services import item_delete
from tests.conftest import new_item
from watchlist.models import Follow, Watch
from watchlist.selectors import (
    Toggle,
    followed_stalls_for,
    followers_of_stall,
    item_watch_state,
    saved_items_for,
    stall_follow_state,
    watchers_of_item,
)
from watchlist.services import item_watch_set, stall_follow_set

pytestmark = pytest.mark.django_db


def test_saving_twice_is_saving_once_and_removing_twice_is_harmless(stall, make_user):
    buyer = make_user("buyer")
    item = new_item(stall)
    assert item_watch_set(user=buyer, item=item, watching=True) is True
    assert item_watch_set(user=buyer, item=item, watching=True) is True
    assert Watch.objects.filter(user=buyer, item=item).count() == 1
    assert item_watch_set(user=buyer, item=item, watching=False) is False
    assert item_watch_set(user=buyer, item=item, watching=False) is False
    assert not Watch.objects.exists()


def test_following_twice_is_following_once(stall, make_user):
    buyer = make_user("buyer")
    for _ in range(2):
        assert stall_follow_set(user=buyer, stall=stall, following=True) is True
    assert Follow.objects.filter(user=buyer, stall=stall).count() == 1
    assert stall_follow_set(user=buyer, stall=stall, following=False) is False
    assert not Follow.objects.exists()


def _follow(stall):
    state = lambda user: stall_follow_state(user=user, stall=stall)  # noqa: E731
    press = lambda user, on: stall_follow_set(user=user, stall=stall, following=on)  # noqa: E731
    return state, press


def _save(stall):
    item = new_item(stall)
    state = lambda user: item_watch_state(user=user, item=item)  # noqa: E731
    press = lambda user, on: item_watch_set(user=user, item=item, watching=on)  # noqa: E731
    return state, press


@pytest.mark.parametrize("button", [_follow, _save], ids=["follow", "save"])
def test_a_guests_count_is_kept_until_a_press_commits(button, stall, make_user, on_commit):
    state, press = button(stall)
    guest, buyer = AnonymousUser(), make_user("buyer")
    assert state(guest) == Toggle(on=False, count=0)
    press(buyer, True)  # not committed
    assert state(guest).count == 0
    on_commit(press, make_user("other"), True)
    assert state(guest).count == 2
    on_commit(press, buyer, False)
    assert state(guest).count == 1


def test_a_person_s_own_buttons_are_kept_until_they_press_one(stall, make_user, on_commit):
    """Whether the button is theirs comes from their kept saves and follows, dropped
    by their own change; someone else's moves the count and not their state."""
    ann, bob, item = make_user("ann"), make_user("bob"), new_item(stall)
    assert stall_follow_state(user=ann, stall=stall) == Toggle(on=False, count=0)
    assert item_watch_state(user=ann, item=item) == Toggle(on=False, count=0)
    item_watch_set(user=ann, item=item, watching=True)  # not committed
    assert item_watch_state(user=ann, item=item) == Toggle(on=False, count=0)
    on_commit(stall_follow_set, user=ann, stall=stall, following=True)
    assert stall_follow_state(user=ann, stall=stall) == Toggle(on=True, count=1)
    item_watch_set(user=ann, item=item, watching=False)  # undone, never committed
    on_commit(item_watch_set, user=ann, item=item, watching=True)
    assert item_watch_state(user=ann, item=item) == Toggle(on=True, count=1)
    on_commit(item_watch_set, user=bob, item=item, watching=True)
    assert item_watch_state(user=ann, item=item) == Toggle(on=True, count=2)
    assert item_watch_state(user=bob, item=item) == Toggle(on=True, count=2)
    on_commit(item_watch_set, user=ann, item=item, watching=False)
    assert item_watch_state(user=ann, item=item) == Toggle(on=False, count=1)


def test_the_database_refuses_a_second_row_for_the_same_person_and_thing(stall, make_user):
    buyer = make_user("buyer")
    Follow.objects.create(user=buyer, stall=stall)
    with pytest.raises(IntegrityError):
        Follow.objects.create(user=buyer, stall=stall)


def test_a_seller_cannot_save_their_own_item_or_follow_their_own_stall(stall):
    seller = stall.seller.user
    with pytest.raises(Invalid, match="your own item"):
        item_watch_set(user=seller, item=new_item(stall), watching=True)
    with pytest.raises(Invalid, match="your own stall"):
        stall_follow_set(user=seller, stall=stall, following=True)
    assert not Watch.objects.exists() and not Follow.objects.exists()


def test_recipients_are_the_active_watchers_and_followers_only(stall, make_user):
    item = new_item(stall)
    ann, bob, gone, other = (make_user(h) for h in ("ann", "bob", "gone", "other"))
    for user in (ann, bob, gone):
        item_watch_set(user=user, item=item, watching=True)
        stall_follow_set(user=user, stall=stall, following=True)
    item_watch_set(user=other, item=new_item(stall, title="Other"), watching=True)
    gone.is_active = False
    gone.save()
    assert list(watchers_of_item(item=item)) == [ann, bob]
    assert list(followers_of_stall(stall=stall)) == [ann, bob]


def test_states_count_everyone_and_say_whether_this_viewer_is_one(stall, make_user):
    item = new_item(stall)
    ann, bob = make_user("ann"), make_user("bob")
    item_watch_set(user=ann, item=item, watching=True)
    item_watch_set(user=bob, item=item, watching=True)
    stall_follow_set(user=ann, stall=stall, following=True)
    assert item_watch_state(user=ann, item=item) == Toggle(on=True, count=2)
    assert item_watch_state(user=AnonymousUser(), item=item) == Toggle(on=False, count=2)
    assert stall_follow_state(user=bob, stall=stall) == Toggle(on=False, count=1)


def test_saved_lists_are_the_owners_latest_first_without_archived_items(make_stall, make_user):
    ada, bo = make_stall("ada_lamps", slot=0), make_stall("bo_records", slot=1)
    buyer, other = make_user("buyer"), make_user("other")
    first, second = new_item(ada, title="First"), new_item(bo, title="Second")
    gone = new_item(ada, title="Gone")
    for item in (first, second, gone):
        item_watch_set(user=buyer, item=item, watching=True)
    item_watch_set(user=other, item=first, watching=True)
    stall_follow_set(user=buyer, stall=ada, following=True)
    stall_follow_set(user=buyer, stall=bo, following=True)
    stall_follow_set(user=other, stall=bo, following=True)
    Item.objects.filter(pk=gone.pk).update(archived_at=timezone.now())  # history kept it
    cards = saved_items_for(user=buyer)
    assert [card.item.title for card in cards] == ["Second", "First"]
    assert [card.stall.name for card in followed_stalls_for(user=buyer)] == [bo.name, ada.name]
    assert [card.item_count for card in followed_stalls_for(user=buyer)] == [1, 1]
    assert [card.item.title for card in saved_items_for(user=other)] == ["First"]


def test_an_item_deleted_by_its_seller_leaves_no_watch_behind(stall, make_user):
    item = new_item(stall)
    item_watch_set(user=make_user("buyer"), item=item, watching=True)
    assert item_delete(actor=stall.seller.user, item=item) == "deleted"
    assert not Watch.objects.exists()
