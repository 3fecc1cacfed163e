"""Fixtures for reviews: an order walked through checkout, payment, shipping and the
buyer's confirmation until it is released from escrow."""

import pytest

from governance.models import Role
from governance.services import role_grant
from orders.escrow.services import order_confirm_received, order_ship
from orders.models import Order
from tests.orders.conftest import buyer, lamp, make_buyer, pay, start_checkout  # noqa: F401


def paid_order(shopper, item) -> Order:
    pay(start_checkout(shopper, item))
    return Order.objects.filter(buyer=shopper).latest("created_at")


def released_order(shopper, item) -> Order:
    order = paid_order(shopper, item)
    seller = order.stall.seller.user
    order_ship(actor=seller, order=order, carrier="UPS", tracking_number="1Z")
    order_confirm_received(actor=shopper, order=order)
    order.refresh_from_db()
    return order


@pytest.fixture
def released(buyer, lamp):  # noqa: F811
    return released_order(buyer, lamp)


@pytest.fixture
def steward(make_user):
    person = make_user("steward")
    role_grant(user=person, role=Role.STEWARD)
    return person
