"""One channel-layer subscription per process and group, handed to local sockets directly.

With one subscription per socket, a message to a group of 500 sockets in one
process becomes 500 queue entries, 500 wake-ups of 500 consumer loops and 500
dispatches before any frame is written; profiles of a stall's fan-out put that at
about a fifth of the server's time. Here each process subscribes once per group
and a single task hands every message to its members' handlers in order. What is
meant for one socket or one user (private frames, sanctions) still travels on the
consumer's own channel.
"""

import asyncio
import logging

from channels.consumer import get_handler_name

log = logging.getLogger(__name__)


class GroupFanout:
    def __init__(self, channel_layer, group: str):
        self.channel_layer = channel_layer
        self.group = group
        self.members: set = set()
        self.channel: str | None = None
        self.pump: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def join(self, consumer) -> None:
        """Add a consumer; when this returns, the process is subscribed to the group."""
        async with self.lock:
            self.members.add(consumer)
            if self.channel is None:
                self.channel = await self.channel_layer.new_channel()
                await self.channel_layer.group_add(self.group, self.channel)
                self.pump = asyncio.get_running_loop().create_task(self._pump(self.channel))

    async def leave(self, consumer) -> None:
        async with self.lock:
            self.members.discard(consumer)
            if self.members or self.channel is None:
                return
            channel, self.channel = self.channel, None
            self.pump.cancel()
            await self.channel_layer.group_discard(self.group, channel)

    async def _pump(self, channel: str) -> None:
        while True:
            message = await self.channel_layer.receive(channel)
            handler_name = get_handler_name(message)
            for member in list(self.members):
                try:
                    await getattr(member, handler_name)(message)
                except Exception:
                    log.exception("fan-out to one socket of %s failed", self.group)


def for_this_loop(registry: dict, group: str, make):
    """This process's one object for a group, made on first use: per event loop, so
    tests that each run a fresh loop never share one."""
    key = (id(asyncio.get_running_loop()), group)
    found = registry.get(key)
    if found is None:
        found = registry[key] = make()
    return found


_fanouts: dict[tuple[int, str], GroupFanout] = {}


def group_fanout(channel_layer, group: str) -> GroupFanout:
    """This process's fan-out for a group."""
    return for_this_loop(_fanouts, group, lambda: GroupFanout(channel_layer, group))
