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

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_postgres_server, bench_main, parser_for  # noqa: E402
from bench._clients import Client  # noqa: E402
from bench._report import median_p95_ms, ratio  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database_name,
    daphne,
    django_json,
    django_script,
    migrate,
    postgres_database,
    scratch_dir,
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
from orders.checkout.services import shipping_address_save
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


def buy(base_url: str, cookie: str, session: str, item: str) -> dict:
    """One buyer's whole checkout; returns its timings and how it ended."""
    with Client(base_url, timeout=60, cookies={cookie: session}) as browser:
        browser.request("GET", "/cart/")  # the CSRF cookie
        browser.request("POST", "/cart/add/", {"item": item})
        page = browser.request("GET", "/checkout/")
        fields = dict(_HIDDEN.findall(page.text))
        if page.status != 200 or "total_cents" not in fields:
            return {"outcome": "sold out before checkout"}
        pay = browser.request("POST", "/checkout/pay/", fields)
        location = pay.headers.get("Location", "")
        if pay.status != 302 or "/test-gateway/" not in location:
            return {"outcome": "refused at pay", "pay": pay.seconds}
        card = browser.request("POST", location, {"card_number": "4242424242424242"})
        paid = card.status == 302 and "/payments/" in card.headers.get("Location", "")
        outcome = "paid" if paid else "card refused"
        return {"outcome": outcome, "pay": pay.seconds, "card": card.seconds}


def bare_post(base_url: str, cookie: str, session: str, count: int) -> list[float]:
    with Client(base_url, timeout=60, cookies={cookie: session}) as browser:
        browser.request("GET", "/cart/")
        return [browser.request("POST", "/healthz/", {}).seconds for _ in range(count)]


def run(database_url: str, workdir: Path, args) -> dict:
    env = server_env(database_url=database_url, media_root=workdir / "media")
    env["PAYMENT_GATEWAY"] = "test"
    env.pop("STRIPE_SECRET_KEY", None)
    print("migrating and seeding…", flush=True)
    migrate(env)
    items = django_json(_SEED, str(args.stalls), str(args.items), str(args.units), env=env)
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
    audit = django_json(_AUDIT, env=env)
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
    pay = median_p95_ms([r["pay"] for r in results if "pay" in r])
    card = median_p95_ms([r["card"] for r in results if "card" in r])
    bare_summary = median_p95_ms(bare)
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
        "pay_p95_over_bare_p95": ratio(pay.get("p95_ms"), bare_summary.get("p95_ms"), 1),
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
    parser = parser_for(__doc__)
    add_postgres_server(
        parser,
        env="DATABASE_URL",
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

    def run_in_database(_started: float) -> dict:
        with (
            scratch_dir("bazaar-bench-") as workdir,
            postgres_database(args.postgres, bench_database_name("checkout")) as database_url,
        ):
            return run(database_url, workdir, args)

    return bench_main(run_in_database)


if __name__ == "__main__":
    sys.exit(main())
