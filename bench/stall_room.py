"""Stall room benchmark: one chat message reaching N sockets, and sustained chat, against a
minimal `websockets` broadcast server measured in the same run.

    .venv/bin/python bench/stall_room.py                  # N = 100, 500 (1000 if time allows)
    .venv/bin/python bench/stall_room.py --full           # N = 100, 500, 1000
    .venv/bin/python bench/stall_room.py --configs baseline,core-pool,pubsub
    .venv/bin/python bench/stall_room.py --server-processes 2   # daphne per core, one socket
    .venv/bin/python bench/stall_room.py --url http://127.0.0.1:8000 --stall <ulid> \\
        --session-keys keys.txt                           # a server already running

For each N, each configuration gets a fresh server: `baseline` is bench/_ws_baseline.py;
`project` is daphne with the project's own settings (bazaar.settings.local with REDIS_URL
set, so its CHANNEL_LAYERS); `core` (a bare URL: redis-py's 100-connection pool),
`core-pool` and `pubsub` are daphne with bench/settings_layer.py choosing that channel
layer; --server-processes N runs each as N daphne processes on one socket
(`bazaar.serve`). Every daphne serves one
freshly seeded SQLite database (or --postgres) and Redis DB 10 (--redis); the stalls'
room-registry keys and Django's cache keys are deleted there afterwards.

In the room: N anonymous listeners (each waits for `welcome`, the end of the join;
joins are --concurrency at a time and a refused one is tried again, as a browser
reconnects), one signed-in latency publisher per 4 rounds and P signed-in sustained
publishers. Publishers receive everything too, so the server fans out to N + P + 1
sockets; only the N listeners are measured. Client sockets are spread over --workers
processes using the `websockets` asyncio client: the same code for every server.

Latency: once no frame has arrived for 0.5 s, the latency publisher sends one chat
message and each listener timestamps its first `doc` frame (nothing is decoded).
p50/p95/max over the listeners; R rounds; the medians over rounds are reported.

Sustained: for --seconds, each of the P publishers sends chat messages, waiting for
each `chat_ack` before the next. Chat allows 5 messages per 10 s per author
(stalls/services.py), so against daphne each publisher paces itself at one message
every 2.05 s: P publishers offer at most P/2 messages/s, and a result near that cap
is marked `rate_limit_bound` (a lower bound, not the server's limit). The baseline has
no limit: its publishers send as fast as acks come. messages/s = doc frames each
listener received in the window after --warmup, divided by the window (the median
listener; every message is one frame per listener). `undelivered` counts frames still
missing after a short drain (late or dropped). Server and client CPU seconds in the
window show which process was the bottleneck; the machine's load average is recorded
because other work on it skews every figure.

Times are reported, never asserted. The last line of output is JSON with every figure.
"""

import argparse
import asyncio
import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_redis, add_server, bench_main, parser_for  # noqa: E402
from bench._report import progress  # noqa: E402
from bench._room import Target, measure, print_table, summarise  # noqa: E402
from bench._room_sockets import RATE_MESSAGES  # noqa: E402
from bench._servers import (  # noqa: E402
    bench_database,
    clear_redis_cache,
    clear_room_keys,
    daphne_process,
    raise_open_files,
    scratch_dir,
    seed,
    server_env,
    signed_in_sessions,
    stall_public_ids,
    ws_baseline,
)
from bench._ws import ws_url  # noqa: E402

CONFIGS = ("baseline", "project", "core", "core-pool", "pubsub")
DEFAULT_CONFIGS = "baseline,project,pubsub"
ROUNDS_PER_LATENCY_PUBLISHER = RATE_MESSAGES - 1


