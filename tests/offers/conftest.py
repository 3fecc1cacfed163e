import itertools

import pytest


@pytest.fixture
def buyer(make_user):
    return make_user("brassbuyer")


@pytest.fixture
def item(stall, make_item):
    return make_item(stall, title="Brass lamp", price_cents=2500, inventory=1)


@pytest.fixture
def seller(stall):
    return stall.seller.user


@pytest.fixture
def amounts():
    """Distinct amounts in cents, for tests that make many offers."""
    return itertools.count(1000, 10)
