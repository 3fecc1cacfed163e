"""Big shows: N watchers in one stall room on two web processes, PostgreSQL and Redis.

    .venv/bin/python bench/crowd.py                       # N = 1,000 and 5,000 (< 3 min)
    .venv/bin/python bench/crowd.py --n 1000,5000,10000 --idle 60   # the full run

Each watcher does what an open stall page does and nothing more (bench/_crowd_clients.py:
the room's socket, the document sync, a heartbeat every `heartbeat_seconds`, and the
socket of the auction shown in the stall). Per N it reports: sockets opened per second
(room sockets joined and synced) and the server's CPU time per watcher joining (both
sockets; it depends less on the machine's load), server memory per watcher, server
CPU (% of one core) and frames per second while nobody acts (over --idle seconds:
every watcher's two sockets beat at random phases, so the window samples their pings;
--idle 60, the servers' ping interval, also holds any ping a server sends a socket
silent for a minute, as the full run measures),
the time for a chat message and for a bid to reach each watcher (p50, p95 over every
watcher and round; `all` is the median round's last watcher), the grid page's p50
with the crowd beside the empty-room p50 of the same run and their ratio, and the
crowd leaving at once (handlers the server killed for running past its shutdown
timeout, from its log).
Aims at 10,000: idle CPU < 10%, chat and bid p95 < 1 s, grid ratio <= 1.5, joining
>= 500/s.

Ends with one line of JSON.
"""

import asyncio
import json
import os
import re
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_postgres_server, add_redis, add_server, bench_main, parser_for  # noqa: E402
from bench._clients import Client  # noqa: E402
from bench._report import load_average, percentile, progress  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database_name,
    clear_redis_cache,
    cpu_seconds,
    daphne_process,
    django_json,
    migrate,
    postgres_database,
    raise_open_files,
    scratch_dir,
    server_env,
)
from bench._workers import Worker, gather_calls  # noqa: E402
from bench._ws import connect, join, ws_url  # noqa: E402
from bench.auction import seed_market  # noqa: E402

CLIENT_SCRIPT = ROOT / "bench" / "_crowd_clients.py"
IDLE_SECONDS = 20.0
KILLED = "took too long to shut down and was killed"
KILLED_PATH = re.compile(r"path=b'(/ws/[a-z]+/)")

