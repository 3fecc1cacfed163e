"""Publishing to sockets happens after commit: a rolled-back change is never announced."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis import RedisError

from bazaar import jobs, runner

log = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None


def serve_broadcasts_from(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the ASGI app: the event loop that owns this process's sockets."""
    global _server_loop
    _server_loop = loop


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` to every socket in `group` once the current transaction commits.

    Inside the server (a view or consumer's database thread) the send is handed to
    the server's event loop without waiting: the database thread is the scarce one,
    and blocking it on the channel layer cost a third of its time under a stall's
    chat. The change is already committed and in the stall document; a client that
    misses a frame resyncs from there. Elsewhere (Celery, commands, shells) the send
    completes before returning (one PUBLISH where the layer can make it without an
    event loop, `group_send_blocking`), except in the embedded market (no Redis), where only
    the web process reaches the open pages: a command's broadcast is handed to it as
    a job (`bazaar.tasks.broadcast_relay`).
    """
    transaction.on_commit(lambda: broadcast_now(group, event))


def broadcast_now(group: str, event: dict) -> None:
    """Send `event` to `group` now, from wherever this runs."""
    loop = _server_loop
    if loop is None or not loop.is_running():
        if jobs.embedded() and not runner.running_here():
            relay = {"group": group, "event": event}
            jobs.job_enqueue(task="bazaar.tasks.broadcast_relay", kwargs=relay)
            return
        _send_blocking(group, event)
        return
    future = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, event), loop)
    future.add_done_callback(_log_failure)


def _send_blocking(group: str, event: dict) -> None:
    """Outside any event loop: the layer's own blocking send where it has one, else
    (and if that fails) `group_send` on an event loop made for it."""
    layer = get_channel_layer()
    blocking = getattr(layer, "group_send_blocking", None)
    if blocking is not None:
        try:
            if blocking(group, event):
                return
        except RedisError:
            log.warning("blocking broadcast failed, sent through an event loop", exc_info=True)
    async_to_sync(layer.group_send)(group, event)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("broadcast failed", exc_info=future.exception())


# The market-wide group that `/ws/market/` (market.consumers) listens to. Named here, at
# the bottom, because apps below market publish to it (stalls: stall changes, live badges).
MARKET_GROUP = "market"


def user_group(user_public_id: str) -> str:
    """Every socket of one user, for what only they may see (held messages, sanctions)."""
    return f"user.{user_public_id}"
