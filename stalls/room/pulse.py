"""Each process's pulse of its stall rooms: arrivals, heartbeats, departures, headcounts.

A room's state costs per change, not per member per second. A guest's arrival, a
heartbeat and a closing socket only note themselves here; each tick (TICK_SECONDS)
hands a room's notes to `visitors.room_pulse` together (Redis round trips per room,
not per socket, and no database unless someone listed in the document left), answers
the tick's pings with one `pong` frame per room, sent only to the sockets told an
older document position (an idle room sends none), and reads the room's headcount.
Every process reads the shared count itself and writes it to its own sockets through
the room's fan-out (`bazaar.fanout`), so a headcount costs no channel-layer message
at all; a frame goes only when the count as shown has changed, at most once per
`count_window`, which grows with the room ("2.3k watching" needs no per-second
precision), and is encoded once for every socket. A process that stops (every socket
at once) leaves its entries to expire.

A big room's sockets also beat less often (`heartbeat_seconds`, told in the welcome):
receiving a heartbeat is most of what an idle socket costs its server, so a room's
pings stay near ROOM_PINGS_PER_SECOND however many watch, and its entries live
ENTRY_BEATS of the longest beat this process has told there.
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

from bazaar.consumers import in_db_pool
from bazaar.fanout import SOCKET_GONE, GroupFanout, for_this_loop, heartbeat_for, in_turns

from ..models import Stall
from .document import document_position_read, document_positions
from .visitors import ENTRY_BEATS, HEARTBEAT_SECONDS, RoomCount, Visitor, room_pulse

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
ROOM_PINGS_PER_SECOND = 100


def heartbeat_seconds(sockets: int) -> int:
    """The heartbeat told to a socket joining a room of `sockets`: 10 s, and from 1,000
    sockets as long as keeps the room's pings near ROOM_PINGS_PER_SECOND (20 s at
    2,000), at most 50 s (`bazaar.fanout.heartbeat_for`). A longer beat only delays two
    rare things: a crashed process's sockets leaving the count, and a lost frame being
    noticed."""
    return heartbeat_for(sockets, least=HEARTBEAT_SECONDS, pings_per_second=ROOM_PINGS_PER_SECOND)


def count_window(sockets: int) -> float:
    """The least time between two headcount frames in a room of this size."""
    if sockets < 100:
        return 2.0
    if sockets < 1000:
        return 5.0
    return 10.0


def shown_count(count: int) -> int:
    """The headcount as people read it: exact under 1,000, then to the hundred under
    10,000 (2.3k), then to the thousand; so a big room's count rarely changes."""
    if count < 1000:
        return count
    return round(count, -2 if count < 10_000 else -3)


def count_label(count: int) -> str:
    """`shown_count` as text: "950", "2.3k", "12k"."""
    if count < 1000:
        return str(count)
    thousands = count / 1000
    return f"{thousands:.1f}".removesuffix(".0") + "k" if count < 10_000 else f"{thousands:.0f}k"


def presence_frame(count: RoomCount) -> str:
    """The headcount, and the beat for the room's size now: a socket told a short beat
    when it joined a small room beats as the ones joining it now do (but the seller's
    page, whose beat keeps the stall's live dot)."""
    sockets, guests = shown_count(count.sockets), shown_count(count.guests)
    return json.dumps(
        {
            "type": "presence",
            "count": sockets,
            "guests": guests,
            "label": count_label(sockets),
            "guests_label": count_label(guests),
            "heartbeat_seconds": heartbeat_seconds(count.sockets),
        }
    )


@dataclass
class Room:
    """One stall room as this process holds it."""

    stall: Stall
    fanout: GroupFanout
    beats: dict[str, Visitor] = field(default_factory=dict)
    pinged: list = field(default_factory=list)  # consumers owed a pong
    left: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)  # arrived since the last tick
    frame: str | None = None  # the headcount frame last handed out
    sent_at: float = float("-inf")
    sockets: int = 0  # the room's count across processes at the last tick
    heartbeat: float = 0  # the longest beat told here (seconds)

    def entry_ttl(self) -> float:
        """How long this process's entries in the room live without a heartbeat."""
        return float(ENTRY_BEATS * self.heartbeat)


