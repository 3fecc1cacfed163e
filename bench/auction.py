"""Flash-auction benchmark: K bidders in a burst on one hot auction, bidding over the
auction's socket and by POST, watched by W more sockets, against what PostgreSQL gives
the same hot-row transaction and what the server gives a bare POST, both measured in
the same run.

    .venv/bin/python bench/auction.py                         # K = 100, W = 1000, socket and HTTP
    .venv/bin/python bench/auction.py --bidders 10,100 --watchers 200 --transports socket
    .venv/bin/python bench/auction.py --servers 2             # spread over 2 server processes
    .venv/bin/python bench/auction.py --socket-servers 1      # watchers on a process of their own
    .venv/bin/python bench/auction.py --server uvicorn        # gunicorn + uvicorn, as production

It creates a fresh PostgreSQL database (--postgres, dropped at the end), migrates it,
and serves it with daphne using the project's own settings with REDIS_URL (--redis).
With --url it uses a running server whose database is $DATABASE_URL.

Each case (K, transport) gets its own auction (an hour long, so soft close never ends
it), K signed-in bidders with a saved test card and W anonymous watch-only sockets.
Burst (--seconds): every bidder sends a bid, waits for its answer and bids again; a
bid's amount rises with the wall clock (--rate cents a second), so bids processed in
the order sent are each above the last, and one overtaken on its way in is refused as
too low. Every --retry-every-th bid goes twice with the same key at once (a second
frame back to back, or a second POST on another connection).

Back to back, K bidders keep K bids in flight, so each one waits for the K - 1 ahead of
it: an answer's time is K over the throughput (Little's law), a measure of capacity.
A show's last seconds look different: K people press Bid at about the same moment
and then watch. The waves case (--wave-every, over the socket by default) sends that:
every bidder bids at once at the start of each wave, and each bid's answer and its
reach to the watchers are timed. Figures:

- processed bids/s: bids decided under the auction's lock (accepted, or refused as too
  low or already leading; copies of a key counted once) from the start to the last
  answer, against the raw psycopg hot-row rate: min(K, 50) connections looping BEGIN;
  SELECT … FOR UPDATE the auction row; UPDATE it; INSERT a bid; COMMIT (ratio ≥ 1 means
  group commit beats one transaction per bid);
- bid → answer p50/p95 (frame → `bid_ack`, or POST → response);
- answer → every watcher has a state at or past the bid's version, p50/p95;
- over HTTP, processed bids/s against bare signed-in POSTs/s of the trivial /healthz/
  view on K connections, and the same in server CPU: a bare POST's against a processed
  bid's (the bids' processes; the rates swing with the share of the machine the
  server gets, the CPU times much less).

With --socket-servers N the watchers' sockets go to N server processes of their own,
as a proxy routing `/ws/` to socket processes would send them, and the bids and the
bare POSTs to the --servers processes: both sides of the HTTP ratio are then measured
on the same processes. Each group's CPU is reported apart.

Then the history check (bench/_history.py): every accepted bid stored as told, the high
bid only rising, the leader the highest accepted bid, every copy of a key told the same.

The machine's other work skews every figure (its load average is recorded). Times are
reported, never asserted. The last line of output is JSON with every figure.
"""

import asyncio
import bisect
import multiprocessing
import os
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._auction_clients import LOCK_DECIDED, bidders_process, watchers_process  # noqa: E402
from bench._cli import add_postgres_server, add_redis, add_server, bench_main, parser_for  # noqa: E402
from bench._clients import AsyncHttp  # noqa: E402
from bench._history import Answer, StoredBid, check_history, history_ok  # noqa: E402
from bench._report import merge_counts, percentiles_ms, progress, ratio  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database_name,
    buyers_ready_to_pay,
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

BIDDERS = (100,)
WATCHERS = 1000
WATCHERS_PER_PROCESS = 500
TRANSPORTS = ("socket", "http")
BASELINE_MAX_CONNECTIONS = 50
QUIET_LIMIT_SECONDS = 30.0

