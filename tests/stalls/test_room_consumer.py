"""The stall room socket, driven with Channels' WebsocketCommunicator."""

import base64
import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from pycrdt import YMessageType, YSyncMessageType, read_message, write_message

from bazaar.routing import websocket_urlpatterns
from stalls.models import ChatMessage
from stalls.room.document import new_doc
from tests.conftest import unbatched

application = URLRouter(websocket_urlpatterns)


class Client:
    """One browser's socket, with a Y.js-like replica of the document."""

    def __init__(self, stall_public_id: str, user=None):
        self.socket = WebsocketCommunicator(application, f"/ws/stalls/{stall_public_id}/")
        self.socket.scope["user"] = user or AnonymousUser()
        self.socket.scope["session"] = _Session()
        self.doc = new_doc()
        self.welcome = None
        self.pending = []

    async def join(self):
        connected, _ = await self.socket.connect()
        assert connected
        self.welcome = await self.next("welcome")
        await self.sync()
        return self

    async def sync(self):
        await self.socket.send_to(
            bytes_data=bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
            + write_message(self.doc.get_state())
        )
        reply = await self.next("binary")
        assert reply[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2])
        self.doc.apply_update(read_message(reply[2:]))
        return await self.next("synced")

    async def read(self, timeout: float = 3) -> list[tuple[str, object]]:
        """The frames of the next socket message ("binary" for bytes; a `batch` is
        unpacked), applying doc updates as they arrive, as a browser would."""
        raw = await self.socket.receive_from(timeout=timeout)
        if isinstance(raw, bytes):
            return [("binary", raw)]
        frames = unbatched(json.loads(raw))
        for each in frames:
            if each["type"] == "doc":
                self.doc.apply_update(base64.b64decode(each["update"]))
        return [(each["type"], each) for each in frames]

    async def next(self, kind: str, timeout: float = 3):
        """The next frame of this kind, keeping the others for later."""
        while True:
            for index, (frame_kind, frame) in enumerate(self.pending):
                if frame_kind == kind:
                    del self.pending[index]
                    return frame
            self.pending.extend(await self.read(timeout))

    async def until(self, check, timeout: float = 3):
        """Read frames (applying doc updates) until the replica passes `check`."""
        while not check():
            self.pending.extend(await self.read(timeout))

    def texts(self):
        return [entry["text"] for entry in self.chat()]

    def present(self):
        return sorted(v["handle"] for v in self.doc["presence"].to_py().values())

    async def send(self, **frame):
        await self.socket.send_to(text_data=json.dumps(frame))

    def chat(self):
        return self.doc["chat"].to_py()

    async def leave(self):
        await self.socket.disconnect()


class _Session:
    session_key = "test-session"


pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_message_is_acknowledged_then_reaches_everyone_in_the_stall(stall, make_user):
    alice = await sync_to_async(make_user)("alice")
    watcher = await Client(stall.public_id).join()
    sender = await Client(stall.public_id, alice).join()
    assert sender.welcome["you"]["handle"] == "alice"
    assert watcher.welcome["you"] is None

    await sender.send(type="chat", text="Hello stall!", client_id="c1")
    ack = await sender.next("chat_ack")
    assert ack["client_id"] == "c1" and ack["message"]["status"] == "visible"
    assert await sync_to_async(ChatMessage.objects.filter(public_id=ack["message"]["id"]).exists)()
    await watcher.until(lambda: watcher.texts() == ["Hello stall!"])
    await sender.leave()
    await watcher.leave()


async def test_a_late_joiner_gets_the_history_by_the_sync_handshake(stall, make_user):
    bob = await sync_to_async(make_user)("bob")
    first = await Client(stall.public_id, bob).join()
    for text in ["one", "two"]:
        await first.send(type="chat", text=text, client_id=text)
        await first.next("chat_ack")
    late = await Client(stall.public_id).join()
    assert [entry["text"] for entry in late.chat()] == ["one", "two"]
    await first.leave()
    await late.leave()


async def test_guests_may_watch_but_not_chat_or_move_cursors(stall):
    guest = await Client(stall.public_id).join()
    await guest.send(type="chat", text="hi", client_id="g")
    error = await guest.next("error")
    assert error["code"] == "auth_required" and error["client_id"] == "g"
    await guest.leave()


