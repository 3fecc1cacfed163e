"""Who is in a stall right now, across every server process.

Each open socket is an entry with an expiry that its heartbeats push forward;
an entry whose process crashed simply expires, so nobody lingers as a ghost.
Entries live in Redis when REDIS_URL is set (shared by all processes), else in
this process (the embedded single-server market). Signed-in visitors are also
listed in the stall document's `presence` map, written when a user's first
socket arrives and when their last one leaves or expires.
"""

import json
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from analytics.crowd import crowd_gone
from bazaar.broadcast import MARKET_GROUP, broadcast_on_commit

from .. import signals
from ..models import Stall
from .document import document_change, document_presence, presence_set
from .presence import live_stall_ids, seller_presence_beat, seller_presence_end

HEARTBEAT_SECONDS = 10  # a socket's heartbeat in a small room (stalls.room.pulse)
ENTRY_BEATS = 3  # an entry lives this many of its socket's heartbeats
ENTRY_TTL = float(ENTRY_BEATS * HEARTBEAT_SECONDS)
# The most people the document lists; a bigger room shows its count and who chatted.
LISTED_MOST = 30


@dataclass(frozen=True)
class Visitor:
    """One socket's person: a signed-in user (public id, handle) or a guest."""

    user_id: str
    handle: str
    is_seller: bool = False

    @property
    def signed_in(self) -> bool:
        return bool(self.user_id)


GUEST = Visitor(user_id="", handle="")


class LocalRegistry:
    """Entries in this process only: the embedded market runs one server process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, tuple[float, Visitor]]] = {}
        self._sections: dict[str, int] = {}

    def add(self, stall: str, conn: str, visitor: Visitor, ttl: float) -> int:
        with self._lock:
            entries = self._entries.setdefault(stall, {})
            entries[conn] = (time.monotonic() + ttl, visitor)
            return self._sockets_of(entries, visitor.user_id)

    def add_guests(self, stall: str, conns: list[str], ttl: float) -> None:
        with self._lock:
            entries = self._entries.setdefault(stall, {})
            until = time.monotonic() + ttl
            for conn in conns:
                entries[conn] = (until, GUEST)

    def touch_many(self, stall: str, conns: list[str], ttl: float) -> list[str]:
        """Push these entries' expiry forward; returns the conns that had none."""
        with self._lock:
            entries = self._entries.get(stall, {})
            until = time.monotonic() + ttl
            missing = []
            for conn in conns:
                if conn in entries:
                    entries[conn] = (until, entries[conn][1])
                else:
                    missing.append(conn)
            return missing

    def remove_many(self, stall: str, conns: list[str]) -> list[tuple[Visitor, int]]:
        with self._lock:
            entries = self._entries.get(stall, {})
            removed = [entries.pop(conn)[1] for conn in conns if conn in entries]
            return [(v, self._sockets_of(entries, v.user_id)) for v in removed]

    def expire(self, stall: str) -> list[tuple[Visitor, int]]:
        now = time.monotonic()
        with self._lock:
            entries = self._entries.get(stall, {})
            gone = [conn for conn, (expires, _) in entries.items() if expires <= now]
            removed = [entries.pop(conn)[1] for conn in gone]
            return [(v, self._sockets_of(entries, v.user_id)) for v in removed]

    def counts(self, stall: str) -> tuple[int, set[str]]:
        """(sockets, distinct signed-in user ids) that have not expired."""
        now = time.monotonic()
        with self._lock:
            live = [v for expires, v in self._entries.get(stall, {}).values() if expires > now]
        return len(live), {v.user_id for v in live if v.signed_in}

    def headcount(self, stall: str, section_id: int) -> tuple[int, int]:
        with self._lock:
            self._sections[stall] = section_id
        sockets, users = self.counts(stall)
        return sockets, len(users)

    def by_section(self) -> dict[int, int]:
        with self._lock:
            sections = dict(self._sections)
        counts: dict[int, int] = {}
        for stall, section_id in sections.items():
            sockets, _ = self.counts(stall)
            if sockets:
                counts[section_id] = counts.get(section_id, 0) + sockets
            else:
                with self._lock:
                    self._sections.pop(stall, None)
        return counts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sections.clear()

    @staticmethod
    def _sockets_of(entries, user_id: str) -> int:
        return sum(1 for _, v in entries.values() if user_id and v.user_id == user_id)


