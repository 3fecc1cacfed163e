"""channels_redis's pub/sub layer, with publishes that never wait behind a subscribe.

channels_redis sends every PUBLISH, SUBSCRIBE and UNSUBSCRIBE of a process through one
lock, each holding it for a Redis round trip and the event loop's turn to resume. Under
Market Day's load (10,000 idle sockets, 225 people acting, two busy processes) a round
trip took 15-160 ms, 10-20 operations a second queued per process, and each waited 1-7 s
for the lock: a signed-in socket, which subscribes its own channel and its user's group
before its welcome, took 25 s to join (loadtest/marketday.py, docs/decisions.md).

Here publishes go into an outbox that one task per connection sends in order, all that
waited in one pipeline (one round trip), without the lock; the lock is left to the
subscriptions, which are sends on the pub/sub connection and need no reply.
"""

import asyncio
from collections import deque

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts


class _OutboxShard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._outbox: deque[tuple[str, bytes, asyncio.Future]] = deque()
        self._sender: asyncio.Task | None = None

    async def publish(self, channel, message):
        """Queued, and sent in the order published; returns once Redis has it."""
        sent = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, message, sent))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_outbox())
        await sent

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch = list(self._outbox)
            self._outbox.clear()
            try:
                self._ensure_redis()
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, message, _ in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
            except asyncio.CancelledError:  # the layer is flushed: nobody waits for ever
                for *_, sent in batch:
                    sent.cancel()
                raise
            except Exception as error:  # each publisher hears of it, as from its own call
                for *_, sent in batch:
                    if not sent.done():
                        sent.set_exception(error)
            else:
                for *_, sent in batch:
                    if not sent.done():
                        sent.set_result(None)

    async def flush(self):
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        while self._outbox:
            *_, sent = self._outbox.popleft()
            sent.cancel()
        await super().flush()


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts=hosts, **kwargs)
        self._shards = [_OutboxShard(host, self) for host in decode_hosts(hosts)]


class OutboxPubSubChannelLayer(RedisPubSubChannelLayer):
    """The settings' channel layer (CHANNEL_LAYERS): one per process, a loop layer per
    event loop, as channels_redis's own."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return self._layers[loop]