class RoomPulse:
    def __init__(self):
        self.rooms: dict[str, Room] = {}
        self.task: asyncio.Task | None = None

    def enter(
        self, group: str, stall: Stall, fanout: GroupFanout, conn: str, visitor: Visitor
    ) -> tuple[str | None, int, float]:
        """A socket of this process joined `group` (a guest is entered in the registry by
        the next tick, with every other; a signed-in visitor is entered by the caller,
        for the returned ttl). Returns the room's last headcount frame, to greet it
        with, its heartbeat (the seller's stays 10 s: it keeps the stall's live dot,
        which expires in 30 s) and how long its entry lives."""
        room = self.rooms.get(group)
        if room is None:
            room = self.rooms[group] = Room(stall=stall, fanout=fanout)
        heartbeat = (
            HEARTBEAT_SECONDS
            if visitor.is_seller
            else heartbeat_seconds(max(room.sockets, len(fanout.members)))
        )
        room.heartbeat = max(room.heartbeat, heartbeat)
        if not visitor.signed_in:
            room.guests.append(conn)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return room.frame, heartbeat, room.entry_ttl()

    def beat(self, group: str, consumer, conn: str, visitor: Visitor) -> None:
        """A heartbeat: kept for the next tick, which answers it."""
        room = self.rooms.get(group)
        if room is not None:
            room.beats[conn] = visitor
            room.pinged.append(consumer)

    def leave(self, group: str, conn: str) -> None:
        """A socket closed: the next tick removes its entry, with everyone else's."""
        room = self.rooms.get(group)
        if room is not None:
            room.beats.pop(conn, None)
            room.left.append(conn)

    async def _run(self) -> None:
        while self.rooms:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.tick()
            except Exception:
                log.exception("a stall-room tick failed")

    async def tick(self) -> None:
        work = {}
        for group, room in list(self.rooms.items()):
            work[group] = (
                room.stall,
                room.beats,
                room.left,
                room.pinged,
                room.guests,
                room.entry_ttl(),
            )
            room.beats, room.left, room.pinged, room.guests = {}, [], [], []
            if not room.fanout.members:
                del self.rooms[group]
        counts, positions = await in_db_pool(_pulse_rooms)(work)
        now = asyncio.get_running_loop().time()
        for group, (stall, _, _, pinged, _, _) in work.items():
            room = self.rooms.get(group)
            position = positions.get(stall.pk)
            behind = [c for c in pinged if position is not None and c.told != position]
            if behind:
                pong = json.dumps(
                    {
                        "type": "pong",
                        "epoch": position[0],
                        "seq": position[1],
                        "server_time": time.time(),
                    }
                )
                await _answer(behind, pong, position)
            if room is None:
                continue
            room.sockets = counts[group].sockets
            frame = presence_frame(counts[group])
            if frame != room.frame and now - room.sent_at >= count_window(counts[group].sockets):
                room.frame, room.sent_at = frame, now
                # Entries live ENTRY_BEATS of the longest beat told here: this one too.
                room.heartbeat = max(room.heartbeat, heartbeat_seconds(room.sockets))
                room.fanout.hand_out_here({"type": "room.presence", "frame": frame})


async def _answer(consumers: list, frame: str, position: tuple[int, int]) -> None:
    """The room's `pong`, encoded once, to the sockets told an older position."""
    async for consumer in in_turns(consumers):
        consumer.told = position
        try:
            await consumer.send_frame(frame)
        except SOCKET_GONE:
            log.debug("a socket closed before its pong went out")


def _pulse_rooms(work: dict) -> tuple[dict[str, RoomCount], dict[int, tuple[int, int]]]:
    counts = {
        group: room_pulse(stall=stall, beats=beats, left=left, guests=tuple(guests), ttl=ttl)
        for group, (stall, beats, left, _, guests, ttl) in work.items()
    }
    stall_ids = [stall.pk for stall, _, _, pinged, _, _ in work.values() if pinged]
    positions = document_positions(stall_ids=stall_ids)
    for stall_id in set(stall_ids) - set(positions):
        positions[stall_id] = document_position_read(stall_id=stall_id)
    return counts, positions


_pulses: dict = {}


def room_pulse_here() -> RoomPulse:
    """This process's pulse (per event loop, as `bazaar.fanout`'s registry)."""
    return for_this_loop(_pulses, "stall-rooms", RoomPulse)
