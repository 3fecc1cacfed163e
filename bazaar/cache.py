"""Django's cache: one Redis connection pool and client per process, and values kept
until the change that makes them stale commits (`kept_until_changed`).

Django keeps a cache object per async context, and under ASGI every request is a new
context: each request built a fresh `RedisCache`, a fresh pool and a new TCP
connection to Redis (with its handshake) just to read the session. Handing every
such object the same pool keeps the connections open across requests. redis-py's
pool is thread-safe and resets itself in a forked child (Celery's workers).
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import transaction
from redis import ConnectionPool, Redis

from bazaar.ids import new_ulid

T = TypeVar("T")
log = logging.getLogger(__name__)


class SharedConnectionPool(ConnectionPool):
    _shared: dict[tuple, ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options) -> ConnectionPool:
        key = (url, tuple(sorted(options.items(), key=lambda option: option[0])))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **options)
            return pool


_clients: dict[ConnectionPool, Redis] = {}


class _SharedClient(RedisCacheClient):
    """Django makes a `redis.Redis` for every cache operation, and building one (its
    table of a few hundred response callbacks) cost more CPU than the round trip to
    Redis; one per pool serves every thread (the client takes a connection from the
    pool for each command)."""

    def get_client(self, key=None, *, write: bool = False) -> Redis:
        pool = self._get_connection_pool(write)
        client = _clients.get(pool)
        if client is None:
            client = _clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class SharedClientRedisCache(RedisCache):
    """Django's Redis cache with one client per connection pool (`_SharedClient`), and
    no memcached key check: Django looks at every character of every key for what
    memcached refuses (spaces, control characters, over 250 bytes), which Redis takes
    as they are; ~2.5 µs a key, and a page reads some thirty."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClient

    def validate_key(self, key: str) -> None:
        return None


# Values kept until the change that makes them stale commits.

_MISSING = object()
_NOT_AHEAD = object()


def _scope_key(scope: str) -> str:
    return f"scope:{scope}"


def _kept_key(scope: str, name: str) -> str:
    return f"kept:{scope}:{name}"


def kept_keys(scope: str, name: str) -> list[str]:
    """The cache keys `kept_until_changed(scope=scope, name=name)` reads: to read ahead."""
    return [_scope_key(scope), _kept_key(scope, name)]


def kept_scope_keys(scopes: list[str]) -> list[str]:
    """The cache keys of these scopes' versions (`kept_until_any_changed` reads them)."""
    return [_scope_key(scope) for scope in scopes]


# What a page's read ahead found (`read_ahead`), for the reads in its block.
_read_ahead: ContextVar[dict[str, Any] | None] = ContextVar("bazaar_read_ahead", default=None)
# Redis writes waiting for the page's read ahead (`writes_with_next_read`).
_waiting_writes: ContextVar[list | None] = ContextVar("bazaar_waiting_writes", default=None)


@contextmanager
def read_ahead(keys: list[str]) -> Iterator[None]:
    """One cache round trip, now, for `keys`, which the kept reads in the block will ask
    for (a page's fragments from several apps, one round trip each before): each read
    takes its keys from here and asks the cache for any others. What is taken was read
    before the reads that take it, as if they had come a little earlier, so
    `kept_until_changed`'s guarantee holds (its versions are read before its value);
    a key the block writes (`_written`) is read from the cache again. Writes waiting
    for it (`writes_with_next_read`) go in the same round trip."""
    found = _get_many_sending(keys)
    token = _read_ahead.set({key: found.get(key, _MISSING) for key in keys})
    try:
        yield
    finally:
        _read_ahead.reset(token)


@contextmanager
def writes_with_next_read() -> Iterator[None]:
    """Redis writes made in the block that can wait a moment (`write_with_next_read`:
    a page's visit pushed to the analytics buffer, a walker's place in the crowd) go in
    the round trip of the block's read ahead, not one round trip each; any still
    waiting at the block's end go then. Made before the read ahead, they are in Redis
    before anything the block reads after it."""
    waiting: list[Callable[[Any], Any]] = []
    token = _waiting_writes.set(waiting)
    try:
        yield
    finally:
        _waiting_writes.reset(token)
        if waiting:
            _send(waiting, [])


