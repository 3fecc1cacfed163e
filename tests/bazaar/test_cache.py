"""Django's Redis cache, made once per request under ASGI, shares one pool and one
client per process; values kept until a change in their scope commits."""

import json

import pytest
from django.core.cache.backends.redis import RedisCache

SHARED = {"OPTIONS": {"pool_class": "bazaar.cache.SharedConnectionPool"}}


def pool(cache: RedisCache):
    return cache._cache.get_client(write=True).connection_pool


def test_every_cache_object_for_one_server_uses_the_same_pool():
    # No connection is opened: a pool connects on first use.
    first = RedisCache("redis://127.0.0.1:6379/9", SHARED)
    second = RedisCache("redis://127.0.0.1:6379/9", SHARED)
    assert pool(first) is pool(second)


def test_another_server_or_database_gets_its_own_pool():
    first = RedisCache("redis://127.0.0.1:6379/9", SHARED)
    other = RedisCache("redis://127.0.0.1:6379/8", SHARED)
    assert pool(first) is not pool(other)


def test_without_it_each_cache_object_opens_its_own():
    assert pool(RedisCache("redis://127.0.0.1:6379/9", {})) is not pool(
        RedisCache("redis://127.0.0.1:6379/9", {})
    )


def test_every_cache_object_for_one_server_uses_the_same_client():
    from bazaar.cache import SharedClientRedisCache

    first = SharedClientRedisCache("redis://127.0.0.1:6379/9", SHARED)
    second = SharedClientRedisCache("redis://127.0.0.1:6379/9", SHARED)
    assert first._cache.get_client() is second._cache.get_client()
    assert (
        first._cache.get_client()
        is not RedisCache("redis://127.0.0.1:6379/9", SHARED)._cache.get_client()
    )


def test_keys_are_not_checked_for_memcached(monkeypatch):
    """Redis takes any key: no character-by-character memcached check (CacheKeyWarning)."""
    import warnings

    from django.core.cache.backends import base

    from bazaar.cache import SharedClientRedisCache

    checked = []
    monkeypatch.setattr(base, "memcache_key_warnings", lambda key: checked.append(key) or [])
    key = "a key with spaces " * 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        made = SharedClientRedisCache("redis://127.0.0.1:6379/9", SHARED).make_and_validate_key(key)
    assert made.endswith(key) and checked == []
    RedisCache("redis://127.0.0.1:6379/9", SHARED).make_and_validate_key("plain")
    assert checked == [":1:plain"]  # Django's own backend checks


# kept_until_changed: a value kept until its scope's change commits.


class Reads:
    """A read that counts how often it ran and answers what it is told."""

    def __init__(self, answer):
        self.answer, self.count = answer, 0

    def __call__(self):
        self.count += 1
        return self.answer


def kept(read, *, keep=lambda _value: True):
    from bazaar.cache import kept_until_changed

    return kept_until_changed(scope="test:1", name="value", read=read, timeout=60, keep=keep)


@pytest.mark.django_db
def test_a_kept_value_is_read_once_until_a_change_in_its_scope_commits(
    django_capture_on_commit_callbacks,
):
    from bazaar.cache import changed_on_commit

    reads = Reads("first")
    assert kept(reads) == kept(reads) == "first" and reads.count == 1
    with django_capture_on_commit_callbacks(execute=False):
        changed_on_commit("test:1")  # rolled back: its callback never runs
    assert kept(reads) == "first" and reads.count == 1
    with django_capture_on_commit_callbacks(execute=True):
        changed_on_commit("test:1")
    reads.answer = "second"
    assert kept(reads) == "second" and reads.count == 2


@pytest.mark.django_db
def test_a_value_read_while_a_change_commits_is_never_served_after_it(
    django_capture_on_commit_callbacks,
):
    """The race a plain get/set/delete loses: the read starts, the change commits and
    drops the cache, then the read stores what it found before the change."""
    from bazaar.cache import changed_on_commit

    def read_then_the_change_commits():
        with django_capture_on_commit_callbacks(execute=True):
            changed_on_commit("test:1")
        return "stale"

    assert kept(read_then_the_change_commits) == "stale"  # this request's own answer
    fresh = Reads("fresh")
    assert kept(fresh) == "fresh" and fresh.count == 1


