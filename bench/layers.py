"""Channel-layer micro-benchmark: one group_send to 1,000 members, two channels-redis layers.

    .venv/bin/python bench/layers.py                          # Redis DB 10 on 127.0.0.1
    .venv/bin/python bench/layers.py --redis redis://127.0.0.1:6379/11 --members 500

In one process and one event loop, as in a daphne worker: `members` channels join one
group, each with a task blocked in `receive()`, then `group_send` publishes one small
message and the clock stops when the last member has it. Measured for
channels_redis.core.RedisChannelLayer (a sorted set per process in Redis, popped by
BZPOPMIN) and channels_redis.pubsub.RedisPubSubChannelLayer (one Redis PUBLISH, fanned
out in the process), alternating per round, with the median and the ratio.

Then a connect storm: `members` simultaneous joins (new channel, group_add), first with
the hosts given as a bare URL (redis-py's async pool: 100 connections, then
MaxConnectionsError) and then with `max_connections` in a hosts dict; the failures
are counted.

Then an idle receive: a channel that gets nothing for 8 s, as a quiet stall's sockets
do (channels_redis.core blocks in BZPOPMIN for 5 s; redis-py 8 gives every socket a 5 s
timeout by default), with the hosts as a bare URL and with socket_timeout None.

Last, `--reconnect` (on by default) shows what the pub/sub layer does when its Redis
connection drops: the subscriber connection is killed (CLIENT KILL by this run's
client name only, so nobody else's connection is touched), group messages sent over
the next second are counted as delivered or lost, and the time until delivery
resumes is reported.

Every layer uses a prefix unique to this run: Redis pub/sub channels are shared by all
databases of a server, so the database number alone would not keep runs apart. Times
are reported, never asserted. The last line of output is JSON with every figure.
"""

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import add_redis, bench_main, parser_for
from bench._report import median_min_max_ms, progress, ratio
from bench._servers import raise_open_files

CORE = "channels_redis.core.RedisChannelLayer"
PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
GROUP = "stall.01BENCHLAYERS0000000000000"


def make_layer(backend: str, hosts: list, prefix: str):
    if backend == CORE:
        from channels_redis.core import RedisChannelLayer

        return RedisChannelLayer(hosts=hosts, prefix=prefix)
    from channels_redis.pubsub import RedisPubSubChannelLayer

    return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)