class RedisRegistry:
    """Entries in Redis, shared by every process: a sorted set of sockets by expiry,
    a hash of who each socket is, and a per-user socket count."""

    SECTIONS = "bazaar:rooms:sections"  # stall public id -> its section, while open

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)

    @staticmethod
    def _keys(stall: str) -> tuple[str, str, str]:
        base = f"bazaar:room:{stall}"
        return f"{base}:expiry", f"{base}:who", f"{base}:users"

    def add(self, stall: str, conn: str, visitor: Visitor, ttl: float) -> int:
        expiry, who, users = self._keys(stall)
        pipe = self._redis.pipeline()
        pipe.zadd(expiry, {conn: time.time() + ttl})
        pipe.hset(who, conn, json.dumps(visitor.__dict__))
        if visitor.signed_in:
            pipe.hincrby(users, visitor.user_id, 1)
        result = pipe.execute()
        return int(result[2]) if visitor.signed_in else 0

    def add_guests(self, stall: str, conns: list[str], ttl: float) -> None:
        """Guests arriving together, in one round trip."""
        expiry, who, _ = self._keys(stall)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(expiry, dict.fromkeys(conns, time.time() + ttl))
        pipe.hset(who, mapping=dict.fromkeys(conns, json.dumps(GUEST.__dict__)))
        pipe.execute()

    def touch_many(self, stall: str, conns: list[str], ttl: float) -> list[str]:
        """A tick's heartbeats in two commands, however many: which of the entries exist
        (ZMSCORE), then theirs pushed forward (ZADD XX), together in one MULTI so none
        expires between the two; returns the conns that had no entry (expired
        meanwhile: they join again). One ZADD per heartbeat was most of the tick's
        work in a big room."""
        expiry, _, _ = self._keys(stall)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zmscore(expiry, conns)
        pipe.zadd(expiry, dict.fromkeys(conns, time.time() + ttl), xx=True)
        scores, _ = pipe.execute()
        return [conn for conn, score in zip(conns, scores, strict=True) if score is None]

    def _drop(self, stall: str, conns: list[bytes | str]) -> list[tuple[Visitor, int]]:
        """Remove entries in three round trips however many: ZREM decides which process
        removes a socket (only one gets 1 back), and only that one counts it out."""
        if not conns:
            return []
        expiry, who, users = self._keys(stall)
        pipe = self._redis.pipeline(transaction=False)
        for conn in conns:
            pipe.zrem(expiry, conn)
        mine = [conn for conn, removed in zip(conns, pipe.execute(), strict=True) if removed]
        if not mine:
            return []
        pipe.hmget(who, mine)
        pipe.hdel(who, *mine)
        found = [Visitor(**json.loads(raw)) for raw in pipe.execute()[0] if raw is not None]
        for visitor in found:
            if visitor.signed_in:
                pipe.hincrby(users, visitor.user_id, -1)
        counts = iter(pipe.execute())
        departures = [(v, max(int(next(counts)), 0) if v.signed_in else 0) for v in found]
        emptied = {v.user_id for v, remaining in departures if v.signed_in and remaining == 0}
        if emptied:
            self._redis.hdel(users, *emptied)
        return departures

    def remove_many(self, stall: str, conns: list[str]) -> list[tuple[Visitor, int]]:
        return self._drop(stall, conns)

    def expire(self, stall: str) -> list[tuple[Visitor, int]]:
        expiry, _, _ = self._keys(stall)
        return self._drop(stall, self._redis.zrangebyscore(expiry, "-inf", time.time()))

    def headcount(self, stall: str, section_id: int) -> tuple[int, int]:
        """(live sockets, signed-in users): two counters, however big the room; and the
        room is noted as open in its section, for the heat-map."""
        expiry, _, users = self._keys(stall)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zcount(expiry, time.time(), "+inf")
        pipe.hlen(users)
        pipe.hset(self.SECTIONS, stall, section_id)
        sockets, user_count, _ = pipe.execute()
        return int(sockets), int(user_count)

    def by_section(self) -> dict[int, int]:
        """Live sockets per section over every open room; rooms found empty are dropped."""
        sections = self._redis.hgetall(self.SECTIONS)
        if not sections:
            return {}
        stalls = list(sections)
        pipe = self._redis.pipeline(transaction=False)
        now = time.time()
        for stall in stalls:
            pipe.zcount(self._keys(stall.decode())[0], now, "+inf")
        counts: dict[int, int] = {}
        empty = []
        for stall, sockets in zip(stalls, pipe.execute(), strict=True):
            if sockets:
                section_id = int(sections[stall])
                counts[section_id] = counts.get(section_id, 0) + int(sockets)
            else:
                empty.append(stall)
        if empty:
            self._redis.hdel(self.SECTIONS, *empty)
        return counts

    def clear(self) -> None:
        keys = [*self._redis.scan_iter(match="bazaar:room:*", count=1000), self.SECTIONS]
        self._redis.delete(*keys)

    def counts(self, stall: str) -> tuple[int, set[str]]:
        expiry, _, users = self._keys(stall)
        pipe = self._redis.pipeline()
        pipe.zcount(expiry, time.time(), "+inf")
        pipe.hkeys(users)
        sockets, user_ids = pipe.execute()
        return int(sockets), {uid.decode() for uid in user_ids}


