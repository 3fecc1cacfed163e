"""The ASGI module, as daphne loads it."""

import gc

import bazaar.asgi  # noqa: F401


def test_the_startup_heap_is_frozen_out_of_the_collectors_full_passes():
    assert gc.get_freeze_count() > 0


def test_full_collections_come_after_a_hundred_middle_ones_not_ten():
    assert gc.get_threshold()[2] == 100
