"""bazaar.channel_layer: publishes in order, many a round trip, never behind a subscribe."""

import asyncio
import uuid

import pytest
import pytest_asyncio
from django.conf import settings

from bazaar.channel_layer import OutboxPubSubChannelLayer

pytestmark = [pytest.mark.asyncio]


@pytest_asyncio.fixture
async def layer(require_redis):
    # Pub/sub channels span every database of a Redis server: a fixed prefix let a test
    # on another xdist worker publish into this one's "room".
    prefix = f"test-outbox-{uuid.uuid4().hex}"
    layer = OutboxPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    yield layer
    await layer.flush()


async def test_group_messages_sent_at_once_arrive_in_the_order_sent(layer):
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.gather(*(layer.group_send("room", {"type": "n", "n": n}) for n in range(200)))
    received = [(await layer.receive(channel))["n"] for _ in range(200)]
    assert received == list(range(200))


async def test_publishes_waiting_together_share_a_round_trip(layer, monkeypatch):
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    shard = layer._get_layer()._shards[0]
    pipelines = []
    real_pipeline = shard._redis.pipeline

    def counted(**options):
        pipelines.append(options)
        return real_pipeline(**options)

    monkeypatch.setattr(shard._redis, "pipeline", counted)
    await asyncio.gather(*(layer.group_send("room", {"type": "n", "n": n}) for n in range(100)))
    assert 1 <= len(pipelines) <= 2


async def test_a_subscription_does_not_wait_for_a_publish_in_flight(layer, monkeypatch):
    """channels_redis holds one lock over both: a socket joining waited behind every
    publish of its process."""
    channel = await layer.new_channel()
    shard = layer._get_layer()._shards[0]
    held = asyncio.Event()
    release = asyncio.Event()

    class SlowPipeline:
        def __init__(self, pipe):
            self.pipe = pipe

        async def __aenter__(self):
            await self.pipe.__aenter__()
            return self

        async def __aexit__(self, *exc):
            return await self.pipe.__aexit__(*exc)

        def publish(self, *args):
            self.pipe.publish(*args)

        async def execute(self):
            held.set()
            await release.wait()
            return await self.pipe.execute()

    real_pipeline = shard._redis.pipeline
    monkeypatch.setattr(shard._redis, "pipeline", lambda **o: SlowPipeline(real_pipeline(**o)))
    publishing = asyncio.ensure_future(layer.group_send("elsewhere", {"type": "x"}))
    await asyncio.wait_for(held.wait(), 5)
    await asyncio.wait_for(layer.group_add("room", channel), 2)
    assert not publishing.done()
    release.set()
    await asyncio.wait_for(publishing, 5)


async def test_sockets_joining_at_once_subscribe_in_one_command(layer, monkeypatch):
    shard = layer._get_layer()._shards[0]
    await layer.new_channel()  # the connection made
    commands = []
    real_subscribe = shard._pubsub.subscribe

    async def counted(*channels):
        commands.append(channels)
        return await real_subscribe(*channels)

    monkeypatch.setattr(shard._pubsub, "subscribe", counted)
    channels = await asyncio.gather(*(layer.new_channel() for _ in range(50)))
    assert 1 <= len(commands) <= 2 and sum(map(len, commands)) == 50
    await layer.group_add("room", channels[0])
    await layer.group_send("room", {"type": "hello"})
    assert (await asyncio.wait_for(layer.receive(channels[0]), 5))["type"] == "hello"


async def test_changes_to_one_subscription_made_at_once_apply_in_order(layer):
    shard = layer._get_layer()._shards[0]
    await layer.new_channel()
    await asyncio.gather(
        shard.subscribe("c"), shard.unsubscribe("c"), shard.subscribe("c"), shard.subscribe("d")
    )
    assert {"c", "d"} <= shard._subscribed_to
    await asyncio.gather(shard.unsubscribe("d"), shard.subscribe("d"), shard.unsubscribe("d"))
    assert "d" not in shard._subscribed_to


async def test_a_blocking_group_send_reaches_the_group_as_group_send_would(layer):
    """A Celery child's broadcast: one PUBLISH from a thread with no event loop, the
    same message arriving at the group's sockets."""
    members = [await layer.new_channel() for _ in range(2)]
    for channel in members:
        await layer.group_add("room", channel)
    message = {"type": "notice.frame", "frame": {"unread": 3, "title": "“Brass lamp”"}}
    assert await asyncio.to_thread(layer.group_send_blocking, "room", message)
    await layer.group_send("room", {"type": "after"})
    for channel in members:
        assert await asyncio.wait_for(layer.receive(channel), 2) == message
        assert (await asyncio.wait_for(layer.receive(channel), 2))["type"] == "after"


async def test_a_sentinel_host_sends_nothing_blocking():
    layer = OutboxPubSubChannelLayer(
        hosts=[{"master_name": "bazaar", "sentinels": [("127.0.0.1", 26379)]}]
    )
    assert layer.group_send_blocking("room", {"type": "x"}) is False
