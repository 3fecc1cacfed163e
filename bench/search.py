"""Search benchmark: filtered and sorted searches over a 2,400-item market, against the
trivial /healthz/ view in the same run.

    .venv/bin/python bench/search.py                      # SQLite in a temp dir
    .venv/bin/python bench/search.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/search.py --url http://127.0.0.1:8000   # a server already running

Each database gets its own market, made in bulk in a few seconds (300 stalls in a
10x10 grid, 8 items each with a photo row, categories, conditions, brands and prices;
a tenth of them sold out or held, 60 in running auctions). Then one daphne server
answers rounds of full search pages (words, category, condition, price range, in
auction, live now, sold-out toggle; every sort; later pages), the top bar's live
search fragment and the front page, each round followed by as many /healthz/
requests. The aim is p95 under 50 ms for searches; times are reported, never
asserted, beside the server's CPU time per request and the machine's load (wall
times on a shared machine grow with its load). The last line of output is JSON with
every figure.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import bench_arguments, run_bench  # noqa: E402
from bench._clients import Client  # noqa: E402
from bench._report import (  # noqa: E402
    load_average,
    percentiles_ms,
    print_percentiles,
    print_ratios,
    progress,
    ratios_p50_p95,
)
from bench._servers import (  # noqa: E402
    cpu_seconds,
    daphne_process,
    django_script,
    migrate,
    redis_cache_cleared,
)

STALLS = 300
ITEMS_PER_STALL = 8
ROUNDS = 8
LIVE = {"HX-Request": "true", "HX-Target": "search-results"}

# (label, query string): what shoppers ask for, from the words typed in the top bar to
# a deep page of everything.
SEARCHES = [
    ("words", {"q": "lamp"}),
    ("words, price up", {"q": "brass lamp", "sort": "price"}),
    ("prefix", {"q": "tea"}),
    ("category, newest", {"category": "kitchen", "sort": "newest"}),
    ("category, price range", {"category": "music", "min_price": "5", "max_price": "40"}),
    ("conditions, price down", {"condition": ["good", "like_new"], "sort": "-price"}),
    ("in auction, ending", {"auction": "on", "sort": "ending"}),
    ("words, category, page 2", {"q": "vintage", "category": "lighting", "page": "2"}),
    ("sold out too, page 5", {"sold": "on", "sort": "newest", "page": "5"}),
    ("live now", {"live": "on"}),
]

_SEED_SCRIPT = """
import random, sys
import django
django.setup()
from datetime import timedelta
from django.conf import settings
from django.db import connection
from django.utils import timezone
from accounts.seeding import users_create_many
from auctions.models import Auction
from market.models import Section
from market.services import sections_ensure
from stalls.models import Category, Condition, Item, Photo, Reservation, SellerProfile, Stall

stall_count, per_stall = int(sys.argv[1]), int(sys.argv[2])
if Item.objects.count() >= stall_count * per_stall:
    sys.exit(0)
rng = random.Random(7)
now = timezone.now()
currency = settings.MARKET_CURRENCY
THINGS = {
    "furniture": ["chair", "stool", "side table", "bookcase"],
    "lighting": ["desk lamp", "oil lamp", "lantern", "lamp shade"],
    "kitchen": ["teapot", "kettle", "skillet", "tea cups"],
    "home": ["vase", "mirror", "clock", "rug"],
    "books": ["atlas", "cookbook", "novel", "field guide"],
    "music": ["jazz LP", "folk record", "cassette", "7-inch single"],
    "clothing": ["wool coat", "denim jacket", "silk scarf", "leather bag"],
    "jewellery": ["brooch", "pocket watch", "silver ring", "bead necklace"],
    "toys": ["tin robot", "board game", "teddy bear", "marbles"],
    "cameras": ["rangefinder", "film camera", "lens", "radio"],
    "art": ["oil painting", "print", "sketch", "poster"],
    "collectibles": ["stamps", "coins", "postcards", "badges"],
    "tools": ["hand plane", "spade", "saw", "toolbox"],
    "sports": ["tennis racket", "skates", "fishing rod", "football"],
    "other": ["suitcase", "typewriter", "globe", "birdcage"],
}
WORDS = ["vintage", "brass", "enamel", "oak", "hand-made", "faded", "retro", "painted"]
PLACES = ["Attic", "Crate", "Corner", "Nook"]
BRANDS = ["", "", "", "Pyrex", "Leica", "Levi's", "Anglepoise", "Columbia", "Hornby"]
sections_ensure(coordinates=[(x, y) for x in range(10) for y in range(10)])
sections = list(Section.objects.order_by("y", "x"))
handles = [f"bench_seller_{n}" for n in range(stall_count)] + ["bench_buyer"]
users = users_create_many(handles=handles, password="bench-only-password")
SellerProfile.objects.bulk_create(
    [SellerProfile(user=users[h], legal_name=h, country="US", kyc_status="approved")
     for h in handles[:-1]], ignore_conflicts=True)
