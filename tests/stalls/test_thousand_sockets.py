"""A thousand sockets join one stall at once, against a real daphne and the project's
channel layer on Redis: every one completes the join (`welcome`) and receives a chat
message published once.

This proves the channel-layer configuration: with redis-py's default async pool (100
connections) hundreds of a thousand simultaneous joins failed inside the consumer.
"""

import asyncio
import base64
import json
import resource
import time
from collections import Counter

import pytest
import websockets
from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings

from tests.browser.conftest import DaphneWithoutInheritedConnections, stall_and_talker
from tests.conftest import unbatched

pytestmark = pytest.mark.redis

SOCKETS = 1000
# The client and the server each hold a descriptor per socket, and the server one per
# Redis connection of its pool as well.
OPEN_FILES = 4 * SOCKETS + 1024
JOIN_TIMEOUT = 45
DELIVERY_TIMEOUT = 30
DOC = '{"type": "doc", '
BATCH = '{"type": "batch", '
# What `bazaar.serve` starts daphne with.
BACKLOG = 2048
HANDSHAKE_SECONDS = 20


def _raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return max(soft, wanted)


class Listener:
    """One socket that has joined: it reads every frame as it comes (a browser would),
    and notes when a `doc` frame carries the marker text."""

    def __init__(self, socket, marker: bytes):
        self.socket = socket
        self.marker = marker
        self.got_it = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            if self.got_it.done() or not isinstance(raw, str):
                continue
            # A busy room's frames may come as one `batch` frame (docs/protocol.md).
            if not raw.startswith((DOC, BATCH)):
                continue
            docs = [f for f in unbatched(json.loads(raw)) if f["type"] == "doc"]
            if any(self.marker in base64.b64decode(doc["update"]) for doc in docs):
                self.got_it.set_result(time.monotonic())


async def _join(url: str, origin: str, marker: bytes, headers=None) -> Listener:
    socket = await websockets.connect(
        url,
        origin=origin,
        additional_headers=headers,
        open_timeout=JOIN_TIMEOUT,
        compression=None,
        ping_interval=None,
        proxy=None,
    )
    async with asyncio.timeout(JOIN_TIMEOUT):
        while True:
            raw = await socket.recv()
            if isinstance(raw, str) and json.loads(raw)["type"] == "welcome":
                return Listener(socket, marker)


async def _frame(listener: Listener, kind: str, timeout: float) -> dict:
    """The next frame of `kind` on a socket whose reader has been stopped."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await listener.socket.recv()
            if not isinstance(raw, str):
                continue
            for each in unbatched(json.loads(raw)):
                if each["type"] == kind:
                    return each


class DaphneAsServed(DaphneWithoutInheritedConnections):
    """The live server started as `bazaar.serve` starts daphne: a listen backlog of 2,048
    (Twisted's default of 50 overflows the kernel's accept queue when a thousand connect
    at once, and those connections get no HTTP answer) and 20 s to open a socket
    (daphne's 5 s is too short for a join queued behind a thousand others in the one
    database thread)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kwargs = {
            **self.kwargs,
            "websocket_connect_timeout": HANDSHAKE_SECONDS,
            "websocket_handshake_timeout": HANDSHAKE_SECONDS,
        }

    def run(self):
        from daphne import endpoints

        plain = endpoints.build_endpoint_description_strings

        def with_backlog(*args, **kwargs):
            return [f"{endpoint}:backlog={BACKLOG}" for endpoint in plain(*args, **kwargs)]

        endpoints.build_endpoint_description_strings = with_backlog
        super().run()


class AThousandSockets(ChannelsLiveServerTestCase):
    host = "127.0.0.1"
    serve_static = False
    ProtocolServerProcess = DaphneAsServed

    @classmethod
    def setUpClass(cls):
        # Before the live server is forked, so that it inherits the limit too.
        cls.open_files = _raise_open_files()
        super().setUpClass()

    @pytest.fixture(autouse=True)
    def _needs_redis(self, require_redis):
        pass

    def test_a_thousand_simultaneous_sockets_all_join_and_all_get_one_message(self):
        assert self.open_files >= 2 * SOCKETS + 512, f"RLIMIT_NOFILE is {self.open_files}"
        stall_id, session_key = stall_and_talker("Crowd")
        url = f"{self.live_server_ws_url}/ws/stalls/{stall_id}/"
        marker = f"hello to all {SOCKETS}".encode()

        async def scenario():
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(_join(url, self.live_server_url, marker) for _ in range(SOCKETS)),
                return_exceptions=True,
            )
            listeners = [o for o in outcomes if isinstance(o, Listener)]
            failures = Counter(
                f"{type(o).__name__}: {o}"[:120] for o in outcomes if not isinstance(o, Listener)
            )
            joined = time.monotonic() - started
            try:
                assert len(listeners) == SOCKETS, (
                    f"{SOCKETS - len(listeners)} of {SOCKETS} joins failed: {dict(failures)}"
                )
                cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"}
                talker = await _join(url, self.live_server_url, marker, headers=cookie)
                talker.reader.cancel()
                sent = time.monotonic()
                await talker.socket.send(
                    json.dumps({"type": "chat", "text": marker.decode(), "client_id": "1"})
                )
                ack = await _frame(talker, "chat_ack", DELIVERY_TIMEOUT)
                assert ack["message"]["status"] == "visible"
                done, missing = await asyncio.wait(
                    [listener.got_it for listener in listeners], timeout=DELIVERY_TIMEOUT
                )
                assert not missing, f"{len(missing)} of {SOCKETS} sockets never got the message"
                slowest = max(future.result() for future in done) - sent
                print(
                    f"{SOCKETS} joined in {joined:.1f} s; all had it {slowest:.2f} s after sending"
                )
                await talker.socket.close()
            finally:
                for listener in listeners:
                    listener.reader.cancel()
                    listener.socket.transport.abort()

        asyncio.run(scenario())