@contextmanager
def channels_server(
    config: str,
    env: dict[str, str],
    workdir: Path,
    stall: str,
    port_log: str,
    processes: int,
    server: str = "daphne",
):
    server_env_ = dict(env)
    server_env_.update(
        DJANGO_SETTINGS_MODULE="bench.settings_layer",
        BENCH_CHANNEL_LAYER="" if config == "project" else config,
        BENCH_CHANNEL_PREFIX=f"bench{os.getpid()}",
    )
    with daphne_process(
        env=server_env_, log_path=workdir / port_log, processes=processes, server=server
    ) as (base_url, process):
        yield ws_url(base_url, f"/ws/stalls/{stall}/"), base_url, process


async def run_url(args: argparse.Namespace) -> dict:
    """A server someone else started (with Redis): one stall, sessions from a file."""
    keys = Path(args.session_keys).read_text().split() if args.session_keys else []
    latency_count = math.ceil(args.rounds / ROUNDS_PER_LATENCY_PUBLISHER)
    if len(keys) < latency_count:
        raise SystemExit(f"--session-keys must list at least {latency_count} signed-in sessions")
    base = args.url.rstrip("/")
    target = Target(
        label="url",
        socket_url=ws_url(base, f"/ws/stalls/{args.stall}/"),
        origin=base,
        paced=True,
        cookie=args.cookie,
        latency_keys=keys[:latency_count],
        sustain_keys=keys[latency_count : latency_count + args.publishers],
    )
    results = {}
    for n in args.sizes:
        run = await measure(target, n, args)
        results[str(n)] = run
        print_table(n, {"url": run}, {})
    return results


def run_local(args: argparse.Namespace, started: float) -> dict:
    latency_count = math.ceil(args.rounds / ROUNDS_PER_LATENCY_PUBLISHER)
    per_run = latency_count + args.publishers
    results: dict = {"configs": args.configs, "redis": args.redis, "by_n": {}}
    with (
        scratch_dir("bazaar-bench-room-", keep=args.keep) as workdir,
        bench_database(args.postgres, "room", workdir) as database_url,
    ):
        env = server_env(database_url=database_url, media_root=workdir / "media")
        env["REDIS_URL"] = args.redis
        progress("migrating and seeding a 2x2 market")
        seed(env=env, sections=2, stalls=4)
        stalls = stall_public_ids(env=env)
        runs_needed = len([c for c in args.configs if c != "baseline"]) * len(args.sizes)
        if len(stalls) < runs_needed:
            raise SystemExit(f"seeded {len(stalls)} stalls, {runs_needed} needed")
        progress(f"signing in {runs_needed * per_run} users")
        cookie, sessions = (
            signed_in_sessions(env=env, prefix="bench", count=runs_needed * per_run)
            if runs_needed
            else ("", [])
        )
        used_stalls: list[str] = []
        try:
            for size_number, n in enumerate(args.sizes):
                if over_budget(args, size_number, results, started):
                    results["skipped"] = n
                    continue
                n_started = time.monotonic()
                runs: dict[str, dict] = {}
                for config in args.configs:
                    if config == "baseline":
                        runs[config] = measure_baseline(args, n, workdir, latency_count)
                        continue
                    stall = stalls[len(used_stalls)]
                    used_stalls.append(stall)
                    keys, sessions = sessions[:per_run], sessions[per_run:]
                    target = Target(
                        label=config,
                        paced=True,
                        cookie=cookie,
                        latency_keys=keys[:latency_count],
                        sustain_keys=keys[latency_count:],
                    )
                    runs[config] = measure_daphne(args, n, env, workdir, stall, target)
                ratios = summarise(n, runs)
                print_table(n, runs, ratios)
                results["by_n"][str(n)] = {
                    "runs": runs,
                    "ratios": ratios,
                    "_seconds": round(time.monotonic() - n_started, 1),
                }
        finally:
            clear_room_keys(args.redis, used_stalls)
            clear_redis_cache(args.redis)
    return results


