"""A frame for many sockets, put on the wire as bytes encoded once.

A fan-out (`bazaar.fanout`) writes the same text to every member. Through ASGI each
write is a message dict, three of Channels' send wrappers, and the server building
a WebSocket frame of the same bytes again (UTF-8, header, join) before its one
system call: py-spy of a bidding wave with 1,100 sockets (bench/auction.py) had the
fan-out at 38% of the event loop's samples, a quarter of it that Python around the
write. A server frame is never masked, and without a compression extension it is the
same bytes for every socket, so `SharedFrame` encodes it once, and on uvicorn's
websockets-sansio protocol (production's server) `wire_writer` writes those bytes to
the socket's transport, under the checks the server's own send makes. Anything else
(daphne, a socket that negotiated permessage-deflate, one closing or with a full
write buffer) takes the ASGI send, unchanged.
"""

from collections.abc import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

SCOPE_KEY = "bazaar.wire"
# The scope's `keep_warm(seconds)` for a socket whose page writes only every `seconds`
# (the server keeps its connection's traffic meanwhile: bazaar.workers), or None.
KEEP_WARM_KEY = "bazaar.keep_warm"


class SharedFrame:
    """A text frame encoded once, for however many sockets it goes to."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str):
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The frame as a server sends it: unmasked, one fragment, no extension."""
        if self._wire is None:
            self._wire = Frame(Opcode.TEXT, self.text.encode()).serialize(mask=False)
        return self._wire

    @classmethod
    def of(cls, event: dict) -> "SharedFrame":
        """The fan-out's shared frame of a message, or one made for it alone."""
        return event.get("shared") or cls(event["frame"])


WireWriter = Callable[[SharedFrame], bool]


def wire_writer(send) -> WireWriter | None:
    """For the server's own ASGI `send`: a function writing a shared frame straight to
    the socket, which says False (nothing written) whenever the server's send would
    do more than write (wait for a full buffer, refuse a closed socket, compress).
    None when the server is not uvicorn's websockets-sansio protocol."""
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    connection = protocol.conn

    def write(frame: SharedFrame) -> bool:
        if (
            not protocol.writable.is_set()
            or protocol.disconnected
            or protocol.close_sent
            or not protocol.handshake_complete
            or protocol.initial_response is not None
            or connection.state is not State.OPEN
            or connection.expect_continuation_frame
            or connection.extensions
        ):
            return False
        protocol.transport.write(frame.wire)
        return True

    return write


async def send_shared(consumer, frame: SharedFrame) -> None:
    """Send a shared frame to one consumer's socket: its bytes straight to the wire
    where the server allows, else through the consumer's ASGI send."""
    wire = consumer.scope.get(SCOPE_KEY)
    if wire is None or not wire(frame):
        await consumer.send(text_data=frame.text)


def with_wire(app):
    """Wrap the WebSocket app: the scope carries the socket's `wire_writer` and the
    server protocol's `keep_warm` (each None where the server has none)."""

    async def wired(scope, receive, send):
        keep_warm = getattr(getattr(send, "__self__", None), "keep_warm", None)
        return await app(
            {**scope, SCOPE_KEY: wire_writer(send), KEEP_WARM_KEY: keep_warm}, receive, send
        )

    return wired
