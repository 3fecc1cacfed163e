"""Market Day (issue 18): the whole market under load, with one command.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazaar_marketday \\
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python loadtest/marketday.py --time 120

Without --host it starts the stack itself on that PostgreSQL database and Redis: the
database migrated and seeded, two web processes (`python -m bazaar.serve`,
WEB_CONCURRENCY=2), a Celery worker and beat. With --host it uses a running stack
whose database is $DATABASE_URL (seeded here, through the services, as below).

The seed: `--sellers` sellers (mdseller0, …) each with a stall of four items, and
`--shoppers` buyers (mdbuyer0, …) with a saved test card and an address, all signed
in. Then, on this machine (the load generator shares its cores with the stack):

1. `--idle` sockets join the sellers' stall rooms and do only what an open page does
   (bench/_crowd_clients.py: welcome, document sync, heartbeat), in client processes
   of their own; the web processes' RSS before and after gives memory per socket;
2. Locust runs headless for `--time` with the sellers and shoppers of
   loadtest/marketday_users.py, which write every acknowledgement to a history file;
3. after a pause for the last auctions to close and be charged, the history is checked
   against the database (loadtest/history.py).

It prints throughput, p50/p95/p99 and failures per action, the idle sockets, the
history check and the exit criteria (>= 25 sellers and >= 200 buyers active, >= 50
completed orders, nothing acknowledged lost, one winner per auction); the last line
is all of it as JSON. Exit status 0 when every criterion is met, 1 otherwise.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_server  # noqa: E402
from bench._report import progress  # noqa: E402
from bench._servers import (  # noqa: E402
    buyers_ready_to_pay,
    celery_process,
    cpu_seconds,
    daphne_process,
    django_json,
    migrate,
    raise_open_files,
    server_env,
    signed_in_sessions,
)
from bench._workers import Worker, spread  # noqa: E402
from bench._ws import ws_url  # noqa: E402
from bench.crowd import server_memory  # noqa: E402
from loadtest.history import check, read_history, stored_state  # noqa: E402
from loadtest.run import summary  # noqa: E402

USERS = Path(__file__).resolve().parent / "marketday_users.py"
CROWD = ROOT / "bench" / "_crowd_clients.py"
IDLE_PER_WORKER = 2500
IDLE_WINDOW = 10.0  # seconds with only the idle sockets, their cost measured
EXIT = {"sellers": 25, "shoppers": 200, "completed_orders": 50}

# Sellers with a stall of four items (stock enough for the run), through the apps'
# services. Idempotent.
_SEED_SCRIPT = """
import json, sys
import django
django.setup()
from django.conf import settings
from accounts.models import User
from market.services import sections_ensure
from stalls.models import SLOTS_PER_SECTION, Item, Stall
from stalls.services import item_create, seller_register, stall_create