# The seed: a stall with one item, an auction per K (and one for the baseline); the
# bidders are signed in (`signed_in_sessions`) with a saved card (`buyers_ready_to_pay`).
_SEED_SCRIPT = """
import json, sys
import django
django.setup()
from datetime import timedelta
from django.conf import settings
from accounts.models import User
from accounts.seeding import users_create_many
from auctions.models import Auction
from auctions.services.starting import auction_start
from bazaar.idempotency import new_key
from market.services import sections_ensure
from stalls.models import Stall
from stalls.services import item_create, seller_register, stall_create

bidders, cases, tag = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
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
auctions = {}
for case in cases:
    made = [auction_start(actor=seller, item=item, start_cents=100, reserve_cents=None,
                          buy_now_cents=None, duration=timedelta(hours=1),
                          idempotency_key=new_key()) for _ in range(2)]
    k = int(case.split(":")[0])
    auctions[case] = {"public_id": made[0].public_id, "id": made[0].pk,
                      "baseline_id": made[1].pk, "bidder_ids": [users[h].pk for h in handles[:k]]}
print(json.dumps(auctions))
"""


# The coordinator


def seen_by_all(version: int, answered: float, watchers: list) -> float | None:
    """Seconds from the answer until the last watcher had a state at or past `version`
    (zero for a watcher that had it before the answer came)."""
    latest = answered
    for versions, times in watchers:
        at = bisect.bisect_left(versions, version)
        if at == len(versions):
            return None
        latest = max(latest, times[at])
    return latest - answered


