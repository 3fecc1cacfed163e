"""What every consumer of the market shares."""

from channels.consumer import get_handler_name


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
