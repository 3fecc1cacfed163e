"""Real threads on PostgreSQL: offer actions on one item are serialized by its row lock."""

import threading
import time

import pytest
from django.db import connection, transaction

from bazaar.errors import Conflict
from bazaar.ids import new_ulid
from offers.models import Offer
from offers.services import offer_accept, offer_decline, offer_withdraw
from stalls.models import Reservation
from stalls.selectors import item_available_quantity
from stalls.services import item_lock
from tests.conftest import race
from tests.offers.conftest import offered

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("inventory,buyers", [(1, 2), (2, 8)])
def test_acceptances_racing_for_the_last_units_never_oversell(
    require_postgres, stall, make_item, make_user, inventory, buyers
):
    item = make_item(stall, inventory=inventory)
    seller = stall.seller.user
    offers = [offered(make_user(f"racer{n}"), item) for n in range(buyers)]

    outcomes = race(
        *(
            lambda offer=offer: offer_accept(actor=seller, offer=offer, idempotency_key=new_ulid())
            for offer in offers
        )
    )

    won = [o for o in outcomes if isinstance(o, Offer)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == inventory, outcomes
    assert len(lost) == buyers - inventory and {e.code for e in lost} == {"out_of_stock"}
    assert Offer.objects.filter(item=item, status="accepted").count() == inventory
    assert Offer.objects.filter(item=item, status="pending").count() == buyers - inventory
    assert Reservation.objects.filter(item=item, reason="offer").count() == inventory
    assert item_available_quantity(item=item) == 0


def test_a_double_submit_racing_itself_makes_one_offer(require_postgres, stall, make_item, buyer):
    item = make_item(stall, inventory=1)
    key = new_ulid()
    outcomes = race(*[lambda: offered(buyer, item, key=key)] * 4)
    assert all(isinstance(o, Offer) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Offer.objects.count() == 1


def test_two_different_offers_at_once_leave_one_open_thread(
    require_postgres, stall, make_item, buyer
):
    item = make_item(stall, inventory=1)
    outcomes = race(*(lambda c=c: offered(buyer, item, cents=c) for c in (2000, 2100)))
    assert sum(isinstance(o, Offer) for o in outcomes) == 1
    assert [o.code for o in outcomes if isinstance(o, Conflict)] == ["offer_open"]
    assert Offer.objects.filter(status="pending").count() == 1


def test_withdraw_racing_accept_ends_consistently(require_postgres, stall, make_item, buyer):
    item = make_item(stall, inventory=1)
    offer = offered(buyer, item)
    seller = stall.seller.user
    race(
        lambda: offer_accept(actor=seller, offer=offer, idempotency_key=new_ulid()),
        lambda: offer_withdraw(actor=buyer, offer=offer, idempotency_key=new_ulid()),
    )
    offer.refresh_from_db()
    assert offer.status in ("accepted", "withdrawn")
    held = item_available_quantity(item=item) == 0
    assert held == (offer.status == "accepted")


def test_an_answer_waits_for_the_item_before_it_locks_the_offer(
    require_postgres, stall, make_item, buyer
):
    """The answer's one locked read takes the item first, as `item_lock` then
    `offer_for_update` do (checkout, the expiry sweep): while another transaction
    holds the item, the waiting answer holds nothing, so the two orders cannot
    deadlock."""
    item = make_item(stall, inventory=1)
    offer = offered(buyer, item)
    holding, release = threading.Event(), threading.Event()

    def hold_the_item():
        try:
            with transaction.atomic():
                item_lock(item_id=item.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def decline():
        try:
            offer_decline(actor=stall.seller.user, offer=offer.public_id, idempotency_key="k1")
        finally:
            connection.close()

    holder, answer = threading.Thread(target=hold_the_item), threading.Thread(target=decline)
    holder.start()
    assert holding.wait(10)
    answer.start()
    try:
        time.sleep(0.5)  # the answer is now queued on the item
        with transaction.atomic():
            free = Offer.objects.select_for_update(nowait=True).filter(pk=offer.pk).exists()
        assert free
    finally:
        release.set()
        holder.join(10)
        answer.join(10)
    offer.refresh_from_db()
    assert offer.status == "declined"
