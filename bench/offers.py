"""Offers benchmark: K buyer/seller pairs bargaining at once on a real server, against a bare
HTTP POST round trip on the same server in the same run.

    .venv/bin/python bench/offers.py                      # K = 50 pairs, 5 rounds each
    .venv/bin/python bench/offers.py --pairs 10 --rounds 5
    .venv/bin/python bench/offers.py --think 2             # people who read before answering
    .venv/bin/python bench/offers.py --server-processes 2   # daphne per core, one socket
    .venv/bin/python bench/offers.py --server uvicorn       # gunicorn with uvicorn workers
    .venv/bin/python bench/offers.py --via http             # only the POSTs (default: both)
    .venv/bin/python bench/offers.py --postgres postgres://postgres@127.0.0.1:5432/postgres \\
        --redis redis://127.0.0.1:6379/10

The benchmark makes a fresh PostgreSQL database (dropped at the end), seeds K sellers
(each with a stall and one item per round) and K buyers with signed-in sessions, and
starts daphne with Redis as channel layer and cache. Each buyer and each seller holds
the stall's socket (`/ws/stalls/<ulid>/`, where private `offer` frames arrive) and one
keep-alive HTTP connection, all in this process's event loop.

One round of a pair, timed from the buyer's first POST:
  offer   buyer POSTs an offer (JSON, idempotency key)  -> the seller's socket gets `offer`/new
  counter seller POSTs a counter                        -> the buyer's socket gets `offer`/countered
  accept  buyer POSTs an acceptance                     -> the buyer's socket gets `offer`/accepted
The round trip is the sum of the three legs; each leg is reported too. --via says how the
actions are sent: `http` (the POSTs above) and `socket` (each action an `offer` intent on the
person's stall socket, answered by `offer_ack` after commit; the same legs), one phase after
the other on the same server, each with its own items, times and server CPU. All K pairs run
one round at a time, each pair after a staggered start. By default each person acts the
moment the other's frame arrives: a throughput test, where K pairs queue behind each
other. --think T makes each person pause 0.5-1.5 x T seconds before acting, as people
do; the pauses are outside the legs.

Baseline: a bare POST round trip on the idle server. Each of the 2K clients in turn
POSTs to /healthz/ (the trivial view, through the same middleware, session and CSRF
included) on its own connection, --baseline-posts times, one request at a time.
Then IDLE_SECONDS with every socket open and nobody acting: the server's CPU meanwhile
(its pulse, the sockets' heartbeats) is what it spends whoever acts; with people
thinking between actions that is spread over few of them, so each path's server CPU
per action is also given net of it.
Server CPU is also weighed window by window: every pair's round is one window, between
two windows of bare POSTs (WINDOW_POSTS from each client, after a pause), and each
window's CPU per action is given in the bare POSTs around it. The medians over the
windows moved less from run to run than the ratio to one baseline taken before the
whole run, which followed the machine's load (issue 15, session offers8).
Ratios: round trip p50 and p95 / bare POST p50, and per leg (one POST plus one socket
delivery); the issue's 50 ms is also given in bare POSTs, the unit that carries from
one machine to another. The playbook asks a round trip under 300 ms; the issue aims
at p95 under 50 ms with 50 pairs. Times are reported, never asserted. The last line of
output is JSON.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_postgres_server, add_redis, add_server, bench_main, parser_for  # noqa: E402
from bench._clients import AsyncHttp  # noqa: E402
from bench._report import percentiles_ms, progress, ratio  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database_name,
    celery_worker,
    cpu_seconds,
    daphne_process,
    django_json,
    migrate,
    postgres_database,
    redis_cache_cleared,
    scratch_dir,
    server_env,
    signed_in_sessions,
)
from bench._windows import windows_summary, worker_cpu  # noqa: E402
from bench._ws import abort, join, ws_url  # noqa: E402

OFFER_FRAME = '{"type": "offer"'
LEGS = ("offer", "counter", "accept")
VIAS = ("http", "socket")
AIM_P95_MS = 50
WINDOW_POSTS = 3  # bare POSTs per client in each window between rounds
# A pause before each window of bare POSTs: the round's late frames and the worker's
# jobs land before it, not in it (they are the actions' work).
SETTLE_SECONDS = 1.0
IDLE_SECONDS = 5.0  # the idle server measured between the baseline and the bargaining

_SEED_SCRIPT = """
import json, math, sys
import django
django.setup()
from django.conf import settings
from accounts.models import User
from market.services import sections_ensure
from stalls.services import item_create, seller_register, stall_create
pairs, rounds = int(sys.argv[1]), int(sys.argv[2])
sections_ensure(coordinates=[(x, 0) for x in range(math.ceil(pairs / 9))])
out = []
for n in range(pairs):
    seller = User.objects.get(handle=f"seller{n}")
    seller_register(user=seller, legal_name=f"Seller {n}", country="US")
    stall = stall_create(user=seller, name=f"Stall {n}", description="",
                         section_x=n // 9, section_y=0, slot=n % 9)
    items = [item_create(actor=seller, stall=stall, title=f"Lamp {r}", description="",
                         price_cents=5000, currency=settings.MARKET_CURRENCY, inventory=1).public_id
             for r in range(rounds)]
    out.append({"stall": stall.public_id, "items": items})
print(json.dumps(out))
"""


ACK_FRAME = '{"type": "offer_ack"'
DOC_FRAME = '{"type": "doc"'


class Socket:
    """One stall socket; `offer` frames are handed to whoever waits for them, and
    `offer_ack` frames to whoever sent the intent with that key."""

    def __init__(self):
        self.socket = None
        self.waiting: dict[tuple[str, str], asyncio.Future] = {}
        self.early: dict[tuple[str, str], float] = {}
        self.acks: dict[str, asyncio.Future] = {}
        self.docs: list[float] = []  # when each `doc` frame (the stall's ladder) arrived
        self.task = None

    async def open(self, url: str, origin: str, cookie: str) -> None:
        self.socket = await join(url, origin=origin, cookie=cookie)
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.socket:
                if type(raw) is str and raw.startswith(ACK_FRAME):
                    ack = json.loads(raw)
                    future = self.acks.pop(ack["key"], None)
                    if future is not None and not future.done():
                        future.set_result(ack)
                    continue
                if type(raw) is str and raw.startswith(DOC_FRAME):
                    self.docs.append(time.perf_counter())
                if type(raw) is not str or not raw.startswith(OFFER_FRAME):
                    continue
                now = time.perf_counter()
                frame = json.loads(raw)
                key = (frame["event"], frame["offer"]["id"])
                future = self.waiting.pop(key, None)
                if future is None:
                    self.early[key] = now  # arrived before the POST's answer did
                elif not future.done():
                    future.set_result(now)
        except ConnectionClosed:
            pass

    async def act(self, intent: dict, timeout: float = 60) -> dict:
        """Send an `offer` intent; its `offer_ack` (a refusal raises)."""
        future = asyncio.get_running_loop().create_future()
        self.acks[intent["key"]] = future
        await self.socket.send(json.dumps({"type": "offer", **intent}))
        ack = await asyncio.wait_for(future, timeout)
        if not ack["ok"]:
            raise RuntimeError(f"offer intent refused: {ack}")
        return ack

    async def seen(self, event: str, offer_id: str, timeout: float = 60) -> float:
        """When the `event` frame for `offer_id` arrived (perf_counter)."""
        key = (event, offer_id)
        if key in self.early:
            return self.early.pop(key)
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return await asyncio.wait_for(future, timeout)

    async def doc_after(self, started: float, timeout: float = 10) -> float | None:
        """When the first `doc` frame after `started` arrived (None if none in `timeout`)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            arrived = [at for at in self.docs if at > started]
            if arrived:
                return arrived[0]
            await asyncio.sleep(0.005)
        return None

    async def close(self) -> None:
        if self.socket:
            abort([self.socket])
        if self.task:
            self.task.cancel()


class Pair:
    def __init__(self, spec: dict, base_url: str, cookie_name: str):
        self.spec = spec
        self.buyer_cookie = f"{cookie_name}={spec['buyer']}"
        self.seller_cookie = f"{cookie_name}={spec['seller']}"
        self.buyer_http = AsyncHttp(base_url, self.buyer_cookie)
        self.seller_http = AsyncHttp(base_url, self.seller_cookie)
        self.buyer_socket, self.seller_socket = Socket(), Socket()

    async def open(self, base_url: str) -> None:
        ws = ws_url(base_url, f"/ws/stalls/{self.spec['stall']}/")
        await self.buyer_http.open()
        await self.seller_http.open()
        await self.buyer_socket.open(ws, base_url, self.buyer_cookie)
        await self.seller_socket.open(ws, base_url, self.seller_cookie)

    async def _action(self, via: str, side: str, action: str, target: str, **typed) -> dict:
        """One action by the buyer or the seller, as a POST or as a socket intent; the
        offer as the answer gives it."""
        key = typed.pop("key")
        if via == "socket":
            socket = self.buyer_socket if side == "buyer" else self.seller_socket
            intent = {"action": action, "id": target, "key": key, **typed}
            return (await socket.act(intent))["offer"]
        http = self.buyer_http if side == "buyer" else self.seller_http
        path = f"/items/{target}/offers/new/" if action == "make" else f"/offers/{target}/{action}/"
        return (await http.post_json(path, {**typed, "idempotency_key": key}))["offer"]

    async def round(self, number: int, think: float, via: str) -> dict:
        """One bargaining round. With `think`, each person pauses before answering
        (uniformly 0.5-1.5 x think, as people read before they act); the pauses are not
        part of any leg, so the round trip is the time the market kept them waiting."""

        async def pause() -> None:
            if think:
                await asyncio.sleep(think * random.uniform(0.5, 1.5))

        item = self.spec["items"][number]
        key = f"bench{number}{self.spec['stall']}"
        await pause()
        started = time.perf_counter()
        offer = await self._action(via, "buyer", "make", item, amount="30", key=key + "o")
        offer_answered = time.perf_counter()
        offered_at = await self.seller_socket.seen("new", offer["id"])
        await pause()
        counter_started = time.perf_counter()
        counter = await self._action(
            via, "seller", "counter", offer["id"], amount="40", key=key + "c"
        )
        counter_answered = time.perf_counter()
        countered_at = await self.buyer_socket.seen("countered", counter["id"])
        await pause()
        accept_started = time.perf_counter()
        await self._action(via, "buyer", "accept", counter["id"], key=key + "a")
        accept_answered = time.perf_counter()
        accepted_at = await self.buyer_socket.seen("accepted", counter["id"])
        await self.seller_socket.seen("accepted", counter["id"])
        # The stall's public ladder: each action's `doc` frame on the buyer's socket (only
        # this pair acts in its stall; the next action starts a pause later).
        starts = (started, counter_started, accept_started)
        ladder = [await self.buyer_socket.doc_after(start) for start in starts]
        legs = {
            "offer": offered_at - started,
            "counter": countered_at - counter_started,
            "accept": accepted_at - accept_started,
        }
        return {
            "round_trip": sum(legs.values()),
            **legs,
            "answered": [
                offer_answered - started,
                counter_answered - counter_started,
                accept_answered - accept_started,
            ],
            "ladder": [at - start for at, start in zip(ladder, starts, strict=True) if at],
        }

    async def bare_posts(self, count: int) -> list[float]:
        times = []
        for http in (self.buyer_http, self.seller_http):
            for _ in range(count):
                started = time.perf_counter()
                await http.post_ok("/healthz/", {"ping": "1"})
                times.append(time.perf_counter() - started)
        return times

    async def close(self) -> None:
        for http in (self.buyer_http, self.seller_http):
            http.close()
        await self.buyer_socket.close()
        await self.seller_socket.close()


async def measure(
    base_url: str,
    setup: dict,
    rounds: int,
    baseline_posts: int,
    think: float,
    vias: list[str],
    server_pid: int,
    server_name: str,
    worker_pid: int | None = None,
) -> dict:
    pairs = [Pair(spec, base_url, setup["cookie"]) for spec in setup["pairs"]]
    progress(f"opening {len(pairs) * 2} sockets and connections")
    for batch in range(0, len(pairs), 10):
        await asyncio.gather(*(pair.open(base_url) for pair in pairs[batch : batch + 10]))

    progress("baseline: bare POST /healthz/, one request at a time")
    await asyncio.gather(*(pair.bare_posts(2) for pair in pairs))  # warm up
    cpu_before = cpu_seconds(server_pid)
    bare = [t for pair in pairs for t in await pair.bare_posts(baseline_posts)]
    bare_cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / len(bare)
    bare_q = percentiles_ms(bare, 2)
    # What the server spends with everyone connected and nobody acting (the pulse, the
    # sockets' heartbeats): with people thinking between actions it is spread over few
    # actions, so each action's own cost is also given net of it.
    progress(f"idle: {IDLE_SECONDS:g} s with every socket open and nobody acting")
    cpu_before, worker_before = cpu_seconds(server_pid), worker_cpu(worker_pid)
    await asyncio.sleep(IDLE_SECONDS)
    idle_cpu_per_second = (cpu_seconds(server_pid) - cpu_before) / IDLE_SECONDS
    worker_idle_percent = (worker_cpu(worker_pid) - worker_before) * 100 / IDLE_SECONDS
    figures = {
        "pairs": len(pairs),
        "rounds": rounds,
        "think_seconds": think,
        "server": server_name,
        "server_cpu_ms_per_bare_post": round(bare_cpu_ms, 2),
        "server_idle_cpu_percent": round(idle_cpu_per_second * 100, 2),
        "worker": worker_pid is not None,
        "worker_idle_cpu_percent": round(worker_idle_percent, 2),
        "bare_post": bare_q,
        "aim_in_bare_posts": ratio(AIM_P95_MS, bare_q["p50"], 1),
    }

    for phase, via in enumerate(vias):
        progress(f"bargaining over {via}: {len(pairs)} pairs x {rounds} rounds, a window each")
        phase_run = await bargain_in_windows(
            pairs, via, phase * rounds, rounds, think, server_pid, worker_pid
        )
        figures[via] = {
            **phase_figures(
                phase_run["results"],
                phase_run["elapsed"],
                phase_run["server_cpu"],
                bare_q,
                bare_cpu_ms,
                idle_cpu_per_second,
            ),
            **windows_summary(phase_run["windows"], idle_cpu_per_second),
        }
    for pair in pairs:
        await pair.close()
    return figures


async def bare_cpu_window(pairs: list[Pair], posts: int, server_pid: int) -> float:
    """Server CPU per bare POST over one window: each client `posts` times, one request
    at a time."""
    await asyncio.sleep(SETTLE_SECONDS)
    cpu_before, count = cpu_seconds(server_pid), 0
    for pair in pairs:
        count += len(await pair.bare_posts(posts))
    return (cpu_seconds(server_pid) - cpu_before) * 1000 / count


async def bargain_in_windows(
    pairs: list[Pair],
    via: str,
    first: int,
    rounds: int,
    think: float,
    server_pid: int,
    worker_pid: int | None,
) -> dict:
    """Every pair's rounds over `via`, one round of all pairs per window, each window
    between two windows of bare POSTs: the machine's load moves the CPU of both from
    one minute to the next, so each window's actions are weighed against the POSTs
    just around them, not against a baseline taken before the whole run."""

    async def bargain(index: int, pair: Pair, number: int) -> dict:
        await asyncio.sleep(index * 0.002)  # a staggered start, not one burst
        return await pair.round(number, think, via)

    results, windows, elapsed, server_cpu = [], [], 0.0, 0.0
    bare_before = await bare_cpu_window(pairs, WINDOW_POSTS, server_pid)
    for number in range(first, first + rounds):
        started, cpu_before = time.perf_counter(), cpu_seconds(server_pid)
        worker_before = worker_cpu(worker_pid)
        window = await asyncio.gather(*(bargain(i, p, number) for i, p in enumerate(pairs)))
        seconds, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - cpu_before
        worker_spent = worker_cpu(worker_pid) - worker_before
        bare_after = await bare_cpu_window(pairs, WINDOW_POSTS, server_pid)
        results += window
        elapsed, server_cpu = elapsed + seconds, server_cpu + cpu
        windows.append(
            {
                "seconds": seconds,
                "cpu": cpu,
                "actions": 3 * len(window),
                "bare_cpu_ms": (bare_before + bare_after) / 2,
                "worker_cpu": worker_spent,
            }
        )
        bare_before = bare_after
    return {"results": results, "elapsed": elapsed, "server_cpu": server_cpu, "windows": windows}


def phase_figures(
    results: list[dict],
    elapsed: float,
    server_cpu: float,
    bare_q: dict,
    bare_cpu_ms: float,
    idle_cpu_per_second: float,
) -> dict:
    """One path's figures, its times and CPU also in bare POSTs of the same run."""
    actions = 3 * len(results)
    figures = {
        "bargaining_seconds": round(elapsed, 2),
        "round_trips_per_second": round(len(results) / elapsed, 1),
        # What one action costs the server (its request, the frames it sends, the sockets).
        "server_cpu_ms_per_action": round(server_cpu * 1000 / actions, 1),
        "server_cpu_ms_per_action_net_of_idle": round(
            (server_cpu - idle_cpu_per_second * elapsed) * 1000 / actions, 1
        ),
        "round_trip": percentiles_ms([r["round_trip"] for r in results], 2),
    }
    for leg in LEGS:
        figures[leg] = percentiles_ms([r[leg] for r in results], 2)
    figures["action_answer"] = percentiles_ms([t for r in results for t in r["answered"]], 2)
    # An action's send to its `doc` frame: how late the stall's public ladder shows it.
    figures["ladder_frame"] = percentiles_ms([t for r in results for t in r["ladder"]], 2)
    figures["ratio_round_trip_p50"] = ratio(figures["round_trip"]["p50"], bare_q["p50"], 1)
    figures["ratio_round_trip_p95"] = ratio(figures["round_trip"]["p95"], bare_q["p50"], 1)
    # The measure of an action: its server time in bare POSTs (aim: at most 3).
    figures["action_cpu_in_bare_posts"] = ratio(figures["server_cpu_ms_per_action"], bare_cpu_ms, 1)
    figures["action_cpu_net_of_idle_in_bare_posts"] = ratio(
        figures["server_cpu_ms_per_action_net_of_idle"], bare_cpu_ms, 1
    )
    figures["ratio_leg_p50"] = {leg: ratio(figures[leg]["p50"], bare_q["p50"], 1) for leg in LEGS}
    return figures


def print_figures(figures: dict, vias: list[str]) -> None:
    bare = figures["bare_post"]
    print(
        f"\n{figures['pairs']} pairs x {figures['rounds']} rounds per path "
        f"(think {figures['think_seconds']:g} s; {figures['server']}); "
        f"bare POST /healthz/: n {bare['n']}, p50 {bare['p50']} ms, p95 {bare['p95']} ms, "
        f"{figures['server_cpu_ms_per_bare_post']} ms server CPU; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for via in vias:
        phase = figures[via]
        print(
            f"\nvia {via}: {phase['bargaining_seconds']} s "
            f"({phase['round_trips_per_second']} round trips/s); "
            f"server CPU {phase['server_cpu_ms_per_action']} ms per action "
            f"(x{phase['action_cpu_in_bare_posts']} bare POSTs; aim at most x3), "
            f"{phase['server_cpu_ms_per_action_net_of_idle']} ms net of the idle server's "
            f"{figures['server_idle_cpu_percent']}% of a core "
            f"(x{phase['action_cpu_net_of_idle_in_bare_posts']})"
        )
        windows = ", ".join(f"x{w['in_bare_posts']}" for w in phase["cpu_windows"])
        print(
            f"  each round's window in bare POSTs around it: {windows}; "
            f"median x{phase['action_cpu_in_bare_posts_median']} "
            f"(net of idle x{phase['action_cpu_net_of_idle_in_bare_posts_median']}; aim x3); "
            f"the worker's {phase['worker_cpu_ms_per_action']} ms per action, with it "
            f"x{phase['action_cpu_with_worker_in_bare_posts_median']}"
        )
        print(f"  {'':28} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
        rows = [("round trip (offer→accepted)", "round_trip")]
        rows += [(f"  {leg}: action → socket", leg) for leg in LEGS]
        rows += [("  any action's answer alone", "action_answer")]
        rows += [("  action → its ladder (doc)", "ladder_frame")]
        for label, key in rows:
            q = phase[key]
            print(f"  {label:28} {q['n']:>5} {q['p50']:>9} {q['p95']:>9} {q['max']:>9}")
        print(
            f"  round trip in bare POSTs: p50 x{phase['ratio_round_trip_p50']}, "
            f"p95 x{phase['ratio_round_trip_p95']}; per leg p50 {phase['ratio_leg_p50']}"
        )
    print(
        f"  targets: round trip under 300 ms (playbook), p95 under {AIM_P95_MS} ms with 50 pairs "
        f"(issue): {figures['aim_in_bare_posts']} bare POSTs on this server"
    )


def seed(env: dict[str, str], pairs: int, rounds: int) -> dict:
    """`pairs` signed-in sellers, each with a stall of `rounds` one-off lamps, and as
    many signed-in buyers: {"cookie": session cookie name, "pairs": [spec, …]}."""
    cookie, sellers = signed_in_sessions(env=env, prefix="seller", count=pairs)
    _, buyers = signed_in_sessions(env=env, prefix="buyer", count=pairs)
    stalls = django_json(_SEED_SCRIPT, str(pairs), str(rounds), env=env)
    specs = [
        {**stall, "seller": seller, "buyer": buyer}
        for stall, seller, buyer in zip(stalls, sellers, buyers, strict=True)
    ]
    return {"cookie": cookie, "pairs": specs}


def run(args: argparse.Namespace) -> dict:
    with scratch_dir("bazaar-bench-offers-") as workdir:
        name = bench_database_name("offers")
        with postgres_database(args.postgres, name) as database_url:
            env = server_env(database_url=database_url, media_root=workdir / "media")
            env["REDIS_URL"] = args.redis
            progress("migrating and seeding")
            migrate(env)
            setup = seed(env, args.pairs, args.rounds * len(args.via))
            with contextlib.ExitStack() as running:
                running.enter_context(redis_cache_cleared(env))
                worker = (
                    running.enter_context(celery_worker(env=env, log_path=workdir / "worker.log"))
                    if args.worker
                    else None
                )
                base_url, server = running.enter_context(
                    daphne_process(
                        env=env,
                        log_path=workdir / "server.log",
                        processes=args.server_processes,
                        server=args.server,
                    )
                )
                return asyncio.run(
                    measure(
                        base_url,
                        setup,
                        args.rounds,
                        args.baseline_posts,
                        args.think,
                        args.via,
                        server.pid,
                        args.server,
                        worker.pid if worker else None,
                    )
                )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = parser_for(__doc__)
    parser.add_argument("--pairs", type=int, default=50, help="buyer/seller pairs (K)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="bargaining rounds per pair, a CPU window each"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each person pauses before acting (0: back to back, a throughput test)",
    )
    parser.add_argument(
        "--server-processes", type=int, default=1, help="server processes (bazaar.serve)"
    )
    add_server(parser)
    parser.add_argument(
        "--via",
        type=lambda text: text.split(","),
        default=["http", "socket"],
        help="how actions are sent, one phase each: http (POSTs), socket (intents); "
        "default http,socket",
    )
    parser.add_argument("--baseline-posts", type=int, default=5, help="bare POSTs per client")
    parser.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run a Celery worker, as production does, for the jobs the actions queue (the "
        "ladder's write, notices), its CPU reported beside the server's (default on)",
    )
    add_postgres_server(
        parser, help="PostgreSQL server (a fresh database is made on it and dropped)"
    )
    add_redis(parser, help="Redis for the channel layer")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.rounds < 1:
        parser.error("--pairs and --rounds must be at least 1")
    if not args.via or not set(args.via) <= set(VIAS) or len(set(args.via)) < len(args.via):
        parser.error(f"--via lists some of {', '.join(VIAS)}, each once")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def run_and_print(_started: float) -> dict:
        figures = run(args)
        print_figures(figures, args.via)
        return figures

    return bench_main(run_and_print)


if __name__ == "__main__":
    sys.exit(main())
