"""One channel-layer subscription per process and group, handed to local sockets directly.

With one subscription per socket, a message to a group of 500 sockets in one
process becomes 500 queue entries, 500 wake-ups of 500 consumer loops and 500
dispatches before any frame is written; profiles of a stall's fan-out put that at
about a fifth of the server's time. Here each process subscribes once per group
and a single task hands every message to its members' handlers in order. What is
meant for one socket or one user (private frames, sanctions) still travels on the
consumer's own channel.

Under load, writing each frame to each socket is what costs (daphne's write path
takes some 50 microseconds of the event loop per frame and socket, most of it
registering and unregistering the socket with the loop). So a group's deliveries are
spaced by SECONDS_PER_SOCKET per member (at most LONGEST_WAIT apart), which keeps a
busy room's fan-out to about a quarter of one process: a 100-socket auction delivers
up to every 20 ms, a stall of 500 sockets or more every 100 ms. The first message
after a quiet spell goes out at once; what arrives while a delivery is due waits for
it, and consecutive pre-encoded frames (messages with a `frame`) waiting together go
to each socket as one `batch` frame, joined once for the whole group.

Messages that say they carry a state (`latest`, below) are folded instead: those
waiting together become one frame of the newest state listing every item since,
and one older than the state last handed out is dropped.

Measured with bench/stall_room.py (one process, 500 listeners, 200 authors at the
chat limit): one frame per message per socket delivered about 20 messages a second
to every listener; a fixed 20 deliveries a second about 25; spaced by size, with the
loop free for other work every SOCKETS_PER_TURN sockets, about 90 (55-67% of a
minimal `websockets` server, against 12%).
"""

import asyncio
import logging

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from uvicorn.protocols.utils import ClientDisconnected

from bazaar import metrics
from bazaar.wire import SharedFrame

# What each server raises for a frame sent to a socket the browser has just closed.
SOCKET_GONE = (Disconnected, ClientDisconnected)

log = logging.getLogger(__name__)

SECONDS_PER_SOCKET = 200e-6
LONGEST_WAIT = 0.1
SOCKETS_PER_TURN = 50

# A page's heartbeat on a socket (a `ping` frame) is most of what an idle socket costs
# its server, so a socket joining a big group is told a longer beat: the group's pings
# in this process stay near `pings_per_second` however many watch. At most
# HEARTBEAT_MOST: a quiet socket's beat is all its traffic, under the 60 s idle timeout
# common on load balancers. A longer beat only delays noticing a dead peer.
HEARTBEAT_MOST = 50