def run_clients(
    case: dict, config: dict, seed: dict, k: int, watchers: int, pids, socket_pids
) -> dict:
    """One burst: K bidders and the watchers in their processes; their reports."""
    context = multiprocessing.get_context("fork")
    watcher_shares = [WATCHERS_PER_PROCESS] * (watchers // WATCHERS_PER_PROCESS)
    if watchers % WATCHERS_PER_PROCESS:
        watcher_shares.append(watchers % WATCHERS_PER_PROCESS)
    start = context.Barrier(2 + len(watcher_shares))
    end = context.Barrier(1 + len(watcher_shares))
    results = context.Queue()
    sessions = list(zip(seed["handles"][:k], seed["sessions"][:k], strict=True))
    base = config | {"public_id": case["public_id"], "cookie": seed["cookie"]}
    processes = [
        context.Process(
            target=bidders_process, args=(base | {"offset": 0}, sessions, start, results)
        )
    ] + [
        context.Process(
            target=watchers_process,
            args=(
                base | {"servers": config["watch_servers"], "offset": n + 1},
                share,
                start,
                end,
                results,
            ),
        )
        for n, share in enumerate(watcher_shares)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=120 + watchers / 20)
        started = time.time()
        cpu_start = [sum(cpu_seconds(pid) for pid in group) for group in (pids, socket_pids)]
        outputs = [results.get(timeout=config["seconds"] + 120)]  # the bidders report first
        server_cpu, socket_server_cpu = (
            sum(cpu_seconds(pid) for pid in group) - before
            for group, before in zip((pids, socket_pids), cpu_start, strict=True)
        )
        end.wait(timeout=60)
        outputs += [results.get(timeout=QUIET_LIMIT_SECONDS + 60) for _ in watcher_shares]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    bidders = next(output for output in outputs if "answers" in output)
    seen = [w for output in outputs for w in output.get("watchers", [])]
    return {
        "started": started,
        "server_cpu": server_cpu,
        "socket_server_cpu": socket_server_cpu,
        **bidders,
        "watchers": seen,
    }


def per_wave_ms(answers: list[dict], started: float, wave_every: float) -> list[dict]:
    """Each wave's answer times on their own: a cold first wave (connections opened,
    statements prepared) and a steady later one read differently in one p95."""
    waves: dict[int, list[float]] = {}
    for answer in answers:
        number = max(0, round((answer["sent"] - started) / wave_every))
        waves.setdefault(number, []).append(answer["at"] - answer["sent"])
    return [percentiles_ms(waves[number]) for number in sorted(waves)]


def figures(clients: dict, seconds: float, wave_every: float = 0) -> dict:
    answers, watchers = clients["answers"], clients["watchers"]
    first: dict[tuple, dict] = {}
    for answer in sorted(answers, key=lambda a: a["at"]):
        first.setdefault((answer["bidder"], answer["key"]), answer)
    decided = [a for a in first.values() if a["ok"] or a["code"] in LOCK_DECIDED]
    span = max((a["at"] for a in answers), default=clients["started"]) - clients["started"]
    accepted = [a for a in first.values() if a["ok"]]
    reach = [seen_by_all(a["version"], a["at"], watchers) for a in accepted]
    codes = merge_counts([{a["code"]: 1} for a in first.values() if not a["ok"]])
    return {
        "sent": len(first),
        "copies": len(answers) - len(first),
        "accepted": len(accepted),
        "processed": len(decided),
        "span_s": round(span, 1),
        "processed_per_s": round(len(decided) / span, 1) if span else None,
        "accepted_per_s": round(len(accepted) / span, 1) if span else None,
        "answer_ms": percentiles_ms([a["at"] - a["sent"] for a in answers]),
        **(
            {"answer_ms_per_wave": per_wave_ms(answers, clients["started"], wave_every)}
            if wave_every
            else {}
        ),
        "all_watchers_ms": percentiles_ms([r for r in reach if r is not None]),
        "not_seen_by_all": sum(r is None for r in reach),
        "watchers": len(watchers),
        "refused": codes,
        "errors": clients["errors"],
        "server_cpu_per_s": round(clients["server_cpu"] / seconds, 2),
        "socket_server_cpu_per_s": round(clients["socket_server_cpu"] / seconds, 2),
    }


def history(database_url: str, auction_id: int, answers: list[dict]) -> dict:
    """The history check against the auction's rows at the end."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT b.public_id, u.handle, b.amount_cents, b.leading FROM auctions_bid b "
            "JOIN accounts_user u ON u.id = b.bidder_id WHERE b.auction_id = %s ORDER BY b.id",
            (auction_id,),
        ).fetchall()
        leader, price = connection.execute(
            "SELECT u.handle, a.price_cents FROM auctions_auction a "
            "LEFT JOIN accounts_user u ON u.id = a.leader_id WHERE a.id = %s",
            (auction_id,),
        ).fetchone()
    told = [
        Answer(**{key: a[key] for key in Answer.__dataclass_fields__})
        for a in answers
        if a["ok"] or a["code"]
    ]
    violations = check_history(told, [StoredBid(*row) for row in rows], leader, price)
    return {
        "ok": history_ok(violations),
        "answers": len(told),
        "stored_bids": len(rows),
        "violations": {name: found[:5] for name, found in violations.items() if found},
    }


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
    return {
        "connections": len(https),
        "posts": len(done),
        "posts_per_s": round(len(done) / elapsed, 1),
    }


def run_case(case_name: str, seed: dict, servers: dict, database_url: str, args, pids: dict):
    k, transport, *waves = case_name.split(":")
    k = int(k)
    pace = f"in waves every {args.wave_every} s" if waves else "back to back"
    case = seed["auctions"][case_name]
    progress(f"K={k} over {transport}, {pace}: {k} bidders and {args.watchers} watchers connecting")
    config = {
        "servers": servers["web"],
        "watch_servers": servers["sockets"] or servers["web"],
        "transport": transport,
        "rate": args.rate,
        "seconds": args.seconds,
        "retry_every": args.retry_every,
        "quiet_limit": QUIET_LIMIT_SECONDS,
        "wave_every": args.wave_every if waves else 0,
    }
    clients = run_clients(case, config, seed, k, args.watchers, pids["web"], pids["sockets"])
    result = {
        "bidders": k,
        "transport": transport,
        "pace": "waves" if waves else "back_to_back",
        **figures(clients, args.seconds, config["wave_every"]),
    }
    result["history"] = history(database_url, case["id"], clients["answers"])
    connections = min(k, BASELINE_MAX_CONNECTIONS, free_connections(database_url))
    progress(f"K={k}: raw psycopg baseline, {connections} connections")
    raw = asyncio.run(raw_baseline(database_url, case, connections, args.baseline_seconds))
    result["raw_psycopg"] = raw
    result["ratio_processed_to_raw"] = ratio(result["processed_per_s"], raw["tx_per_s"], 3)
    if transport == "http":
        progress(f"K={k}: bare POST baseline, {k} connections")
        cookies = [f"{seed['cookie']}={session}" for session in seed["sessions"][:k]]
        cpu_before = sum(cpu_seconds(pid) for pid in pids["web"])
        bare = asyncio.run(bare_post_baseline(servers["web"], cookies, args.baseline_seconds))
        bare_cpu = sum(cpu_seconds(pid) for pid in pids["web"]) - cpu_before
        result["bare_post"] = bare
        result["ratio_processed_to_bare_post"] = ratio(
            result["processed_per_s"], bare["posts_per_s"], 3
        )
        if pids["web"] and bare["posts"] and result["processed"]:
            # The same ratio in server CPU: what the machine's other work does to both
            # rates (the server given less of a core) it does to neither CPU time much.
            bare["server_cpu_ms"] = round(1000 * bare_cpu / bare["posts"], 2)
            result["server_cpu_per_processed_ms"] = round(
                1000 * clients["server_cpu"] / result["processed"], 2
            )
            result["cpu_ratio_bare_post_to_processed"] = ratio(
                bare["server_cpu_ms"], result["server_cpu_per_processed_ms"], 3
            )
    return result


def print_case(result: dict) -> None:
    raw = result["raw_psycopg"]
    print(
        f"\nK = {result['bidders']} bidders over {result['transport']} "
        f"({result['pace'].replace('_', ' ')}), {result['watchers']} watchers"
    )
    print(
        f"  burst: {result['sent']} bids (+{result['copies']} copies of a key), "
        f"{result['accepted']} accepted; {result['processed_per_s']} processed/s "
        f"({result['accepted_per_s']} accepted/s) over {result['span_s']} s; "
        f"server CPU {result['server_cpu_per_s']} s/s"
        + (
            f" (the socket servers' {result['socket_server_cpu_per_s']} s/s more)"
            if result["socket_server_cpu_per_s"]
            else ""
        )
    )
    for label, stats in (
        ("  bid → answer", result["answer_ms"]),
        ("  answer → every watcher", result["all_watchers_ms"]),
    ):
        print(f"{label:<26} p50 {stats['p50']} ms, p95 {stats['p95']} ms, max {stats['max']} ms")
    if "answer_ms_per_wave" in result:
        each = ", ".join(f"{w['p50']}/{w['max']}" for w in result["answer_ms_per_wave"])
        print(f"  answer p50/max by wave (ms): {each}")
    if result["not_seen_by_all"]:
        print(f"  accepted bids not seen by every watcher: {result['not_seen_by_all']}")
    if result["refused"] or result["errors"]:
        print(f"  refused: {result['refused']}; failed: {result['errors']}")
    print(
        f"  raw psycopg hot-row transaction: {raw['tx_per_s']} tx/s on {raw['connections']} "
        f"connections; processed / raw = {result['ratio_processed_to_raw']}"
    )
    if "bare_post" in result:
        bare = result["bare_post"]
        print(
            f"  bare POST /healthz/, signed in: {bare['posts_per_s']}/s on "
            f"{bare['connections']} connections; processed / bare = "
            f"{result['ratio_processed_to_bare_post']}"
        )
    if "cpu_ratio_bare_post_to_processed" in result:
        print(
            f"  server CPU a bare POST {result['bare_post']['server_cpu_ms']} ms, a processed "
            f"bid {result['server_cpu_per_processed_ms']} ms; bare ÷ processed = "
            f"{result['cpu_ratio_bare_post_to_processed']}"
        )
    check = result["history"]
    verdict = "ok" if check["ok"] else f"VIOLATED {check['violations']}"
    print(
        f"  history: {check['answers']} answers against {check['stored_bids']} stored bids: "
        f"{verdict}"
    )


def seed_market(env: dict, bidders: int, cases: list[str], tag: str) -> dict:
    """Signed-in bidders tag_0, tag_1, … with saved cards, and an auction per case:
    {"cookie", "sessions" and "handles" in bidder order, "auctions": by case}."""
    cookie, sessions = signed_in_sessions(env=env, prefix=f"{tag}_", count=bidders)
    handles = [f"{tag}_{n}" for n in range(bidders)]
    buyers_ready_to_pay(env=env, handles=handles)
    auctions = django_json(_SEED_SCRIPT, str(bidders), ",".join(cases), tag, env=env)
    return {"cookie": cookie, "sessions": sessions, "handles": handles, "auctions": auctions}


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--bidders", default="100", help="comma-separated K values")
    parser.add_argument("--watchers", type=int, default=WATCHERS, help="watch-only sockets")
    parser.add_argument("--transports", default=",".join(TRANSPORTS), help="socket,http")
    parser.add_argument("--servers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--socket-servers",
        type=int,
        default=0,
        help="server processes of the watchers' sockets alone (default 0: they share --servers)",
    )
    add_server(parser)
    parser.add_argument("--seconds", type=float, default=8.0, help="burst length")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--retry-every", type=int, default=10, help="send every Nth bid twice")
    parser.add_argument(
        "--wave-every",
        type=float,
        default=1.0,
        help="seconds between waves in which every bidder bids at once",
    )
    parser.add_argument(
        "--wave-transports", default="socket", help="transports also run in waves ('' for none)"
    )
    parser.add_argument(
        "--rate", type=float, default=5e7, help="cents per second a bid's amount rises by"
    )
    add_postgres_server(parser)
    add_redis(parser)
    parser.add_argument("--url", help="a running server (seeds $DATABASE_URL, which it must use)")
    args = parser.parse_args(argv)
    for option in (args.transports, args.wave_transports):
        if set(option.split(",")) - {*TRANSPORTS, ""}:
            parser.error(f"--transports, --wave-transports: {', '.join(TRANSPORTS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    waves = [transport for transport in args.wave_transports.split(",") if transport]
    cases = [
        case
        for k in map(int, args.bidders.split(","))
        for transport in args.transports.split(",")
        for case in (f"{k}:{transport}", *([f"{k}:{transport}:waves"] * (transport in waves)))
    ]
    raise_open_files(4 * (max(int(c.split(":")[0]) for c in cases) + args.watchers) + 1024)
    return bench_main(
        lambda _started: run(args, cases),
        record_elapsed=True,
        total_note=lambda results: f"; load average at the start {results['load_average']}",
    )


def run(args, cases: list[str]) -> dict:
    """Seed, start the servers (unless --url), and measure every case."""
    results = {"load_average": os.getloadavg(), "cases": []}
    bidders = max(int(case.split(":")[0]) for case in cases)
    with scratch_dir("bazaar-bench-") as workdir, ExitStack() as stack:
        if args.url:
            database_url = os.environ.get("DATABASE_URL", "")
            if not database_url.startswith("postgres"):
                sys.exit("--url needs DATABASE_URL: the PostgreSQL database of that server")
            env = server_env(database_url=database_url, media_root=workdir / "media")
            servers, pids = (
                {"web": [args.url.rstrip("/")], "sockets": []},
                {"web": [], "sockets": []},
            )
        else:
            name = bench_database_name("auction")
            database_url = stack.enter_context(postgres_database(args.postgres, name))
            env = server_env(database_url=database_url, media_root=workdir / "media")
            env["REDIS_URL"] = args.redis
            # Its bidders bid as fast as answers come, past any person's pace: the
            # per-bidder limit (BID_PACE) would refuse most of them and time nothing.
            env["BID_PACE"] = "off"
            progress("migrating a fresh PostgreSQL database")
            migrate(env)
            servers, pids = {"web": [], "sockets": []}, {"web": [], "sockets": []}
        progress(f"seeding {bidders} bidders with sessions and saved test cards")
        seed = seed_market(env, bidders, cases, f"bench{os.getpid()}")
        counts = (
            {"web": 0, "sockets": 0}
            if args.url
            else {
                "web": args.servers,
                "sockets": args.socket_servers,
            }
        )
        for role, count in counts.items():
            for number in range(count):
                base_url, process = stack.enter_context(
                    daphne_process(
                        env=env, log_path=workdir / f"{role}{number}.log", server=args.server
                    )
                )
                servers[role].append(base_url)
                pids[role].append(process.pid)
        results["servers"] = len(servers["web"])
        results["socket_servers"] = len(servers["sockets"])
        results["server"] = args.server
        for case in cases:
            result = run_case(case, seed, servers, database_url, args, pids)
            print_case(result)
            results["cases"].append(result)
    return results


if __name__ == "__main__":
    sys.exit(main())
