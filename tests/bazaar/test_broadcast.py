"""Broadcasts after commit, and how they leave a server's database thread."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError

from bazaar import broadcast
from bazaar.consumers import DirectDispatchMixin


@pytest.fixture
def no_server_loop():
    broadcast.serve_broadcasts_from(None)
    yield
    broadcast.serve_broadcasts_from(None)


class _SlowLayer:
    """A channel layer whose sends wait until the test lets them through."""

    def __init__(self):
        self.gate = asyncio.Event()
        self.sent = []

    async def group_send(self, group, event):
        await self.gate.wait()
        self.sent.append((group, event))


@pytest.fixture
def slow_layer(monkeypatch):
    layer = _SlowLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    return layer


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_a_rolled_back_change(no_server_loop, slow_layer):
    slow_layer.gate.set()
    with pytest.raises(RuntimeError), transaction.atomic():
        broadcast.broadcast_on_commit("rolled-back", {"type": "x.y"})
        raise RuntimeError
    assert slow_layer.sent == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_server_the_send_completes_before_returning(no_server_loop, slow_layer):
    slow_layer.gate.set()
    with transaction.atomic():
        broadcast.broadcast_on_commit("outside", {"type": "x.y"})
    assert slow_layer.sent == [("outside", {"type": "x.y"})]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_inside_a_server_the_database_thread_does_not_wait_for_the_layer(
    no_server_loop, slow_layer
):
    layer = slow_layer
    broadcast.serve_broadcasts_from(asyncio.get_running_loop())

    def commit_and_announce():
        with transaction.atomic():
            broadcast.broadcast_on_commit("room", {"type": "doc.update"})

    await asyncio.wait_for(sync_to_async(commit_and_announce)(), timeout=2)
    assert layer.sent == []  # the thread returned while the send still waits
    layer.gate.set()
    for _ in range(100):
        if layer.sent:
            break
        await asyncio.sleep(0.01)
    assert layer.sent == [("room", {"type": "doc.update"})]


@pytest.mark.asyncio
async def test_a_failed_send_is_logged(no_server_loop, monkeypatch, caplog):
    class BrokenLayer:
        async def group_send(self, group, event):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(broadcast, "get_channel_layer", BrokenLayer)
    broadcast.serve_broadcasts_from(asyncio.get_running_loop())
    await sync_to_async(broadcast.broadcast_now)("room", {"type": "doc.update"})
    await asyncio.sleep(0.05)
    assert "broadcast failed" in caplog.text


@pytest.mark.asyncio
async def test_consumers_dispatch_without_a_database_thread_hop(monkeypatch):
    hops = []

    async def counting_hop():
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counting_hop)
    handled = []

    class Consumer(DirectDispatchMixin):
        async def doc_update(self, message):
            handled.append(message)

    await Consumer().dispatch({"type": "doc.update"})
    assert handled == [{"type": "doc.update"}] and hops == []
    with pytest.raises(ValueError, match=r"No handler for message type nothing\.here"):
        await Consumer().dispatch({"type": "nothing.here"})


class _BlockingLayer(_SlowLayer):
    """A layer with a blocking send, which answers as told."""

    def __init__(self, answer):
        super().__init__()
        self.gate.set()
        self.answer = answer
        self.blocking = []

    def group_send_blocking(self, group, event):
        if isinstance(self.answer, Exception):
            raise self.answer
        self.blocking.append((group, event))
        return self.answer


def test_outside_a_server_the_layer_s_blocking_send_needs_no_event_loop(
    no_server_loop, monkeypatch
):
    layer = _BlockingLayer(True)
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    broadcast.broadcast_now("bell", {"type": "notice.frame"})
    assert layer.blocking == [("bell", {"type": "notice.frame"})] and layer.sent == []


@pytest.mark.parametrize("answer", [False, RedisConnectionError("redis went away")])
def test_a_blocking_send_refused_or_failed_goes_through_an_event_loop(
    no_server_loop, monkeypatch, answer, caplog
):
    layer = _BlockingLayer(answer)
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    broadcast.broadcast_now("bell", {"type": "notice.frame"})
    assert layer.sent == [("bell", {"type": "notice.frame"})]
    assert ("blocking broadcast failed" in caplog.text) == (answer is not False)