sellers = {s.user_id: s for s in SellerProfile.objects.filter(user__handle__in=handles)}
taken = set(Stall.objects.values_list("section_id", "slot"))
free = [(s, slot) for slot in range(9) for s in sections if (s.pk, slot) not in taken]
Stall.objects.bulk_create(
    [Stall(seller=sellers[users[h].pk], section=free[n][0], slot=free[n][1],
           name=f"{rng.choice(WORDS).title()} {rng.choice(PLACES)} {n}")
     for n, h in enumerate(handles[:-1])], ignore_conflicts=True)
stalls = list(Stall.objects.filter(seller__user__handle__in=handles))
items = []
for stall in stalls:
    for _ in range(per_stall):
        category = rng.choice(Category.values)
        thing = rng.choice(THINGS[category])
        items.append(Item(
            stall=stall, title=f"{rng.choice(WORDS).title()} {thing}",
            description=f"A {rng.choice(WORDS)} {thing}, well kept. " * rng.randint(1, 4),
            price_cents=rng.randrange(300, 20000, 25), currency=currency,
            inventory=rng.randint(1, 3), category=category,
            condition=rng.choice(Condition.values), brand=rng.choice(BRANDS),
            created_at=now - timedelta(minutes=rng.randrange(60 * 24 * 30))))
Item.objects.bulk_create(items, batch_size=500)
items = list(Item.objects.filter(stall__in=stalls).select_related("stall__seller"))
Photo.objects.bulk_create(
    [Photo(stall_id=item.stall_id, item=item, image="photos/bench.jpg",
           thumbnail="thumbs/bench.jpg", width=400, height=300) for item in items],
    batch_size=500)
