"""A page's heartbeat taken in the server's protocol (`bazaar.workers.QuietSocketPings`,
`bazaar.wire.take_heartbeats`): past ASGI when the application has read every earlier
frame and its callback takes it, through `receive` otherwise."""

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from bazaar.wire import take_heartbeats, with_wire
from bazaar.workers import QuietSocketPings
from tests.bazaar.test_wire import Transport, _handshake


def _frame(text: str) -> bytes:
    """A text frame as a browser sends it (masked)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=True)


async def _socket(taken: list, answer: bool = True, register: bool = True):
    """A QuietSocketPings past the handshake whose application registers a heartbeat
    callback (noting each heartbeat in `taken`, saying `answer`) and reads nothing
    until told to; returns the protocol and a function reading what reached the app."""
    ready = asyncio.Event()
    scope_seen: dict = {}

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        if register:
            take_heartbeats(scope, lambda: taken.append("beat") or answer)
        scope_seen.update(receive=receive)
        ready.set()
        await asyncio.Future()  # reads only when the test asks

    loaded = Config(app=with_wire(app), ws=QuietSocketPings, lifespan="off")
    loaded.load()
    protocol = QuietSocketPings(loaded, ServerState(), app_state={})
    protocol.connection_made(Transport())
    protocol.data_received(_handshake(deflate=False))
    await asyncio.wait_for(ready.wait(), 5)

    async def received() -> list[str]:
        texts = []
        while not protocol.queue.empty():
            texts.append((await scope_seen["receive"]())["text"])
        return texts

    return protocol, received


@pytest.mark.parametrize("text", ['{"type":"ping"}', '{"type": "ping"}'])
def test_a_heartbeat_goes_to_the_callback_and_not_through_asgi(text):
    async def scenario():
        taken: list = []
        protocol, received = await _socket(taken)
        protocol.data_received(_frame(text))
        return taken, await received(), protocol.read_paused

    taken, received, paused = asyncio.run(scenario())
    assert (taken, received, paused) == (["beat"], [], False)


def test_other_frames_and_a_refused_heartbeat_go_through_asgi_in_order():
    async def scenario():
        taken: list = []
        protocol, received = await _socket(taken, answer=False)
        protocol.data_received(_frame('{"type":"chat"}') + _frame('{"type":"ping"}'))
        return taken, await received()

    taken, received = asyncio.run(scenario())
    # The chat was still unread when the ping came: the ping waits behind it, in order,
    # without asking the callback.
    assert received == ['{"type":"chat"}', '{"type":"ping"}'] and taken == []

    async def refused():
        taken: list = []
        protocol, received = await _socket(taken, answer=False)
        protocol.data_received(_frame('{"type":"ping"}'))
        return taken, await received()

    assert asyncio.run(refused()) == (["beat"], ['{"type":"ping"}'])


def test_without_a_callback_a_heartbeat_goes_through_asgi():
    async def scenario():
        protocol, received = await _socket([], register=False)
        protocol.data_received(_frame('{"type":"ping"}'))
        return await received()

    assert asyncio.run(scenario()) == ['{"type":"ping"}']