async def test_clients_cannot_write_the_document(stall, make_user):
    mallory = await sync_to_async(make_user)("mallory")
    client = await Client(stall.public_id, mallory).join()
    forged = new_doc()
    forged["chat"].append("forged")
    await client.socket.send_to(
        bytes_data=bytes([YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE])
        + write_message(forged.get_update())
    )
    error = await client.next("error")
    assert error["code"] == "read_only_document"
    late = await Client(stall.public_id).join()
    assert late.chat() == []
    await client.leave()
    await late.leave()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ('{"no": "type"}', "bad_frame"),
        ('{"type": "shout"}', "unknown_type"),
    ],
)
async def test_malformed_frames_get_a_clear_error(stall, frame, code):
    client = await Client(stall.public_id).join()
    await client.socket.send_to(text_data=frame)
    assert (await client.next("error"))["code"] == code
    await client.leave()


async def test_unknown_stall_is_closed_with_a_clear_code(market):
    socket = WebsocketCommunicator(application, "/ws/stalls/01ARZ3NDEKTSV4RRFFQ69G5FAV/")
    socket.scope["user"] = AnonymousUser()
    connected, _ = await socket.connect()
    assert connected
    frame = json.loads(await socket.receive_from())
    assert frame["code"] == "unknown_stall"
    assert (await socket.receive_output())["code"] == 4404


async def test_presence_lists_signed_in_visitors_and_counts_guests(stall, make_user):
    carol = await sync_to_async(make_user)("carol")
    guest = await Client(stall.public_id).join()
    member = await Client(stall.public_id, carol).join()
    presence = await guest.next("presence")
    while presence["count"] != 2:
        presence = await guest.next("presence")
    assert presence["guests"] == 1
    await guest.until(lambda: guest.present() == ["carol"])
    await member.leave()
    await guest.until(lambda: guest.present() == [])
    await guest.leave()


async def test_cursor_moves_are_batched_to_the_others(stall, make_user):
    dana, eve = await sync_to_async(make_user)("dana"), await sync_to_async(make_user)("eve")
    mover = await Client(stall.public_id, dana).join()
    viewer = await Client(stall.public_id, eve).join()
    await mover.send(type="cursor", x=0.25, y=0.75)
    batch = await viewer.next("cursors")
    assert batch["moved"][0]["handle"] == "dana"
    assert (batch["moved"][0]["x"], batch["moved"][0]["y"]) == (0.25, 0.75)
    assert batch["moved"][0]["color"].startswith("hsl(")
    await mover.send(type="cursor", x=2, y=0.5)
    assert (await mover.next("error"))["code"] == "bad_cursor"
    await mover.leave()
    gone = await viewer.next("cursors")
    assert gone["gone"] == [mover.welcome["you"]["cursor"]]
    await viewer.leave()


async def test_ping_answers_with_the_document_position(stall, make_user):
    frank = await sync_to_async(make_user)("frank")
    client = await Client(stall.public_id, frank).join()
    await client.send(type="chat", text="x", client_id="x")
    ack = await client.next("chat_ack")
    assert ack
    await client.send(type="ping")
    pong = await client.next("pong")
    assert pong["epoch"] == client.welcome["epoch"]
    assert pong["seq"] > client.welcome["seq"]
    await client.leave()


async def test_the_sellers_arrival_lights_the_live_dot_on_the_market(stall):
    from market.consumers import MarketConsumer

    market = WebsocketCommunicator(MarketConsumer.as_asgi(), "/ws/market/")
    await market.connect()
    seller = await sync_to_async(lambda: stall.seller.user)()
    room = await Client(stall.public_id, seller).join()
    assert room.welcome["you"]["seller"] is True
    assert await market.receive_json_from(timeout=3) == {
        "type": "stall_live",
        "stall": stall.public_id,
        "live": True,
    }
    await room.leave()
    assert await market.receive_json_from(timeout=3) == {
        "type": "stall_live",
        "stall": stall.public_id,
        "live": False,
    }
    await market.disconnect()


