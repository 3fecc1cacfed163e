"""bench/auction.py's client processes: bidders (over the auction's socket or by POST)
and watch-only sockets, each process reporting what it was told and when.

A bidder sends a bid, waits for its answer and bids again until the burst is over;
in waves (`wave_every` seconds) every bidder instead sends one bid at each wave's start,
all at once, and waits for the next wave.
Every RETRY_EVERY-th bid goes out twice with the same key: over the socket the two
frames leave back to back (the copy arrives while the first is in flight), by POST
the copy goes on a second connection at the same moment. Both answers are kept for
the history check (bench/_history.py).
"""

import asyncio
import json
import re
import secrets
import signal
import time
from collections import defaultdict

from websockets.exceptions import InvalidMessage, InvalidStatus

from bench._clients import AsyncHttp
from bench._ws import abort, join, ws_url

VERSION = re.compile(r'"version": (\d+)')
ACK = '{"type": "bid_ack"'
LOCK_DECIDED = {"bid_too_low", "already_leading"}  # refusals that took the auction's lock


class Watcher:
    """A socket on the auction, noting when each higher state version first arrived."""

    def __init__(self):
        self.versions: list[int] = []
        self.times: list[float] = []
        self.last_frame = 0.0

    def saw(self, raw: str, at: float) -> None:
        self.last_frame = at
        found = VERSION.findall(raw)
        if found:
            version = max(map(int, found))
            if not self.versions or version > self.versions[-1]:
                self.versions.append(version)
                self.times.append(at)

    async def run(self, socket) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in socket:
                self.saw(raw, time.time())
        except ConnectionClosed:
            return


class SocketBidder:
    """A signed-in socket that bids and reads its acknowledgements by key."""

    def __init__(self, socket):
        self.socket = socket
        self.waiting: dict[str, list[asyncio.Future]] = defaultdict(list)

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.socket:
                if raw.startswith(ACK):
                    ack = json.loads(raw)
                    waiting = self.waiting.get(ack["key"])
                    if waiting:
                        waiting.pop(0).set_result((time.time(), ack))
        except ConnectionClosed:
            return

    async def bid(self, amount_cents: int, key: str, copies: int) -> list[tuple]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(copies)]
        self.waiting[key].extend(futures)
        frame = json.dumps({"bid": amount_cents, "key": key})
        sent = time.time()
        for _ in range(copies):
            await self.socket.send(frame)
        answers = []
        for at, ack in await asyncio.gather(*futures):
            answers.append((sent, at, ack))
        return answers


class HttpBidder:
    """Two keep-alive connections: bids go on the first, copies on the second."""

    def __init__(self, base: str, cookie: str, public_id: str):
        self.path = f"/auctions/{public_id}/bids"
        self.https = [AsyncHttp(base, cookie), AsyncHttp(base, cookie)]

    async def open(self) -> None:
        await asyncio.gather(*(http.open() for http in self.https))

    async def bid(self, amount_cents: int, key: str, copies: int) -> list[tuple]:
        form = {"amount": f"{amount_cents / 100:.2f}"}
        sent = time.time()

        async def one(http):
            status, body = await http.post(self.path, form, {"Idempotency-Key": key})
            answer = json.loads(body) if body.startswith(b"{") else {"ok": False}
            answer.setdefault("code", f"http_{status}" if status != 200 else "")
            return (sent, time.time(), answer)

        return list(await asyncio.gather(*(one(h) for h in self.https[:copies])))

    def close(self) -> None:
        for http in self.https:
            http.close()


def answer_record(handle: str, key: str, sent: float, at: float, answer: dict) -> dict:
    """One answer as the coordinator and the history check read it."""
    bid = answer.get("bid") or {}
    return {
        "bidder": handle,
        "key": key,
        "sent": sent,
        "at": at,
        "ok": bool(answer.get("ok")),
        "code": answer.get("code") or "",
        "bid_id": bid.get("id", ""),
        "amount_cents": bid.get("amount_cents", 0),
        "version": answer.get("version", 0),
        "message": answer.get("message", ""),
        "leading": bool(answer.get("leading", True)),
    }