_registry = None
_registry_lock = threading.Lock()


def registry():
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = RedisRegistry(settings.REDIS_URL) if settings.REDIS_URL else LocalRegistry()
        return _registry


@dataclass(frozen=True)
class RoomCount:
    sockets: int
    users: int

    @property
    def guests(self) -> int:
        return max(self.sockets - self.users, 0)


def _presence_info(visitor: Visitor) -> dict:
    return {"id": visitor.user_id, "handle": visitor.handle, "seller": visitor.is_seller}


def _announce_live(stall: Stall, live: bool) -> None:
    broadcast_on_commit(
        MARKET_GROUP,
        {
            "type": "market.event",
            "payload": {"type": "stall_live", "stall": stall.public_id, "live": live},
        },
    )


def _seller_present(stall: Stall) -> None:
    was_live = bool(live_stall_ids(public_ids=[stall.public_id]))
    seller_presence_beat(stall_public_id=stall.public_id)
    if not was_live:
        _announce_live(stall, True)
        signals.seller_went_live.send(sender=Stall, stall=stall)


def room_join(*, stall: Stall, conn: str, visitor: Visitor, ttl: float | None = None) -> None:
    """A socket arrived (the stall room's pulse hands guests to `room_pulse` in bulk
    instead; a signed-in user is entered at once, for a giveaway's draw). A user's first
    socket lists them in the document while the room is small (LISTED_MOST; the seller
    always), which also drops anyone listed whose sockets have all gone (a crashed
    process); a bigger room shows its count, not a member list. The entry lives `ttl`
    seconds unless a heartbeat renews it (default ENTRY_TTL: three 10 s beats)."""
    ttl = ENTRY_TTL if ttl is None else ttl
    sockets_of_user = registry().add(stall.public_id, conn, visitor, ttl)
    if not visitor.signed_in:
        return
    # They left the grid for the room, where the heat-map now counts them.
    crowd_gone(person=visitor.user_id)
    with transaction.atomic():
        if visitor.is_seller:
            _seller_present(stall)
        _, present_ids = registry().counts(stall.public_id)
        listed = {info["id"] for info in document_presence(stall_id=stall.pk)}
        ghosts = listed - present_ids
        listing = (
            sockets_of_user == 1
            and visitor.user_id not in listed
            and (visitor.is_seller or len(listed - ghosts) < LISTED_MOST)
        )
        if not (listing or ghosts):
            return

        def change(doc):
            for ghost in ghosts:
                presence_set(doc, ghost, None)
            if listing:
                presence_set(doc, visitor.user_id, _presence_info(visitor))

        document_change(stall_id=stall.pk, stall_public_id=stall.public_id, change=change)