buyer = users["bench_buyer"]
held = rng.sample(items, len(items) // 10)
auctioned = rng.sample([item for item in items if item not in held], 60)
Reservation.objects.bulk_create(
    [Reservation(item=item, holder=buyer, reason="offer", quantity=item.inventory,
                 expires_at=now + timedelta(days=1)) for item in held]
    + [Reservation(item=item, holder_id=item.stall.seller.user_id, reason="auction",
                   expires_at=now + timedelta(days=1)) for item in auctioned])
Auction.objects.bulk_create(
    [Auction(item=item, seller_id=item.stall.seller.user_id, currency=currency,
             start_cents=500, starts_at=now, ends_at=now + timedelta(seconds=s),
             hard_ends_at=now + timedelta(seconds=s + 300), status="live",
             idempotency_key=f"bench-{item.pk}")
     for item in auctioned for s in [rng.randrange(120, 7200)]])
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # a live database has statistics; a bulk load has none yet
"""


def measure(base_url: str, rounds: int, pid: int | None = None) -> dict[str, list[float]]:
    """Rounds of every search, the live fragment and the front page, then as many
    /healthz/ requests; one warm-up round first, not counted. With the server's `pid`,
    its CPU time per request too (`cpu` keys): load on a shared machine stretches wall
    times, much less CPU time (PostgreSQL's own work is in its processes, not counted)."""
    samples: dict[str, list[float]] = {label: [] for label, _ in SEARCHES}
    samples |= {"live search fragment": [], "front page": [], "trivial": []}
    samples |= {"cpu searches": [], "cpu trivial": []}
    cpu = (lambda: cpu_seconds(pid)) if pid else (lambda: 0.0)
    with Client(base_url) as client:
        for number in range(rounds + 1):
            timed = []
            started = cpu()
            for label, query in SEARCHES:
                timed.append((label, client.get(f"/search/?{urlencode(query, doseq=True)}")))
            timed.append(("live search fragment", client.get("/search/?q=lam", LIVE)))
            timed.append(("front page", client.get("/")))
            searched = cpu()
            trivial = [client.get("/healthz/") for _ in timed]
            done = cpu()
            if number == 0:
                continue
            for label, response in timed:
                samples[label].append(response.seconds)
            samples["trivial"].extend(response.seconds for response in trivial)
            if pid:
                samples["cpu searches"].append((searched - started) / len(timed))
                samples["cpu trivial"].append((done - searched) / len(timed))
    return samples


def figures(samples: dict[str, list[float]], started: float) -> dict:
    searches = [seconds for label, _ in SEARCHES for seconds in samples[label]]
    result = {label: percentiles_ms(seconds, 2) for label, seconds in samples.items()}
    result["all searches"] = percentiles_ms(searches, 2)
    trivial = result["trivial"]
    result["ratio_searches_to_trivial"] = ratios_p50_p95(result["all searches"], trivial)
    if samples["cpu searches"]:
        result["server_cpu_ms_per_request"] = {
            "searches": round(1000 * statistics.mean(samples["cpu searches"]), 2),
            "trivial": round(1000 * statistics.mean(samples["cpu trivial"]), 2),
        }
    del result["cpu searches"], result["cpu trivial"]
    result["load_average"] = load_average(1)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


def print_table(title: str, result: dict) -> None:
    print(f"\n{title}")
    rows = [label for label, _ in SEARCHES] + ["live search fragment", "front page"]
    rows += ["all searches", "trivial"]
    print_percentiles("request", [(label, result[label]) for label in rows], 28)
    print_ratios("searches / trivial", result["ratio_searches_to_trivial"], 33)
    if "server_cpu_ms_per_request" in result:
        cpu = result["server_cpu_ms_per_request"]
        print(
            f"  server CPU per request: {cpu['searches']:.1f} ms for searches and pages, "
            f"{cpu['trivial']:.1f} ms for the trivial view"
        )
    print(
        f"  aim: search p95 < 50 ms; load average {result['load_average']} on "
        f"{os.cpu_count()} cores; took {result['elapsed_s']} s"
    )


def run_database(name: str, env: dict[str, str], workdir: Path, rounds: int) -> dict:
    started = time.monotonic()
    progress(f"{name}: migrating and seeding {STALLS * ITEMS_PER_STALL} items")
    migrate(env)
    django_script(_SEED_SCRIPT, str(STALLS), str(ITEMS_PER_STALL), env=env)
    with redis_cache_cleared(env) as cache:
        progress(f"{name}: {rounds} rounds")
        with daphne_process(env=env, log_path=workdir / "daphne.log") as (base_url, server):
            samples = measure(base_url, rounds, server.pid)
    result = figures(samples, started)
    print_table(
        f"{name}: {STALLS * ITEMS_PER_STALL} items, {rounds} rounds, {cache}, "
        f"DJANGO_DEBUG={env['DJANGO_DEBUG']}",
        result,
    )
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench_arguments(
        argv,
        description=__doc__.split("\n", 1)[0],
        url_help="measure a running server instead of starting one",
        rounds=ROUNDS,
        rounds_help="measured rounds",
    )


def run_url(base_url: str, rounds: int) -> dict:
    started = time.monotonic()
    progress(f"measuring {base_url}")
    result = figures(measure(base_url, rounds), started)
    print_table(f"{base_url}: {rounds} rounds", result)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(
        on_url=lambda url: run_url(url, args.rounds),
        on_database=lambda name, env, workdir: run_database(name, env, workdir, args.rounds),
        url=args.url,
        postgres=args.postgres,
    )


if __name__ == "__main__":
    sys.exit(main())
