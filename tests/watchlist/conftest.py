"""Watchlist fixtures: a buyer with a saved item and a followed stall."""

import pytest

from tests.conftest import new_item
from watchlist.services import item_watch_set, stall_follow_set


@pytest.fixture
def saved(make_stall, make_user):
    """`buyer` saved the brass lamp and follows Ada's Attic; Bo's Crates is not followed."""
    lamps = make_stall("ada_lamps", slot=0, name="Ada's Attic")
    records = make_stall("bo_records", slot=1, name="Bo's Crates")
    lamp = new_item(lamps, title="Brass desk lamp", price_cents=4500, category="lighting")
    record = new_item(records, title="Kind of Blue LP", price_cents=12000, category="music")
    buyer = make_user("buyer")
    item_watch_set(user=buyer, item=lamp, watching=True)
    stall_follow_set(user=buyer, stall=lamps, following=True)
    return {"buyer": buyer, "lamp": lamp, "record": record, "lamps": lamps, "records": records}