async def test_a_ban_imposed_during_the_visit_ends_it_and_a_mute_disables_chat(stall, make_user):
    from governance.models import Role
    from governance.services import role_grant, sanction_impose

    steward = await sync_to_async(make_user)("keeper")
    await sync_to_async(role_grant)(user=steward, role=Role.STEWARD)
    noisy = await sync_to_async(make_user)("noisy")
    client = await Client(stall.public_id, noisy).join()

    def impose(kind):
        sanction_impose(
            user=noisy, kind=kind, reason="flooding", stall=stall, duration=None, imposed_by=steward
        )

    await sync_to_async(impose)("mute")
    restricted = await client.next("restricted")
    assert "flooding" in restricted["message"]
    await sync_to_async(impose)("ban")
    banned = await client.next("error")
    assert banned["code"] == "banned"
    assert (await client.socket.receive_output(timeout=3))["code"] == 4403


async def test_lifting_a_mute_during_the_visit_opens_chat_unless_another_still_applies(
    stall, make_user
):
    from governance.models import Role
    from governance.services import role_grant, sanction_impose, sanction_lift

    steward = await sync_to_async(make_user)("keeper")
    await sync_to_async(role_grant)(user=steward, role=Role.STEWARD)
    noisy = await sync_to_async(make_user)("noisy")

    def mute(where, reason):
        return sanction_impose(
            user=noisy, kind="mute", reason=reason, stall=where, duration=None, imposed_by=steward
        )

    here = await sync_to_async(mute)(stall, "flooding")
    everywhere = await sync_to_async(mute)(None, "spam across the market")
    client = await Client(stall.public_id, noisy).join()
    assert client.welcome["you"]["restriction"]

    await sync_to_async(sanction_lift)(sanction=here, lifted_by=steward)
    still = await client.next("restricted")
    assert "spam across the market" in still["message"]

    await sync_to_async(sanction_lift)(sanction=everywhere, lifted_by=steward)
    await client.next("unrestricted")
    await client.send(type="chat", text="Sorry, all.", client_id="c1")
    assert (await client.next("chat_ack"))["message"]["text"] == "Sorry, all."
    await client.leave()


async def test_stock_counts_follow_reservations_taken_released_and_sold(
    stall, make_user, make_item
):
    from datetime import timedelta

    from stalls.models import Reservation
    from stalls.services import reservation_consume, reservation_release, reservation_take

    buyer = await sync_to_async(make_user)("holder")
    item = await sync_to_async(make_item)(stall, inventory=2)
    watcher = await Client(stall.public_id).join()

    def take():
        return reservation_take(
            item=item, holder=buyer, reason=Reservation.Reason.CHECKOUT, ttl=timedelta(minutes=5)
        )

    first = await sync_to_async(take)()
    second = await sync_to_async(take)()
    assert await watcher.next("stock") == {
        "type": "stock",
        "item": item.public_id,
        "available": 1,
        "on_hold": 1,
    }
    assert (await watcher.next("stock"))["available"] == 0
    await sync_to_async(reservation_release)(reservation=first)
    assert (await watcher.next("stock"))["available"] == 1
    await sync_to_async(reservation_consume)(reservation=second)
    sold = await watcher.next("stock")
    assert (sold["available"], sold["on_hold"]) == (1, 0)
    await watcher.leave()


async def test_a_persons_sockets_share_one_subscription_that_outlives_them_a_while(
    stall, make_user, monkeypatch
):
    """What is sent to one person reaches each of their sockets through one subscription
    per process, which stays a while after they leave: their next join subscribes
    nothing (Market Day's signed-in joins waited seconds on their SUBSCRIBEs)."""
    from channels.layers import get_channel_layer

    from bazaar.broadcast import user_group

    layer = get_channel_layer()
    added = []
    group_add = layer.group_add

    async def counted(group, channel):
        added.append(group)
        return await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", counted)
    ana = await sync_to_async(make_user)("ana")
    mine = user_group(ana.public_id)
    first = await Client(stall.public_id, ana).join()
    second = await Client(stall.public_id, ana).join()
    assert added.count(mine) == 1

    frame = json.dumps({"type": "offer", "private": True})
    await layer.group_send(mine, {"type": "offer.private", "frame": frame})
    for client in (first, second):
        assert await client.next("offer") == {"type": "offer", "private": True}

    await first.leave()
    await second.leave()
    again = await Client(stall.public_id, ana).join()
    assert added.count(mine) == 1
    await layer.group_send(mine, {"type": "offer.private", "frame": frame})
    assert await again.next("offer") == {"type": "offer", "private": True}
    await again.leave()
