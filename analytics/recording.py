"""Recording events without slowing the action that caused them.

`record(...)` only registers an after-commit callback that appends the event to a
buffer: a rolled-back action records nothing, and the action never waits on an
insert. `events_flush()` (beat, every EVENTS_FLUSH_SECONDS) writes what is buffered
in one bulk insert. The buffer is a Redis list when REDIS_URL is set (every web and
worker process appends to it, whichever process flushes) and this process's memory
otherwise: the embedded market is one process, whose runner thread flushes it, and
anything left is flushed when the process exits.
"""

import atexit
import json
import logging
import threading
from collections import deque
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bazaar.cache import write_with_next_read

from .models import Event, Kind
from .shared import redis_or_local

log = logging.getLogger(__name__)

FLUSH_BATCH = 5000
_FIELDS = ("section_id", "stall_id", "item_id", "amount_cents", "fee_cents", "duration_seconds")


def visitor_of(user, visitor_id: str = "") -> str:
    """Who did it: the user's public id when signed in, else the visitor cookie's id."""
    if user is not None and user.is_authenticated:
        return user.public_id
    return visitor_id


def _values(
    kind: Kind,
    *,
    user=None,
    visitor: str = "",
    stall=None,
    item=None,
    section_id: int | None = None,
    amount_cents: int | None = None,
    fee_cents: int | None = None,
    duration_seconds: int | None = None,
    occurred_at: str = "",
) -> dict:
    return {
        "kind": str(kind),
        "occurred_at": occurred_at or timezone.now().isoformat(),
        "visitor": visitor or visitor_of(user),
        "section_id": section_id if stall is None else stall.section_id,
        "stall_id": stall.pk if stall is not None else getattr(item, "stall_id", None),
        "item_id": item.pk if item is not None else None,
        "amount_cents": amount_cents,
        "fee_cents": fee_cents,
        "duration_seconds": duration_seconds,
    }


def record(kind: Kind, **event) -> None:
    """Record that `kind` happened now, once the current transaction commits.

    `user` (or `visitor`) is who did it; `stall` and `item` are read for their ids
    (the stall's section too), so no other app's models are imported here. The other
    keywords: `section_id`, `amount_cents`, `fee_cents`, `duration_seconds`.
    """
    values = _values(kind, **event)
    transaction.on_commit(lambda: buffer().push(json.dumps(values)), robust=True)


def record_many(kind: Kind, events: list[dict]) -> None:
    """`record` for many events of one kind and moment (each a dict of `record`'s
    keywords): one callback after commit and one append for them all. A batch of a
    hundred bids recorded one by one was a hundred appends to Redis between the
    commit and the bidders' answers."""
    if not events:
        return
    now = timezone.now().isoformat()
    entries = [json.dumps(_values(kind, occurred_at=now, **event)) for event in events]
    transaction.on_commit(lambda: buffer().push_many(entries), robust=True)


def record_visit(request, kind: Kind, *, stall=None, item=None) -> None:
    """A page was seen: by the signed-in user, else by the visitor cookie's holder."""
    record(kind, visitor=visitor_of(request.user, request.visitor_id), stall=stall, item=item)


def events_flush() -> int:
    """Write every buffered event in bulk; returns how many."""
    written = 0
    while True:
        raw = buffer().take(FLUSH_BATCH)
        if not raw:
            return written
        now = timezone.now()
        Event.objects.bulk_create([_event(json.loads(entry), now) for entry in raw])
        written += len(raw)


def _event(values: dict, recorded_at: datetime) -> Event:
    return Event(
        kind=values["kind"],
        occurred_at=datetime.fromisoformat(values["occurred_at"]),
        recorded_at=recorded_at,
        visitor=values["visitor"],
        **{name: values.get(name) for name in _FIELDS},
    )


class LocalBuffer:
    """This process's events waiting to be written."""

    def __init__(self):
        self._entries: deque[str] = deque()
        self._lock = threading.Lock()

    def push(self, entry: str) -> None:
        self._entries.append(entry)

    def push_many(self, entries: list[str]) -> None:
        self._entries.extend(entries)

    def take(self, count: int) -> list[str]:
        with self._lock:
            return [self._entries.popleft() for _ in range(min(count, len(self._entries)))]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RedisBuffer:
    """Events waiting in a Redis list shared by every process."""

    KEY = "bazaar:analytics:buffer"

    def __init__(self, url: str):
        import redis

        self._url = url
        self._redis = redis.Redis.from_url(url)

    def push(self, entry: str) -> None:
        self.push_many([entry])

    def push_many(self, entries: list[str]) -> None:
        """Appended now, or with a page's read ahead where the page waits for it
        (`bazaar.cache.writes_with_next_read`: a visit costs no round trip of its own)."""
        if not write_with_next_read(lambda pipe: pipe.rpush(self.KEY, *entries), url=self._url):
            self._redis.rpush(self.KEY, *entries)

    def take(self, count: int) -> list[str]:
        return [entry.decode() for entry in self._redis.lpop(self.KEY, count) or []]

    def clear(self) -> None:
        self._redis.delete(self.KEY)


buffer = redis_or_local(RedisBuffer, LocalBuffer)


@atexit.register
def _flush_at_exit() -> None:
    """A command or a stopping server writes what its memory still holds."""
    waiting = buffer()
    if isinstance(waiting, LocalBuffer) and len(waiting):
        try:
            events_flush()
        except Exception:
            log.exception("analytics events could not be written at exit")
