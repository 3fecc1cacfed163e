"""What every consumer of the market shares."""

import uuid
from contextlib import suppress
from functools import partial
from importlib import import_module

from channels.auth import AuthMiddleware, get_user
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

from bazaar.threads import ProcessThreads

# A consumer's database work runs in a pool of threads, its connection back to the
# pool after each call. Channels' own `database_sync_to_async` runs every socket's
# work in one thread per process: a crowd's joins, each room's pulse and every chat
# line queued behind each other there (docs/decisions.md).
# The threads are the process's own, not each event loop's default executor: with
# those (a new one per test's loop) the suite ran out of pooled connections, and with
# these it does not (docs/decisions.md).
CONSUMER_DB_THREADS = ProcessThreads(8, "consumer-db")
in_db_pool = partial(database_sync_to_async, thread_sensitive=False, executor=CONSUMER_DB_THREADS)


def _session_cookie(scope) -> str | None:
    return scope["cookies"].get(settings.SESSION_COOKIE_NAME) or None


class SocketSessionMiddleware:
    """Channels' SessionMiddleware (inside its CookieMiddleware) for sockets, without
    what a socket never uses.

    Channels' wraps `send` to save a changed session on `http.response.start`, which
    no socket sends, yet every frame a consumer sent went through that wrapper, asking
    the lazy session whether it was modified and empty (a tenth of the CPU of an idle
    crowd's pongs, and of a join's frames). It also built a session store for every
    socket, a guest's too: the cached-db store looks up its cache, which in an event
    loop makes a cache object per socket (Django's connections are context-local).
    Here `send` goes through untouched, and a socket without a session cookie has an
    empty session made only if something reads it.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        store = import_module(settings.SESSION_ENGINE).SessionStore
        key = _session_cookie(scope)
        session = store(key) if key else SimpleLazyObject(store)
        return await self.inner({**scope, "session": session}, receive, send)


class PooledAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware with the session and user read in the thread pool
    (`in_db_pool`) rather than in the one database thread. A socket that brought no
    session cookie is a guest without a trip there: a crowd of watchers is mostly
    such sockets, and the hop was a tenth of a join's work (session joins)."""

    async def resolve_scope(self, scope):
        if _session_cookie(scope) is None:
            scope["user"]._wrapped = AnonymousUser()
            return
        scope["user"]._wrapped = await in_db_pool(get_user.func)(scope)


class DirectDispatchMixin:
    """Run handlers without Channels' per-message database-thread hop.

    Channels 4.2+ calls `close_old_connections` in the database thread before every
    handler, including each broadcast frame a consumer merely forwards: under a
    stall's fan-out that hop, not the socket, was most of the server's time
    (`bench/stall_room.py`, `+nohop`). Our consumers touch the database only through
    `database_sync_to_async`, which closes stale connections itself around each
    call, so the hop protects nothing here.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        """As Channels' own, without its closing hop to the database thread: a crowd
        leaving at once queued thousands of them behind each other until the server
        killed the handlers for running past its shutdown timeout."""
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()


class ChannelOnDemandMixin:
    """A socket that subscribes to no channel of its own.

    Channels gives every consumer its own channel, which the pub/sub layer turns into
    a Redis SUBSCRIBE when the socket opens and an UNSUBSCRIBE when it closes: with
    what a socket receives coming through the process's fan-outs (`bazaar.fanout`:
    its room's, its auction's, its user's), that was most of what a join and a
    departure cost. Here `channel_name` only names the socket.

    With the socket its only source, the consumer awaits its frames itself: Channels'
    `await_many_dispatch` waits on any of several sources, which costs a new task and
    an `asyncio.wait` for every frame received (an idle crowd's heartbeats) and keeps a
    task pending for every open socket.
    """

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = f"socket.{uuid.uuid4().hex}"
        self.base_send = send
        with suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())
