"""The client side of bench/stall_room.py: a worker process holding some of the room's
sockets, driven by the coordinator over stdin (bench/_workers.py).

    .venv/bin/python bench/_room_sockets.py     # started by bench/stall_room.py

Listeners only count and timestamp the chat updates (`doc` frames, or the doc updates
inside a `batch` frame) they receive; publishers send chat and wait for its
`chat_ack`. Nothing is decoded on the hot path, so a client can keep up with the server.
"""

import asyncio
import json
import sys
import time
from collections import deque
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._workers import serve_commands
from bench._ws import ERROR, abort, join

# stalls/room/chat.py: CHAT_RATE_MESSAGES in CHAT_RATE_SECONDS per author.
RATE_MESSAGES, RATE_SECONDS = 5, 10.0
PACE_SECONDS = RATE_SECONDS / RATE_MESSAGES + 0.05
# The start of each frame kind as json.dumps writes it (the server and the baseline).
DOC = '{"type": "doc", '
BATCH = '{"type": "batch", '
ACK = '{"type": "chat_ack"'
LISTENER, LATENCY, SUSTAIN = "listener", "latency", "sustain"


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
        gate = asyncio.Semaphore(concurrency) if concurrency else None
        errors: dict[str, int] = {}
        started = time.perf_counter()

        async def join_as(role: str, session_key: str | None) -> None:
            session = f"{cookie}={session_key}" if session_key else None
            socket = await join(url, origin=origin, cookie=session, timeout=timeout)
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
                        return await join_as(role, session_key)
                    async with gate:
                        return await join_as(role, session_key)
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
        abort(self.sockets)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return {"closed": len(self.sockets)}


async def main() -> None:
    await serve_commands(Sockets())


if __name__ == "__main__":
    asyncio.run(main())
