"""A socket with no channel of its own reads its frames in its own task."""

import asyncio

import pytest

from bazaar.consumers import ChannelOnDemandMixin, DirectDispatchMixin


@pytest.mark.asyncio
async def test_a_socket_reads_every_frame_in_its_own_task_and_stops_on_close():
    frames = [
        {"type": "websocket.receive", "text": "one"},
        {"type": "websocket.receive", "text": "two"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    readers, handled = [], []

    async def receive():
        readers.append(asyncio.current_task())
        return frames.pop(0)

    class Consumer(ChannelOnDemandMixin, DirectDispatchMixin):
        channel_layer_alias = "default"
        groups = ()

        async def websocket_receive(self, message):
            handled.append(message["text"])

        async def disconnect(self, code):
            handled.append(code)

    async def send(message):
        raise AssertionError("nothing is sent")

    consumer = Consumer()
    await consumer({"type": "websocket"}, receive, send)
    assert handled == ["one", "two", 1000]
    # One task reads and handles every frame: none is started per frame received.
    assert len(readers) == 3 and set(readers) == {asyncio.current_task()}
    assert consumer.channel_name.startswith("socket.")
