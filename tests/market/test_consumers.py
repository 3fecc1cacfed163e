import pytest
from channels.testing import WebsocketCommunicator

from bazaar.asgi import application
from stalls.services import stall_update


def communicator(origin=b"http://127.0.0.1"):
    """A socket opened by a page at `origin` (the site is http://127.0.0.1)."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    return WebsocketCommunicator(application, "/ws/market/", headers=headers)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_market_socket_announces_changed_sections_after_commit(stall):
    from asgiref.sync import sync_to_async

    socket = communicator()
    connected, _ = await socket.connect()
    assert connected

    def rename():
        stall_update(
            actor=stall.seller.user,
            stall=stall,
            name="Renamed",
            description="",
            section_x=0,
            section_y=0,
            slot=stall.slot,
        )

    await sync_to_async(rename)()
    assert await socket.receive_json_from(timeout=2) == {"type": "section_changed", "x": 0, "y": 0}
    await socket.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_market_socket_is_read_only():
    socket = communicator()
    await socket.connect()
    await socket.send_json_to({"type": "section_changed", "x": 5, "y": 5})
    reply = await socket.receive_json_from(timeout=2)
    assert reply["type"] == "error" and reply["code"] == "read_only"
    await socket.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_sockets_from_a_foreign_origin_are_refused():
    socket = communicator(origin=b"https://evil.example")
    connected, _ = await socket.connect()
    assert not connected
