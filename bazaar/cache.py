"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per async context, and under ASGI every request is a new
context: each request built a fresh `RedisCache`, a fresh pool and a new TCP
connection to Redis (with its handshake) just to read the session. Handing every
such object the same pool keeps the connections open across requests. redis-py's
pool is thread-safe and resets itself in a forked child (Celery's workers).
"""

import threading

from redis import ConnectionPool


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
