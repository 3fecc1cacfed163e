"""Flash-auction benchmark: K bidders on one hot auction over HTTP and WebSocket, against
the rate PostgreSQL itself gives the same hot-row transaction, measured in the same run.

    .venv/bin/python bench/auction.py                    # K = 10, 100
    .venv/bin/python bench/auction.py --full             # K = 10, 100, 1000
    .venv/bin/python bench/auction.py --servers 2        # bidders spread over 2 daphne processes
    DATABASE_URL=postgres://… REDIS_URL=redis://… \\
        .venv/bin/python bench/auction.py --url http://127.0.0.1:8000   # a server already running

Unless --url is given, the benchmark creates a fresh PostgreSQL database (--postgres,
dropped at the end), migrates it, and serves it with daphne using the project's own
settings with REDIS_URL (--redis; the pub/sub channel layer). With --url it seeds the
database named by $DATABASE_URL, which must be the one that server uses.

Each K gets its own auction (one hour long, so soft close never ends it) and K signed-in
bidders with a saved test card. Every bidder has an HTTP keep-alive connection for its
bids and a WebSocket on /ws/auctions/<ulid>/ as a watcher; bidders are spread over
--workers client processes (default: one per 250 bidders) and over the servers.

Burst (--seconds): every bidder POSTs a bid, waits for the answer, and bids again. A
bid's amount rises with the wall clock (--rate cents per second), so bids processed in
the order they were sent are all above the last; one overtaken on its way in (the
server does not take requests strictly in arrival order) is refused as too low.
Figures: accepted and processed (accepted + refused: each took the auction's lock)
bids per second from the start to the last answer, p50/p95 of POST → answer, and p95
of POST → every watcher has a frame at or past the bid's version (under this load
mostly the fan-out: every bid is one frame to each of K watchers).

Paced: once every burst bid is answered and the sockets have gone quiet, one bid
every 100 ms for --paced bids: p95 of POST → every watcher saw it, the latency a
bidder lives with when the server is not saturated.

Baseline: psycopg alone, min(K, 50) connections (fewer if PostgreSQL's max_connections
leaves less room: the servers' pools and other users hold some), each looping BEGIN;
SELECT … FOR UPDATE the auction row; UPDATE it; INSERT a bid; COMMIT on the same kind
of rows for --baseline-seconds. The ratio accepted bids/s ÷ baseline transactions/s
says how close the bid path comes to what the database allows on one hot row.
A second baseline: the same K signed-in connections POST the trivial /healthz/ view
for --baseline-seconds, which says what the server does per request before any bid
logic (processed bids/s ÷ bare POSTs/s).

The machine's other work skews every figure (its load average is recorded). Times are
reported, never asserted. The last line of output is JSON with every figure.
"""

import asyncio
import bisect
import json
import multiprocessing
import os
import random
import secrets
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_postgres_server, add_redis, bench_main, parser_for  # noqa: E402
from bench._clients import AsyncHttp  # noqa: E402
from bench._report import merge_counts, percentiles_ms, progress, ratio  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database_name,
    cpu_seconds,
    daphne_process,
    django_json,
    migrate,
    postgres_database,
    raise_open_files,
    scratch_dir,
    server_env,
    signed_in_sessions,
)
from bench._ws import abort, join, ws_url  # noqa: E402

BIDDERS = (10, 100)
FULL_BIDDERS = (10, 100, 1000)
BIDDERS_PER_WORKER = 250
BASELINE_MAX_CONNECTIONS = 50
PACE_SECONDS = 0.1
DRAIN_SECONDS = 1.0
QUIET_LIMIT_SECONDS = 60.0
VERSION = '"version": '

