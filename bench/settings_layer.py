"""Settings for benchmark servers: the project's local settings with the channel layer
chosen by BENCH_CHANNEL_LAYER, so bench/stall_room.py can measure several in one run.

    DJANGO_SETTINGS_MODULE=bench.settings_layer BENCH_CHANNEL_LAYER=pubsub

BENCH_CHANNEL_LAYER: "core" (channels_redis.core, hosts as a bare URL: redis-py's
default async pool of 100 connections), "core-pool" (the same with max_connections
from BENCH_MAX_CONNECTIONS, default 2000) or "pubsub"
(channels_redis.pubsub.RedisPubSubChannelLayer with that pool size). Unset or empty:
the project's own CHANNEL_LAYERS. BENCH_CHANNEL_PREFIX sets the prefix: Redis pub/sub
channels are shared by every database of a server, so a benchmark's must not be
"bazaar".
"""

import os

from bazaar.settings.local import *  # noqa: F403
from bazaar.settings.local import REDIS_URL

_LAYER = os.environ.get("BENCH_CHANNEL_LAYER", "")
_PREFIX = os.environ.get("BENCH_CHANNEL_PREFIX", "bazaar")
_POOL = int(os.environ.get("BENCH_MAX_CONNECTIONS", "2000"))
_BACKENDS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "core-pool": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}

if _LAYER:
    if not REDIS_URL:
        raise RuntimeError("BENCH_CHANNEL_LAYER needs REDIS_URL")
    _HOSTS = [REDIS_URL] if _LAYER == "core" else [{"address": REDIS_URL, "max_connections": _POOL}]
    CHANNEL_LAYERS = {
        "default": {"BACKEND": _BACKENDS[_LAYER], "CONFIG": {"hosts": _HOSTS, "prefix": _PREFIX}}
    }
