"""uvicorn's keepalive ping goes only to a socket whose peer has been silent, from one
sweep per process; a socket whose page writes rarely is kept warm meanwhile."""

import asyncio

import pytest
import uvicorn
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from bazaar import workers
from bazaar.wire import KEEP_WARM_KEY, with_wire
from bazaar.workers import QuietSocketPings

PING_SECONDS = 0.5


async def _accepting_app(scope, receive, send):
    """Accepts a socket and reads it until it closes; a socket at `/rare/` says its
    page writes only every 4 pings' time (as an auction's consumer does)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    if scope["path"] == "/rare/":
        scope[KEEP_WARM_KEY](4 * PING_SECONDS)
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def _control_frames(
    port: int, seconds: float, chatter: float | None, path: str = "/"
) -> dict[Opcode, int]:
    """The pings and the unsolicited pongs the server sent one client in `seconds`
    (pings answered, as a browser does); the client sends a text frame every
    `chatter` seconds, or nothing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"))
    client.send_request(client.connect())
    received = {Opcode.PING: 0, Opcode.PONG: 0}
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
            for event in client.events_received():
                if getattr(event, "opcode", None) in received:
                    received[event.opcode] += 1
    finally:
        writer.close()
    return received


async def _served(*clients):
    config = uvicorn.Config(
        with_wire(_accepting_app),
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
        return await asyncio.gather(*(client(port) for client in clients))
    finally:
        server.should_exit = True
        await serving


@pytest.fixture(autouse=True)
def quick_sweeps(monkeypatch):
    monkeypatch.setattr(workers, "SWEEP_SECONDS", PING_SECONDS / 10)
    monkeypatch.setattr(workers, "WARM_SECONDS", PING_SECONDS)


@pytest.mark.asyncio
async def test_a_socket_that_talks_is_not_pinged_and_a_silent_one_is():
    talking, silent = await _served(
        lambda port: _control_frames(port, 4 * PING_SECONDS, chatter=PING_SECONDS / 10),
        lambda port: _control_frames(port, 4 * PING_SECONDS, chatter=None),
    )
    assert talking == {Opcode.PING: 0, Opcode.PONG: 0}
    assert silent[Opcode.PING] >= 2 and silent[Opcode.PONG] == 0  # nothing kept warm


@pytest.mark.asyncio
async def test_a_socket_whose_page_writes_rarely_is_kept_warm_and_pinged_only_after_that():
    """Its page writes every 4 beats: silent for 3.6 beats it gets no ping, but a warm
    frame (an unsolicited pong) every beat or so of quiet; once silent past its page's
    interval and the ping interval, it is pinged as any silent socket. One that writes
    often needs no warming."""
    quiet, late, talking = await _served(
        lambda port: _control_frames(port, 3.6 * PING_SECONDS, chatter=None, path="/rare/"),
        lambda port: _control_frames(port, 7 * PING_SECONDS, chatter=None, path="/rare/"),
        lambda port: _control_frames(
            port, 4 * PING_SECONDS, chatter=PING_SECONDS / 10, path="/rare/"
        ),
    )
    assert quiet[Opcode.PING] == 0 and 2 <= quiet[Opcode.PONG] <= 4
    assert late[Opcode.PING] >= 1
    assert talking == {Opcode.PING: 0, Opcode.PONG: 0}
