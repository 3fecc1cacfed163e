"""One subscription per process and group, handed to every local member in order."""

import asyncio
import json

import pytest
from autobahn.exception import Disconnected
from channels.layers import InMemoryChannelLayer
from uvicorn.protocols.utils import ClientDisconnected

from bazaar.fanout import (
    LONGEST_WAIT,
    SOCKETS_PER_TURN,
    GroupFanout,
    group_fanout,
    latest_frame,
)


class Member:
    def __init__(self):
        self.received = []

    async def doc_update(self, message):
        self.received.append(message["n"])


class LeavingMember:
    async def doc_update(self, message):
        raise Disconnected("Attempt to send on a closed protocol")


class LeavingUvicornMember:
    async def doc_update(self, message):
        raise ClientDisconnected()


class BrokenMember:
    async def doc_update(self, message):
        raise ConnectionError("socket already closed")


async def _settle(members, count):
    for _ in range(200):
        if all(len(member.received) == count for member in members):
            return
        await asyncio.sleep(0.005)


@pytest.mark.asyncio
async def test_members_share_one_subscription_and_get_every_message_in_order(caplog):
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    first, second = Member(), Member()
    await fanout.join(first)
    await fanout.join(BrokenMember())
    await fanout.join(second)
    assert len(layer.groups["room"]) == 1

    for n in range(20):
        await layer.group_send("room", {"type": "doc.update", "n": n})
    await _settle([first, second], 20)

    assert first.received == second.received == list(range(20))
    assert "fan-out to one socket of room failed" in caplog.text


@pytest.mark.asyncio
async def test_the_last_member_leaving_unsubscribes_and_a_new_one_subscribes_again():
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    member = Member()
    await fanout.join(member)
    await fanout.leave(member)
    assert not layer.groups.get("room")

    again = Member()
    await fanout.join(again)
    await layer.group_send("room", {"type": "doc.update", "n": 1})
    await _settle([again], 1)
    assert again.received == [1] and member.received == []
    await fanout.leave(again)


class Socket:
    """A member that records what one socket would be sent, with when."""

    def __init__(self):
        self.sent: list[tuple[float, object]] = []

    async def forward(self, message):
        self.sent.append((asyncio.get_running_loop().time(), json.loads(message["frame"])))

    doc_update = frames_batch = forward

    async def room_count(self, message):
        self.sent.append((asyncio.get_running_loop().time(), {"count": message["count"]}))


def doc(n: int) -> dict:
    return {"type": "doc.update", "frame": json.dumps({"type": "doc", "seq": n})}


async def _room(seconds_per_socket: float, sockets: int = 1):
    """A fan-out on the in-memory layer with `sockets` recording members joined."""
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room", seconds_per_socket=seconds_per_socket)
    members = [Socket() for _ in range(sockets)]
    for member in members:
        await fanout.join(member)
    return layer, fanout, members


async def _burst(layer, sockets):
    """One message, then three more once the first has been delivered."""
    await layer.group_send("room", doc(1))
    for _ in range(100):
        if sockets[0].sent:
            break
        await asyncio.sleep(0.005)
    for n in (2, 3, 4):
        await layer.group_send("room", doc(n))
    for _ in range(200):
        if all(len(socket.sent) == 2 for socket in sockets):
            break
        await asyncio.sleep(0.005)


@pytest.mark.asyncio
async def test_a_message_after_a_quiet_spell_goes_out_at_once_and_a_burst_waits_as_one_batch():
    # Two sockets at 40 ms each: deliveries at least 80 ms apart.
    layer, fanout, sockets = await _room(0.04, sockets=2)
    started = asyncio.get_running_loop().time()

    await _burst(layer, sockets)

    for socket in sockets:
        (first_at, first), (batch_at, batch) = socket.sent
        assert first == {"type": "doc", "seq": 1} and first_at - started < 0.05
        assert batch == {"type": "batch", "frames": [{"type": "doc", "seq": n} for n in (2, 3, 4)]}
        assert batch_at - first_at >= 0.075
    for socket in sockets:
        await fanout.leave(socket)


@pytest.mark.asyncio
async def test_however_big_the_room_a_waiting_frame_goes_out_within_the_longest_wait():
    layer, fanout, (socket,) = await _room(10)

    await _burst(layer, [socket])

    (first_at, _), (batch_at, _) = socket.sent
    # Spaced by size it would wait 10 s; the cap brings it to LONGEST_WAIT (the upper
    # bound leaves room for a busy machine: it only has to tell 0.1 s from 10 s).
    assert LONGEST_WAIT - 0.005 <= batch_at - first_at < 1.0
    await fanout.leave(socket)