def heartbeat_for(sockets: int, *, least: int, pings_per_second: float = 100) -> int:
    """The heartbeat (seconds) for a socket joining a group of `sockets`."""
    return int(min(HEARTBEAT_MOST, max(least, sockets // pings_per_second)))


def batch_frame(frames: list[str]) -> str:
    """Several JSON frames as one: `{"type": "batch", "frames": [...]}`, in order."""
    return '{"type": "batch", "frames": [' + ", ".join(frames) + "]}"


# The newest state, with the items that came since. A message may carry `latest`:
# {"version": rising number, "head": the frame's JSON up to its item list, "items":
# JSON texts}; its frame is `head` + the items as a JSON list + "}". Consecutive ones
# waiting together become one, of the highest version, listing every item (the last
# MAX_ITEMS); one older than what the group was last given is dropped. A burst of
# states thus costs one frame per delivery, and nobody sees an old state after a new.
MAX_ITEMS = 30


def latest_frame(head: str, items: list[str]) -> str:
    return head + "[" + ", ".join(items[-MAX_ITEMS:]) + "]}"


def _newest(run: list[dict]) -> dict:
    """One message for a run of `latest` ones: the newest state, every item since."""
    if len(run) == 1:
        return run[0]
    newest = max(run, key=lambda message: message["latest"]["version"])
    items = [item for message in run for item in message["latest"]["items"]][-MAX_ITEMS:]
    latest = newest["latest"] | {"items": items}
    return newest | {"frame": latest_frame(latest["head"], items), "latest": latest}


def _latest_first(messages: list[dict], given: int) -> list[dict]:
    """Runs of `latest` messages folded into one each, none older than `given`."""
    out: list[dict] = []
    run: list[dict] = []
    for message in [*messages, None]:
        if message is not None and "latest" in message:
            if message["latest"]["version"] > given:
                run.append(message)
            continue
        if run:
            out.append(_newest(run))
            run = []
        if message is not None:
            out.append(message)
    return out


def _coalesced(messages: list[dict]) -> list[dict]:
    """Runs of pre-encoded frames joined into one `frames.batch` message each."""
    out: list[dict] = []
    run: list[dict] = []

    def close_run() -> None:
        if len(run) > 1:
            out.append({"type": "frames.batch", "frame": batch_frame([m["frame"] for m in run])})
        else:
            out.extend(run)
        run.clear()

    for message in messages:
        if isinstance(message.get("frame"), str):
            run.append(message)
        else:
            close_run()
            out.append(message)
    close_run()
    return out


# A state kept by a fan-out (`GroupFanout.keep`) is served at most this long, so a
# change whose announcement was lost (Redis down for a moment) is read afresh soon.
KEEP_SECONDS = 5.0


class GroupFanout:
    """`linger`: seconds the subscription outlives its last member, so that a socket
    joining soon after (a page reloaded, the next stall of the same person) waits on
    no SUBSCRIBE. The members of a lingering fan-out leave through the object they
    joined (it may have been replaced in `group_fanout`'s registry meanwhile)."""

    def __init__(
        self,
        channel_layer,
        group: str,
        seconds_per_socket: float = SECONDS_PER_SOCKET,
        linger: float = 0.0,
    ):
        self.channel_layer = channel_layer
        self.group = group
        self.seconds_per_socket = seconds_per_socket
        self.linger = linger
        self.members: set = set()
        self.channel: str | None = None
        self.tasks: tuple[asyncio.Task, ...] = ()
        self.lock = asyncio.Lock()
        self.ending: asyncio.Task | None = None  # the lingering subscription's end
        self.kept_state: tuple | None = None  # (channel, version, until, state)
        self.waiting: list[dict] = []
        self.first_waiting_at = 0.0  # loop time the oldest waiting message came
        self.arrived = asyncio.Event()
        self.delivered_at = float("-inf")
        self.latest_given = -1  # the highest `latest` version handed out

    async def join(self, consumer) -> None:
        """Add a consumer; when this returns, the process is subscribed to the group."""
        async with self.lock:
            self.members.add(consumer)
            if self.ending is not None:
                self.ending.cancel()
                self.ending = None
            if self.channel is None:
                self.channel = await self.channel_layer.new_channel()
                await self.channel_layer.group_add(self.group, self.channel)
                loop = asyncio.get_running_loop()
                self.tasks = (
                    loop.create_task(self._receive(self.channel)),
                    loop.create_task(self._deliver()),
                )

    async def leave(self, consumer) -> None:
        async with self.lock:
            self.members.discard(consumer)
            if self.members or self.channel is None or self.ending is not None:
                return
            if self.linger > 0:
                self.ending = asyncio.get_running_loop().create_task(self._end_after_linger())
                return
            await self._end()

    async def _end_after_linger(self) -> None:
        """The registry (`group_fanout`) forgets a lingering fan-out once it ends, so one
        per person who ever joined does not pile up; its members hold it and leave
        through it, and a join on it after it ended simply subscribes it again."""
        await asyncio.sleep(self.linger)
        async with self.lock:  # a join cancels this before it takes the lock
            self.ending = None
            await self._end()
        key = (id(asyncio.get_running_loop()), self.group)
        if _fanouts.get(key) is self:
            del _fanouts[key]

    async def _end(self) -> None:
        channel, self.channel = self.channel, None
        for task in self.tasks:
            task.cancel()
        self.waiting.clear()
        self.kept_state = None
        await self.channel_layer.group_discard(self.group, channel)

    def keep(self, member, state, version: int) -> None:
        """Keep a state of the group that `member` read after joining, for sockets that
        join later (`kept`). It was read while subscribed, so every change after it
        reaches the members; it stays current until a newer `latest` is handed out
        (a socket joining then would have missed it), the subscription ends, or
        KEEP_SECONDS pass."""
        if member not in self.members or version < self.latest_given:
            return
        if self.kept_state is not None and self.kept_state[1] > version:
            return
        until = asyncio.get_running_loop().time() + KEEP_SECONDS
        self.kept_state = (self.channel, version, until, state)

    def kept(self):
        """The kept state if still current, else None."""
        if self.kept_state is None:
            return None
        channel, version, until, state = self.kept_state
        current = (
            channel == self.channel
            and version >= self.latest_given
            and asyncio.get_running_loop().time() < until
        )
        return state if current else None

    def hand_out_here(self, message: dict) -> None:
        """Deliver `message` to this process's members only, as if it had come on the
        channel layer (same spacing, batching and order): state that each process
        reads for itself, such as a room's headcount, needs no layer message."""
        if self.channel is not None:
            self._wait_with(message)

    async def _receive(self, channel: str) -> None:
        while True:
            self._wait_with(await self.channel_layer.receive(channel))

    def _wait_with(self, message: dict) -> None:
        if not self.waiting:
            self.first_waiting_at = asyncio.get_running_loop().time()
        self.waiting.append(message)  # the list as of now: delivery swaps it
        self.arrived.set()

    async def _deliver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.arrived.wait()
            spacing = min(LONGEST_WAIT, len(self.members) * self.seconds_per_socket)
            due = self.delivered_at + spacing - loop.time()
            if due > 0:
                await asyncio.sleep(due)
            self.arrived.clear()
            messages, self.waiting = self.waiting, []
            waiting_since = self.first_waiting_at
            self.delivered_at = loop.time()
            messages = _latest_first(messages, self.latest_given)
            for message in messages:
                if "latest" in message:
                    self.latest_given = message["latest"]["version"]
            for message in _coalesced(messages):
                await self._hand_out(message)
            metrics.fanout_delay.observe(loop.time() - waiting_since)

    async def _hand_out(self, message: dict) -> None:
        try:
            handler_name = get_handler_name(message)
        except ValueError:
            # One malformed message must not end the group's deliveries.
            log.exception("a message to %s has no handler", self.group)
            return
        if isinstance(message.get("frame"), str):
            message = message | {"shared": SharedFrame(message["frame"])}  # encoded once
        async for member in in_turns(list(self.members)):
            if member not in self.members:
                continue  # it left while the loop turned
            try:
                await getattr(member, handler_name)(message)
            except SOCKET_GONE:
                # The browser closed its socket while the frame was on its way (the
                # server says so before the disconnect reaches the consumer): it has left.
                log.debug("a socket of %s closed before its frame went out", self.group)
            except Exception:
                log.exception("fan-out to one socket of %s failed", self.group)


async def in_turns(sockets: list):
    """The sockets one by one, with the loop let go every SOCKETS_PER_TURN: the channel
    layer's reader takes in one message per turn of the loop, so a delivery that held
    the loop for its whole group capped a big room's intake at one message per
    delivery."""
    for count, socket in enumerate(sockets, start=1):
        if count % SOCKETS_PER_TURN == 0:
            await asyncio.sleep(0)
        yield socket


def for_this_loop(registry: dict, group: str, make):
    """This process's one object for a group, made on first use: per event loop, so
    tests that each run a fresh loop never share one."""
    key = (id(asyncio.get_running_loop()), group)
    found = registry.get(key)
    if found is None:
        found = registry[key] = make()
    return found


_fanouts: dict[tuple[int, str], GroupFanout] = {}


def group_fanout(channel_layer, group: str, **options) -> GroupFanout:
    """This process's fan-out for a group (`options` for GroupFanout, on first use)."""
    return for_this_loop(_fanouts, group, lambda: GroupFanout(channel_layer, group, **options))
