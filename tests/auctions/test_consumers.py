"""`/ws/auctions/<ulid>/`, driven with Channels' WebsocketCommunicator."""

import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from auctions.frames import pseudonym
from auctions.models import Bid
from bazaar.asgi import application as asgi_application
from bazaar.errors import Conflict
from bazaar.ids import new_ulid
from bazaar.routing import websocket_urlpatterns
from tests.conftest import unbatched

application = URLRouter(websocket_urlpatterns)
pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def watch(public_id: str, user=None) -> tuple[WebsocketCommunicator, dict]:
    socket = WebsocketCommunicator(application, f"/ws/auctions/{public_id}/")
    socket.scope["user"] = user or AnonymousUser()
    connected, _ = await socket.connect()
    assert connected
    return socket, await socket.receive_json_from(timeout=3)


async def test_welcome_carries_the_state_and_the_server_time(auction, make_bidder):
    alice = await sync_to_async(make_bidder)("alice")
    socket, welcome = await watch(auction.public_id, alice)
    assert welcome["type"] == "welcome" and welcome["you"] == alice.public_id
    assert abs(welcome["server_time"] - time.time()) < 2
    state = welcome["state"]
    assert state["status"] == "live" and state["minimum"] == "$10.00"
    assert state["ends_at"] == auction.ends_at.timestamp()
    await socket.disconnect()


async def test_every_committed_bid_is_broadcast_with_the_server_time(auction, make_bidder, bid):
    alice, bob = await sync_to_async(make_bidder)("alice"), await sync_to_async(make_bidder)("bob")
    socket, _ = await watch(auction.public_id)
    await sync_to_async(bid)(alice, 1000, maximum=2500)
    first = await socket.receive_json_from(timeout=3)
    assert first["type"] == "update" and first["event"] == "bid"
    name = {user.pk: pseudonym(auction, user.pk) for user in (alice, bob)}
    assert first["state"]["price"] == "$10.00" and first["state"]["leader"] == name[alice.pk]
    assert [b["amount"] for b in first["bids"]] == ["$10.00"]
    await sync_to_async(bid)(bob, 1500)
    second = await socket.receive_json_from(timeout=3)
    assert second["state"]["version"] > first["state"]["version"]
    assert (second["state"]["price"], second["state"]["leader"]) == ("$16.00", name[alice.pk])
    assert [(b["bidder"], b["kind"], b["leading"]) for b in second["bids"]] == [
        (name[bob.pk], "bid", False),
        (name[alice.pk], "proxy", True),
    ]
    assert abs(second["server_time"] - time.time()) < 2
    # Nobody's maximum (nor a reserve) is ever on the wire: no field holds $25.00 in
    # cents or as money (timestamps are floats and may contain any digits).
    assert not {2500, "$25.00", "25.00"} & set(_values(second))
    assert "max" not in json.dumps(second["bids"])
    await socket.disconnect()


async def test_a_refused_bid_announces_nothing(auction, make_bidder, bid):
    alice = await sync_to_async(make_bidder)("alice")
    socket, _ = await watch(auction.public_id)
    with pytest.raises(Conflict):
        await sync_to_async(bid)(alice, 500)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_an_unknown_auction_is_refused_with_a_code():
    socket = WebsocketCommunicator(application, f"/ws/auctions/{new_ulid()}/")
    socket.scope["user"] = AnonymousUser()
    await socket.connect()
    error = await socket.receive_json_from(timeout=3)
    assert (error["type"], error["code"]) == ("error", "unknown_auction")
    assert (await socket.receive_output(timeout=3))["code"] == 4404


async def test_ping_answers_with_the_server_time_and_bad_frames_are_refused(auction):
    socket, _ = await watch(auction.public_id)
    for _ in range(2):  # every ping: the page sends one only every 5 minutes
        await socket.send_json_to({"type": "ping"})
        pong = await socket.receive_json_from(timeout=3)
        assert pong["type"] == "pong" and abs(pong["server_time"] - time.time()) < 2
        assert pong["heartbeat_seconds"] == 300
    await socket.send_json_to({"type": "chat", "text": "hi"})
    assert (await socket.receive_json_from(timeout=3))["code"] == "unknown_type"
    await socket.send_to(text_data="not json")
    assert (await socket.receive_json_from(timeout=3))["code"] == "bad_frame"
    await socket.send_to(text_data="[1, 2]")
    assert (await socket.receive_json_from(timeout=3))["code"] == "bad_frame"
    await socket.disconnect()


async def ack_for(socket) -> dict:
    """The next `bid_ack` (updates to every watcher may come first)."""
    while True:
        for frame in unbatched(await socket.receive_json_from(timeout=5)):
            if frame["type"] == "bid_ack":
                return frame


async def test_a_bid_over_the_socket_is_acknowledged_after_commit_with_its_version(
    auction, make_bidder, key
):
    alice = await sync_to_async(make_bidder)("alice")
    socket, welcome = await watch(auction.public_id, alice)
    await socket.send_json_to({"bid": 1000, "key": key()})
    ack = await ack_for(socket)
    assert ack["ok"] and ack["leading"] and ack["message"] == "You are the high bidder at $10.00."
    assert ack["version"] == welcome["state"]["version"] + 1 == ack["state"]["version"]
    stored = await sync_to_async(Bid.objects.get)()
    assert ack["bid"]["id"] == stored.public_id and stored.bidder_id == alice.pk
    # A text amount is read as the form reads it; a maximum may go with it.
    await socket.send_json_to({"type": "bid", "bid": "30.00", "max": 4000, "key": key()})
    raised = await ack_for(socket)
    assert raised["ok"] and "maximum is now $40.00" in raised["message"]
    await socket.disconnect()