def room_leave(*, stall: Stall, conn: str) -> None:
    """A socket closed; the user's last socket takes them off the list."""
    room_pulse(stall=stall, beats={}, left=[conn])


def room_beat(*, stall: Stall, conn: str, visitor: Visitor) -> None:
    """A heartbeat: keep this socket's entry alive and expire the silent ones."""
    room_pulse(stall=stall, beats={conn: visitor}, left=[])


def room_pulse(
    *,
    stall: Stall,
    beats: dict[str, Visitor],
    left: list[str],
    guests: tuple[str, ...] = (),
    ttl: float | None = None,
) -> RoomCount:
    """One process's tick for one room (stalls.room.pulse): the guests who arrived, the
    heartbeats and the departures since the last, in a few Redis round trips, then the
    room's count.

    The database is touched only when someone listed in the document has gone, or a
    socket whose entry expired meanwhile joins again. Entries written here live `ttl`
    seconds (default ENTRY_TTL; a big room's sockets beat less often, see
    `stalls.room.pulse.heartbeat_seconds`).
    """
    public_id = stall.public_id
    ttl = ENTRY_TTL if ttl is None else ttl
    if guests:
        registry().add_guests(public_id, list(guests), ttl)
    if beats:
        missing = set(registry().touch_many(public_id, list(beats), ttl))
        for conn in missing:
            room_join(stall=stall, conn=conn, visitor=beats[conn], ttl=ttl)
        if any(v.is_seller for conn, v in beats.items() if conn not in missing):
            seller_presence_beat(stall_public_id=public_id)
    departures = registry().remove_many(public_id, left) + registry().expire(public_id)
    if departures:
        _gone(stall, departures)
    sockets, users = registry().headcount(public_id, stall.section_id)
    return RoomCount(sockets=sockets, users=users)


def _gone(stall: Stall, departures: list[tuple[Visitor, int]]) -> None:
    users_gone = {v.user_id for v, remaining in departures if v.signed_in and remaining == 0}
    if any(v.is_seller for v, remaining in departures if remaining == 0):
        seller_presence_end(stall_public_id=stall.public_id)
        _announce_live(stall, False)
    if not users_gone:
        return
    with transaction.atomic():
        listed = {info["id"] for info in document_presence(stall_id=stall.pk)}
        unlisted = users_gone & listed
        if not unlisted:
            return

        def change(doc):
            for user_id in unlisted:
                presence_set(doc, user_id, None)

        document_change(stall_id=stall.pk, stall_public_id=stall.public_id, change=change)


def room_count(*, stall_public_id: str) -> RoomCount:
    sockets, users = registry().counts(stall_public_id)
    return RoomCount(sockets=sockets, users=len(users))


def room_crowd_by_section() -> dict[int, int]:
    """Sockets in open stall rooms per section id now: the rooms' share of the
    heat-map (the grid's walkers are analytics.crowd's)."""
    return registry().by_section()


def room_present_user_ids(*, stall_public_id: str) -> set[str]:
    """The public ids of the signed-in people in the stall's room now (a socket whose
    heartbeats have stopped counts until its entry expires): a giveaway's draw is made
    among them."""
    _, users = registry().counts(stall_public_id)
    return users
