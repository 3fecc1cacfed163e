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


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_heat_map_reaches_open_pages_and_greets_new_ones(market):
    from asgiref.sync import sync_to_async

    from analytics.crowd import crowd_seen
    from market.models import Section
    from market.services import heatmap_publish

    section = await Section.objects.aget(x=2, y=1)
    socket = communicator()
    assert (await socket.connect())[0]
    crowd_seen(person="walker", section_id=section.pk)
    assert await sync_to_async(heatmap_publish)()
    frame = await socket.receive_json_from(timeout=2)
    assert frame["type"] == "heat" and frame["sections"] == [[2, 1, 1]]
    # The socket subscribes, then greets with the last frame: if its greeting read the
    # cache after this publish, the same frame (the same `at`) comes twice, never an older.
    while not await socket.receive_nothing(timeout=0.3):
        assert await socket.receive_json_from() == frame
    # Nothing changed: no frame. A page that opens now gets the last one at once.
    assert not await sync_to_async(heatmap_publish)()
    assert await socket.receive_nothing(timeout=0.2)
    late = communicator()
    await late.connect()
    assert (await late.receive_json_from(timeout=2))["sections"] == [[2, 1, 1]]
    await socket.disconnect()
    await late.disconnect()