def write_with_next_read(write: Callable[[Any], Any], *, url: str) -> bool:
    """Queue `write` (commands on a redis-py pipeline) for the next read ahead of a
    `writes_with_next_read` block, where the cache is the Redis at `url`; False, and
    nothing queued, elsewhere: the caller writes now."""
    waiting = _waiting_writes.get()
    client = getattr(cache, "_cache", None)
    if waiting is None or not isinstance(client, RedisCacheClient) or url not in client._servers:
        return False
    waiting.append(write)
    return True


def _get_many_sending(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many(keys)` with the waiting writes in its round trip (no round trip
    for no keys and no writes)."""
    waiting = _waiting_writes.get()
    if waiting:
        writes = list(waiting)
        waiting.clear()
        return _send(writes, keys)
    return cache.get_many(keys) if keys else {}


def _send(writes: list[Callable[[Any], Any]], keys: list[str]) -> dict[str, Any]:
    """One pipeline: `writes`, then an MGET of `keys` as `cache.get_many` reads them. A
    write that fails is logged, as a push after commit was (`on_commit(robust=True)`);
    the read's failure is the page's."""
    client = cache._cache
    full_keys = [cache.make_and_validate_key(key) for key in keys]
    with client.get_client(write=True).pipeline(transaction=False) as pipe:
        for write in writes:
            write(pipe)
        if full_keys:
            pipe.mget(full_keys)
        results = pipe.execute(raise_on_error=False)
    values = results.pop() if full_keys else []
    for result in results:
        if isinstance(result, Exception):
            log.error("a write sent with a read failed: %s", result)
    if isinstance(values, Exception):
        raise values
    return {
        key: client._serializer.loads(value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
    }


def get_many(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many`, taking first what a `read_ahead` around this read holds."""
    ahead = _read_ahead.get()
    if not ahead:
        return cache.get_many(keys)
    found, rest = {}, []
    for key in keys:
        value = ahead.get(key, _NOT_AHEAD)
        if value is _NOT_AHEAD:
            rest.append(key)
        elif value is not _MISSING:
            found[key] = value
    if rest:
        found.update(cache.get_many(rest))
    return found


def _written(keys: list[str]) -> None:
    """These keys were just written: a read ahead no longer holds what they hold."""
    ahead = _read_ahead.get()
    if ahead:
        for key in keys:
            ahead.pop(key, None)


def kept_until_changed(
    *,
    scope: str,
    name: str,
    read: Callable[[], T],
    timeout: int,
    keep: Callable[[T], bool] = lambda _value: True,
) -> T:
    """`read()` (the value `name` of `scope`), from the cache while nothing in `scope`
    changed since it was kept (`changed_on_commit(scope)`), for at most `timeout`
    seconds; a value `keep` refuses is never kept.

    The scope's version is read before `read()` and kept with the value, so a value
    read while a change was committing is never served after it: the change's commit
    drops the version, and a value stored under a dropped version is a miss, however
    late it was stored (a plain get/set/delete keeps it for `timeout`). One cache
    round trip when warm.
    """
    return kept_until_any_changed(
        scopes=[scope], key=_kept_key(scope, name), read=read, timeout=timeout, keep=keep
    )


def kept_until_any_changed(
    *,
    scopes: list[str],
    key: str,
    read: Callable[[], T],
    timeout: int,
    keep: Callable[[T], bool] = lambda _value: True,
) -> T:
    """`kept_until_changed` for a value that goes stale when anything in any of
    `scopes` changes: kept under `key` with every scope's version, one cache round
    trip when warm however many scopes there are."""
    scope_keys = kept_scope_keys(scopes)
    found = get_many([*scope_keys, key])
    versions = tuple(found.get(scope_key) for scope_key in scope_keys)
    entry = found.get(key, _MISSING)
    if None in versions:
        for scope_key, version in zip(scope_keys, versions, strict=True):
            if version is None:
                cache.add(scope_key, new_ulid(), None)
        _written(scope_keys)
        found = cache.get_many(scope_keys)
        versions = tuple(found.get(scope_key) for scope_key in scope_keys)
    elif entry is not _MISSING and entry[0] == versions:
        return entry[1]
    value = read()
    if None not in versions and keep(value):
        cache.set(key, (versions, value), timeout)
        _written([key])
    return value


# Kept values also held in this process's memory, with the scopes' versions they are
# kept under (`kept_and_held_until_any_changed`): a few hundred pages' markup.
HELD_VALUES = 256
_held: OrderedDict[str, tuple[tuple, Any, float]] = OrderedDict()
_held_lock = threading.Lock()


def _versions_ahead(scope_keys: list[str]) -> tuple | None:
    """The scopes' versions as the read ahead around this read found them; None unless
    it read every one and found each."""
    if not scope_keys:
        return ()
    ahead = _read_ahead.get() or {}
    versions = tuple(ahead.get(key, _MISSING) for key in scope_keys)
    return None if _MISSING in versions or None in versions else versions


def kept_and_held_until_any_changed(
    *, scopes: list[str], key: str, read: Callable[[], T], timeout: int
) -> T:
    """`kept_until_any_changed`, the value also held by this process with the versions
    it was kept under: where the page's read ahead holds every scope's version (a round
    trip it makes anyway), a value held for those same versions is served with no cache
    read (a stall page's markup is ~50 KB to fetch and unpickle on each view). A change
    that commits drops a version, so the next read ahead finds another and the held
    value is not served. Held for half of `timeout`: a change no service marks (the
    admin, a shell) shows within one and a half timeouts, where a kept value alone
    shows within one."""
    versions = _versions_ahead(kept_scope_keys(scopes))
    if versions is not None:
        with _held_lock:
            held = _held.get(key)
            if held is not None and held[0] == versions and held[2] > time.monotonic():
                _held.move_to_end(key)
                return held[1]
    value = kept_until_any_changed(scopes=scopes, key=key, read=read, timeout=timeout)
    if versions is not None:
        with _held_lock:
            _held[key] = (versions, value, time.monotonic() + timeout / 2)
            _held.move_to_end(key)
            while len(_held) > HELD_VALUES:
                _held.popitem(last=False)
    return value


def kept_and_held_until_changed(*, scope: str, name: str, read: Callable[[], T], timeout: int) -> T:
    """`kept_until_changed`, the value also held by this process
    (`kept_and_held_until_any_changed`): served with no cache read, and nothing to
    unpickle, where the page read the scope's version ahead (`kept_scope_keys`). The
    value is shared by the process's requests: the caller changes none of it."""
    return kept_and_held_until_any_changed(
        scopes=[scope], key=_kept_key(scope, name), read=read, timeout=timeout
    )


@dataclass(frozen=True)
class Kept:
    """One value to read with others in `kept_together`: `kept_until_changed`'s
    arguments (the value `name` of `scope`)."""

    scope: str
    name: str
    read: Callable[[], Any]
    timeout: int

    @property
    def key(self) -> str:
        return _kept_key(self.scope, self.name)


@dataclass(frozen=True)
class Cached:
    """A value kept under `key` for `timeout` seconds (or until its owner deletes the
    key), `read()` when missing: to read with others in `kept_together`."""

    key: str
    read: Callable[[], Any]
    timeout: int


def wanted_keys(*wanted: Kept | Cached) -> list[str]:
    """The cache keys `kept_together(*wanted)` reads: to read ahead."""
    return [
        key
        for one in wanted
        for key in (kept_keys(one.scope, one.name) if isinstance(one, Kept) else [one.key])
    ]


def kept_together(*wanted: Kept | Cached) -> list:
    """Several kept values in one cache round trip when all are warm (a button's count
    and whether it is the viewer's; the top bar's roles, bell and cart); a `Kept` that
    is not is read as `kept_until_changed` reads it, with its own versions, a `Cached`
    that is missing is read and stored."""
    scope_keys = [_scope_key(one.scope) if isinstance(one, Kept) else None for one in wanted]
    found = get_many([*filter(None, scope_keys), *(one.key for one in wanted)])
    values = []
    for one, scope_key in zip(wanted, scope_keys, strict=True):
        if isinstance(one, Cached):
            value = found.get(one.key)
            if value is None:
                value = one.read()
                cache.set(one.key, value, one.timeout)
                _written([one.key])
            values.append(value)
            continue
        version, entry = found.get(scope_key), found.get(one.key, _MISSING)
        if version is not None and entry is not _MISSING and entry[0] == (version,):
            values.append(entry[1])
        else:
            values.append(
                kept_until_changed(
                    scope=one.scope, name=one.name, read=one.read, timeout=one.timeout
                )
            )
    return values


# A family is what many apps keep values about (a stall, say), each in scopes of its
# own: a fragment of page that shows some of each goes stale with any of them.
_family_scopes: dict[str, list[Callable[[Any], str]]] = {}


def register_family_scope(family: str, scope_of: Callable[[Any], str]) -> None:
    """An app's scope of each member of `family` (`scope_of(member)`, e.g. a stall's
    running auctions by the stall's id), so that what is kept for the whole member
    (`family_scopes`) goes stale when it changes. From the app's `ready()`: the apps
    below never import the apps above."""
    scopes = _family_scopes.setdefault(family, [])
    if scope_of not in scopes:
        scopes.append(scope_of)


def family_scopes(family: str, member: Any) -> list[str]:
    """Every registered scope of this member of `family`."""
    return [scope_of(member) for scope_of in _family_scopes.get(family, [])]


# What a page's fragments from many apps read from the cache, to read ahead in one
# round trip (`read_ahead`): each app names its own keys, as with a family's scopes.
_page_reads: dict[str, list[Callable[[Any], list[str]]]] = {}
# What every page reads for its signed-in viewer (the top bar, their own saves and
# follows): registered as a page's reads are, with the viewer as the subject.
VIEWER = "viewer"


def register_page_reads(page: str, keys_of: Callable[[Any], list[str]]) -> None:
    """An app's cache keys that `page` reads for its subject (`keys_of(subject)`, e.g.
    a stall's rating on the stall page), from the app's `ready()`."""
    readers = _page_reads.setdefault(page, [])
    if keys_of not in readers:
        readers.append(keys_of)


def page_reads(page: str, subject: Any, *, viewer: Any = None) -> list[str]:
    """Every registered key that `page` reads for `subject`, and for a signed-in
    `viewer` every key registered for the `VIEWER`."""
    keys = [key for keys_of in _page_reads.get(page, []) for key in keys_of(subject)]
    if viewer is not None and viewer.is_authenticated:
        keys += [key for keys_of in _page_reads.get(VIEWER, []) for key in keys_of(viewer)]
    return keys


def changed_on_commit(scope: str) -> None:
    """After commit (at once outside a transaction): whatever was kept for `scope`
    is stale; the next read reads again. A rolled-back change drops nothing."""
    transaction.on_commit(lambda: cache.delete(_scope_key(scope)))


def counted(key: str, seconds: int) -> int:
    """Add one to the counter `key` (made, living `seconds`, if new) and return it:
    on Redis one pipelined INCR and EXPIRE (the key names its window, so renewing its
    life is harmless); Django's add and incr elsewhere (incr alone is an EXISTS and an
    INCR on Redis). Only Redis's backend has a client in `_cache`; the file cache of
    the embedded market and the browser tests has no `_cache` at all."""
    if isinstance(getattr(cache, "_cache", None), RedisCacheClient):
        full_key = cache.make_and_validate_key(key)
        with cache._cache.get_client(full_key, write=True).pipeline() as pipe:
            count, _ = pipe.incr(full_key).expire(full_key, seconds).execute()
        return count
    cache.add(key, 0, seconds)
    return cache.incr(key)