sellers = json.loads(sys.argv[1])
users = {user.handle: user for user in User.objects.filter(handle__in=sellers)}
sections_ensure(coordinates=[(x, 0) for x in range(len(sellers) // SLOTS_PER_SECTION + 1)])
taken = set(Stall.objects.values_list("section__x", "section__y", "slot"))
free = ((x, 0, slot) for x in range(10_000) for slot in range(SLOTS_PER_SECTION)
        if (x, 0, slot) not in taken)
stalls = []
for number, handle in enumerate(sellers):
    user = users[handle]
    if not hasattr(user, "seller_profile"):
        seller_register(user=user, legal_name=f"Market Day {handle}", country="US")
    stall = Stall.objects.filter(seller__user=user).select_related("section").first()
    if stall is None:
        x, y, slot = next(free)
        sections_ensure(coordinates=[(x, y)])
        stall = stall_create(user=user, name=f"Market Day stall {number}", description="",
                             section_x=x, section_y=y, slot=slot)
    for n in range(4 - stall.items.count()):
        item_create(actor=user, stall=stall, title=f"Market Day thing {number}.{n}",
                    description="", price_cents=1000 + 500 * n,
                    currency=settings.MARKET_CURRENCY, inventory=100_000)
    items = list(Item.objects.filter(stall=stall, archived_at=None).values_list(
        "public_id", "price_cents"))
    stalls.append({"id": stall.public_id, "section": [stall.section.x, stall.section.y],
                   "items": [public_id for public_id, _ in items], "prices": dict(items)})
print(json.dumps(stalls))
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", help="a running stack (http://host:port); else start one")
    parser.add_argument("--sellers", type=int, default=25)
    parser.add_argument("--shoppers", type=int, default=200, help="active buyers")
    parser.add_argument("--idle", type=int, default=10_000, help="mostly idle stall sockets")
    parser.add_argument("--time", type=int, default=120, help="seconds of load")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users arriving a second")
    parser.add_argument("--auction-seconds", type=int, default=60, choices=(30, 60, 90, 120))
    parser.add_argument(
        "--settle", type=int, default=20, help="seconds after the load for closes and charges"
    )
    parser.add_argument("--min-completed", type=int, default=EXIT["completed_orders"])
    parser.add_argument("--web-processes", type=int, default=2)
    add_server(parser)
    parser.add_argument("--out", type=Path, help="directory for the history and logs (kept)")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("DATABASE_URL must name the stack's PostgreSQL database")
    if not args.host and not os.environ.get("REDIS_URL"):
        parser.error("REDIS_URL is needed to start the stack (channel layer, broker, cache)")
    if min(args.sellers, args.shoppers, args.time) < 1 or args.idle < 0:
        parser.error("--sellers, --shoppers and --time: at least 1; --idle: 0 or more")
    return args


def seed(env: dict[str, str], sellers: int, shoppers: int) -> dict:
    """The sellers, buyers, stalls and sessions the Locust users need."""
    cookie, seller_sessions = signed_in_sessions(env=env, prefix="mdseller", count=sellers)
    _, buyer_sessions = signed_in_sessions(env=env, prefix="mdbuyer", count=shoppers)
    seller_handles = [f"mdseller{n}" for n in range(sellers)]
    buyer_handles = [f"mdbuyer{n}" for n in range(shoppers)]
    stalls = django_json(_SEED_SCRIPT, json.dumps(seller_handles), env=env)
    card = buyers_ready_to_pay(env=env, handles=buyer_handles)
    return {
        "cookie": cookie,
        "stalls": stalls,
        "sessions": buyer_sessions,
        "handles": dict(zip(buyer_sessions, buyer_handles, strict=True)),
        "sellers": [
            {"handle": handle, "session": session, "stall": stall}
            for handle, session, stall in zip(seller_handles, seller_sessions, stalls, strict=True)
        ],
        "prices": {item: price for stall in stalls for item, price in stall["prices"].items()},
        "card": card,
    }


async def idle_sockets(host: str, stalls: list[dict], count: int, workers: list[Worker]) -> dict:
    """`count` page-like sockets spread over the stall rooms and the client workers."""
    per_stall = [count // len(stalls) + (n < count % len(stalls)) for n in range(len(stalls))]
    plans = spread(list(zip(stalls, per_stall, strict=True)), len(workers))

    async def join(worker: Worker, plan: list) -> list[dict]:
        return [
            await worker.call(
                "connect",
                room_url=ws_url(host, f"/ws/stalls/{stall['id']}/"),
                auction_url="",
                origin=host,
                n=n,
                concurrency=100,
            )
            for stall, n in plan
            if n
        ]

    started = time.monotonic()
    answers = [a for part in await asyncio.gather(*map(join, workers, plans)) for a in part]
    errors: dict[str, int] = {}
    for answer in answers:
        for name, times in answer["errors"].items():
            errors[name] = errors.get(name, 0) + times
    return {
        "wanted": count,
        "connected": sum(answer["connected"] for answer in answers),
        "join_seconds": round(time.monotonic() - started, 1),
        "errors": errors,
    }


def run_locust(args, host: str, fixtures: Path, workdir: Path) -> dict:
    command = [
        sys.executable, "-m", "locust", "-f", str(USERS), "--headless", "--host", host,
        "--users", str(args.sellers + args.shoppers), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.time}s", "--sellers", str(args.sellers),
        "--shoppers", str(args.shoppers), "--csv", str(workdir / "locust"), "--only-summary",
        "--stop-timeout", "10", "Seller", "Shopper",
    ]  # fmt: skip
    env = {**os.environ, "LOADTEST_FIXTURES": str(fixtures), "PYTHONPATH": str(ROOT)}
    with (workdir / "locust.log").open("ab") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    result = summary(workdir / "locust_stats.csv")
    result["total"]["rps"] = round(result["total"]["requests"] / args.time, 1)
    return result


def cpu_of(processes: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each group of processes (with their children)."""
    return {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Cores each group kept busy between two `cpu_of` readings `seconds` apart."""
    return {name: round((after[name] - before[name]) / seconds, 2) for name in after}


async def under_load(
    args, host: str, fixtures: dict, workdir: Path, stack_pids: dict[str, list[int]]
) -> dict:
    """Idle sockets in; their memory and idle CPU measured; Locust's run, with the
    cores each part of the machine's work used; the idle sockets counted and out."""
    fixtures_path = workdir / "fixtures.json"
    fixtures_path.write_text(json.dumps(fixtures))
    workers = [await Worker.start(CROWD) for _ in range(min(4, -(-args.idle // IDLE_PER_WORKER)))]
    processes = {**stack_pids, "idle clients": [worker.process.pid for worker in workers]}
    web = stack_pids.get("web", [])
    try:
        rss_before = sum(map(server_memory, web))
        idle = {"wanted": 0, "connected": 0}
        if workers:
            progress(f"{args.idle} idle sockets joining the stall rooms")
            idle = await idle_sockets(host, fixtures["stalls"], args.idle, workers)
            await asyncio.sleep(5)  # the rooms' pulses settle
        rss_after = sum(map(server_memory, web))
        if web and idle["connected"]:
            idle["server_rss_mb"] = [round(rss_before / 2**20), round(rss_after / 2**20)]
            idle["kb_per_socket"] = round((rss_after - rss_before) / idle["connected"] / 1024, 1)
        quiet_start = cpu_of(processes)
        await asyncio.sleep(IDLE_WINDOW)
        idle["cores_while_only_idle"] = cores_used(quiet_start, cpu_of(processes), IDLE_WINDOW)
        progress(f"Locust: {args.sellers} sellers and {args.shoppers} shoppers for {args.time} s")
        loop = asyncio.get_running_loop()
        busy_start, children_start = cpu_of(processes), _children_cpu()
        locust = await loop.run_in_executor(None, run_locust, args, host, fixtures_path, workdir)
        cores = cores_used(busy_start, cpu_of(processes), args.time)
        cores["locust"] = round((_children_cpu() - children_start) / args.time, 2)
        if workers:
            still = [await worker.call("frames_so_far") for worker in workers]
            idle["still_open_at_end"] = sum(answer["open"] for answer in still)
        return {"locust": locust, "idle": idle, "cores_under_load": cores}
    finally:
        for worker in workers:
            await worker.stop()


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (Locust, once it has)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(result: dict, args) -> dict:
    """The exit criteria, judged: the sellers whose stall's socket joined (`live` in the
    history), the shoppers with an acknowledged action, the history check, the idle
    sockets."""
    check_result = result["history"]
    joined = {"sellers": result["sellers_live"], "shoppers": result["active_shoppers"]}
    criteria = {
        "sellers_live": joined["sellers"] >= min(args.sellers, EXIT["sellers"]),
        "buyers_active": joined["shoppers"] >= min(args.shoppers, EXIT["shoppers"]),
        "completed_orders": check_result["completed_orders"] >= args.min_completed,
        "nothing_lost_one_winner": not {
            k: v for k, v in check_result["violations"].items() if k != "too_few_completed"
        },
        "idle_sockets": result["idle"]["connected"] >= args.idle,
    }
    return {"joined": joined, "criteria": criteria, "met": all(criteria.values())}


def print_report(result: dict) -> None:
    rows = result["locust"]["requests"]
    print(f"\n{'action':<24}{'requests':>9}{'fails':>7}{'req/s':>7}{'p50':>7}{'p95':>7}{'p99':>7}")
    for name, row in [*sorted(rows.items()), ("total", result["locust"]["total"])]:
        print(
            f"{name:<24}{row['requests']:>9}{row['failures']:>7}{row['rps']:>7}"
            f"{row['p50_ms']:>7.0f}{row['p95_ms']:>7.0f}{row['p99_ms']:>7.0f}"
        )
    idle = result["idle"]
    print(f"\nidle sockets: {json.dumps(idle)}")
    print(f"cores used under load: {json.dumps(result['cores_under_load'])}")
    print(f"history: {json.dumps(result['history'])}")
    print(f"criteria: {json.dumps(result['exit'])}")
    print(f"load average: {result['load_average']}")


def run(args, workdir: Path) -> dict:
    env = server_env(database_url=os.environ["DATABASE_URL"], media_root=workdir / "media")
    env.update(WEB_CONCURRENCY=str(args.web_processes), BAZAAR_DEMO_MARKET="0")
    raise_open_files(2 * args.idle + 4096)
    since = datetime.now(UTC).isoformat()
    with ExitStack() as stack:
        stack_pids: dict[str, list[int]] = {}
        if args.host:
            host = args.host.rstrip("/")
        else:
            progress("migrating and seeding the database; starting web, worker and beat")
            migrate(env)
        progress(f"seeding {args.sellers} sellers and {args.shoppers} buyers")
        fixtures = seed(env, args.sellers, args.shoppers)
        fixtures.update(
            history=str(workdir / "history.jsonl"), auction_seconds=args.auction_seconds
        )
        if not args.host:
            host, web = stack.enter_context(
                daphne_process(
                    env=env,
                    log_path=workdir / "web.log",
                    processes=args.web_processes,
                    server=args.server,
                )
            )
            stack_pids["web"] = [web.pid]
            for role in ("worker", "beat"):
                log_path = workdir / f"{role}.log"
                process = stack.enter_context(celery_process(role, env=env, log_path=log_path))
                stack_pids[role] = [process.pid]
        result = {"load_average_start": os.getloadavg(), "host": host}
        result.update(asyncio.run(under_load(args, host, fixtures, workdir, stack_pids)))
        progress(f"load over; {args.settle} s for the last auctions to close and be charged")
        time.sleep(args.settle)
    history = read_history(Path(fixtures["history"]))
    people = {line.get("bidder") or line.get("author") or line.get("buyer") or line.get("actor")
              for line in history}  # fmt: skip
    result["active_shoppers"] = len(people & set(fixtures["handles"].values()))
    result["sellers_live"] = len({line["seller"] for line in history if line["kind"] == "live"})
    result["history"] = check(
        history,
        stored_state(os.environ["DATABASE_URL"], history, since=since),
        min_completed=args.min_completed,
    )
    result["load_average"] = os.getloadavg()
    result["exit"] = report(result, args)
    result["settings"] = {
        key: getattr(args, key)
        for key in (
            "sellers",
            "shoppers",
            "idle",
            "time",
            "auction_seconds",
            "web_processes",
            "server",
        )
    }
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        result = run(args, args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="bazaar-marketday-") as tmp:
            result = run(args, Path(tmp))
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print_report(result)
    print(json.dumps(result))
    return 0 if result["exit"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
