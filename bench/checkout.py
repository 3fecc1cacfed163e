"""Checkout benchmark: N buyers check out at once on a live server with PostgreSQL.

    .venv/bin/python bench/checkout.py            # PostgreSQL at DATABASE_URL or 127.0.0.1
    .venv/bin/python bench/checkout.py --buyers 60 --concurrency 30

A fresh database gets a few stalls whose items have fewer units than there are
buyers, so buyers race for the last units. Each buyer (its own keep-alive
connection and session) puts one item in the cart, opens the checkout page, presses
Pay (orders, lines and stock reservations in one transaction, then the test
gateway's Checkout Session) and pays on the test gateway's page (the same event
processing as Stripe's webhooks). Reported: paid orders per second, median and p95
of the Pay and the card POSTs, and the same figures for a bare POST (/healthz/ with
a CSRF token) at the same concurrency, measured in the same run; then the database
is checked for oversold units. Times are reported, never asserted. The last line of
output is JSON with every figure.
"""

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import (  # noqa: E402
    daphne,
    django_script,
    manage,
    postgres_database,
    server_env,
    signed_in_sessions,
)

_SEED = """
import json, sys
import django
django.setup()
from django.conf import settings
from accounts.services import user_create
from market.services import sections_ensure
from stalls.services import item_create, seller_register, stall_create
stalls, items, units = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sections_ensure(coordinates=[(0, 0)])
ids = []
for s in range(stalls):
    seller = user_create(handle=f"seller{s}", email=f"seller{s}@bench.test", password=None,
                         verified=True)
    seller_register(user=seller, legal_name=f"Seller {s}", country="US")
    stall = stall_create(user=seller, name=f"Stall {s}", description="", section_x=0,
                         section_y=0, slot=s)
    for i in range(items):
        item = item_create(actor=seller, stall=stall, title=f"Thing {s}.{i}", description="",
                           price_cents=1000 + i, currency=settings.MARKET_CURRENCY,
                           inventory=units)
        ids.append(item.public_id)
print(json.dumps(ids))
"""

_ADDRESSES = """
import sys
import django
django.setup()
from accounts.models import User
from orders.services import shipping_address_save
for user in User.objects.filter(handle__startswith=sys.argv[1]):
    shipping_address_save(buyer=user, name=user.handle, line1="1 Bench Road", line2="",
                          city="Loadtown", postal_code="12345", country="US")
"""

_AUDIT = """
import json
import django
django.setup()
from django.db.models import Sum
from orders.models import Order, OrderLine
from stalls.models import Item, Reservation, StockEvent
items = []
for item in Item.objects.all():
    consumed = Reservation.objects.filter(item=item, consumed_at__isnull=False).aggregate(
        n=Sum("quantity"))["n"] or 0
    sold = OrderLine.objects.filter(item=item, order__status="paid_escrow").aggregate(
        n=Sum("quantity"))["n"] or 0
    items.append({"inventory": item.inventory, "consumed": consumed, "sold": sold})
print(json.dumps({
    "items": items,
    "paid_orders": Order.objects.filter(status="paid_escrow").count(),
    "orders": Order.objects.count(),
}))
"""

_HIDDEN = re.compile(r'name="(idempotency_key|total_cents)" value="([^"]+)"')


class Browser:
    """One buyer: a keep-alive connection with cookies and the CSRF token."""

    def __init__(self, base_url: str, cookie: str, session: str):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies = {cookie: session}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode(errors="replace")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return response.status, text, dict(response.headers)

    def timed(self, method: str, path: str, form: dict | None = None):
        started = time.perf_counter()
        status, text, headers = self.request(method, path, form)
        return time.perf_counter() - started, status, text, headers

    def close(self) -> None:
        self.connection.close()


def buy(base_url: str, cookie: str, session: str, item: str) -> dict:
    """One buyer's whole checkout; returns its timings and how it ended."""
    browser = Browser(base_url, cookie, session)
    try:
        browser.request("GET", "/cart/")  # the CSRF cookie
        browser.request("POST", "/cart/add/", {"item": item})
        status, page, _ = browser.request("GET", "/checkout/")
        fields = dict(_HIDDEN.findall(page))
        if status != 200 or "total_cents" not in fields:
            return {"outcome": "sold out before checkout"}
        pay_seconds, status, _, headers = browser.timed("POST", "/checkout/pay/", fields)
        location = headers.get("Location", "")
        if status != 302 or "/test-gateway/" not in location:
            return {"outcome": "refused at pay", "pay": pay_seconds}
        card_seconds, status, _, headers = browser.timed(
            "POST", location, {"card_number": "4242424242424242"}
        )
        paid = status == 302 and "/payments/" in headers.get("Location", "")
        outcome = "paid" if paid else "card refused"
        return {"outcome": outcome, "pay": pay_seconds, "card": card_seconds}
    finally:
        browser.close()