async def joined(url: str, *, origin: str, cookie: str | None = None, tries: int = 5):
    """`join`, tried again after a pause when a busy server drops the handshake."""
    for attempt in range(tries):
        try:
            return await join(url, origin=origin, cookie=cookie, timeout=30)
        except (OSError, InvalidMessage, InvalidStatus, TimeoutError):
            if attempt == tries - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)


async def bidders_main(config: dict, sessions: list[tuple[str, str]], barrier, results) -> None:
    servers, public_id = config["servers"], config["public_id"]
    gate = asyncio.Semaphore(20)
    bidders, sockets = [], []

    async def arrive(index: int, session: str) -> None:
        base = servers[(config["offset"] + index) % len(servers)]
        cookie = f"{config['cookie']}={session}"
        async with gate:
            if config["transport"] == "socket":
                socket = await joined(
                    ws_url(base, f"/ws/auctions/{public_id}/"), origin=base, cookie=cookie
                )
                sockets.append(socket)
                bidder = SocketBidder(socket)
                asyncio.get_running_loop().create_task(bidder.read())
            else:
                bidder = HttpBidder(base, cookie, public_id)
                await bidder.open()
            bidders.append((index, bidder))

    await asyncio.gather(*(arrive(i, session) for i, (_, session) in enumerate(sessions)))
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    epoch = time.time()
    burst_end = epoch + config["seconds"]
    answers: list[dict] = []
    errors: dict[str, int] = {}

    wave_every = config.get("wave_every", 0)

    async def bid_loop(index: int, bidder) -> None:
        handle = sessions[index][0]
        if not wave_every:
            await asyncio.sleep(index / len(sessions) * 0.05)  # a spread start, not all at once
        number = 0
        while time.time() < burst_end:
            if wave_every:  # every bidder bids at the wave's start, as in a show's last seconds
                await asyncio.sleep(max(0.0, epoch + number * wave_every - time.time()))
            number += 1
            key = secrets.token_hex(12)
            amount = 100 + int((time.time() - epoch) * config["rate"])
            copies = 2 if number % config["retry_every"] == 0 else 1
            try:
                told = await bidder.bid(amount, key, copies)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as error:
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                return
            for sent, at, answer in told:
                answers.append(answer_record(handle, key, sent, at, answer))

    await asyncio.gather(*(bid_loop(index, bidder) for index, bidder in bidders))
    for _, bidder in bidders:
        if isinstance(bidder, HttpBidder):
            bidder.close()
    abort(sockets)
    results.put({"answers": answers, "errors": errors})


async def watchers_main(config: dict, count: int, start, end, results) -> None:
    servers, public_id = config["servers"], config["public_id"]
    gate = asyncio.Semaphore(20)
    watchers, sockets = [Watcher() for _ in range(count)], []

    async def arrive(index: int) -> None:
        base = servers[(config["offset"] + index) % len(servers)]
        async with gate:
            socket = await joined(ws_url(base, f"/ws/auctions/{public_id}/"), origin=base)
            sockets.append(socket)
            asyncio.get_running_loop().create_task(watchers[index].run(socket))

    await asyncio.gather(*(arrive(i) for i in range(count)))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, start.wait)
    # The burst is over once every bidder has its answers; then the sockets go quiet.
    await loop.run_in_executor(None, end.wait)
    deadline = time.time() + config["quiet_limit"]
    while time.time() < deadline:
        if time.time() - max((w.last_frame for w in watchers), default=0.0) >= 1.0:
            break
        await asyncio.sleep(0.1)
    abort(sockets)
    results.put({"watchers": [(w.versions, w.times) for w in watchers]})


def bidders_process(config, sessions, barrier, results) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(bidders_main(config, sessions, barrier, results))


def watchers_process(config, count, start, end, results) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(watchers_main(config, count, start, end, results))