# The seed: a stall with one item, an auction per K (and one for the baseline), and a
# saved card on orders' test gateway for the bidders (signed in by `signed_in_sessions`).
_SEED_SCRIPT = """
import json, sys
import django
django.setup()
from datetime import timedelta
from django.conf import settings
from accounts.models import User
from accounts.seeding import users_create_many
from auctions.models import Auction
from auctions.services import auction_start
from bazaar.idempotency import new_key
from market.services import sections_ensure
from orders.payments.test_gateway import CARD_OK, TestGateway
from orders.models import SavedCard
from orders.checkout.services import shipping_address_save
from orders.payments.services import card_setup_start
from orders.payments.webhooks import event_handle
from stalls.models import Stall
from stalls.services import item_create, seller_register, stall_create

bidders, cases, tag = int(sys.argv[1]), [int(k) for k in sys.argv[2].split(",")], sys.argv[3]
password = "bench-only-password"
sections_ensure(coordinates=[(0, 0)])
seller = users_create_many(handles=[f"{tag}_seller"], password=password)[f"{tag}_seller"]
if not hasattr(seller, "seller_profile"):
    seller_register(user=seller, legal_name="Bench Seller", country="US")
stall = Stall.objects.filter(seller__user=seller).first()
if stall is None:
    taken = set(Stall.objects.filter(section__x=0, section__y=0).values_list("slot", flat=True))
    slot = min(set(range(9)) - taken)
    stall = stall_create(user=seller, name="Bench stall", description="", section_x=0,
                         section_y=0, slot=slot)
item = item_create(actor=seller, stall=stall, title="Bench lamp", description="",
                   price_cents=100, currency=settings.MARKET_CURRENCY, inventory=2 * len(cases))
handles = [f"{tag}_{n}" for n in range(bidders)]
users = {user.handle: user for user in User.objects.filter(handle__in=handles)}
have_card = set(SavedCard.objects.exclude(payment_method_id="").values_list("buyer_id", flat=True))
gateway = TestGateway()
for handle in handles:
    user = users[handle]
    if user.pk not in have_card:
        url = card_setup_start(buyer=user, idempotency_key=new_key(), base_url="http://bench")
        event = gateway.session_complete(session_id=url.rstrip("/").rsplit("/", 1)[-1],
                                         card_number=CARD_OK)
        event_handle(event=event, gateway_name="test")
        shipping_address_save(buyer=user, name=handle, line1="1 Bench Row", line2="",
                              city="Springfield", postal_code="12345", country="US")
auctions = {}
for k in cases:
    made = [auction_start(actor=seller, item=item, start_cents=100, reserve_cents=None,
                          buy_now_cents=None, duration=timedelta(hours=1),
                          idempotency_key=new_key()) for _ in range(2)]
    auctions[k] = {"public_id": made[0].public_id, "baseline_id": made[1].pk,
                   "bidder_ids": [users[h].pk for h in handles[:k]]}
print(json.dumps(auctions))
"""


# The client side: one process's share of the bidders.


class Watcher:
    """A socket on the auction, noting when each state version first arrived."""

    def __init__(self):
        self.versions: list[int] = []
        self.times: list[float] = []
        self.last_frame = 0.0

    async def run(self, socket) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._read(socket)
        except ConnectionClosed:
            return  # closed at the end of the run, or by the server (counted as unseen)

    async def _read(self, socket) -> None:
        async for raw in socket:
            at = self.last_frame = time.time()
            start = raw.find(VERSION)
            if start < 0:
                continue
            end = raw.find(",", start)
            version = int(raw[start + len(VERSION) : end])
            if not self.versions or version > self.versions[-1]:
                self.versions.append(version)
                self.times.append(at)


async def client_main(config: dict, sessions: list[str], barrier, results) -> None:
    servers = config["servers"]
    public_id = config["public_id"]
    path = f"/auctions/{public_id}/bids"
    gate = asyncio.Semaphore(50)
    watchers = [Watcher() for _ in sessions]
    https: list[AsyncHttp] = []
    sockets = []

    async def arrive(index: int, session: str) -> None:
        base = servers[(config["offset"] + index) % len(servers)]
        async with gate:
            http = AsyncHttp(base, f"{config['cookie']}={session}")
            await http.open()
            https.append(http)
            socket = await join(ws_url(base, f"/ws/auctions/{public_id}/"), origin=base)
            sockets.append(socket)
            asyncio.get_running_loop().create_task(watchers[index].run(socket))

    await asyncio.gather(*(arrive(i, s) for i, s in enumerate(sessions)))
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    epoch = time.time()
    rate, burst_end = config["rate"], epoch + config["seconds"]
    bids: list[tuple] = []  # (phase, sent, answered, status, version)
    errors: dict[str, int] = {}

    async def one_bid(http: AsyncHttp, phase: str) -> None:
        amount = 100 + int((time.time() - epoch) * rate)
        sent = time.time()
        try:
            status, body = await http.post(
                path, {"amount": f"{amount / 100:.2f}"}, {"Idempotency-Key": secrets.token_hex(12)}
            )
        except (OSError, asyncio.IncompleteReadError, ConnectionError) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            return
        answered = time.time()
        answer = json.loads(body) if body.startswith(b"{") else {}
        version = (answer.get("state") or {}).get("version", 0)
        if status != 200:
            code = answer.get("code", f"http_{status}")
            errors[code] = errors.get(code, 0) + 1
        bids.append((phase, sent, answered, status, version))

    async def bidder(http: AsyncHttp) -> None:
        await asyncio.sleep(random.random() * 0.05)  # a spread start, not all at once
        while time.time() < burst_end:
            await one_bid(http, "burst")

    await asyncio.gather(*(bidder(http) for http in https))
    # Every burst bid is answered here; the paced bids start once every worker's
    # sockets have gone quiet (the fan-out's backlog delivered) and all are ready.
    await quiet(watchers, DRAIN_SECONDS, QUIET_LIMIT_SECONDS)
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    paced_start = time.time()
    if config["offset"] == 0:  # the first worker places the paced bids
        for number in range(config["paced"]):
            await asyncio.sleep(max(0.0, paced_start + number * PACE_SECONDS - time.time()))
            await one_bid(https[number % len(https)], "paced")
    await asyncio.sleep(max(0.0, paced_start + config["paced"] * PACE_SECONDS - time.time()))
    await quiet(watchers, DRAIN_SECONDS, QUIET_LIMIT_SECONDS)
    for http in https:
        http.close()
    abort(sockets)
    results.put(
        {
            "bids": bids,
            "errors": errors,
            "watchers": [(w.versions, w.times) for w in watchers],
        }
    )


