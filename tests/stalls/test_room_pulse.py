"""The room's pulse: headcounts that cost per change, heartbeats that never reach the
database, one channel-layer message per event whatever the room's size, and entries
that expire when a process stops."""

import asyncio
import itertools
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import transaction

from bazaar.fanout import GroupFanout
from stalls.room import pulse, visitors
from stalls.room.document import chat_entry_insert, document_change, stall_group
from stalls.room.pulse import count_label, room_pulse_here, shown_count
from stalls.room.visitors import Visitor, room_join, room_pulse
from tests.conftest import unbatched
from tests.stalls.test_room_consumer import Client


@pytest.fixture
def fast_pulse(monkeypatch):
    """Ticks every 20 ms and a headcount window of 0.4 s, so a test sees several of each."""
    monkeypatch.setattr(pulse, "TICK_SECONDS", 0.02)
    monkeypatch.setattr(pulse, "count_window", lambda sockets: 0.4)


async def _frames(client, seconds: float, kind: str) -> list[dict]:
    """Every frame of `kind` a socket has received and not read yet, or receives in
    the next `seconds` (waiting with
    `receive_nothing`, which, unlike a receive's timeout, leaves the socket open)."""
    loop = asyncio.get_running_loop()
    frames = [f | {"at": loop.time()} for k, f in client.pending if k == kind]
    client.pending = [(k, f) for k, f in client.pending if k != kind]
    end = loop.time() + seconds
    while loop.time() < end:
        if await client.socket.receive_nothing(timeout=0.02, interval=0.005):
            continue
        raw = await client.socket.receive_from()
        if isinstance(raw, str):
            at = loop.time()
            frames += [f | {"at": at} for f in unbatched(json.loads(raw)) if f["type"] == kind]
    return frames


async def _presence_frames(client, seconds: float) -> list[dict]:
    return await _frames(client, seconds, "presence")


def test_a_big_room_reads_as_a_rounded_count():
    assert [shown_count(n) for n in (7, 999, 2349, 2350, 12_400)] == [7, 999, 2300, 2400, 12_000]
    assert [count_label(shown_count(n)) for n in (950, 2349, 3000, 12_400)] == [
        "950",
        "2.3k",
        "3k",
        "12k",
    ]
    assert pulse.count_window(50) < pulse.count_window(500) < pulse.count_window(5000)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_headcount_goes_only_when_it_changes_at_most_once_a_window_and_the_latest(
    stall, fast_pulse
):
    watcher = await Client(stall.public_id).join()
    first = await _presence_frames(watcher, 0.3)
    assert [f["count"] for f in first] == [1]
    # Nothing changes: ten ticks, no frame.
    assert await _presence_frames(watcher, 0.3) == []
    # Three arrive one after another: frames a window apart at least, the last with the
    # latest count.
    others = [await Client(stall.public_id).join() for _ in range(3)]
    frames = await _presence_frames(watcher, 1.0)
    assert frames
    assert all(b["at"] - a["at"] >= 0.35 for a, b in itertools.pairwise(frames))
    assert (frames[-1]["count"], frames[-1]["guests"], frames[-1]["label"]) == (4, 4, "4")
    # A socket arriving now is greeted with the room's last count.
    late = Client(stall.public_id)
    await late.socket.connect()
    await late.next("welcome")
    assert (await late.next("presence"))["count"] == 4
    for client in [watcher, *others, late]:
        await client.leave()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_ping_is_answered_only_when_the_document_moved(stall, make_user, fast_pulse):
    ann = await sync_to_async(make_user)("ann")
    client = await Client(stall.public_id, ann).join()
    await client.send(type="ping")
    assert await _frames(client, 0.3, "pong") == []
    await client.send(type="chat", text="hello", client_id="c1")
    await client.next("chat_ack")
    await client.send(type="ping")
    pong = await client.next("pong")
    assert pong["seq"] > client.welcome["seq"]
    await client.send(type="ping")
    assert await _frames(client, 0.3, "pong") == []
    await client.leave()


@pytest.mark.django_db(transaction=True)
def test_heartbeats_and_the_count_touch_no_database(stall, make_user, django_assert_num_queries):
    bea = make_user("bea")
    signed_in = Visitor(user_id=bea.public_id, handle="bea")
    room_join(stall=stall, conn="tab", visitor=signed_in)
    with transaction.atomic():
        document_change(
            stall_id=stall.pk,
            stall_public_id=stall.public_id,
            change=lambda doc: chat_entry_insert(doc, {"id": "01", "text": "x"}),
        )
    guests = tuple(f"guest-{n}" for n in range(50))
    beats = {"tab": signed_in} | dict.fromkeys(guests, visitors.GUEST)
    work = {"stall": (stall, beats, [], ["a consumer"], guests, visitors.ENTRY_TTL)}
    with django_assert_num_queries(0):
        counts, positions = pulse._pulse_rooms(work)
        room_pulse(stall=stall, beats=beats, left=[])
    assert counts["stall"] == visitors.RoomCount(sockets=51, users=1)
    assert positions[stall.pk][1] > 0


@pytest.mark.django_db(transaction=True)
def test_closed_sockets_leave_at_the_next_tick_and_a_stopped_process_by_expiry(stall, monkeypatch):
    monkeypatch.setattr(visitors, "ENTRY_TTL", 0.3)
    room_pulse(stall=stall, beats={}, left=[], guests=("a", "b", "c"))
    assert room_pulse(stall=stall, beats={}, left=["a"]).sockets == 2
    # The process holding b and c stops: nobody beats for them, nobody closes them.
    deadline = time.monotonic() + 3
    while room_pulse(stall=stall, beats={}, left=[]).sockets and time.monotonic() < deadline:
        time.sleep(0.05)
    assert room_pulse(stall=stall, beats={}, left=[]).sockets == 0