def over_budget(args: argparse.Namespace, size_number: int, results: dict, started: float) -> bool:
    """Whether N above 500 would pass --budget, judged by the last N's time (not --full)."""
    n = args.sizes[size_number]
    if n <= 500 or args.full or not size_number or not args.budget:
        return False
    previous = args.sizes[size_number - 1]
    estimate = results["by_n"][str(previous)]["_seconds"] * (n / previous)
    if time.monotonic() - started + estimate <= args.budget:
        return False
    progress(
        f"skipping N={n}: about {estimate:.0f} s more would pass the "
        f"{args.budget:.0f} s budget (--full runs it)"
    )
    return True


def measure_baseline(args: argparse.Namespace, n: int, workdir: Path, latency_count: int) -> dict:
    with ws_baseline(log_path=workdir / "baseline.log") as (url, process):
        target = Target(
            label="baseline",
            socket_url=url + "/",
            origin=url.replace("ws://", "http://", 1),
            server_pid=process.pid,
            paced=False,
            latency_keys=[None] * latency_count,
            sustain_keys=[None] * args.publishers,
        )
        result = asyncio.run(measure(target, n, args))
        process.kill()
        return result


def measure_daphne(
    args: argparse.Namespace, n: int, env: dict, workdir: Path, stall: str, target: Target
) -> dict:
    """`target` (its config as label) on a fresh daphne serving `stall`."""
    log = f"daphne-{target.label}-{n}.log"
    with channels_server(
        target.label, env, workdir, stall, log, args.server_processes, args.server
    ) as (
        socket_url,
        base_url,
        process,
    ):
        target.socket_url, target.origin, target.server_pid = socket_url, base_url, process.pid
        result = asyncio.run(measure(target, n, args))
        # No graceful shutdown: every socket is gone already and a departure storm
        # would only delay the next measurement.
        process.kill()
        return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = parser_for(__doc__)
    parser.add_argument("--sizes", default="100,500,1000", help="N values, comma-separated")
    parser.add_argument("--full", action="store_true", help="run every N whatever the budget")
    parser.add_argument(
        "--budget",
        type=float,
        default=180,
        help="seconds; a larger N that would pass it is skipped unless --full (0: no budget)",
    )
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help=f"of {', '.join(CONFIGS)}; comma-separated"
    )
    add_redis(parser)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server instead of SQLite")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds")
    parser.add_argument("--round-gap", type=float, default=0.2, help="seconds between rounds")
    parser.add_argument("--round-timeout", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="sustained phase (0: skip)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of it before counting starts"
    )
    parser.add_argument("--drain-limit", type=float, default=3.0)
    parser.add_argument("--publishers", type=int, default=50, help="sustained publishers")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--server-processes", type=int, default=1, help="processes per server (bazaar.serve)"
    )
    add_server(parser)
    parser.add_argument("--concurrency", type=int, default=25, help="joins in flight")
    parser.add_argument("--retries", type=int, default=2, help="tries again per refused join")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--url", help="measure a running server instead (needs --stall)")
    parser.add_argument("--stall", help="with --url: the stall's public id")
    parser.add_argument("--session-keys", help="with --url: a file of signed-in session keys")
    parser.add_argument("--cookie", default="sessionid", help="with --url: session cookie name")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = {c for c in args.configs if c not in CONFIGS}
    if unknown:
        parser.error(f"unknown configs: {', '.join(sorted(unknown))}")
    if args.url and not args.stall:
        parser.error("--url needs --stall")
    if args.rounds < 1 or args.workers < 1:
        parser.error("--rounds and --workers must be at least 1")
    if args.seconds and args.seconds <= args.warmup:
        parser.error("--seconds must be longer than --warmup")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Every socket is a descriptor in a client worker and in the server (inherited).
    raise_open_files(4 * (max(args.sizes) + args.publishers) + 1024)

    def run(started: float) -> dict:
        return {"url": asyncio.run(run_url(args))} if args.url else run_local(args, started)

    return bench_main(run, record_elapsed=True)


if __name__ == "__main__":
    sys.exit(main())
