"""A steward's own sections map follows another steward's move live: the map page
listens on the market socket, as shoppers' grid pages do (`sections-map.js`), hears
`section_changed` for both sections the move touched, and the map it then fetches
shows the stall where it is now."""

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from bazaar.asgi import application
from governance.models import Role
from governance.services import role_grant
from stalls.moves import Place, stall_move
from tests.second_step import SignedInClient


def _map_socket():
    """The socket the steward's map page opens (same origin as the site)."""
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    return WebsocketCommunicator(application, "/ws/market/", headers=headers)


def _slot_of(html: str, name: str) -> str:
    """The `data-place` of the map slot that shows the stall called `name`."""
    for place, body in re.findall(r'data-place="([\d,]+)"[^>]*>(.*?)</li>', html, re.S):
        if f'data-name="{name}"' in body:
            return place
    return ""


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_another_stewards_move_reaches_an_open_sections_map(make_stall, steward, make_user):
    lamps = await sync_to_async(make_stall)("lamps", x=0, y=0, slot=2, name="Lamps")
    other = await sync_to_async(make_user)("second_steward")
    await sync_to_async(role_grant)(user=other, role=Role.STEWARD)
    watcher = SignedInClient()
    await sync_to_async(watcher.force_login)(steward)
    before = (await sync_to_async(watcher.get)("/admin/sections/")).content.decode()
    assert _slot_of(before, lamps.name) == "0,0,2"

    socket = _map_socket()
    connected, _ = await socket.connect()
    assert connected
    await sync_to_async(stall_move)(
        actor=other,
        stall_public_id=lamps.public_id,
        origin=Place(0, 0, 2),
        target=Place(1, 0, 5),
        expected_occupant="",
        reason="Lamps beside the books",
    )
    heard = set()
    while len(heard) < 2:
        frame = await socket.receive_json_from(timeout=3)
        frames = frame["frames"] if frame["type"] == "batch" else [frame]
        heard |= {(f["x"], f["y"]) for f in frames if f["type"] == "section_changed"}
    assert heard == {(0, 0), (1, 0)}  # both sections on the map are fetched again
    await socket.disconnect()

    after = (await sync_to_async(watcher.get)("/admin/sections/")).content.decode()
    assert _slot_of(after, lamps.name) == "1,0,5"