@pytest.mark.django_db
def test_values_kept_together_are_one_cache_read_and_each_goes_stale_alone(
    django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.cache import cache

    from bazaar.cache import Kept, changed_on_commit, kept_together

    count, own = Reads(3), Reads(frozenset({7}))
    wanted = (Kept("test:count", "n", count, 60), Kept("test:own", "ids", own, 60))
    assert kept_together(*wanted) == [3, frozenset({7})]
    reads = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or get_many(keys))
    assert kept_together(*wanted) == [3, frozenset({7})]
    assert len(reads) == 1 and count.count == own.count == 1  # warm: one round trip
    with django_capture_on_commit_callbacks(execute=True):
        changed_on_commit("test:own")
    own.answer = frozenset()
    assert kept_together(*wanted) == [3, frozenset()]
    assert count.count == 1 and own.count == 2


@pytest.mark.django_db
def test_a_value_keep_refuses_is_read_every_time():
    reads = Reads("live")
    for _ in range(3):
        assert kept(reads, keep=lambda value: value is None) == "live"
    assert reads.count == 3


def test_a_window_counter_counts_up_and_lives_its_window():
    from django.core.cache import cache

    from bazaar.cache import counted

    assert [counted("window:probe", 60) for _ in range(3)] == [1, 2, 3]
    assert cache.get("window:probe") == 3


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.locmem.LocMemCache",
    ],
)
def test_a_window_counter_counts_on_the_embedded_caches_too(backend, tmp_path, settings):
    """The embedded market (no Redis) counts its rate limits in a file cache."""
    from django.core.cache import cache

    from bazaar.cache import counted

    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    assert [counted("window:probe", 60) for _ in range(2)] == [1, 2]
    assert cache.get("window:probe") == 2


# read_ahead: a page's kept reads from several apps in one cache round trip.


@pytest.fixture
def cache_reads(monkeypatch):
    """Every get_many sent to the cache, by its keys."""
    from django.core.cache import cache

    reads = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or get_many(keys))
    return reads


@pytest.mark.django_db
def test_kept_values_read_ahead_are_one_cache_read_for_the_block(cache_reads):
    from bazaar.cache import kept_keys, kept_until_changed, read_ahead

    first, second = Reads("one"), Reads("two")

    def both():
        return [
            kept_until_changed(scope="test:a", name="x", read=first, timeout=60),
            kept_until_changed(scope="test:b", name="y", read=second, timeout=60),
        ]

    assert both() == ["one", "two"]  # kept
    cache_reads.clear()
    with read_ahead([*kept_keys("test:a", "x"), *kept_keys("test:b", "y")]):
        assert both() == ["one", "two"] and both() == ["one", "two"]
    assert len(cache_reads) == 1 and first.count == second.count == 1
    assert both() == ["one", "two"] and len(cache_reads) == 3  # after the block: the cache


@pytest.mark.django_db
def test_a_value_kept_in_the_block_is_not_read_again_from_what_was_read_ahead(cache_reads):
    from bazaar.cache import kept_keys, read_ahead

    reads = Reads("cold")
    with read_ahead(kept_keys("test:1", "value")):
        assert kept(reads) == kept(reads) == "cold"
    assert reads.count == 1  # the second read saw the first one's entry, not the miss


@pytest.mark.django_db
def test_a_change_committed_after_the_read_ahead_shows_on_the_next_page(
    django_capture_on_commit_callbacks,
):
    from bazaar.cache import changed_on_commit, kept_keys, read_ahead

    reads = Reads("before")
    kept(reads)
    with read_ahead(kept_keys("test:1", "value")):
        with django_capture_on_commit_callbacks(execute=True):
            changed_on_commit("test:1")
        reads.answer = "after"
        assert kept(reads) == "before"  # as read ahead: this page started before the change
    assert kept(reads) == "after"


# kept_and_held_until_any_changed: a kept value also held by the process.


def held(reads, scopes=("test:held",)):
    from bazaar.cache import kept_and_held_until_any_changed

    return kept_and_held_until_any_changed(
        scopes=list(scopes), key="test:held:value", read=reads, timeout=60
    )


def page_view(reads, scopes=("test:held",)):
    """A page that reads the scopes' versions ahead, then the held value."""
    from bazaar.cache import kept_scope_keys, read_ahead

    with read_ahead(kept_scope_keys(list(scopes))):
        return held(reads, scopes)


@pytest.mark.django_db
def test_a_held_value_is_no_cache_read_while_its_scopes_versions_are_read_ahead(cache_reads):
    reads = Reads("markup")
    assert page_view(reads) == page_view(reads) == "markup"  # the first version, then held
    cache_reads.clear()
    assert page_view(reads) == "markup" and reads.count == 1
    assert len(cache_reads) == 1  # the read ahead alone
    assert held(reads) == "markup" and len(cache_reads) == 2  # no read ahead: the cache


