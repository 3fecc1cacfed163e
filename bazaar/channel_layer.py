"""channels_redis's pub/sub layer, with publishes that never wait behind a subscribe.

channels_redis sends every PUBLISH, SUBSCRIBE and UNSUBSCRIBE of a process through one
lock, each holding it for a Redis round trip and the event loop's turn to resume. Under
Market Day's load (10,000 idle sockets, 225 people acting, two busy processes) a round
trip took 15-160 ms, 10-20 operations a second queued per process, and each waited 1-7 s
for the lock: a signed-in socket, which subscribes its own channel and its user's group
before its welcome, took 25 s to join (loadtest/marketday.py, docs/decisions.md).

Here publishes go into an outbox that one task per connection sends in order, all that
waited in one pipeline (one round trip), apart from the subscriptions; and the
subscriptions into another, all that waited as one SUBSCRIBE (or UNSUBSCRIBE) of every
channel, so a crowd joining costs a few sends, not one lock turn each.

Sync code with no event loop of its own (a Celery child's job, a command) publishes
with `group_send_blocking`: the same PUBLISH of the same bytes, on a client the
process keeps.

It leans on channels_redis 4.3.0's shard internals (`_lock`, `_pubsub`,
`_subscribed_to`, `_ensure_redis`) and its group channels' names and hashing, pinned in
requirements.txt: an upgrade is checked against tests/bazaar/test_channel_layer.py,
which runs on Redis.
"""

import asyncio
from collections import deque
from itertools import groupby
from operator import itemgetter

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _consistent_hash, _wrap_close, decode_hosts
from redis import Redis


class _Outbox:
    """Requests sent in the order made by one task, all that waited in one go
    (`send_batch`); each caller returns once its batch is sent, or hears its error."""

    def __init__(self, send_batch):
        self._send_batch = send_batch
        self._waiting: deque[tuple[tuple, asyncio.Future]] = deque()
        self._sender: asyncio.Task | None = None

    async def send(self, *request) -> None:
        sent = asyncio.get_running_loop().create_future()
        self._waiting.append((request, sent))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_waiting())
        await sent

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch = list(self._waiting)
            self._waiting.clear()
            try:
                await self._send_batch([request for request, _ in batch])
            except asyncio.CancelledError:  # the layer is flushed: nobody waits for ever
                for _, sent in batch:
                    sent.cancel()
                raise
            except Exception as error:  # each caller hears of it, as from its own call
                for _, sent in batch:
                    if not sent.done():
                        sent.set_exception(error)
            else:
                for _, sent in batch:
                    if not sent.done():
                        sent.set_result(None)

    def cancel(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        while self._waiting:
            _, sent = self._waiting.popleft()
            sent.cancel()


class _OutboxShard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._publishes = _Outbox(self._publish_all)
        self._subscriptions = _Outbox(self._change_subscriptions)

    async def publish(self, channel, message):
        """Sent in the order published; returns once Redis has it."""
        await self._publishes.send(channel, message)

    async def subscribe(self, channel):
        await self._subscriptions.send("subscribe", channel)

    async def unsubscribe(self, channel):
        await self._subscriptions.send("unsubscribe", channel)

    async def _publish_all(self, publishes: list[tuple]) -> None:
        self._ensure_redis()
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, message in publishes:
                pipe.publish(channel, message)
            await pipe.execute()

    async def _change_subscriptions(self, changes: list[tuple]) -> None:
        """Each change applied in order as channels_redis would, one at a time; a run
        of the same kind goes as one SUBSCRIBE or UNSUBSCRIBE of all its channels."""
        async with self._lock:
            self._ensure_redis()
            self._ensure_receiver()
            for kind, run in groupby(changes, key=itemgetter(0)):
                channels = []
                for _, channel in run:
                    if (channel in self._subscribed_to) == (kind == "unsubscribe"):
                        channels.append(channel)
                        self._subscribed_to ^= {channel}
                if channels:
                    await getattr(self._pubsub, kind)(*channels)

    async def flush(self):
        self._publishes.cancel()
        self._subscriptions.cancel()
        await super().flush()


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts=hosts, **kwargs)
        self._shards = [_OutboxShard(host, self) for host in decode_hosts(hosts)]


def _layer_config(hosts=None, prefix="asgi", **_) -> tuple[list[dict], str]:
    """The hosts and prefix a loop layer is made with (`RedisPubSubLoopLayer`'s own
    arguments and defaults)."""
    return decode_hosts(hosts), prefix


class OutboxPubSubChannelLayer(RedisPubSubChannelLayer):
    """The settings' channel layer (CHANNEL_LAYERS): one per process, a loop layer per
    event loop, as channels_redis's own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hosts, self._prefix = _layer_config(*args, **kwargs)
        self._blocking_clients: list[Redis] | None = None

    def group_send_blocking(self, group: str, message: dict) -> bool:
        """`group_send` from sync code outside any event loop: the PUBLISH a loop
        layer makes (the group's channel, its shard, the serialized message) on a
        client kept per process (redis-py's pool is thread-safe and starts afresh in a
        forked child). Through `async_to_sync` every send made a thread, an event loop,
        a loop layer and its Redis connection, then closed them: 3.4 ms of CPU for a
        0.04 ms PUBLISH (issue 15, session offers9). False, having sent nothing, for a
        Sentinel host: the caller sends through an event loop."""
        clients = self._blocking_clients
        if clients is None:
            if any("master_name" in host for host in self._hosts):
                return False
            clients = self._blocking_clients = [_client_for(host) for host in self._hosts]
        channel = f"{self._prefix}__group__{group}"
        clients[_consistent_hash(channel, len(clients))].publish(channel, self.serialize(message))
        return True

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return self._layers[loop]


def _client_for(host: dict) -> Redis:
    """A sync client for one of the layer's hosts, as `channels_redis.utils.create_pool`
    reads it (an address, or a connection's keywords)."""
    options = dict(host)
    address = options.pop("address", None)
    return Redis.from_url(address, **options) if address else Redis(**options)
