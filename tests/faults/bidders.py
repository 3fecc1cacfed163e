"""Bidders over an auction's socket that survive their server: a socket that drops is
opened again (to whichever web process takes it), the page's state read afresh from
its `welcome`, and the bid in flight sent again with the same key, as the auction page
does (docs/protocol.md). Every answer is kept for the history check."""

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field

from bench._auction_clients import answer_record
from bench._ws import connect, ws_url

WELCOME = '{"type": "welcome"'
ACK = '{"type": "bid_ack"'
GIVE_UP_SECONDS = 60


@dataclass
class Bidder:
    handle: str
    cookie: str
    answers: list[dict] = field(default_factory=list)
    joins: list[float] = field(default_factory=list)  # when each socket got its welcome
    drops: list[float] = field(default_factory=list)  # when a socket was found dead
    stale_welcomes: list[tuple[int, int]] = field(default_factory=list)  # (welcome, acked)
    acked_version: int = 0


class Market:
    """What the bidders share: the server, the auction, and rising amounts."""

    def __init__(self, base: str, public_id: str, rate_cents_per_s: float = 5e7):
        self.base = base
        self.url = ws_url(base, f"/ws/auctions/{public_id}/")
        self.epoch = time.time()
        self.rate = rate_cents_per_s

    def amount(self) -> int:
        """Rises with the clock: a bid sent later is higher (and one overtaken on its way
        in is refused as too low)."""
        return 100 + int((time.time() - self.epoch) * self.rate)


async def _open(market: Market, bidder: Bidder):
    """A socket with its welcome read: the state a reconnecting page starts from."""
    socket = await connect(market.url, origin=market.base, cookie=bidder.cookie, open_timeout=10)
    async with asyncio.timeout(10):
        while True:
            raw = await socket.recv()
            if raw.startswith(WELCOME):
                version = json.loads(raw)["state"]["version"]
                if version < bidder.acked_version:
                    bidder.stale_welcomes.append((version, bidder.acked_version))
                return socket


async def _answer(socket, key: str, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            raw = await socket.recv()
            if raw.startswith(ACK):
                ack = json.loads(raw)
                if ack.get("key") == key:
                    return ack


async def bid_until(market: Market, bidder: Bidder, until: float, pause: float = 0.05) -> None:
    """Bid, wait for the answer, bid again until `until`; a dropped socket is opened
    again and the unanswered bid sent again with its key, until it has an answer (or
    GIVE_UP_SECONDS after `until`: a server that never came back)."""
    pending: tuple[str, int] | None = None
    socket = None
    while (pending is not None or time.time() < until) and time.time() < until + GIVE_UP_SECONDS:
        try:
            if socket is None:
                socket = await _open(market, bidder)
                bidder.joins.append(time.time())
            if pending is None:
                pending = (secrets.token_hex(12), market.amount())
            key, amount = pending
            sent = time.time()
            await socket.send(json.dumps({"bid": amount, "key": key}))
            ack = await _answer(socket, key, timeout=20)
            bidder.answers.append(answer_record(bidder.handle, key, sent, time.time(), ack))
            if ack.get("ok"):
                bidder.acked_version = max(bidder.acked_version, ack.get("version", 0))
            pending = None
            await asyncio.sleep(pause)
        except (OSError, TimeoutError, ConnectionError) as error:
            await _drop(bidder, socket, error)
            socket = None
        except Exception as error:  # websockets' ConnectionClosed and handshake errors
            if type(error).__module__.split(".")[0] != "websockets":
                raise
            await _drop(bidder, socket, error)
            socket = None
    if socket is not None:
        await socket.close()


async def _drop(bidder: Bidder, socket, error: BaseException) -> None:
    bidder.drops.append(time.time())
    if socket is not None:
        socket.transport.abort()
    await asyncio.sleep(0.2)
