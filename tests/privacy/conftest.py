"""Orders' buyer, item and buyer factory, for accounts that have bought things."""

from tests.orders.conftest import buyer, lamp, make_buyer  # noqa: F401
