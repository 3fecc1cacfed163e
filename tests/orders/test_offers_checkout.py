"""Accepted offers at checkout: the offer's price, its reservation taken over (not
released when a checkout ends), and marked bought when the payment succeeds."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from offers.models import Offer
from offers.services import offer_accept, offer_make, offers_expire_due
from orders.checkout.selectors import cart_entries_for_buyer, cart_plan
from orders.checkout.services import checkouts_expire_due
from orders.models import Order, OrderLine
from stalls.models import Reservation
from stalls.selectors import item_available_quantity
from tests.orders.conftest import pay, start_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(buyer, lamp, stall, key):
    offer = offer_make(buyer=buyer, item=lamp, amount_cents=2000, message="", idempotency_key=key())
    return offer_accept(actor=stall.seller.user, offer=offer, idempotency_key=key())


def test_the_cart_shows_the_offer_price(buyer, lamp, accepted):
    from orders.checkout.services import cart_add

    cart_add(buyer=buyer, item=lamp)  # the offer's unit is the buyer's: no stock error
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    (line,) = plan.lines
    assert line.offer == accepted and line.unit_price_cents == 2000 and not line.problem
    assert plan.total_cents == 2000


def test_checkout_takes_over_the_offer_reservation(buyer, lamp, accepted):
    payment = start_checkout(buyer, lamp)
    line = OrderLine.objects.get()
    assert line.reservation_id == accepted.reservation_id
    assert (line.unit_price_cents, line.offer_public_id) == (2000, accepted.public_id)
    assert payment.amount_cents == 2000
    assert Reservation.objects.filter(item=lamp).count() == 1  # none taken twice


def test_an_expired_checkout_leaves_the_offer_its_reservation(buyer, lamp, accepted):
    start_checkout(buyer, lamp)
    checkouts_expire_due(now=timezone.now() + timedelta(minutes=31))
    reservation = Reservation.objects.get(pk=accepted.reservation_id)
    assert reservation.released_at is None
    assert item_available_quantity(item=lamp) == 0
    assert Offer.objects.get(pk=accepted.pk).status == Offer.Status.ACCEPTED


def test_paying_marks_the_offer_bought_and_consumes_its_unit(buyer, lamp, accepted, on_commit):
    payment = start_checkout(buyer, lamp)
    on_commit(pay, payment)
    order = Order.objects.get()
    assert order.status == Order.Status.PAID_ESCROW and order.total_cents == 2000
    offer = Offer.objects.get(pk=accepted.pk)
    assert offer.status == Offer.Status.PURCHASED
    assert offer.purchase_reference == order.public_id
    assert Reservation.objects.get(pk=accepted.reservation_id).consumed_at is not None
    lamp.refresh_from_db()
    assert lamp.inventory == 0


def test_an_offer_that_ran_out_while_paying_still_sells_at_its_price(
    buyer, lamp, accepted, on_commit
):
    payment = start_checkout(buyer, lamp)
    Offer.objects.filter(pk=accepted.pk).update(expires_at=timezone.now())
    Reservation.objects.filter(pk=accepted.reservation_id).update(expires_at=timezone.now())
    offers_expire_due()
    on_commit(pay, payment)
    order = Order.objects.get()
    assert order.status == Order.Status.PAID_ESCROW and order.total_cents == 2000
    assert Offer.objects.get(pk=accepted.pk).status == Offer.Status.EXPIRED
    lamp.refresh_from_db()
    assert lamp.inventory == 0


def test_the_drawer_offers_to_buy_at_the_accepted_price(client, buyer, lamp, accepted):
    from django.urls import reverse

    url = reverse("stalls:item_drawer", args=[lamp.stall.public_id, lamp.public_id])
    # Its one unit is held: a guest's button is hidden until the unit comes back.
    assert re.search(r"<form[^>]*data-add-to-cart hidden", client.get(url).content.decode())
    client.force_login(buyer)
    assert "Buy at your offer, $20.00" in client.get(url).content.decode()


def test_the_cart_page_shows_each_change_to_the_buyers_offers_on_its_next_read(
    client, buyer, lamp, stall, key, on_commit
):
    """The cart page takes the buyer's accepted offers as kept for the top bar, read in
    its round trip (no query of its own): an acceptance shows on the next read, and so
    does the offer running out, as checkout's rows would have it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from orders.checkout.services import cart_add

    on_commit(cart_add, buyer=buyer, item=lamp)
    client.force_login(buyer)
    url = reverse("orders:cart")
    assert "your accepted offer" not in client.get(url).content.decode()  # kept: none
    offer = on_commit(
        offer_make, buyer=buyer, item=lamp, amount_cents=2000, message="", idempotency_key=key()
    )
    on_commit(offer_accept, actor=stall.seller.user, offer=offer, idempotency_key=key())
    client.get(url)  # the offers kept again
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert "your accepted offer" in page and "$20.00" in page
    assert not [query for query in queries if "offers_offer" in query["sql"]]
    # Run out and swept (its expiry by the clock alone: tests/offers/test_selectors.py).
    on_commit(offers_expire_due, now=offer.expires_at + timedelta(seconds=1))
    page = client.get(url).content.decode()
    assert "your accepted offer" not in page and "$25.00" in page
