"""Django's Redis cache, made once per request under ASGI, shares one pool per process."""

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