class Members:
    """`count` channels in one group, each with a receiver task recording arrivals."""

    def __init__(self, layer, count: int):
        self.layer = layer
        self.count = count
        self.channels: list[str] = []
        self.tasks: list[asyncio.Task] = []
        self.arrivals: list[float] = []
        self.expected: int | None = None
        self.all_in = asyncio.Event()

    async def join(self, concurrency: int = 50) -> None:
        self.channels = [await self.layer.new_channel() for _ in range(self.count)]
        for start in range(0, self.count, concurrency):
            batch = self.channels[start : start + concurrency]
            await asyncio.gather(*(self.layer.group_add(GROUP, ch) for ch in batch))
        self.tasks = [asyncio.create_task(self._receive(ch)) for ch in self.channels]

    async def _receive(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            if message.get("n") == self.expected:
                self.arrivals.append(time.perf_counter())
                if len(self.arrivals) == self.count:
                    self.all_in.set()

    async def send_one(self, number: int, timeout: float = 30.0) -> tuple[float, float]:
        """(median, last) seconds from the group_send call to each member's receive()."""
        self.expected, self.arrivals = number, []
        self.all_in.clear()
        started = time.perf_counter()
        await self.layer.group_send(GROUP, {"type": "bench.message", "n": number})
        await asyncio.wait_for(self.all_in.wait(), timeout)
        offsets = [arrived - started for arrived in self.arrivals]
        return statistics.median(offsets), max(offsets)

    async def leave(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for start in range(0, self.count, 50):
            batch = self.channels[start : start + 50]
            await asyncio.gather(*(self.layer.group_discard(GROUP, ch) for ch in batch))
        await self.layer.flush()


async def fan_out(redis_url: str, members: int, rounds: int, warmup: int) -> dict:
    """Both layers joined at once, then rounds alternate between them."""
    hosts = [{"address": redis_url, "max_connections": members + 100}]
    groups = {}
    for label, backend in (("core", CORE), ("pubsub", PUBSUB)):
        prefix = f"benchlayers{os.getpid()}{label}"
        groups[label] = Members(make_layer(backend, hosts, prefix), members)
        await groups[label].join()
    samples = {label: {"median": [], "last": []} for label in groups}
    try:
        for number in range(warmup + rounds):
            for label, group in groups.items():
                median, last = await group.send_one(number)
                if number >= warmup:
                    samples[label]["median"].append(median)
                    samples[label]["last"].append(last)
    finally:
        for group in groups.values():
            await group.leave()

    result = {
        label: {
            "all_members_ms": median_min_max_ms(values["last"]),
            "median_member_ms": median_min_max_ms(values["median"]),
        }
        for label, values in samples.items()
    }
    core = result["core"]["all_members_ms"]["median_ms"]
    pubsub = result["pubsub"]["all_members_ms"]["median_ms"]
    result["ratio_core_to_pubsub"] = ratio(core, pubsub)
    result.update(members=members, rounds=rounds)
    return result


async def connect_storm(backend: str, hosts: list, prefix: str, count: int) -> dict:
    """`count` joins at once, each subscribing as StallRoomConsumer.connect does (a new
    channel, group_add). Returns how many failed and why."""
    layer = make_layer(backend, hosts, prefix)

    async def join() -> None:
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(join() for _ in range(count)), return_exceptions=True)
    seconds = time.perf_counter() - started
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            name = f"{type(outcome).__name__}: {outcome}"[:80]
            errors[name] = errors.get(name, 0) + 1
    await layer.flush()
    return {
        "joins": count,
        "failed": sum(errors.values()),
        "errors": errors,
        "seconds": round(seconds, 2),
    }


async def storms(redis_url: str, count: int) -> dict:
    configured = [{"address": redis_url, "max_connections": count + 100}]
    result = {}
    for label, backend in (("core", CORE), ("pubsub", PUBSUB)):
        for pool, hosts in (("default_pool", [redis_url]), ("max_connections", configured)):
            prefix = f"benchstorm{os.getpid()}{label}{pool[:3]}"
            result[f"{label}_{pool}"] = await connect_storm(backend, hosts, prefix, count)
    result["max_connections"] = count + 100
    return result


async def pubsub_reconnect(redis_url: str) -> dict:
    """Kill the pub/sub layer's subscriber connection (found by its client name) and see
    which group messages sent afterwards arrive, and when delivery resumes."""
    import redis.asyncio as aioredis

    name = f"bench-layers-{uuid.uuid4().hex[:8]}"
    layer = make_layer(PUBSUB, [{"address": redis_url, "client_name": name}], f"benchre{name}")
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    received: list[tuple[int, float]] = []

    async def receive() -> None:
        while True:
            message = await layer.receive(channel)
            received.append((message["n"], time.perf_counter()))

    receiver = asyncio.create_task(receive())
    admin = aioredis.Redis.from_url(redis_url)
    # The layer logs each failed read with a traceback; count them instead.
    logged = _Count()
    pubsub_logger = logging.getLogger("channels_redis.pubsub")
    pubsub_logger.addHandler(logged)
    pubsub_logger.propagate = False
    try:
        await layer.group_send(GROUP, {"type": "bench.message", "n": -1})
        await asyncio.sleep(0.3)
        clients = await admin.client_list()
        # The subscribed connection of this run's layer, and nothing else.
        victims = [c["id"] for c in clients if c.get("name") == name and int(c.get("sub", 0))]
        killed_at = time.perf_counter()
        for client_id in victims:
            await admin.client_kill_filter(_id=client_id)
        sent, send_errors, number = [], 0, 0
        while time.perf_counter() - killed_at < 3.0:
            try:
                await layer.group_send(GROUP, {"type": "bench.message", "n": number})
                sent.append((number, time.perf_counter()))
            except Exception:
                send_errors += 1
            number += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        got = {n for n, _ in received if n >= 0}
        lost = [n for n, _ in sent if n not in got]
        resumed = [at for n, at in received if n >= 0]
        first_after = min(resumed) - killed_at if resumed else None
        return {
            "subscriber_connections_killed": len(victims),
            "sent": len(sent),
            "send_errors": send_errors,
            "delivered": len(got),
            "lost": len(lost),
            "lost_sent_within_s": round(max(at for n, at in sent if n in lost) - killed_at, 3)
            if lost
            else 0.0,
            "first_delivery_after_kill_s": round(first_after, 3) if first_after else None,
            "receive_task_errors_logged": logged.count,
        }
    finally:
        pubsub_logger.removeHandler(logged)
        pubsub_logger.propagate = True
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        await layer.flush()
        await admin.aclose()


async def idle_receive(backend: str, hosts: list, seconds: float = 8.0) -> dict:
    """A channel that gets nothing for `seconds`, as a quiet stall's sockets do: does
    receive() keep waiting, or fail? (channels_redis.core blocks in BZPOPMIN for up to
    5 s, and redis-py 8's default socket_timeout is 5 s as well.)"""
    layer = make_layer(backend, hosts, f"benchidle{os.getpid()}")
    channel = await layer.new_channel()
    started = time.perf_counter()
    try:
        await asyncio.wait_for(layer.receive(channel), seconds)
        outcome = "received?"
    except TimeoutError:  # our deadline: it kept waiting, as it should
        outcome = "waited"
    except Exception as error:
        outcome = f"{type(error).__module__}.{type(error).__name__}: {error}"[:100]
    waited = time.perf_counter() - started
    await layer.flush()
    return {"outcome": outcome, "after_s": round(waited, 2)}


async def idle_receives(redis_url: str) -> dict:
    result = {}
    for label, backend in (("core", CORE), ("pubsub", PUBSUB)):
        for config, hosts in (
            ("bare_url", [redis_url]),
            ("socket_timeout_none", [{"address": redis_url, "socket_timeout": None}]),
        ):
            if label == "pubsub" and config != "bare_url":
                continue
            result[f"{label}_{config}"] = await idle_receive(backend, hosts)
    return result


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def print_fan_out(result: dict) -> None:
    print(
        f"\ngroup_send to {result['members']} members, in one process "
        f"({result['rounds']} rounds each, alternating)"
    )
    print(f"  {'layer':<10}{'all have it: median':>22}{'min':>9}{'max':>9}{'median member':>16}")
    for label in ("core", "pubsub"):
        last, median = result[label]["all_members_ms"], result[label]["median_member_ms"]
        print(
            f"  {label:<10}{last['median_ms']:>19.2f} ms{last['min_ms']:>9.2f}"
            f"{last['max_ms']:>9.2f}{median['median_ms']:>13.2f} ms"
        )
    print(f"  core / pubsub: {result['ratio_core_to_pubsub']}x")


def print_storms(result: dict) -> None:
    print("\nconnect storm: simultaneous joins (new channel + group_add)")
    for key, value in result.items():
        if not isinstance(value, dict):
            continue
        errors = "; ".join(f"{n} x {e}" for e, n in value["errors"].items()) or "none"
        print(
            f"  {key:<26}{value['failed']:>5} of {value['joins']} failed "
            f"in {value['seconds']:.2f} s ({errors})"
        )


def print_reconnect(result: dict) -> None:
    print("\npub/sub layer, subscriber connection killed")
    for key, value in result.items():
        print(f"  {key:<32}{value}")


async def run(args: argparse.Namespace) -> dict:
    results = {"channels_redis": _version("channels_redis"), "redis_py": _version("redis")}
    progress(f"fan-out: {args.members} members, {args.rounds} rounds per layer")
    results["fan_out"] = await fan_out(args.redis, args.members, args.rounds, args.warmup)
    print_fan_out(results["fan_out"])
    progress(f"connect storm: {args.members} simultaneous joins")
    results["storm"] = await storms(args.redis, args.members)
    print_storms(results["storm"])
    progress("idle receive: 8 s without a message")
    results["idle_receive"] = await idle_receives(args.redis)
    print("\nreceive() on a channel that stays quiet for 8 s")
    for key, value in results["idle_receive"].items():
        print(f"  {key:<30}{value['outcome']} after {value['after_s']} s")
    if args.reconnect:
        progress("pub/sub reconnect")
        results["pubsub_reconnect"] = await pubsub_reconnect(args.redis)
        print_reconnect(results["pubsub_reconnect"])
    return results


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = parser_for(__doc__)
    add_redis(parser)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--no-reconnect", dest="reconnect", action="store_false", help="skip the kill test"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_files(4 * args.members + 1000)
    return bench_main(lambda _started: asyncio.run(run(args)), record_elapsed=True)


if __name__ == "__main__":
    sys.exit(main())
