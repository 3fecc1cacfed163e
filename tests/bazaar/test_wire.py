"""Shared frames straight to the wire (bazaar.wire), on uvicorn's own websockets-sansio
protocol driven through a handshake: the bytes are exactly what its ASGI send writes,
and whenever that send would do more than write, nothing is written."""

import asyncio
import base64
import os

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from bazaar.wire import SCOPE_KEY, SharedFrame, send_shared, wire_writer, with_wire

TEXT = '{"type": "state", "price": "€12.00"}'


class Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data):
        self.written += data

    def is_closing(self):
        return self.closing

    def close(self):
        self.closing = True

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def _handshake(*, deflate: bool) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws/ HTTP/1.1",
        "Host: 127.0.0.1:8000",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if deflate:
        lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _accepted_socket(*, deflate: bool, **config):
    """A uvicorn protocol past the handshake, its transport, and the app's ASGI send and
    scope (through `with_wire`)."""
    seen: dict = {}
    held = asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        seen.update(scope=scope, send=send)
        held.set()
        await receive()  # until the socket goes

    loaded = Config(app=with_wire(app), ws="websockets-sansio", lifespan="off", **config)
    loaded.load()
    protocol = WebSocketsSansIOProtocol(loaded, ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(_handshake(deflate=deflate))
    await asyncio.wait_for(held.wait(), 5)
    transport.written.clear()  # the handshake's response
    return protocol, transport, seen


def test_a_shared_frame_is_the_bytes_the_server_would_write():
    async def scenario():
        _protocol, transport, seen = await _accepted_socket(deflate=False)
        await seen["send"]({"type": "websocket.send", "text": TEXT})
        by_asgi = bytes(transport.written)
        transport.written.clear()
        wrote = seen["scope"][SCOPE_KEY](SharedFrame(TEXT))
        return wrote, by_asgi, bytes(transport.written)

    wrote, by_asgi, by_wire = asyncio.run(scenario())
    assert wrote and by_wire == by_asgi == SharedFrame(TEXT).wire


@pytest.mark.parametrize(
    "case", ["deflate negotiated", "buffer full", "close sent", "disconnected"]
)
def test_the_wire_writes_nothing_where_the_server_would_do_more_than_write(case):
    async def scenario():
        protocol, transport, seen = await _accepted_socket(deflate=case == "deflate negotiated")
        if case == "buffer full":
            protocol.pause_writing()
        elif case == "close sent":
            await seen["send"]({"type": "websocket.close", "code": 1000})
            transport.written.clear()
        elif case == "disconnected":
            protocol.connection_lost(None)
        return seen["scope"][SCOPE_KEY](SharedFrame(TEXT)), bytes(transport.written)

    wrote, written = asyncio.run(scenario())
    assert (wrote, written) == (False, b"")


def test_send_shared_falls_back_to_the_asgi_send():
    """A socket whose server is not uvicorn's sansio protocol (daphne, Channels' test
    communicator), or whose wire refuses, gets the text through its consumer's send."""

    class Consumer:
        def __init__(self, wire):
            self.scope = {SCOPE_KEY: wire}
            self.sent = []

        async def send(self, text_data):
            self.sent.append(text_data)

    no_server, refusing = Consumer(None), Consumer(lambda frame: False)
    asyncio.run(send_shared(no_server, SharedFrame(TEXT)))
    asyncio.run(send_shared(refusing, SharedFrame(TEXT)))
    assert no_server.sent == refusing.sent == [TEXT]
    assert wire_writer(no_server.send) is None


def test_production_workers_turn_down_a_browsers_deflate_offer_so_frames_are_shared():
    """Browsers offer permessage-deflate on every socket; the production worker's
    config declines it (as daphne does), so their sockets take the shared bytes."""
    from bazaar.workers import BazaarUvicornWorker

    deflate = BazaarUvicornWorker.CONFIG_KWARGS["ws_per_message_deflate"]

    async def scenario():
        protocol, _transport, seen = await _accepted_socket(
            deflate=True, ws_per_message_deflate=deflate
        )
        return protocol.conn.extensions, seen["scope"][SCOPE_KEY](SharedFrame(TEXT))

    extensions, wrote = asyncio.run(scenario())
    assert extensions == [] and wrote
