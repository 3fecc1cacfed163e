"""Writes: saving an item, following a stall, each set to the state asked for.

Every function says what the state should be ("saved", "not saved"), not "toggle",
so a repeated request (a double click, a retry after a dropped answer) lands in the
same state and gets the same answer. The unique constraints make two racing saves
one row: the loser's insert is refused and it finds the winner's.
"""

from django.db import IntegrityError, transaction

from bazaar.cache import changed_on_commit
from bazaar.errors import Invalid
from stalls.models import Item, Stall

from .models import Follow, Watch
from .selectors import follows_scope, own_scope, watches_scope


def item_watch_set(*, user, item: Item, watching: bool) -> bool:
    """Save the item for `user` (or forget it); returns whether it is saved now."""
    if not watching:
        Watch.objects.filter(user=user, item=item).delete()
        _changed_on_commit(watches_scope(item.pk), user)
        return False
    if item.stall.seller.user_id == user.pk:
        raise Invalid("This is your own item: it is on your stall already.")
    _create_once(Watch, user=user, item=item)
    _changed_on_commit(watches_scope(item.pk), user)
    return True


def stall_follow_set(*, user, stall: Stall, following: bool) -> bool:
    """Follow the stall for `user` (or stop); returns whether they follow it now."""
    if not following:
        Follow.objects.filter(user=user, stall=stall).delete()
        _changed_on_commit(follows_scope(stall.pk), user)
        return False
    if stall.seller.user_id == user.pk:
        raise Invalid("This is your own stall: you hear about it already.")
    _create_once(Follow, user=user, stall=stall)
    _changed_on_commit(follows_scope(stall.pk), user)
    return True


def _changed_on_commit(scope: str, user) -> None:
    """The thing's kept count and the user's kept saves and follows are stale."""
    changed_on_commit(scope)
    changed_on_commit(own_scope(user.pk))


def _create_once(model, **fields) -> None:
    """The row, made unless it exists; a concurrent twin's insert wins quietly."""
    if model.objects.filter(**fields).exists():
        return
    try:
        with transaction.atomic():
            model.objects.create(**fields)
    except IntegrityError:
        if not model.objects.filter(**fields).exists():
            raise
