"""Real threads on PostgreSQL: the row lock on the item serializes the ledger."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from bazaar.errors import Conflict
from stalls.models import Reservation
from stalls.selectors import item_available_quantity
from stalls.services import reservation_take


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_buyers_racing_for_the_last_units_never_oversell(
    require_postgres, stall, make_item, make_user
):
    item = make_item(stall, inventory=3)
    buyers = [make_user(f"racer{n}") for n in range(12)]
    start = threading.Barrier(len(buyers))
    outcomes = []

    def buy(buyer):
        try:
            start.wait()
            reservation_take(
                item=item,
                holder=buyer,
                reason=Reservation.Reason.CHECKOUT,
                ttl=timedelta(minutes=30),
            )
            outcomes.append("won")
        except Conflict:
            outcomes.append("sold out")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("won") == 3
    assert outcomes.count("sold out") == 9
    assert Reservation.objects.filter(item=item).count() == 3
    assert item_available_quantity(item=item) == 0
