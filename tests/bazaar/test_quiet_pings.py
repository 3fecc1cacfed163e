"""uvicorn's keepalive ping goes only to a socket whose peer has been silent."""

import asyncio

import pytest
import uvicorn
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from bazaar.workers import QuietSocketPings

PING_SECONDS = 0.5


async def _accepting_app(scope, receive, send):
    """Accepts a socket and reads it until it closes."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def _pings_received(port: int, seconds: float, chatter: float | None) -> int:
    """Pings the server sent one client in `seconds` (answered, as a browser does);
    the client sends a text frame every `chatter` seconds, or nothing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
    client.send_request(client.connect())
    pings = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    next_chat = loop.time()
    try:
        while (now := loop.time()) < until:
            if chatter is not None and now >= next_chat and client.state is State.OPEN:
                client.send_text(b"ping")
                next_chat = now + chatter
            writer.write(b"".join(client.data_to_send()))
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.02)
            except TimeoutError:
                continue
            client.receive_data(data)
            events = client.events_received()
            pings += sum(1 for event in events if getattr(event, "opcode", None) is Opcode.PING)
    finally:
        writer.close()
    return pings


@pytest.mark.asyncio
async def test_a_socket_that_talks_is_not_pinged_and_a_silent_one_is():
    config = uvicorn.Config(
        _accepting_app,
        host="127.0.0.1",
        port=0,
        ws=QuietSocketPings,
        ws_ping_interval=PING_SECONDS,
        ws_ping_timeout=5.0,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        talking, silent = await asyncio.gather(
            _pings_received(port, 4 * PING_SECONDS, chatter=PING_SECONDS / 10),
            _pings_received(port, 4 * PING_SECONDS, chatter=None),
        )
    finally:
        server.should_exit = True
        await serving
    assert talking == 0
    assert silent >= 2