async def quiet(watchers: list[Watcher], seconds: float, limit: float) -> None:
    """Wait until no watcher has had a frame for `seconds` (at most `limit`)."""
    deadline = time.time() + limit
    while time.time() < deadline:
        last = max((w.last_frame for w in watchers), default=0.0)
        if time.time() - last >= seconds:
            return
        await asyncio.sleep(0.1)


def client_process(config, sessions, barrier, results) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(client_main(config, sessions, barrier, results))


# The coordinator


def seen_by_all(version: int, sent: float, watchers: list) -> float | None:
    """Seconds from POST until the last watcher had a frame at or past `version`."""
    latest = 0.0
    for versions, times in watchers:
        at = bisect.bisect_left(versions, version)
        if at == len(versions):
            return None
        latest = max(latest, times[at])
    return latest - sent


def run_clients(k: int, case: dict, seed: dict, servers: list[str], args, pids) -> dict:
    """The burst and the paced bids for K bidders; returns the figures."""
    workers = max(1, -(-k // BIDDERS_PER_WORKER)) if args.workers is None else args.workers
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    sessions = seed["sessions"][:k]
    shares = [sessions[w::workers] for w in range(workers)]
    processes = []
    for w, share in enumerate(shares):
        config = {
            "servers": servers,
            "public_id": case["public_id"],
            "cookie": seed["cookie"],
            "offset": w,
            "rate": args.rate,
            "seconds": args.seconds,
            "paced": args.paced,
        }
        process = context.Process(target=client_process, args=(config, share, barrier, results))
        process.start()
        processes.append(process)
    try:
        barrier.wait(timeout=60 + k / 10)
        started = time.time()
        cpu_start = [cpu_seconds(pid) for pid in pids]
        time.sleep(args.seconds)
        server_cpu = sum(cpu_seconds(pid) for pid in pids) - sum(cpu_start)
        barrier.wait(timeout=QUIET_LIMIT_SECONDS + 120)  # the burst is over, paced next
        outputs = [results.get(timeout=QUIET_LIMIT_SECONDS + 60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    watchers = [watcher for output in outputs for watcher in output["watchers"]]
    bids = [bid for output in outputs for bid in output["bids"]]
    errors = merge_counts(output["errors"] for output in outputs)

    def phase(name: str) -> dict:
        mine = [bid for bid in bids if bid[0] == name]
        accepted = [bid for bid in mine if bid[3] == 200]
        reach = [seen_by_all(bid[4], bid[1], watchers) for bid in accepted]
        return {
            "posted": len(mine),
            "accepted": len(accepted),
            "answer_ms": percentiles_ms([bid[2] - bid[1] for bid in accepted]),
            "all_watchers_ms": percentiles_ms([r for r in reach if r is not None]),
            "not_seen_by_all": sum(r is None for r in reach),
        }

    burst = phase("burst")
    # Rates over the burst and its tail: from the start to the last answer (a bid sent
    # just before the end is answered after it). A refusal (409) took the lock too.
    answered = [b for b in bids if b[0] == "burst"]
    span = max((b[2] for b in answered), default=started + args.seconds) - started
    burst["span_s"] = round(span, 1)
    burst["accepted_per_s"] = round(sum(b[3] == 200 for b in answered) / span, 1)
    burst["processed_per_s"] = round(sum(b[3] in (200, 409) for b in answered) / span, 1)
    burst["server_cpu_per_s"] = round(server_cpu / args.seconds, 2)
    return {"workers": workers, "burst": burst, "paced": phase("paced"), "errors": errors}


def free_connections(database_url: str) -> int:
    """How many more connections PostgreSQL takes now, keeping 10 spare (the server's
    pool, other users of the machine)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        limit = int(connection.execute("SHOW max_connections").fetchone()[0])
        in_use = connection.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0]
    return max(1, limit - in_use - 10)


async def raw_baseline(database_url: str, case: dict, connections: int, seconds: float) -> dict:
    """psycopg alone: the bid's hot-row transaction on one auction row, as fast as it goes."""
    import psycopg

    auction_id, bidders = case["baseline_id"], case["bidder_ids"]
    done = 0
    deadline = time.monotonic() + seconds

    async def loop(number: int) -> None:
        nonlocal done
        bidder = bidders[number % len(bidders)]
        async with await psycopg.AsyncConnection.connect(database_url) as connection:
            while time.monotonic() < deadline:
                async with connection.transaction(), connection.cursor() as cursor:
                    await cursor.execute(
                        "SELECT price_cents FROM auctions_auction WHERE id = %s FOR UPDATE",
                        (auction_id,),
                    )
                    price = ((await cursor.fetchone())[0] or 0) + 1
                    await cursor.execute(
                        "UPDATE auctions_auction SET price_cents = %s, leader_id = %s, "
                        "version = version + 1, bid_count = bid_count + 1 WHERE id = %s",
                        (price, bidder, auction_id),
                    )
                    await cursor.execute(
                        "INSERT INTO auctions_bid (public_id, auction_id, bidder_id, kind, "
                        'amount_cents, "leading", received_at, idempotency_key, created_at) '
                        "VALUES (%s, %s, %s, 'bid', %s, true, now(), '', now())",
                        (secrets.token_hex(13).upper(), auction_id, bidder, price),
                    )
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(n) for n in range(connections)))
    elapsed = time.monotonic() - started
    return {"connections": connections, "transactions": done, "tx_per_s": round(done / elapsed, 1)}


async def bare_post_baseline(servers: list[str], cookies: list[str], seconds: float) -> dict:
    """Signed-in keep-alive connections POSTing the trivial view as fast as answered."""
    https = [AsyncHttp(servers[n % len(servers)], cookie) for n, cookie in enumerate(cookies)]
    await asyncio.gather(*(http.open() for http in https))
    done, end = [], time.time() + seconds

    async def loop(http: AsyncHttp) -> None:
        while time.time() < end:
            await http.post_ok(
                "/healthz/", {"ping": "1"}, {"Idempotency-Key": secrets.token_hex(12)}
            )
            done.append(1)

    started = time.time()
    await asyncio.gather(*(loop(http) for http in https))
    elapsed = time.time() - started
    for http in https:
        http.close()
    return {"connections": len(https), "posts_per_s": round(len(done) / elapsed, 1)}


def run_case(k: int, seed: dict, servers: list[str], database_url: str, args, pids) -> dict:
    case = seed["auctions"][str(k)]
    progress(f"K={k}: {k} bidders connecting, then {args.seconds:g} s of bids")
    clients = run_clients(k, case, seed, servers, args, pids)
    connections = min(k, BASELINE_MAX_CONNECTIONS, free_connections(database_url))
    progress(f"K={k}: raw psycopg baseline, {connections} connections")
    baseline = asyncio.run(raw_baseline(database_url, case, connections, args.baseline_seconds))
    progress(f"K={k}: bare POST baseline, {k} connections")
    cookies = [f"{seed['cookie']}={session}" for session in seed["sessions"][:k]]
    bare = asyncio.run(bare_post_baseline(servers, cookies, args.baseline_seconds))
    burst, raw = clients["burst"], baseline["tx_per_s"]
    return {
        "bidders": k,
        **clients,
        "raw_psycopg": baseline,
        "ratio_accepted_to_raw": ratio(burst["accepted_per_s"], raw, 3),
        "ratio_processed_to_raw": ratio(burst["processed_per_s"], raw, 3),
        "bare_post": bare,
        "ratio_processed_to_bare_post": ratio(burst["processed_per_s"], bare["posts_per_s"], 3),
    }


def print_case(result: dict) -> None:
    burst, paced, raw = result["burst"], result["paced"], result["raw_psycopg"]
    print(f"\nK = {result['bidders']} bidders ({result['workers']} client process(es))")
    print(
        f"  burst: {burst['posted']} bids posted, {burst['accepted']} accepted, "
        f"{burst['accepted_per_s']} accepted/s ({burst['processed_per_s']} processed/s); "
        f"over {burst['span_s']} s; server CPU {burst['server_cpu_per_s']} s/s"
    )
    for label, stats in (
        ("  POST → answer", burst["answer_ms"]),
        ("  POST → every watcher (burst)", burst["all_watchers_ms"]),
        ("  POST → every watcher (paced)", paced["all_watchers_ms"]),
    ):
        print(f"{label:<34} p50 {stats['p50']} ms, p95 {stats['p95']} ms, max {stats['max']} ms")
    if burst["not_seen_by_all"] or paced["not_seen_by_all"]:
        print(
            f"  not seen by every watcher: {burst['not_seen_by_all']} (burst), "
            f"{paced['not_seen_by_all']} (paced)"
        )
    if result["errors"]:
        print(f"  refused or failed: {result['errors']}")
    print(
        f"  raw psycopg hot-row transaction: {raw['tx_per_s']} tx/s on {raw['connections']} "
        f"connections; accepted bids / raw = {result['ratio_accepted_to_raw']}, "
        f"processed / raw = {result['ratio_processed_to_raw']}"
    )
    bare = result["bare_post"]
    print(
        f"  bare POST /healthz/, signed in: {bare['posts_per_s']}/s on {bare['connections']} "
        f"connections; processed bids / bare POSTs = {result['ratio_processed_to_bare_post']}"
    )


def seed_market(env: dict, bidders: int, cases: list[int], tag: str) -> dict:
    """Signed-in bidders tag_0, tag_1, … with saved cards, and the auctions:
    {"cookie": session cookie name, "sessions": keys in bidder order, "auctions": …}."""
    cookie, sessions = signed_in_sessions(env=env, prefix=f"{tag}_", count=bidders)
    auctions = django_json(_SEED_SCRIPT, str(bidders), ",".join(map(str, cases)), tag, env=env)
    return {"cookie": cookie, "sessions": sessions, "auctions": auctions}


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--full", action="store_true", help="K = 10, 100, 1000")
    parser.add_argument("--bidders", help="comma-separated K values (overrides --full)")
    parser.add_argument("--servers", type=int, default=1, help="daphne processes (default 1)")
    parser.add_argument("--workers", type=int, help="client processes (default: one per 250)")
    parser.add_argument("--seconds", type=float, default=8.0, help="burst length")
    parser.add_argument("--paced", type=int, default=30, help="paced bids, one per 100 ms")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument(
        "--rate", type=float, default=5e7, help="cents per second a bid's amount rises by"
    )
    add_postgres_server(parser)
    add_redis(parser)
    parser.add_argument("--url", help="a running server (seeds $DATABASE_URL, which it must use)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cases = (
        [int(k) for k in args.bidders.split(",")]
        if args.bidders
        else list(FULL_BIDDERS if args.full else BIDDERS)
    )
    raise_open_files(4 * max(cases) + 1024)
    return bench_main(
        lambda _started: run(args, cases),
        record_elapsed=True,
        total_note=lambda results: f"; load average at the start {results['load_average']}",
    )


def run(args, cases: list[int]) -> dict:
    """Seed, start the servers (unless --url), and measure every K."""
    results = {"load_average": os.getloadavg(), "cases": []}
    with scratch_dir("bazaar-bench-") as workdir, ExitStack() as stack:
        if args.url:
            database_url = os.environ.get("DATABASE_URL", "")
            if not database_url.startswith("postgres"):
                sys.exit("--url needs DATABASE_URL: the PostgreSQL database of that server")
            env = server_env(database_url=database_url, media_root=workdir / "media")
            servers, pids = [args.url.rstrip("/")], []
        else:
            name = bench_database_name("auction")
            database_url = stack.enter_context(postgres_database(args.postgres, name))
            env = server_env(database_url=database_url, media_root=workdir / "media")
            env["REDIS_URL"] = args.redis
            progress("migrating a fresh PostgreSQL database")
            migrate(env)
            servers, pids = [], []
        progress(f"seeding {max(cases)} bidders with sessions and saved test cards")
        seed = seed_market(env, max(cases), cases, f"bench{os.getpid()}")
        for number in range(0 if args.url else args.servers):
            base_url, process = stack.enter_context(
                daphne_process(env=env, log_path=workdir / f"daphne{number}.log")
            )
            servers.append(base_url)
            pids.append(process.pid)
        results["servers"] = len(servers)
        for k in cases:
            result = run_case(k, seed, servers, database_url, args, pids)
            print_case(result)
            results["cases"].append(result)
    return results


if __name__ == "__main__":
    sys.exit(main())
