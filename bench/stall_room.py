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
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import (  # noqa: E402
    clear_redis_cache,
    clear_room_keys,
    cpu_seconds,
    daphne_process,
    postgres_database,
    raise_open_files,
    seed,
    server_env,
    signed_in_sessions,
    stall_public_ids,
    ws_baseline,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
CONFIGS = ("baseline", "project", "core", "core-pool", "pubsub")
DEFAULT_CONFIGS = "baseline,project,pubsub"
# stalls/chat.py: CHAT_RATE_MESSAGES in CHAT_RATE_SECONDS per author.
RATE_MESSAGES, RATE_SECONDS = 5, 10.0
PACE_SECONDS = RATE_SECONDS / RATE_MESSAGES + 0.05
ROUNDS_PER_LATENCY_PUBLISHER = RATE_MESSAGES - 1
# The start of each frame kind as json.dumps writes it (the server and the baseline).
DOC = '{"type": "doc", '
BATCH = '{"type": "batch", '
WELCOME = '{"type": "welcome"'
ACK = '{"type": "chat_ack"'
ERROR = '{"type": "error"'
LISTENER, LATENCY, SUSTAIN = "listener", "latency", "sustain"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The client side: a worker process holding some of the sockets, driven over stdin.


class Sockets:
    """This worker's share of the room's sockets and what they received."""

    def __init__(self) -> None:
        self.sockets: list = []
        self.roles: list[str] = []
        self.open: list[bool] = []
        self.counts: list[int] = []
        self.first: list[float | None] = []
        self.acks: dict[int, asyncio.Future] = {}
        self.armed = False
        self.waiting = 0
        self.all_in = asyncio.Event()
        self.last_frame = 0.0
        self.last_doc = 0.0
        self.doc_bytes = 0
        self.doc_frames = 0
        self.socket_frames = 0
        self.tasks: list[asyncio.Task] = []

    # Connecting

    async def connect(
        self,
        url: str,
        origin: str,
        cookie: str,
        plan: list,
        concurrency: int,
        timeout: float,
        retries: int,
    ) -> dict:
        """`plan`: [role, session key or None] per socket, connected `concurrency` at a
        time (0: all at once); each counts once it has read `welcome`."""
        import websockets

        gate = asyncio.Semaphore(concurrency) if concurrency else None
        errors: dict[str, int] = {}
        started = time.perf_counter()

        async def join(role: str, session_key: str | None) -> None:
            headers = {"Cookie": f"{cookie}={session_key}"} if session_key else None
            socket = await websockets.connect(
                url,
                origin=origin,
                additional_headers=headers,
                compression=None,
                proxy=None,
                open_timeout=timeout,
                ping_interval=None,
                close_timeout=2,
                max_queue=None,
            )
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        raw = await socket.recv()
                        if isinstance(raw, str) and raw.startswith(WELCOME):
                            break
                        if isinstance(raw, str) and raw.startswith(ERROR):
                            raise RuntimeError(f"error frame: {raw[:120]}")
            except BaseException:
                await socket.close()
                raise
            index = len(self.sockets)
            self.sockets.append(socket)
            self.roles.append(role)
            self.open.append(True)
            self.counts.append(0)
            self.first.append(None)
            self.tasks.append(asyncio.create_task(self._listen(index, socket)))

        async def gated(role: str, session_key: str | None) -> None:
            """A refused join is tried again, as a browser reconnects, `retries` times."""
            for attempt in range(retries + 1):
                try:
                    if gate is None:
                        return await join(role, session_key)
                    async with gate:
                        return await join(role, session_key)
                except Exception as error:
                    name = f"{type(error).__name__}: {error}"[:100]
                    errors[name] = errors.get(name, 0) + 1
                    if attempt == retries:
                        raise
                    await asyncio.sleep(0.5)

        before = {role: self.roles.count(role) for role in (LISTENER, LATENCY, SUSTAIN)}
        outcomes = await asyncio.gather(*(gated(r, k) for r, k in plan), return_exceptions=True)
        failed = sum(1 for outcome in outcomes if isinstance(outcome, BaseException))
        return {
            "connected": len(plan) - failed,
            "failed": failed,
            "refused_attempts": sum(errors.values()),
            "by_role": {role: self.roles.count(role) - was for role, was in before.items()},
            "errors": errors,
            "seconds": round(time.perf_counter() - started, 3),
        }

    async def _listen(self, index: int, socket) -> None:
        from websockets.exceptions import ConnectionClosed

        is_publisher = self.roles[index] != LISTENER
        try:
            async for raw in socket:
                now = time.perf_counter()
                self.last_frame = now
                if type(raw) is not str:
                    continue
                # Under load the server joins the frames that waited together into one
                # `batch` frame (docs/protocol.md): each doc update in it counts.
                docs = raw.count(DOC) if raw.startswith(BATCH) else raw.startswith(DOC)
                if docs:
                    self.last_doc = now
                    self.counts[index] += docs
                    self.doc_frames += docs
                    self.socket_frames += 1
                    self.doc_bytes += len(raw)
                    if self.armed and self.first[index] is None and not is_publisher:
                        self.first[index] = now
                        self.waiting -= 1
                        if self.waiting == 0:
                            self.all_in.set()
                elif is_publisher and (raw.startswith(ACK) or raw.startswith(ERROR)):
                    future = self.acks.pop(index, None)
                    if future is not None and not future.done():
                        future.set_result(raw)
        except ConnectionClosed:
            pass
        finally:
            self.open[index] = False

    def listeners(self) -> list[int]:
        return [i for i, role in enumerate(self.roles) if role == LISTENER]

    # Waiting for the room to settle

    async def quiet(self, seconds: float, limit: float) -> dict:
        """Wait until no frame has arrived for `seconds` (at most `limit`)."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            if time.perf_counter() - max(self.last_frame, started) >= seconds:
                break
            await asyncio.sleep(0.05)
        return {"waited": round(time.perf_counter() - started, 3)}

    # Latency rounds

    def arm(self) -> dict:
        self.first = [None] * len(self.sockets)
        self.waiting = sum(1 for i in self.listeners() if self.open[i])
        self.all_in.clear()
        if self.waiting == 0:
            self.all_in.set()
        self.armed = True
        return {"armed": self.waiting}

    async def send_chat(self, index: int, text: str) -> tuple[float, asyncio.Future]:
        future = asyncio.get_running_loop().create_future()
        self.acks[index] = future
        frame = json.dumps({"type": "chat", "text": text, "client_id": text[:32]})
        sent_at = time.perf_counter()
        await self.sockets[index].send(frame)
        return sent_at, future

    async def publish(self, number: int, text: str) -> dict:
        """Send on the number-th latency publisher; the reply is the send time and ack."""
        publishers = [i for i, role in enumerate(self.roles) if role == LATENCY]
        if not publishers:
            raise RuntimeError("no latency publisher is connected")
        from websockets.exceptions import ConnectionClosed

        try:
            sent_at, future = await self.send_chat(publishers[number % len(publishers)], text)
            raw = await asyncio.wait_for(future, 10)
        except TimeoutError:
            raw = "timeout"
        except ConnectionClosed as closed:
            raise RuntimeError(f"the latency publisher's socket closed: {closed}") from None
        return {"sent_at": sent_at, "ack": raw[:160]}

    async def collect(self, timeout: float) -> dict:
        with suppress(TimeoutError):
            await asyncio.wait_for(self.all_in.wait(), timeout)
        self.armed = False
        return {"first": [self.first[i] for i in self.listeners()]}

    # Sustained chat

    async def sustain(self, start_at: float, warmup: float, seconds: float, paced: bool) -> dict:
        """Publish from `start_at` for `seconds`; count the doc frames that arrive in the
        window after `warmup` (all workers share the clock: CLOCK_MONOTONIC)."""
        from websockets.exceptions import ConnectionClosed

        publishers = [i for i, role in enumerate(self.roles) if role == SUSTAIN]
        listeners = self.listeners()
        self.counts = [0] * len(self.counts)
        self.doc_frames = self.doc_bytes = self.socket_frames = 0
        deadline = start_at + seconds
        window_start = start_at + warmup
        totals = {"sent": 0, "acked": 0, "acked_in_window": 0}
        errors: dict[str, int] = {}
        snapshots: dict[str, tuple[list[int], float]] = {}

        async def snapshot(name: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            snapshots[name] = (list(self.counts), time.process_time())

        async def run(order: int, index: int) -> None:
            acked_at: deque[float] = deque(maxlen=RATE_MESSAGES)
            # Staggered, so the publishers offer a steady stream rather than bursts.
            next_at = start_at + (order / max(len(publishers), 1)) * PACE_SECONDS
            if not paced:
                next_at = start_at
            number = 0
            while True:
                if paced and len(acked_at) == RATE_MESSAGES:
                    next_at = max(next_at, acked_at[0] + RATE_SECONDS + 0.05)
                if next_at >= deadline or time.perf_counter() >= deadline:
                    return
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                number += 1
                try:
                    _, future = await self.send_chat(
                        index, f"sustained {index} {number} " + "x" * 40
                    )
                    totals["sent"] += 1
                    raw = await future
                except ConnectionClosed as closed:
                    name = f"socket closed: {closed}"[:80]
                    errors[name] = errors.get(name, 0) + 1
                    return
                if raw.startswith(ACK):
                    now = time.perf_counter()
                    totals["acked"] += 1
                    if window_start <= now <= deadline:
                        totals["acked_in_window"] += 1
                    acked_at.append(now)
                else:
                    code = json.loads(raw).get("code", "error")
                    errors[code] = errors.get(code, 0) + 1
                if paced:
                    next_at += PACE_SECONDS

        marks = [
            asyncio.create_task(snapshot("start", window_start)),
            asyncio.create_task(snapshot("end", deadline)),
        ]
        runs = [asyncio.create_task(run(order, i)) for order, i in enumerate(publishers)]
        await asyncio.gather(*marks)
        # Acks still outstanding at the deadline get a moment, then are given up.
        _, late = await asyncio.wait(runs, timeout=3) if runs else (set(), set())
        for task in late:
            task.cancel()
        if late:
            errors["ack still awaited 3 s after the end"] = len(late)
        first, cpu_first = snapshots["start"]
        last, cpu_last = snapshots["end"]
        in_window = [b - a for a, b in zip(first, last, strict=True)]
        return {
            **totals,
            "errors": errors,
            "window_counts": [in_window[i] for i in listeners],
            "window_frames_all": sum(in_window),
            "cpu_window": cpu_last - cpu_first,
        }

    async def drain(self, seconds: float, limit: float) -> dict:
        """After the publishers stop: wait for quiet, then total what each listener got."""
        await self.quiet(seconds, limit)
        return {
            "counts": [self.counts[i] for i in self.listeners()],
            "doc_bytes": self.doc_bytes,
            "doc_frames": self.doc_frames,
            "socket_frames": self.socket_frames,
        }

    async def close(self) -> dict:
        for socket in self.sockets:
            socket.transport.abort()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return {"closed": len(self.sockets)}


async def worker_main() -> None:
    """Answer one JSON command per stdin line with one JSON line on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sockets = Sockets()
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            result = getattr(sockets, name)(**command)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as error:  # reported to the coordinator, which stops
            result = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        if name == "close":
            return


class Worker:
    """The coordinator's handle on one worker process."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> "Worker":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        return cls(process)

    async def call(self, cmd: str, **kwargs) -> dict:
        async with self.lock:
            self.process.stdin.write((json.dumps({"cmd": cmd, **kwargs}) + "\n").encode())
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a client worker exited during {cmd}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"client worker, {cmd}: {answer['error']}")
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            with suppress(RuntimeError, TimeoutError):
                await asyncio.wait_for(self.call("close"), 10)
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# The coordinator.


@dataclass
class Target:
    label: str
    socket_url: str
    origin: str
    server_pid: int | None
    paced: bool
    cookie: str = ""
    latency_keys: list = field(default_factory=list)
    sustain_keys: list = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def gather_calls(workers: list[Worker], cmd: str, per_worker=None, **kwargs) -> list:
    """The same command on every worker at once (per_worker(i) adds worker-specific args)."""
    return await asyncio.gather(
        *(
            worker.call(cmd, **kwargs, **(per_worker(i) if per_worker else {}))
            for i, worker in enumerate(workers)
        )
    )


def spread(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts)]


async def measure(target: Target, n: int, args: argparse.Namespace) -> dict:
    rounds = args.rounds
    started = time.monotonic()
    workers = [await Worker.start() for _ in range(args.workers)]
    try:
        result = await _measure(workers, target, n, rounds, args)
        result["elapsed_s"] = round(time.monotonic() - started, 1)
        return result
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))


async def _measure(
    workers: list[Worker], target: Target, n: int, rounds: int, args: argparse.Namespace
) -> dict:
    result: dict = {"n": n, "loadavg_1min": [round(os.getloadavg()[0], 2)]}
    # The latency publishers live on worker 0; listeners and sustained publishers are
    # dealt round-robin, so each worker holds a like share of both.
    listener_plans = spread([[LISTENER, None]] * n, len(workers))
    sustain_plans = spread([[SUSTAIN, key] for key in target.sustain_keys], len(workers))
    latency_plan = [[LATENCY, key] for key in target.latency_keys]
    progress(f"  {target.label} N={n}: connecting {n} listeners")
    joined = await gather_calls(
        workers,
        "connect",
        per_worker=lambda i: {"plan": listener_plans[i]},
        url=target.socket_url,
        origin=target.origin,
        cookie=target.cookie,
        concurrency=max(1, args.concurrency // len(workers)),
        timeout=args.connect_timeout,
        retries=args.retries,
    )
    result["listeners_connected"] = sum(j["connected"] for j in joined)
    result["listeners_failed"] = sum(j["failed"] for j in joined)
    result["refused_attempts"] = sum(j["refused_attempts"] for j in joined)
    result["join_seconds"] = max(j["seconds"] for j in joined)
    errors: dict[str, int] = {}
    for j in joined:
        for name, count in j["errors"].items():
            errors[name] = errors.get(name, 0) + count
    progress(
        f"  {target.label} N={n}: {result['listeners_connected']} joined in "
        f"{result['join_seconds']:.1f} s; connecting {len(latency_plan) + len(target.sustain_keys)}"
        " publishers"
    )
    published = await gather_calls(
        workers,
        "connect",
        per_worker=lambda i: {"plan": sustain_plans[i] + (latency_plan if i == 0 else [])},
        url=target.socket_url,
        origin=target.origin,
        cookie=target.cookie,
        concurrency=max(1, args.concurrency // len(workers)),
        timeout=args.connect_timeout,
        retries=args.retries,
    )
    result["publishers_failed"] = sum(p["failed"] for p in published)
    result["refused_attempts"] += sum(p["refused_attempts"] for p in published)
    for p in published:
        for name, count in p["errors"].items():
            errors[name] = errors.get(name, 0) + count
    result["publishers_connected"] = sum(p["connected"] for p in published)
    result["connect_errors"] = errors
    if errors:
        progress(f"  {target.label} N={n}: connections refused: {errors}")
    if result["listeners_connected"] == 0 or not published[0]["by_role"][LATENCY]:
        return result
    settle = await gather_calls(workers, "quiet", seconds=0.5, limit=60)
    result["settle_seconds"] = max(s["waited"] for s in settle)

    # Latency
    progress(f"  {target.label} N={n}: {rounds} latency rounds")
    per_round = []
    for number in range(rounds):
        await gather_calls(workers, "arm")
        sent = await workers[0].call("publish", number=number, text=f"latency round {number}")
        firsts = await gather_calls(workers, "collect", timeout=args.round_timeout)
        arrivals = [t for f in firsts for t in f["first"]]
        got = [t - sent["sent_at"] for t in arrivals if t is not None]
        per_round.append(
            {
                "received": len(got),
                "missing": len(arrivals) - len(got),
                "acked": sent["ack"].startswith(ACK),
                "p50_ms": ms(statistics.median(got)) if got else None,
                "p95_ms": ms(percentile(got, 0.95)) if got else None,
                "max_ms": ms(max(got)) if got else None,
            }
        )
        await asyncio.sleep(args.round_gap)
    complete = [r for r in per_round if r["p95_ms"] is not None]
    result["latency"] = {
        "rounds": len(per_round),
        "p50_ms": statistics.median(r["p50_ms"] for r in complete) if complete else None,
        "p95_ms": statistics.median(r["p95_ms"] for r in complete) if complete else None,
        "max_ms": statistics.median(r["max_ms"] for r in complete) if complete else None,
        "worst_max_ms": max(r["max_ms"] for r in complete) if complete else None,
        "missing": sum(r["missing"] for r in per_round),
        "per_round": per_round,
    }

    # Sustained
    if target.sustain_keys and args.seconds > 0:
        await gather_calls(workers, "quiet", seconds=0.5, limit=20)
        progress(f"  {target.label} N={n}: sustained chat for {args.seconds:g} s")
        window = args.seconds - args.warmup
        start_at = time.perf_counter() + 0.3
        server_cpu = None
        if target.server_pid:

            async def server_cpu_in_window() -> float:
                await asyncio.sleep(max(0.0, start_at + args.warmup - time.perf_counter()))
                before = cpu_seconds(target.server_pid)
                await asyncio.sleep(max(0.0, start_at + args.seconds - time.perf_counter()))
                return cpu_seconds(target.server_pid) - before

            server_cpu = asyncio.create_task(server_cpu_in_window())
        sustained = await gather_calls(
            workers,
            "sustain",
            start_at=start_at,
            warmup=args.warmup,
            seconds=args.seconds,
            paced=target.paced,
        )
        if server_cpu is not None:
            server_cpu = await server_cpu
        drained = await gather_calls(workers, "drain", seconds=1.0, limit=args.drain_limit)
        counts = [c for s in sustained for c in s["window_counts"]]
        acked = sum(s["acked"] for s in sustained)
        received = sum(c for d in drained for c in d["counts"])
        send_errors: dict[str, int] = {}
        for s in sustained:
            for name, count in s["errors"].items():
                send_errors[name] = send_errors.get(name, 0) + count
        publishers = len(target.sustain_keys)
        offered_cap = publishers * RATE_MESSAGES / RATE_SECONDS if target.paced else None
        delivered = statistics.median(counts) / window if counts else 0.0
        all_frames = sum(d["doc_frames"] for d in drained)
        result["sustained"] = {
            "publishers": publishers,
            "window_s": window,
            "sent": sum(s["sent"] for s in sustained),
            "acked": acked,
            "acked_per_s": round(sum(s["acked_in_window"] for s in sustained) / window, 1),
            "send_errors": send_errors,
            "messages_per_s": round(delivered, 1),
            "per_client_frames_per_s": {
                "p50": round(delivered, 1),
                "min": round(min(counts) / window, 1) if counts else 0,
                "max": round(max(counts) / window, 1) if counts else 0,
            },
            "server_frames_per_s": round(sum(s["window_frames_all"] for s in sustained) / window),
            "undelivered_after_drain": acked * len(counts) - received,
            "bytes_per_frame": round(sum(d["doc_bytes"] for d in drained) / max(all_frames, 1)),
            # Above 1 when the server batched doc updates into shared socket frames.
            "docs_per_socket_frame": round(
                all_frames / max(sum(d["socket_frames"] for d in drained), 1), 2
            ),
            "offered_cap_per_s": round(offered_cap, 1) if offered_cap else None,
            "rate_limit_bound": bool(offered_cap and delivered >= 0.9 * offered_cap),
            "server_cpu_s": round(server_cpu, 2) if server_cpu is not None else None,
            "client_cpu_s": [round(s["cpu_window"], 2) for s in sustained],
        }
    result["loadavg_1min"].append(round(os.getloadavg()[0], 2))
    return result


# Servers


@contextmanager
def channels_server(
    config: str, env: dict[str, str], workdir: Path, stall: str, port_log: str, processes: int
):
    server_env_ = dict(env)
    server_env_.update(
        DJANGO_SETTINGS_MODULE="bench.settings_layer",
        BENCH_CHANNEL_LAYER="" if config == "project" else config,
        BENCH_CHANNEL_PREFIX=f"bench{os.getpid()}",
    )
    with daphne_process(env=server_env_, log_path=workdir / port_log, processes=processes) as (
        base_url,
        process,
    ):
        socket_url = base_url.replace("http://", "ws://", 1) + f"/ws/stalls/{stall}/"
        yield socket_url, base_url, process


def summarise(n: int, runs: dict[str, dict]) -> dict:
    """Each daphne configuration against the baseline at the same N."""
    base = runs.get("baseline")
    ratios = {}
    for label, run in runs.items():
        if label == "baseline" or base is None:
            continue
        entry = {}
        if run.get("latency", {}).get("p95_ms") and base.get("latency", {}).get("p95_ms"):
            for key in ("p50_ms", "p95_ms", "max_ms"):
                ratio = run["latency"][key] / base["latency"][key]
                entry[f"latency_{key[:-3]}_x"] = round(ratio, 1)
        if run.get("sustained") and base.get("sustained"):
            ours, theirs = run["sustained"], base["sustained"]
            if theirs["messages_per_s"]:
                entry["throughput_pct_of_baseline"] = round(
                    100 * ours["messages_per_s"] / theirs["messages_per_s"], 1
                )
                entry["rate_limit_bound"] = ours["rate_limit_bound"]
        ratios[label] = entry
    return ratios


def print_table(n: int, runs: dict[str, dict], ratios: dict) -> None:
    print(f"\nN = {n} listeners in one stall")
    print(
        f"  {'server':<11}{'joined':>8}{'join s':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'msgs/s':>9}{'frames/s':>10}{'undeliv':>8}{'srv cpu':>9}{'cli cpu':>12}"
    )
    for label, run in runs.items():
        latency = run.get("latency") or {}
        sustained = run.get("sustained") or {}

        def cell(value, width, fmt="{:.1f}"):
            return f"{fmt.format(value) if value is not None else '-':>{width}}"

        print(
            f"  {label:<11}{run.get('listeners_connected', 0):>8}"
            f"{cell(run.get('join_seconds'), 8)}{cell(latency.get('p50_ms'), 9)}"
            f"{cell(latency.get('p95_ms'), 9)}{cell(latency.get('max_ms'), 9)}"
            f"{cell(sustained.get('messages_per_s'), 9)}"
            f"{cell(sustained.get('server_frames_per_s'), 10, '{:.0f}')}"
            f"{cell(sustained.get('undelivered_after_drain'), 8, '{:.0f}')}"
            f"{cell(sustained.get('server_cpu_s'), 9)}"
            f"{'/'.join(str(c) for c in sustained.get('client_cpu_s', [])) or '-':>12}"
        )
        if run.get("connect_errors"):
            for name, count in run["connect_errors"].items():
                print(f"      join refused {count} x {name}")
        if sustained.get("send_errors"):
            print(f"      chat refused: {sustained['send_errors']}")
        if sustained.get("rate_limit_bound"):
            print(
                f"      at the chat rate limit's cap ({sustained['offered_cap_per_s']} msgs/s "
                f"from {sustained['publishers']} authors): a lower bound"
            )
    for label, entry in ratios.items():
        parts = []
        if "latency_p95_x" in entry:
            parts.append(
                f"latency p50 {entry['latency_p50_x']}x, p95 {entry['latency_p95_x']}x, "
                f"max {entry['latency_max_x']}x the baseline"
            )
        if "throughput_pct_of_baseline" in entry:
            bound = " (rate-limit bound)" if entry["rate_limit_bound"] else ""
            parts.append(f"throughput {entry['throughput_pct_of_baseline']}%{bound}")
        print(f"  {label} / baseline: {'; '.join(parts) or '-'}")
    loads = sorted({x for run in runs.values() for x in run.get("loadavg_1min", [])})
    if loads:
        print(f"  machine load (1-min average, 2 cores) during these runs: {loads[0]}-{loads[-1]}")
    print("  aims: p95 < 100 ms at N = 500; throughput >= 40% of the baseline")


async def run_url(args: argparse.Namespace) -> dict:
    """A server someone else started (with Redis): one stall, sessions from a file."""
    keys = Path(args.session_keys).read_text().split() if args.session_keys else []
    latency_count = math.ceil(args.rounds / ROUNDS_PER_LATENCY_PUBLISHER)
    if len(keys) < latency_count:
        raise SystemExit(f"--session-keys must list at least {latency_count} signed-in sessions")
    base = args.url.rstrip("/")
    target = Target(
        label="url",
        socket_url=base.replace("http", "ws", 1) + f"/ws/stalls/{args.stall}/",
        origin=base,
        server_pid=None,
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
    configs = args.configs
    daphne_configs = [c for c in configs if c != "baseline"]
    latency_count = math.ceil(args.rounds / ROUNDS_PER_LATENCY_PUBLISHER)
    per_run = latency_count + args.publishers
    results: dict = {"configs": configs, "redis": args.redis, "by_n": {}}
    with _workdir(args.keep) as workdir:
        (workdir / "db").mkdir()
        with _database(args, workdir) as database_url:
            env = server_env(database_url=database_url, media_root=workdir / "media")
            env["REDIS_URL"] = args.redis
            progress("migrating and seeding a 2x2 market")
            seed(env=env, sections=2, stalls=4)
            stalls = stall_public_ids(env=env)
            runs_needed = len(daphne_configs) * len(args.sizes)
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
                    if n > 500 and not args.full and size_number and args.budget:
                        spent = time.monotonic() - started
                        estimate = results["by_n"][str(args.sizes[size_number - 1])]["_seconds"] * (
                            n / args.sizes[size_number - 1]
                        )
                        if spent + estimate > args.budget:
                            progress(
                                f"skipping N={n}: about {estimate:.0f} s more would pass the "
                                f"{args.budget:.0f} s budget (--full runs it)"
                            )
                            results["skipped"] = n
                            continue
                    n_started = time.monotonic()
                    runs: dict[str, dict] = {}
                    for config in configs:
                        if config == "baseline":
                            with ws_baseline(log_path=workdir / "baseline.log") as (url, proc):
                                target = Target(
                                    label=config,
                                    socket_url=url + "/",
                                    origin=url.replace("ws://", "http://", 1),
                                    server_pid=proc.pid,
                                    paced=False,
                                    latency_keys=[None] * latency_count,
                                    sustain_keys=[None] * args.publishers,
                                )
                                runs[config] = asyncio.run(measure(target, n, args))
                                proc.kill()
                            continue
                        stall = stalls[len(used_stalls)]
                        used_stalls.append(stall)
                        keys = sessions[:per_run]
                        sessions = sessions[per_run:]
                        with channels_server(
                            config,
                            env,
                            workdir,
                            stall,
                            f"daphne-{config}-{n}.log",
                            args.server_processes,
                        ) as (socket_url, base_url, process):
                            target = Target(
                                label=config,
                                socket_url=socket_url,
                                origin=base_url,
                                server_pid=process.pid,
                                paced=True,
                                cookie=cookie,
                                latency_keys=keys[:latency_count],
                                sustain_keys=keys[latency_count:],
                            )
                            runs[config] = asyncio.run(measure(target, n, args))
                            # No graceful shutdown: every socket is gone already and a
                            # departure storm would only delay the next measurement.
                            process.kill()
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


@contextmanager
def _workdir(keep: bool):
    """A temporary directory for the database, media and server logs; kept if asked."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix="bazaar-bench-room-"))
        progress(f"keeping the database and server logs in {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bazaar-bench-room-") as tmp:
        yield Path(tmp)


@contextmanager
def _database(args: argparse.Namespace, workdir: Path):
    if args.postgres:
        with postgres_database(args.postgres, f"bazaar_bench_room_{os.getpid()}") as url:
            yield url
    else:
        yield f"sqlite:///{workdir / 'db' / 'bench.sqlite3'}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
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
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"default {DEFAULT_REDIS}")
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
        "--server-processes", type=int, default=1, help="daphne processes per server (bazaar.serve)"
    )
    parser.add_argument("--concurrency", type=int, default=25, help="joins in flight")
    parser.add_argument("--retries", type=int, default=2, help="tries again per refused join")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--url", help="measure a running server instead (needs --stall)")
    parser.add_argument("--stall", help="with --url: the stall's public id")
    parser.add_argument("--session-keys", help="with --url: a file of signed-in session keys")
    parser.add_argument("--cookie", default="sessionid", help="with --url: session cookie name")
    args = parser.parse_args(argv)
    if args.worker:
        return args
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
    if args.worker:
        asyncio.run(worker_main())
        return 0
    # Every socket is a descriptor in a client worker and in the server (inherited).
    raise_open_files(4 * (max(args.sizes) + args.publishers) + 1024)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    try:
        results = {"url": asyncio.run(run_url(args))} if args.url else run_local(args, started)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    print(f"\ntotal {results['elapsed_s']} s")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