def bare_post(base_url: str, cookie: str, session: str, count: int) -> list[float]:
    browser = Browser(base_url, cookie, session)
    try:
        browser.request("GET", "/cart/")
        return [browser.timed("POST", "/healthz/", {})[0] for _ in range(count)]
    finally:
        browser.close()


def summary(seconds: list[float]) -> dict:
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
    }


def run(database_url: str, workdir: Path, args) -> dict:
    env = server_env(database_url=database_url, media_root=workdir / "media")
    env["PAYMENT_GATEWAY"] = "test"
    env.pop("STRIPE_SECRET_KEY", None)
    print("migrating and seeding…", flush=True)
    manage("migrate", "--noinput", "-v0", env=env)
    items = json.loads(
        django_script(_SEED, str(args.stalls), str(args.items), str(args.units), env=env)
        .strip()
        .splitlines()[-1]
    )
    cookie, sessions = signed_in_sessions(env=env, prefix="benchbuyer", count=args.buyers)
    django_script(_ADDRESSES, "benchbuyer", env=env)
    units = len(items) * args.units
    print(f"{args.buyers} buyers, {len(items)} items, {units} units", flush=True)
    with (
        daphne(env=env, log_path=workdir / "daphne.log") as base_url,
        ThreadPoolExecutor(args.concurrency) as pool,
    ):
        list(pool.map(lambda s: bare_post(base_url, cookie, s, 2), sessions[:4]))  # warm-up
        started = time.perf_counter()
        baseline = pool.map(lambda s: bare_post(base_url, cookie, s, args.baseline_posts), sessions)
        bare = [seconds for batch in baseline for seconds in batch]
        bare_wall = time.perf_counter() - started
        started = time.perf_counter()
        results = list(
            pool.map(
                lambda n: buy(base_url, cookie, sessions[n], items[n % len(items)]),
                range(args.buyers),
            )
        )
        wall = time.perf_counter() - started
    audit = json.loads(django_script(_AUDIT, env=env).strip().splitlines()[-1])
    # Sold or consumed beyond the units there were, or inventory that does not add up.
    oversold = sum(
        max(0, row["sold"] - args.units)
        + max(0, row["consumed"] - args.units)
        + abs(row["inventory"] + row["consumed"] - args.units)
        for row in audit["items"]
    )
    outcomes = {}
    for result in results:
        outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
    pay = summary([r["pay"] for r in results if "pay" in r])
    card = summary([r["card"] for r in results if "card" in r])
    bare_summary = summary(bare)
    figures = {
        "buyers": args.buyers,
        "concurrency": args.concurrency,
        "units": units,
        "outcomes": outcomes,
        "paid_orders": audit["paid_orders"],
        "orders_per_second": round(audit["paid_orders"] / wall, 2),
        "wall_seconds": round(wall, 2),
        "pay_post": pay,
        "card_post": card,
        "bare_post": bare_summary,
        "bare_posts_per_second": round(len(bare) / bare_wall, 1),
        "pay_p95_over_bare_p95": round(pay["p95_ms"] / bare_summary["p95_ms"], 1)
        if pay.get("n") and bare_summary.get("n")
        else None,
        "oversold_units": oversold,
    }
    print(
        f"paid {audit['paid_orders']} of {args.buyers} buyers ({units} units) in {wall:.1f} s: "
        f"{figures['orders_per_second']} orders/s; outcomes {outcomes}"
    )
    print(f"Pay POST   median {pay.get('median_ms')} ms, p95 {pay.get('p95_ms')} ms")
    print(f"card POST  median {card.get('median_ms')} ms, p95 {card.get('p95_ms')} ms")
    print(
        f"bare POST  median {bare_summary['median_ms']} ms, p95 {bare_summary['p95_ms']} ms "
        f"({figures['bare_posts_per_second']}/s); Pay p95 is "
        f"{figures['pay_p95_over_bare_p95']}x the bare POST's"
    )
    print(f"oversold units: {oversold}")
    return figures


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL; a throwaway database is made on it",
    )
    parser.add_argument("--buyers", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--stalls", type=int, default=4)
    parser.add_argument("--items", type=int, default=2, help="items per stall")
    parser.add_argument("--units", type=int, default=3, help="units per item")
    parser.add_argument("--baseline-posts", type=int, default=5, help="bare POSTs per buyer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    try:
        name = f"bazaar_bench_checkout_{os.getpid()}"
        with (
            tempfile.TemporaryDirectory(prefix="bazaar-bench-") as tmp,
            postgres_database(args.postgres, name) as database_url,
        ):
            figures = run(database_url, Path(tmp), args)
    except KeyboardInterrupt:
        print("interrupted")
        return 130
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
