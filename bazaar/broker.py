"""Celery's Redis transport, keeping one client per channel.

kombu's Redis channel makes a new `redis.Redis` for every message it sends
(`conn_or_acquire`), and each one copies redis-py's table of some 170 reply
callbacks: about a third of an offer action's `apply_async` for its notice, on the
thread that answers the action (issue 15, session offers12). A client is only a view
of the channel's connection pool, which is thread-safe, so the channel keeps one.
"""

from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class _ClientKeepingChannel(kombu_redis.Channel):
    _kept_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        kept = self._kept_client
        # A channel replaces its pool after a fork or a failed ping: a new client then.
        if kept is None or kept.connection_pool is not self.pool:
            kept = self._kept_client = self._create_client()
        yield kept


class RedisTransport(kombu_redis.Transport):
    Channel = _ClientKeepingChannel


def transport_for(broker_url: str) -> str | None:
    """The transport Celery is told to use for `broker_url`: this one for a Redis
    URL, kombu's own (from the URL's scheme) for anything else."""
    if broker_url.startswith(("redis://", "rediss://")):
        return "bazaar.broker:RedisTransport"
    return None
