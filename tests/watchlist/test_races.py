"""Real threads on PostgreSQL: presses racing each other (a double click, two tabs)
leave one row and each get the answer the first would have."""

import pytest

from tests.conftest import new_item, race
from watchlist.models import Follow, Watch
from watchlist.services import item_watch_set, stall_follow_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_saves_racing_each_other_make_one_row(require_postgres, stall, make_user):
    buyer, item = make_user("keen"), new_item(stall)
    outcomes = race(*[lambda: item_watch_set(user=buyer, item=item, watching=True)] * 6)
    assert outcomes == [True] * 6
    assert Watch.objects.filter(user=buyer, item=item).count() == 1


def test_follows_racing_each_other_make_one_row(require_postgres, stall, make_user):
    fan = make_user("fan")
    outcomes = race(*[lambda: stall_follow_set(user=fan, stall=stall, following=True)] * 6)
    assert outcomes == [True] * 6
    assert Follow.objects.filter(user=fan, stall=stall).count() == 1