@pytest.mark.asyncio
async def test_a_message_without_a_frame_keeps_its_place_between_batches():
    layer, fanout, (socket,) = await _room(0.2)
    await layer.group_send("room", doc(1))
    await asyncio.sleep(0.02)
    for message in (doc(2), doc(3), {"type": "room.count", "count": 7}, doc(4)):
        await layer.group_send("room", message)
    for _ in range(200):
        if len(socket.sent) == 4:
            break
        await asyncio.sleep(0.005)

    assert [frame for _, frame in socket.sent] == [
        {"type": "doc", "seq": 1},
        {"type": "batch", "frames": [{"type": "doc", "seq": 2}, {"type": "doc", "seq": 3}]},
        {"count": 7},
        {"type": "doc", "seq": 4},
    ]
    await fanout.leave(socket)


@pytest.mark.asyncio
async def test_a_big_delivery_lets_the_loop_turn_and_skips_sockets_that_left_meanwhile():
    layer, fanout, sockets = await _room(0, sockets=3 * SOCKETS_PER_TURN)
    loop = asyncio.get_running_loop()

    def everyone_else_leaves() -> None:
        for socket in sockets:
            if not socket.sent:
                fanout.members.discard(socket)

    class FirstServed(Socket):
        """The first socket served makes the rest leave at the loop's next turn."""

        async def forward(self, message):
            if not any(socket.sent for socket in sockets):
                loop.call_soon(everyone_else_leaves)
            await super().forward(message)

        doc_update = forward

    for socket in sockets:
        socket.__class__ = FirstServed
    await layer.group_send("room", doc(1))
    for _ in range(100):
        await asyncio.sleep(0.005)
        if any(socket.sent for socket in sockets):
            break
    await asyncio.sleep(0.05)

    # Only the sockets served before the delivery first let the loop turn got it.
    served = [socket for socket in sockets if socket.sent]
    assert len(served) == SOCKETS_PER_TURN - 1
    assert len(fanout.members) == SOCKETS_PER_TURN - 1


@pytest.mark.asyncio
async def test_a_message_without_a_type_is_logged_and_the_next_ones_still_arrive(caplog):
    layer, fanout, (socket,) = await _room(0)
    await layer.group_send("room", {"kind": "not a channels message"})
    await layer.group_send("room", doc(2))
    for _ in range(100):
        if socket.sent:
            break
        await asyncio.sleep(0.005)

    assert [frame for _, frame in socket.sent] == [{"type": "doc", "seq": 2}]
    assert "a message to room has no handler" in caplog.text
    await fanout.leave(socket)


@pytest.mark.asyncio
async def test_a_socket_that_closed_while_its_frame_was_sent_is_not_an_error(caplog):
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    staying = Member()
    await fanout.join(LeavingMember())
    await fanout.join(LeavingUvicornMember())
    await fanout.join(staying)
    await layer.group_send("room", {"type": "doc.update", "n": 1})
    await _settle([staying], 1)
    assert staying.received == [1]
    assert "failed" not in caplog.text


def state(version: int, *items: str) -> dict:
    head = json.dumps({"type": "doc", "version": version})[:-1] + ', "items": '
    listed = [json.dumps(item) for item in items]
    return {
        "type": "doc.update",
        "frame": latest_frame(head, listed),
        "latest": {"version": version, "head": head, "items": listed},
    }


@pytest.mark.asyncio
async def test_states_waiting_together_go_as_the_newest_with_every_item_and_never_backwards():
    layer, fanout, (socket,) = await _room(0.2)
    await layer.group_send("room", state(1, "a"))
    await asyncio.sleep(0.02)
    # A burst, one of them late from another process (2 after 3), then a plain frame.
    for message in (state(3, "c"), state(2, "b"), state(4, "d"), doc(9), state(5, "e")):
        await layer.group_send("room", message)
    for _ in range(200):
        if len(socket.sent) == 2:
            break
        await asyncio.sleep(0.005)
    await layer.group_send("room", state(4, "late"))  # older than what was given: dropped
    await layer.group_send("room", state(6))
    for _ in range(200):
        if len(socket.sent) == 3:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)

    assert [frame for _, frame in socket.sent] == [
        {"type": "doc", "version": 1, "items": ["a"]},
        {
            "type": "batch",
            "frames": [
                {"type": "doc", "version": 4, "items": ["c", "b", "d"]},
                {"type": "doc", "seq": 9},
                {"type": "doc", "version": 5, "items": ["e"]},
            ],
        },
        {"type": "doc", "version": 6, "items": []},
    ]
    await fanout.leave(socket)


