"""The client side of bench/crowd.py: a worker process holding some of the watchers,
driven by the coordinator over stdin (bench/_workers.py).

A watcher does what an open stall page does and nothing more: it opens the stall
room's socket, waits for `welcome`, asks for the document (Yjs sync step 1) and waits
for `synced`, then sends `ping` every `heartbeat_seconds` (from the welcome, then the
room's presence frames) at a random phase; with a live auction in the stall it also
holds the auction's socket, as the stall's show panel does, and pings there too at the
beat its welcome and pongs name (every 5 minutes: the page's clock check). It notes
only the arrival time of the first `doc` frame (a chat message: nothing else changes
the document while the crowd is idle) and of the first frame carrying a higher auction
`version` (a bid) after each mark.
"""

import asyncio
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._workers import serve_commands
from bench._ws import abort, connect

SYNC_STEP1_EMPTY = bytes([0, 0, 1, 0])  # Yjs sync step 1 with an empty state vector
WELCOME = '{"type": "welcome"'
PONG = '{"type": "pong"'
PRESENCE = '"type": "presence"'
SYNCED = '"type": "synced"'
DOC = '"type": "doc"'
HEARTBEAT = re.compile(r'"heartbeat_seconds": (\d+)')
VERSION = re.compile(r'"version": (\d+)')


async def _beat(socket, heartbeat: list[int]) -> None:
    """A page's `ping` every `heartbeat[0]` seconds (the server may change it), from a
    random phase."""
    await asyncio.sleep(random.uniform(0, heartbeat[0]))
    while True:
        await socket.send('{"type": "ping"}')
        await asyncio.sleep(heartbeat[0])


class Crowd:
    def __init__(self) -> None:
        self.rooms: list = []
        self.auctions: list = []
        self.tasks: list[asyncio.Task] = []
        self.frames = 0
        self.doc_after: float | None = None  # the mark a chat's arrival is timed from
        self.doc_seen: list[float] = []
        self.version_after = 0
        self.bid_seen: list[float] = []
        self.heartbeat = 0  # the longest heartbeat a welcome told

    async def connect(
        self, room_url: str, auction_url: str, origin: str, n: int, concurrency: int
    ) -> dict:
        """`n` watchers, `concurrency` joining at a time; each counts once synced."""
        gate = asyncio.Semaphore(concurrency)
        errors: dict[str, int] = {}
        started = time.perf_counter()
        room_done: list[float] = []

        async def attempt(step) -> bool:
            """A refused step is tried again, as a browser reconnects, twice."""
            for tries in range(3):
                try:
                    await step()
                    return True
                except Exception as error:
                    name = f"{type(error).__name__}: {error}"[:80]
                    errors[name] = errors.get(name, 0) + 1
                    await asyncio.sleep(0.5 * (tries + 1))
            return False

        async def open_auction() -> None:
            socket = await connect(auction_url, origin=origin)
            self.auctions.append(socket)
            self.tasks.append(asyncio.create_task(self._auction(socket)))

        async def watcher() -> None:
            async with gate:
                if not await attempt(lambda: self._join(room_url, origin)):
                    return
                room_done.append(time.perf_counter())
                if auction_url:
                    await attempt(open_auction)

        await asyncio.gather(*(watcher() for _ in range(n)))
        return {
            "connected": len(room_done),
            "heartbeat": self.heartbeat,
            "room_seconds": round(max(room_done, default=started) - started, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "errors": errors,
        }

    async def _join(self, url: str, origin: str) -> None:
        socket = await connect(url, origin=origin, close_timeout=2)
        try:
            async with asyncio.timeout(30):
                heartbeat = 10
                while True:
                    raw = await socket.recv()
                    if isinstance(raw, str) and raw.startswith(WELCOME):
                        heartbeat = int(HEARTBEAT.search(raw).group(1))
                        self.heartbeat = max(self.heartbeat, heartbeat)
                        await socket.send(SYNC_STEP1_EMPTY)
                    elif isinstance(raw, str) and SYNCED in raw:
                        break
        except BaseException:
            socket.transport.abort()
            raise
        self.rooms.append(socket)
        self.tasks.append(asyncio.create_task(self._room(socket, heartbeat)))

    async def _room(self, socket, heartbeat: int) -> None:
        from websockets.exceptions import ConnectionClosed

        beat = [heartbeat]
        beating = asyncio.create_task(_beat(socket, beat))
        seen_after = None
        try:
            async for raw in socket:
                self.frames += 1
                if isinstance(raw, str) and PRESENCE in raw:  # the room's beat, as it grows
                    beat[0] = int(HEARTBEAT.search(raw).group(1))
                marked = self.doc_after
                if (
                    marked is not None
                    and seen_after != marked
                    and isinstance(raw, str)
                    and DOC in raw
                ):
                    seen_after = marked
                    self.doc_seen.append(time.time())
        except ConnectionClosed:
            pass
        finally:
            beating.cancel()

    async def _auction(self, socket) -> None:
        from websockets.exceptions import ConnectionClosed

        highest = 0
        beating = None
        try:
            async for raw in socket:
                self.frames += 1
                told = HEARTBEAT.search(raw)  # the page's auction ping, as the server asks
                if told and raw.startswith(WELCOME):
                    beat = [int(told.group(1))]
                    beating = asyncio.create_task(_beat(socket, beat))
                elif told and raw.startswith(PONG):
                    beat[0] = int(told.group(1))
                found = VERSION.findall(raw)
                if found:
                    version = max(map(int, found))
                    if version > highest:
                        highest = version
                        if version > self.version_after:
                            self.bid_seen.append(time.time())
        except ConnectionClosed:
            pass
        finally:
            if beating is not None:
                beating.cancel()

    def frames_so_far(self) -> dict:
        return {"frames": self.frames, "open": sum(1 for s in self.rooms if s.state.name == "OPEN")}

    def mark_chat(self, at: float) -> dict:
        """Time the next `doc` frame each watcher receives from now."""
        self.doc_seen = []
        self.doc_after = at
        return {}

    def mark_bid(self, version: int) -> dict:
        """Time the first frame with an auction version above `version`."""
        self.bid_seen = []
        self.version_after = version
        return {}

    async def arrivals(self, kind: str, expected: int, timeout: float) -> dict:
        """Arrival times of the marked event so far, waiting up to `timeout` for all."""
        seen = self.doc_seen if kind == "chat" else self.bid_seen
        deadline = time.monotonic() + timeout
        while len(seen) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return {"times": list(seen)}

    async def leave(self) -> dict:
        """Every socket closes at once, as a crowd leaving."""
        started = time.perf_counter()
        sockets = self.rooms + self.auctions
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        self.rooms, self.auctions, self.tasks = [], [], []
        return {"seconds": round(time.perf_counter() - started, 3), "closed": len(sockets)}

    def close(self) -> dict:
        abort(self.rooms + self.auctions)
        return {}


if __name__ == "__main__":
    asyncio.run(serve_commands(Crowd()))