_STALL_SCRIPT = """
import json, sys
import django
django.setup()
from auctions.models import Auction
auction = Auction.objects.select_related("item__stall__section").get(public_id=sys.argv[1])
section = auction.item.stall.section
print(json.dumps({"stall": auction.item.stall.public_id, "x": section.x, "y": section.y}))
"""


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--n", default="1000,5000", help="watchers per run (comma-separated)")
    parser.add_argument("--servers", type=int, default=2, help="web processes (default 2; >= 2)")
    parser.add_argument("--workers", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--concurrency", type=int, default=400, help="joins in flight in all")
    parser.add_argument(
        "--settle",
        type=float,
        default=11.0,
        help="seconds after the joins before measuring (a big room's count may lag 10 s); "
        "at least one heartbeat, whose pongs catch every watcher up with the author's join",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=IDLE_SECONDS,
        help="seconds measured idle (--idle 60, the servers' ping interval, holds one of "
        "each socket's beats and any server ping wherever their phase falls)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="chat messages and bids each")
    parser.add_argument("--grid", type=int, default=30, help="grid requests per measurement")
    parser.add_argument("--no-auction", action="store_true", help="room sockets only")
    add_server(parser)
    add_postgres_server(parser)
    add_redis(parser)
    args = parser.parse_args(argv)
    if not all(n.strip().isdigit() and int(n) > 0 for n in args.n.split(",")):
        parser.error("--n: positive numbers of watchers, comma-separated")
    if args.servers < 2 or args.rounds < 1 or args.workers < 1:
        parser.error(
            "--servers: at least 2 (the audience spreads over processes); "
            "--rounds and --workers: at least 1"
        )
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = [int(n) for n in args.n.split(",")]
    # Two sockets a watcher in the clients and the servers, and room for everything else.
    raise_open_files(2 * max(sizes) + 4096)
    return bench_main(lambda _started: run(args, sizes), record_elapsed=True)


def server_memory(pid: int) -> int:
    """Resident bytes of a process and its children."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) * 1024
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return total + sum(server_memory(int(child)) for child in children)


def grid_p50(base_url: str, path: str, count: int) -> float:
    with Client(base_url) as client:
        client.get(path)
        times = [client.get(path).seconds for _ in range(count)]
    return round(percentile(times, 0.5) * 1000, 1)


def run(args, sizes: list[int]) -> dict:
    results = {"load_average_start": os.getloadavg(), "server": args.server, "runs": []}
    with scratch_dir("bazaar-crowd-") as workdir, ExitStack() as stack:
        database_url = stack.enter_context(
            postgres_database(args.postgres, bench_database_name("crowd"))
        )
        env = server_env(database_url=database_url, media_root=workdir / "media")
        env["REDIS_URL"] = args.redis
        clear_redis_cache(args.redis)
        progress("migrating a fresh PostgreSQL database and seeding a stall with an auction")
        migrate(env)
        seed = seed_market(env, 1, ["1:socket"], f"crowd{os.getpid()}")
        auction = seed["auctions"]["1:socket"]["public_id"]
        where = django_json(_STALL_SCRIPT, auction, env=env)
        log_path = workdir / "server.log"
        base_url, process = stack.enter_context(
            daphne_process(env=env, log_path=log_path, processes=args.servers, server=args.server)
        )
        grid_path = f"/market/{where['x']}/{where['y']}/"
        progress(f"{args.servers} {args.server} processes up; the grid page empty")
        results["grid_empty_p50_ms"] = grid_p50(base_url, grid_path, args.grid)
        target = {
            "base_url": base_url,
            "room_url": ws_url(base_url, f"/ws/stalls/{where['stall']}/"),
            "auction_url": "" if args.no_auction else ws_url(base_url, f"/ws/auctions/{auction}/"),
            "cookie": f"{seed['cookie']}={seed['sessions'][0]}",
            "grid_path": grid_path,
            "log_path": log_path,
            "pid": process.pid,
            "bid_cents": 100,
        }
        for n in sizes:
            result = asyncio.run(measure(n, target, args))
            result["grid_empty_p50_ms"] = results["grid_empty_p50_ms"]
            result["grid_ratio"] = round(
                result["grid_crowd_p50_ms"] / results["grid_empty_p50_ms"], 2
            )
            print_run(result)
            results["runs"].append(result)
    return results


async def measure(n: int, target: dict, args) -> dict:
    started = time.monotonic()
    pid = target["pid"]
    result = {"n": n, "loadavg_1min": [load_average()]}
    memory_before = server_memory(pid)
    cpu_before = cpu_seconds(pid)
    workers = [await Worker.start(CLIENT_SCRIPT) for _ in range(args.workers)]
    origin = target["base_url"]
    author = bidder = None
    try:
        progress(f"N={n}: {n} watchers joining")
        shares = [n // len(workers) + (i < n % len(workers)) for i in range(len(workers))]
        joined = await asyncio.gather(
            *(
                worker.call(
                    "connect",
                    room_url=target["room_url"],
                    auction_url=target["auction_url"],
                    origin=origin,
                    n=share,
                    concurrency=max(1, args.concurrency // len(workers)),
                )
                for worker, share in zip(workers, shares, strict=True)
            )
        )
        connected = sum(j["connected"] for j in joined)
        result["join_cpu_ms_per_watcher"] = round(
            1000 * (cpu_seconds(pid) - cpu_before) / max(connected, 1), 2
        )
        room_seconds = max(j["room_seconds"] for j in joined)
        result["join_client_cpu_ms_per_watcher"] = round(
            1000 * clients_cpu(workers) / max(connected, 1), 2
        )
        result.update(
            connected=connected,
            join_errors={k: v for j in joined for k, v in j["errors"].items()},
            join_seconds=room_seconds,
            joins_per_second=round(connected / room_seconds, 1) if room_seconds else None,
        )
        heartbeat = max(j["heartbeat"] for j in joined)
        settle = max(args.settle, heartbeat + 1.0)
        result["heartbeat_seconds"] = heartbeat
        progress(f"N={n}: {connected} joined in {room_seconds:.1f} s; settling {settle:.0f} s")
        author = await join(target["room_url"], origin=origin, cookie=target["cookie"])
        if target["auction_url"]:
            bidder = await connect(target["auction_url"], origin=origin, cookie=target["cookie"])
        await asyncio.sleep(settle)
        result["memory_per_watcher_kb"] = round(
            (server_memory(pid) - memory_before) / max(connected, 1) / 1024, 1
        )
        result.update(await idle(workers, pid, args.idle))
        progress(f"N={n}: idle {result['idle_cpu_percent']}% CPU, {result['idle_fps']} frames/s")
        result["grid_crowd_p50_ms"] = await asyncio.to_thread(
            grid_p50, target["base_url"], target["grid_path"], args.grid
        )
        result["chat"] = await chat_rounds(workers, author, connected, args.rounds)
        if target["auction_url"]:
            result["bid"] = await bid_rounds(workers, bidder, connected, args.rounds, target)
        result.update(await leave(workers, pid, target["log_path"]))
    finally:
        for socket in (author, bidder):
            if socket is not None:
                socket.transport.abort()
        await asyncio.gather(*(worker.stop() for worker in workers))
    result["loadavg_1min"].append(load_average())
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


def clients_cpu(workers: list[Worker]) -> float:
    """CPU seconds the client worker processes have used so far: the load generator
    shares the cores with the servers, so its cost bounds the join rate measured."""
    return sum(cpu_seconds(worker.process.pid) for worker in workers)


async def idle(workers: list[Worker], pid: int, seconds: float) -> dict:
    before = await gather_calls(workers, "frames_so_far")
    cpu, client_cpu = cpu_seconds(pid), clients_cpu(workers)
    await asyncio.sleep(seconds)
    after = await gather_calls(workers, "frames_so_far")
    used = cpu_seconds(pid) - cpu
    frames = sum(a["frames"] - b["frames"] for a, b in zip(after, before, strict=True))
    return {
        "idle_cpu_percent": round(100 * used / seconds, 1),
        "idle_client_cpu_percent": round(100 * (clients_cpu(workers) - client_cpu) / seconds, 1),
        "idle_fps": round(frames / seconds, 1),
        "open_after_idle": sum(a["open"] for a in after),
    }


def spread_ms(times: list[float], sent: float) -> list[float]:
    return [(at - sent) * 1000 for at in times]


def delivery(rounds: list[list[float]], expected: int) -> dict:
    """Per watcher and round (p50, p95), the median round's last watcher, and how many
    deliveries never came."""
    pooled = [ms for times in rounds for ms in times]
    last = [max(times) for times in rounds if times]
    return {
        "p50_ms": round(percentile(pooled, 0.5)) if pooled else None,
        "p95_ms": round(percentile(pooled, 0.95)) if pooled else None,
        "all_ms": round(percentile(last, 0.5)) if last else None,
        "missing": sum(expected - len(times) for times in rounds),
    }


async def chat_rounds(workers, author, expected: int, rounds: int) -> dict:
    """A chat message (the document's `doc` frame) to every watcher, `rounds` times,
    2.5 s apart (the chat's rate limit is 5 messages in 10 s)."""
    times = []
    for number in range(rounds):
        sent = time.time()
        await gather_calls(workers, "mark_chat", at=sent)
        text = f"crowd bench {number} {secrets.token_hex(4)}"
        await author.send(json.dumps({"type": "chat", "text": text, "client_id": text}))
        times.append(spread_ms(await collect(workers, "chat"), sent))
        await asyncio.sleep(max(0.0, 2.5 - (time.time() - sent)))
    return delivery(times, expected)


async def collect(workers, kind: str, timeout: float = 15.0) -> list[float]:
    """Every open watcher's arrival time of the marked event (waiting up to `timeout`)."""
    shares = await gather_calls(workers, "frames_so_far")
    opened = [share["open"] for share in shares]
    answers = await asyncio.gather(
        *(
            worker.call("arrivals", kind=kind, expected=count, timeout=timeout)
            for worker, count in zip(workers, opened, strict=True)
        )
    )
    return [at for answer in answers for at in answer["times"]]


async def bid_rounds(workers, bidder, expected: int, rounds: int, target: dict) -> dict:
    """A bid over the auction's socket; timed from its send to each watcher's first frame
    with the new version. Amounts keep rising from one N to the next."""
    version = 0
    times = []

    async def acknowledged(key: str) -> dict:
        while True:
            raw = await bidder.recv()
            frame = json.loads(raw)
            if frame.get("type") == "bid_ack" and frame.get("key") == key:
                return frame

    for _ in range(rounds):
        await gather_calls(workers, "mark_bid", version=version)
        key = secrets.token_hex(8)
        sent = time.time()
        target["bid_cents"] += 1000
        await bidder.send(json.dumps({"bid": target["bid_cents"], "key": key}))
        ack = await asyncio.wait_for(acknowledged(key), 30)
        if not ack.get("ok"):
            raise RuntimeError(f"the bench's bid was refused: {ack}")
        version = max(version, int(ack.get("version") or 0))
        times.append(spread_ms(await collect(workers, "bid"), sent))
        await asyncio.sleep(0.5)
    return delivery(times, expected)


async def leave(workers: list[Worker], pid: int, log_path: Path) -> dict:
    """Every watcher closes at once; the server's CPU until it is quiet again, and the
    handlers it killed for running past its shutdown timeout."""
    killed_before = killed_by_path(log_path)
    cpu = cpu_seconds(pid)
    started = time.monotonic()
    closed = await gather_calls(workers, "leave")
    await asyncio.sleep(5)
    return {
        "leave_seconds": max(c["seconds"] for c in closed),
        "leave_cpu_seconds": round(cpu_seconds(pid) - cpu, 2),
        "leave_window_s": round(time.monotonic() - started, 1),
        "killed_handlers": {
            path: count - killed_before.get(path, 0)
            for path, count in killed_by_path(log_path).items()
            if count > killed_before.get(path, 0)
        },
    }


def killed_by_path(log_path: Path) -> dict[str, int]:
    """Handlers the server killed for running past its shutdown timeout, by socket kind."""
    counts: dict[str, int] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if KILLED in line:
            found = KILLED_PATH.search(line)
            kind = found.group(1) if found else "other"
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def print_run(result: dict) -> None:
    chat, bid = result["chat"], result.get("bid", {})
    print(
        f"N={result['n']}: joined {result['connected']} at {result['joins_per_second']}/s "
        f"({result['join_cpu_ms_per_watcher']} ms of server CPU each, "
        f"{result['join_client_cpu_ms_per_watcher']} ms of the clients'); "
        f"{result['memory_per_watcher_kb']} KB a watcher; idle {result['idle_cpu_percent']}% "
        f"of a core, {result['idle_fps']} frames/s; chat p50/p95 {chat['p50_ms']}/"
        f"{chat['p95_ms']} ms (missing {chat['missing']}); bid p50/p95 {bid.get('p50_ms')}/"
        f"{bid.get('p95_ms')} ms (missing {bid.get('missing')}); grid p50 "
        f"{result['grid_crowd_p50_ms']} ms against {result['grid_empty_p50_ms']} ms empty "
        f"({result['grid_ratio']}x); left in {result['leave_seconds']} s, "
        f"handlers killed: {result['killed_handlers'] or 'none'}"
    )


if __name__ == "__main__":
    sys.exit(main())
