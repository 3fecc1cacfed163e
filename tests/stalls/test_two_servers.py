"""Two daphne processes sharing Redis: a message sent through one reaches a client of
the other, and both list the same visitors (the architecture's scale-out claim)."""

import asyncio
import base64
import json
from functools import partial

import pytest
import websockets
from channels.testing import ChannelsLiveServerTestCase
from channels.testing.live import make_application, set_database_connection
from django.conf import settings
from pycrdt import YMessageType, YSyncMessageType, read_message, write_message

from stalls.room.document import new_doc
from tests.browser.conftest import DaphneWithoutInheritedConnections, stall_and_talker
from tests.conftest import unbatched

pytestmark = pytest.mark.redis


async def _next_frames(socket) -> list[dict]:
    """The JSON frames of the next text message (a `batch` unpacked; binary skipped)."""
    raw = await socket.recv()
    while not isinstance(raw, str):
        raw = await socket.recv()
    return unbatched(json.loads(raw))


async def _frames_until(socket, kind, timeout=5.0):
    async with asyncio.timeout(timeout):
        while True:
            for frame in await _next_frames(socket):
                if frame["type"] == kind:
                    return frame


class TwoServers(ChannelsLiveServerTestCase):
    host = "127.0.0.1"
    serve_static = False
    ProtocolServerProcess = DaphneWithoutInheritedConnections

    @pytest.fixture(autouse=True)
    def _needs_redis(self, require_redis):
        pass

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._second = cls.ProtocolServerProcess(
            cls.host,
            partial(make_application, static_wrapper=None),
            setup=set_database_connection,
        )
        cls._second.start()
        cls._second.ready.wait(timeout=30)
        cls._second_port = cls._second.port.value

    @classmethod
    def tearDownClass(cls):
        cls._second.terminate()
        cls._second.join()
        super().tearDownClass()

    def test_a_message_sent_to_one_server_reaches_a_client_of_the_other(self):
        stall_id, session_key = stall_and_talker("Twin")
        # Each page is served by the server its socket goes to (bazaar.origins).
        origin = f"http://{self.host}:{self._port}"
        second_origin = f"http://{self.host}:{self._second_port}"
        first = f"ws://{self.host}:{self._port}/ws/stalls/{stall_id}/"
        second = f"ws://{self.host}:{self._second_port}/ws/stalls/{stall_id}/"

        async def scenario():
            cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"}
            async with (
                websockets.connect(second, origin=second_origin) as listener,
                websockets.connect(first, origin=origin, additional_headers=cookie) as talker,
            ):
                await _frames_until(listener, "welcome")
                replica = new_doc()
                await listener.send(
                    bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
                    + write_message(replica.get_state())
                )
                step2 = await listener.recv()
                while isinstance(step2, str):
                    step2 = await listener.recv()
                replica.apply_update(read_message(step2[2:]))
                welcome = await _frames_until(talker, "welcome")
                assert welcome["you"]["handle"] == "talker"
                await talker.send(json.dumps({"type": "chat", "text": "across", "client_id": "1"}))
                ack = await _frames_until(talker, "chat_ack")
                assert ack["message"]["text"] == "across"
                async with asyncio.timeout(5):
                    while "across" not in [e["text"] for e in replica["chat"].to_py()]:
                        for frame in await _next_frames(listener):
                            if frame["type"] == "doc":
                                replica.apply_update(base64.b64decode(frame["update"]))
                await talker.send(json.dumps({"type": "ping"}))
                await listener.send(json.dumps({"type": "ping"}))
                pong = await _frames_until(listener, "pong")
                assert pong["seq"] == (await _frames_until(talker, "pong"))["seq"]

        asyncio.run(scenario())
