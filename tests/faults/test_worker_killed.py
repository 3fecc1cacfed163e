"""The Celery worker killed (SIGKILL) in the middle of a money move: a refund claimed
(`sending`) and inside the gateway call when the worker dies. After a restart the
refund is sent exactly once: the test gateway holds one refund under the move's
idempotency key and the charge is refunded once.

To stop the worker at a known point the test holds the (one) charge's row lock in the
test gateway's table, which `refund_create` waits for. A worker killed there leaves the
move `sending`, which no runner takes again for SENDING_STALE (10 minutes: one may
still be in the gateway call), and its task unacknowledged, which Redis hands out
again only after the transport's visibility timeout (an hour by default). The test
moves the claim back past SENDING_STALE instead of waiting, then lets beat's sweep
(`send_money`) find it, as it would ten minutes later."""

import json
import os
import signal
import time

import psycopg

from bench._servers import django_json
from tests.faults import stack
from tests.faults.conftest import dump_logs

pytestmark = stack.FAULT_TEST

_PAID_ORDER = """
import json
import django
django.setup()
from accounts.services import user_create
from market.services import sections_ensure
from orders.checkout.services import shipping_address_save
from stalls.services import seller_register, stall_create
from tests.conftest import new_item
from tests.orders.conftest import pay, start_checkout
sections_ensure(coordinates=[(0, 0)])
def person(handle):
    return user_create(handle=handle, email=f"{handle}@example.com", password="pw-pw-pw-pw",
                       verified=True)
seller = person("kseller")
seller_register(user=seller, legal_name="K Seller", country="US")
stall = stall_create(user=seller, name="K stall", description="", section_x=0, section_y=0, slot=0)
buyer = person("kbuyer")
shipping_address_save(buyer=buyer, name="K Buyer", line1="1 Row", line2="", city="Springfield",
                      postal_code="12345", country="US")
payment = start_checkout(buyer, new_item(stall, price_cents=2500))
pay(payment)
payment.refresh_from_db()
order = payment.orders.get()
print(json.dumps({"order": order.pk}))
"""

_CANCEL = """
import sys
import django
django.setup()
from orders.escrow.services import order_cancel
from orders.models import Order
order = Order.objects.select_related("stall__seller__user").get(pk=int(sys.argv[1]))
order_cancel(actor=order.stall.seller.user, order=order, idempotency_key="cancel-key-0000000001")
print("{}")
"""

_SWEEP = """
import django
django.setup()
from orders.tasks import send_money
send_money.delay()
print("{}")
"""


def move_of(database_url: str, order_id: int) -> tuple:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT id, status, attempts, 'refund-' || public_id, amount_cents "
            "FROM orders_moneymove WHERE order_id = %s AND kind = 'refund'",
            (order_id,),
        ).fetchone()


def test_a_worker_killed_inside_a_refund_sends_it_exactly_once(market_env, workdir):
    url = market_env["DATABASE_URL"]
    seeded = django_json(_PAID_ORDER, env=market_env)
    log = workdir / "worker.log"
    holder = psycopg.connect(url)  # holds the charge's row lock: the worker waits on it
    worker = stack.start_celery_worker(market_env, log=log)
    try:
        locked = holder.execute(
            "SELECT 1 FROM orders_testgatewayobject WHERE kind = 'charge' FOR UPDATE"
        ).fetchall()
        assert len(locked) == 1
        django_json(_CANCEL, str(seeded["order"]), env=market_env)
        stack.wait_for(
            lambda: (move_of(url, seeded["order"]) or (0, ""))[1] == "sending",
            timeout=120,
            what="the worker claiming the refund",
        )
        time.sleep(0.5)  # inside refund_create, waiting for the charge's lock
        load = os.getloadavg()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        holder.rollback()
        killed_at = time.time()
        worker = stack.start_celery_worker(market_env, log=log)
        time.sleep(3)
        move_id, status_after_restart, *_ = move_of(url, seeded["order"])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE orders_moneymove SET claimed_at = claimed_at - interval '11 minutes' "
                "WHERE id = %s",
                (move_id,),
            )
        django_json(_SWEEP, env=market_env)
        stack.wait_for(
            lambda: move_of(url, seeded["order"])[1] == "done", timeout=120, what="the refund sent"
        )
        sent_in = time.time() - killed_at
        _, status, attempts, key, amount = move_of(url, seeded["order"])
        with psycopg.connect(url, autocommit=True) as conn:
            refunds = conn.execute(
                "SELECT data, idempotency_key FROM orders_testgatewayobject WHERE kind = 'refund'"
            ).fetchall()
            charge = conn.execute(
                "SELECT data FROM orders_testgatewayobject WHERE kind = 'charge'"
            ).fetchone()[0]
    finally:
        holder.close()
        stack.stop_process(worker)
    print(
        f"load {load}; after the restart the move was {status_after_restart!r}; sent "
        f"{sent_in:.1f} s after the kill (claim moved back 11 min), attempts {attempts}; "
        f"gateway refunds {[r[0]['amount'] for r in refunds]}"
    )
    assert status_after_restart == "sending", dump_logs(workdir)
    assert status == "done" and attempts == 2
    assert len(refunds) == 1 and refunds[0][0]["amount"] == amount == 2500
    assert refunds[0][1] == key
    assert charge["amount_refunded"] == 2500, json.dumps(charge)