async def test_a_refused_socket_bid_says_why_and_a_resent_key_gets_the_first_answer(
    auction, make_bidder, key
):
    alice = await sync_to_async(make_bidder)("alice")
    bob = await sync_to_async(make_bidder)("bob")
    mine, _ = await watch(auction.public_id, alice)
    first = key()
    await mine.send_json_to({"bid": 1500, "key": first})
    accepted = await ack_for(mine)
    await mine.send_json_to({"bid": 1500, "key": first})
    assert await ack_for(mine) == accepted
    theirs, _ = await watch(auction.public_id, bob)
    await theirs.send_json_to({"bid": 1500, "key": key()})
    too_low = await ack_for(theirs)
    assert (too_low["ok"], too_low["code"]) == (False, "bid_too_low")
    assert too_low["message"] == "The next minimum bid is $16.00; bid at least that."
    for frame, code in (
        ({"bid": 1600}, "invalid"),
        ({"bid": "ten", "key": key()}, "amount"),
        ({"bid": [1], "key": key()}, "amount"),
    ):
        await theirs.send_json_to(frame)
        refused = await ack_for(theirs)
        assert (refused["ok"], refused["code"]) == (False, code), refused
    assert await sync_to_async(Bid.objects.count)() == 1
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_guest_bidding_on_the_socket_is_asked_to_sign_in(auction, key):
    socket, _ = await watch(auction.public_id)
    await socket.send_json_to({"bid": 1000, "key": key()})
    ack = await ack_for(socket)
    assert (ack["ok"], ack["code"], ack["message"]) == (False, "auth_required", "Sign in to bid.")
    await socket.disconnect()


async def test_sockets_from_a_foreign_origin_are_refused(auction):
    socket = WebsocketCommunicator(
        asgi_application,
        f"/ws/auctions/{auction.public_id}/",
        headers=[(b"origin", b"https://evil.example")],
    )
    connected, _ = await socket.connect()
    assert not connected


def _values(frame):
    """Every non-float value in a frame, however deeply nested."""
    if isinstance(frame, dict):
        for value in frame.values():
            yield from _values(value)
    elif isinstance(frame, list):
        for value in frame:
            yield from _values(value)
    elif not isinstance(frame, float):
        yield frame


async def test_watchers_sockets_subscribe_no_channel_of_their_own(auction, monkeypatch):
    """Broadcasts reach an auction's sockets through the process's one subscription
    (bazaar.fanout); a socket of its own on the pub/sub layer was a SUBSCRIBE per join."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    opened = []
    new_channel = layer.new_channel

    async def counted(*args, **kwargs):
        opened.append(1)
        return await new_channel(*args, **kwargs)

    monkeypatch.setattr(layer, "new_channel", counted)
    sockets = [(await watch(auction.public_id))[0] for _ in range(3)]
    assert len(opened) <= 1  # the fan-out's, shared by all three
    for socket in sockets:
        await socket.disconnect()


async def test_a_join_gets_the_state_kept_by_its_process_until_a_newer_one_went_out(
    auction, make_bidder, bid, monkeypatch
):
    """The first watcher reads the state; the next ones get that state without a query
    while it is current, and the state after a bid once the bid's update went out."""
    import auctions.consumers

    reads = []
    real = auctions.consumers.auction_for_state

    def counted(**kwargs):
        reads.append(1)
        return real(**kwargs)

    monkeypatch.setattr(auctions.consumers, "auction_for_state", counted)
    alice = await sync_to_async(make_bidder)("alice")
    first, welcome = await watch(auction.public_id)
    second, kept = await watch(auction.public_id, alice)
    assert len(reads) == 1 and kept["state"] == welcome["state"]
    assert kept["you_as"] == pseudonym(auction, alice.pk)

    await sync_to_async(bid)(alice, 1000)
    update = await first.receive_json_from(timeout=3)
    third, after = await watch(auction.public_id)
    assert len(reads) == 2 and after["state"] == update["state"]
    assert after["state"]["version"] > welcome["state"]["version"]
    for socket in (first, second, third):
        await socket.disconnect()


async def test_a_page_pings_every_5_minutes_whatever_the_size_and_the_server_keeps_it_warm(
    auction,
):
    """An auction socket has no presence to keep: its page pings only for its clock
    check, every 300 s however many watch, and asks the server (where it can: uvicorn,
    bazaar.workers) to keep the quiet connection warm for that long."""
    from bazaar.wire import KEEP_WARM_KEY

    asked = []
    sockets = []
    for _ in range(3):
        socket = WebsocketCommunicator(application, f"/ws/auctions/{auction.public_id}/")
        socket.scope |= {"user": AnonymousUser(), KEEP_WARM_KEY: asked.append}
        assert (await socket.connect())[0]
        sockets.append((socket, await socket.receive_json_from(timeout=3)))
    assert [welcome["heartbeat_seconds"] for _, welcome in sockets] == [300, 300, 300]
    assert asked == [300, 300, 300]
    for socket, _ in sockets:
        await socket.disconnect()