class CountingLayer(InMemoryChannelLayer):
    """The in-memory layer, counting the messages put on channels."""

    def __init__(self):
        super().__init__()
        self.delivered = 0

    async def send(self, channel, message):
        self.delivered += 1
        await super().send(channel, message)


class Socket:
    def __init__(self):
        self.frames = []

    async def doc_update(self, message):
        self.frames.append(message["frame"])

    room_presence = doc_update


@pytest.mark.asyncio
async def test_each_process_fans_out_one_layer_message_per_event_to_its_own_sockets():
    layer = CountingLayer()
    processes = [GroupFanout(layer, "stall.x"), GroupFanout(layer, "stall.x")]
    sockets = [[Socket() for _ in range(300)] for _ in processes]
    for fanout, members in zip(processes, sockets, strict=True):
        for socket in members:
            await fanout.join(socket)
    await layer.group_send("stall.x", {"type": "doc.update", "frame": '{"type": "doc"}'})
    for _ in range(200):
        if all(s.frames for members in sockets for s in members):
            break
        await asyncio.sleep(0.005)
    assert all(s.frames == ['{"type": "doc"}'] for members in sockets for s in members)
    assert layer.delivered == 2  # one per process, not one per socket

    # A headcount is read by each process for itself: no layer message at all.
    processes[0].hand_out_here({"type": "room.presence", "frame": "count"})
    await asyncio.sleep(0.15)
    assert all(s.frames[-1] == "count" for s in sockets[0])
    assert layer.delivered == 2
    for fanout, members in zip(processes, sockets, strict=True):
        for socket in members:
            await fanout.leave(socket)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_closing_socket_waits_for_nothing_and_the_tick_removes_it(stall, fast_pulse):
    clients = [await Client(stall.public_id).join() for _ in range(5)]
    await asyncio.sleep(0.1)
    count = await sync_to_async(visitors.room_count)(stall_public_id=stall.public_id)
    assert count.sockets == 5
    for client in clients:
        await client.leave()
    for _ in range(100):
        count = await sync_to_async(visitors.room_count)(stall_public_id=stall.public_id)
        if count.sockets == 0:
            break
        await asyncio.sleep(0.02)
    assert count.sockets == 0
    assert not room_pulse_here().rooms or all(
        not room.fanout.members for room in room_pulse_here().rooms.values()
    )


def test_a_big_room_beats_less_often_keeping_its_pings_near_a_hundred_a_second():
    assert [pulse.heartbeat_seconds(n) for n in (0, 999, 2000, 4000, 10_000, 50_000)] == [
        10,
        10,
        20,
        40,
        50,
        50,
    ]
    assert all(90 < n / pulse.heartbeat_seconds(n) < 110 for n in range(1000, 5001, 250))


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_each_joining_socket_is_told_the_beat_its_room_size_calls_for_but_the_seller(
    stall, monkeypatch
):
    # A ping every 8 s for a whole room: each socket's beat is the room's size x 8 s.
    monkeypatch.setattr(pulse, "ROOM_PINGS_PER_SECOND", 0.125)
    guests = [await Client(stall.public_id).join() for _ in range(3)]
    assert [g.welcome["heartbeat_seconds"] for g in guests] == [10, 16, 24]
    seller = await Client(stall.public_id, await sync_to_async(lambda: stall.seller.user)()).join()
    assert seller.welcome["heartbeat_seconds"] == visitors.HEARTBEAT_SECONDS
    room = room_pulse_here().rooms[stall_group(stall.public_id)]
    assert room.entry_ttl() == visitors.ENTRY_BEATS * 24
    for client in [*guests, seller]:
        await client.leave()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_headcount_tells_every_socket_the_beat_for_the_rooms_size_now(
    stall, fast_pulse, monkeypatch
):
    """A socket told 10 s when it joined a small room beats as the ones joining it now
    do once the room has grown: the headcount frame names the room's beat, and the
    room's entries live ENTRY_BEATS of it."""
    monkeypatch.setattr(pulse, "ROOM_PINGS_PER_SECOND", 0.125)
    first = await Client(stall.public_id).join()
    assert first.welcome["heartbeat_seconds"] == 10
    others = [await Client(stall.public_id).join() for _ in range(3)]
    frames = await _presence_frames(first, 1.0)
    assert (frames[-1]["count"], frames[-1]["heartbeat_seconds"]) == (4, 32)
    room = room_pulse_here().rooms[stall_group(stall.public_id)]
    assert room.entry_ttl() >= visitors.ENTRY_BEATS * 32
    for client in [first, *others]:
        await client.leave()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_silent_sockets_entry_lives_three_of_its_rooms_beats(
    stall, fast_pulse, monkeypatch
):
    monkeypatch.setattr(pulse, "heartbeat_seconds", lambda sockets: 0.1)
    guest = await Client(stall.public_id).join()
    counted = []
    for _ in range(150):
        count = await sync_to_async(visitors.room_count)(stall_public_id=stall.public_id)
        counted.append(count.sockets)
        if count.sockets == 0 and 1 in counted:
            break
        await asyncio.sleep(0.02)
    # Entered by a tick, then gone by expiry (0.3 s, not ENTRY_TTL's 30) while still open.
    assert 1 in counted and counted[-1] == 0
    await guest.leave()