@pytest.mark.django_db
def test_a_change_committed_to_any_scope_shows_on_the_next_page_not_the_held_value(
    django_capture_on_commit_callbacks,
):
    from bazaar.cache import changed_on_commit

    scopes = ("test:held", "test:held:other")
    reads = Reads("before")
    page_view(reads, scopes), page_view(reads, scopes)  # held
    with django_capture_on_commit_callbacks(execute=True):
        changed_on_commit("test:held:other")
    reads.answer = "after"
    assert page_view(reads, scopes) == "after" and reads.count == 2
    with django_capture_on_commit_callbacks(execute=False):
        changed_on_commit("test:held")  # rolled back: nothing changes
    assert page_view(reads, scopes) == "after" and reads.count == 2


@pytest.mark.django_db
def test_a_held_value_lives_half_its_timeout_and_the_process_holds_a_bounded_number(
    monkeypatch,
):
    from bazaar import cache as kept_cache

    now = [1000.0]
    monkeypatch.setattr(kept_cache.time, "monotonic", lambda: now[0])
    reads = Reads("markup")
    page_view(reads), page_view(reads)
    now[0] += 29
    assert page_view(reads) == "markup" and reads.count == 1  # held
    kept_cache.cache.delete("test:held:value")  # gone from the cache: only held now
    now[0] += 2
    assert page_view(reads) == "markup" and reads.count == 2  # past 30 s: read again
    monkeypatch.setattr(kept_cache, "HELD_VALUES", 2)
    for number in range(3):
        kept_cache.kept_and_held_until_any_changed(
            scopes=[], key=f"test:held:{number}", read=lambda: "x", timeout=60
        )
    assert len(kept_cache._held) <= 2 and "test:held:0" not in kept_cache._held


# writes_with_next_read: writes that can wait go in the read ahead's round trip.


@pytest.mark.django_db
def test_a_write_that_can_wait_goes_in_the_read_aheads_round_trip(require_redis, monkeypatch):
    """Queued in the block, a write goes in one pipeline with the read ahead's read,
    before it, so it is in Redis for everything after; one the block's reads did not
    take goes at its end; outside a block, or for another Redis, nothing is queued."""
    import redis
    from django.conf import settings
    from django.core.cache import cache
    from redis.client import Pipeline

    from bazaar.cache import get_many, read_ahead, write_with_next_read, writes_with_next_read

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("test:pushed")
    cache.set("test:key", "value")
    sent, execute = [], Pipeline.execute
    monkeypatch.setattr(
        Pipeline, "execute", lambda pipe, **kw: sent.append(len(pipe)) or execute(pipe, **kw)
    )

    def push(value: str) -> bool:
        return write_with_next_read(
            lambda pipe: pipe.rpush("test:pushed", value), url=settings.REDIS_URL
        )

    with writes_with_next_read():
        assert push("a")
        assert client.lrange("test:pushed", 0, -1) == []  # waiting for the read
        with read_ahead(["test:key"]):
            assert client.lrange("test:pushed", 0, -1) == [b"a"]
            assert get_many(["test:key"]) == {"test:key": "value"}
    assert sent == [2]  # the push and the read: one round trip
    with writes_with_next_read():
        assert push("b")
    assert client.lrange("test:pushed", 0, -1) == [b"a", b"b"]  # sent at the block's end
    assert not push("c")  # no block: the caller writes now
    with writes_with_next_read():
        assert not write_with_next_read(lambda pipe: None, url="redis://127.0.0.1:6379/15")
    client.delete("test:pushed")


@pytest.mark.django_db
def test_a_pages_visit_is_in_the_buffer_once_and_the_crowd_counts_the_walker(
    client, stall, require_redis, django_capture_on_commit_callbacks
):
    """The grid's walker is in the crowd before the minimap counts it (written with the
    read ahead), and each page's visit reaches the analytics buffer once."""
    from django.urls import reverse

    from analytics.recording import buffer

    buffer().clear()
    with django_capture_on_commit_callbacks(execute=True):  # the visits wait for commit
        page = client.get(reverse("market:section", args=[0, 0])).content.decode()
        client.get(reverse("stalls:detail", args=[stall.public_id]))
    assert "Section 0/0: 1 person<" in page  # the walker, counted by their own minimap
    kinds = [json.loads(entry)["kind"] for entry in buffer().take(10)]
    assert kinds == ["grid_viewed", "stall_viewed"]