def test_a_long_run_of_states_keeps_only_the_newest_items():
    from bazaar.fanout import MAX_ITEMS, _latest_first

    (merged,) = _latest_first([state(n, str(n)) for n in range(1, 100)], given=0)
    frame = json.loads(merged["frame"])
    assert frame["version"] == 99 and frame["items"] == [
        str(n) for n in range(100 - MAX_ITEMS, 100)
    ]


@pytest.mark.asyncio
async def test_a_lingering_subscription_outlives_its_last_member_for_the_next_one():
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "user.ana", linger=0.2)
    first = Member()
    await fanout.join(first)
    await fanout.leave(first)
    assert len(layer.groups["user.ana"]) == 1  # still subscribed

    channel = fanout.channel
    again = Member()
    await fanout.join(again)
    assert fanout.channel == channel  # joined without subscribing anew
    await asyncio.sleep(0.3)  # the cancelled end does not come
    await layer.group_send("user.ana", {"type": "doc.update", "n": 1})
    await _settle([again], 1)
    assert again.received == [1] and first.received == []

    await fanout.leave(again)
    await asyncio.sleep(0.3)
    assert not layer.groups.get("user.ana") and fanout.channel is None


@pytest.mark.asyncio
async def test_the_registry_forgets_a_lingering_fanout_once_it_ended():
    layer = InMemoryChannelLayer()
    fanout = group_fanout(layer, "user.ben", linger=0.05)
    assert group_fanout(layer, "user.ben") is fanout
    member = Member()
    await fanout.join(member)
    await fanout.leave(member)
    assert group_fanout(layer, "user.ben") is fanout  # lingering
    await asyncio.sleep(0.15)
    assert fanout.channel is None and group_fanout(layer, "user.ben") is not fanout


async def _handed_out(socket, count: int) -> None:
    for _ in range(200):
        if len(socket.sent) >= count:
            return
        await asyncio.sleep(0.005)


def _state_message(version: int) -> dict:
    head = json.dumps({"type": "update", "version": version})[:-1] + ', "bids": '
    return {
        "type": "doc.update",
        "n": version,
        "frame": latest_frame(head, []),
        "latest": {"version": version, "head": head, "items": []},
    }


@pytest.mark.asyncio
async def test_a_kept_state_serves_later_joins_until_a_newer_one_is_handed_out():
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "auction")
    reader, later = Socket(), Socket()
    assert fanout.kept() is None
    fanout.keep(reader, "state 3", 3)
    assert fanout.kept() is None  # read by no member: nothing says it was subscribed
    await fanout.join(reader)
    fanout.keep(reader, "state 3", 3)
    fanout.keep(reader, "state 2", 2)  # an older read keeps nothing
    await fanout.join(later)
    assert fanout.kept() == "state 3"

    await layer.group_send("auction", _state_message(3))  # what the state already has
    await _handed_out(later, 1)
    assert fanout.kept() == "state 3"
    await layer.group_send("auction", _state_message(4))
    await _handed_out(later, 2)
    assert fanout.kept() is None  # a join now would have missed version 4
    fanout.keep(later, "state 4", 4)
    assert fanout.kept() == "state 4"

    await fanout.leave(reader)
    await fanout.leave(later)
    assert fanout.kept() is None  # unsubscribed: changes from now on are not heard


class SharedSocket:
    async def doc_update(self, message):
        self.shared = message["shared"]


@pytest.mark.asyncio
async def test_a_frame_is_encoded_once_for_every_member():
    """Every member gets the same `SharedFrame` (bazaar.wire): its wire bytes are made
    once for the group, not once per socket."""
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    members = [SharedSocket() for _ in range(3)]
    for member in members:
        await fanout.join(member)
    await layer.group_send("room", doc(1))
    for _ in range(200):
        if all(hasattr(member, "shared") for member in members):
            break
        await asyncio.sleep(0.005)
    shared = {id(member.shared) for member in members}
    assert len(shared) == 1 and members[0].shared.text == doc(1)["frame"]
