"""Where people are right now: the live crowd the heat-map shows.

Each person walking the grid (a user's public id or a guest's visitor id) is in at
most one section, until their entry expires: a grid view puts them in its section for
CROWD_SECONDS. People in stall rooms (show viewers among them) are not kept here: the
heat-map adds the rooms' own presence (`stalls.room.visitors.room_crowd_by_section`,
read by the market), and a signed-in person entering a room leaves the grid's crowd.
Entries live in Redis when REDIS_URL is set (every process sees every
entry) and in this process otherwise (the embedded market is one process).
"""

import threading
import time
from collections import Counter

from django.conf import settings

from bazaar.cache import write_with_next_read

from .shared import redis_or_local


class LocalCrowd:
    def __init__(self):
        self._lock = threading.Lock()
        self._where: dict[str, tuple[int, float]] = {}

    def seen(self, person: str, section_id: int, seconds: float) -> None:
        with self._lock:
            self._where[person] = (section_id, time.monotonic() + seconds)

    def gone(self, person: str) -> None:
        with self._lock:
            self._where.pop(person, None)

    def counts(self) -> dict[int, int]:
        now = time.monotonic()
        with self._lock:
            expired = [person for person, (_, until) in self._where.items() if until <= now]
            for person in expired:
                del self._where[person]
            return dict(Counter(section for section, _ in self._where.values()))

    def clear(self) -> None:
        with self._lock:
            self._where.clear()


class RedisCrowd:
    """A sorted set of people by expiry and a hash of where each one is."""

    EXPIRY = "bazaar:crowd:expiry"
    WHERE = "bazaar:crowd:where"

    def __init__(self, url: str):
        import redis

        self._url = url
        self._redis = redis.Redis.from_url(url)

    def seen(self, person: str, section_id: int, seconds: float) -> None:
        """Written now, or with a page's read ahead where the page waits for it
        (`bazaar.cache.writes_with_next_read`)."""

        def write(pipe) -> None:
            pipe.zadd(self.EXPIRY, {person: time.time() + seconds})
            pipe.hset(self.WHERE, person, section_id)

        if not write_with_next_read(write, url=self._url):
            with self._redis.pipeline(transaction=False) as pipe:
                write(pipe)
                pipe.execute()

    def gone(self, person: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self.EXPIRY, person)
        pipe.hdel(self.WHERE, person)
        pipe.execute()

    def counts(self) -> dict[int, int]:
        """One round trip while nobody's entry has expired (who has, and every place,
        asked together); else the expired are dropped and the places asked again."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrangebyscore(self.EXPIRY, "-inf", time.time())
        pipe.hvals(self.WHERE)
        expired, places = pipe.execute()
        if expired:
            pipe = self._redis.pipeline()
            pipe.zrem(self.EXPIRY, *expired)
            pipe.hdel(self.WHERE, *expired)
            pipe.execute()
            places = self._redis.hvals(self.WHERE)
        return dict(Counter(int(section) for section in places))

    def clear(self) -> None:
        self._redis.delete(self.EXPIRY, self.WHERE)


crowd = redis_or_local(RedisCrowd, LocalCrowd)


def crowd_seen(*, person: str, section_id: int, seconds: float | None = None) -> None:
    """`person` is in this section now (for `seconds`, by default a grid view's span)."""
    if person:
        crowd().seen(person, section_id, seconds or settings.CROWD_SECONDS)


def crowd_gone(*, person: str) -> None:
    """`person` left (closed the stall room): they are no longer counted anywhere."""
    if person:
        crowd().gone(person)


def crowd_by_section() -> dict[int, int]:
    """People per section id right now; sections with nobody are left out."""
    return crowd().counts()
