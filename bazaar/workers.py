"""The uvicorn worker gunicorn runs in production (`bazaar.serve --server uvicorn`).

`uvicorn_worker.UvicornWorker` with what this application needs: httptools for HTTP,
the sans-I/O `websockets` protocol for sockets (uvicorn's leanest frame path), pinging
only a silent socket (`QuietSocketPings`), and no lifespan events, since the
ProtocolTypeRouter in `bazaar.asgi` routes only "http" and "websocket" (a lifespan
scope would fail there and be logged at every start). The event loop is uvloop when
it is installed, else the standard library's.
"""

import logging

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn_worker import UvicornWorker

from bazaar.metrics import process_gone
from bazaar.serve import WEBSOCKET_PING_SECONDS


class QuietSocketPings(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O socket, pinging a socket only after `ws_ping_interval` of
    silence from its peer, as daphne does: uvicorn pings every socket once an interval
    however much it hears, and a ping and its pong were a tenth of what an idle crowd
    cost its servers (20,000 sockets at 60 s: 333 frames a second each way). A page's
    own heartbeats (the stall room's every 10-50 s, an auction's every 15 s) prove its
    peer, and are traffic for a load balancer's idle timeout, so such a socket is never
    pinged; a silent one still is, and is closed if it does not answer."""

    heard_at = 0.0  # the loop's time when the peer last sent anything

    def data_received(self, data: bytes) -> None:
        self.heard_at = self.loop.time()
        super().data_received(data)

    def send_keepalive_ping(self) -> None:
        silent = self.loop.time() - self.heard_at
        if silent >= self.ping_interval or self.close_sent or self.transport.is_closing():
            super().send_keepalive_ping()
            return
        self.ping_timer = self.loop.call_later(
            self.ping_interval - silent, self.send_keepalive_ping
        )


class BazaarUvicornWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "auto",
        "http": "httptools",
        "ws": QuietSocketPings,
        "lifespan": "off",
        "ws_ping_interval": float(WEBSOCKET_PING_SECONDS),
        # No permessage-deflate, as daphne: each socket's compressor costs tens of KB
        # and a zlib pass per frame, and a compressed frame cannot be shared between
        # sockets (bazaar.wire). Node's `ws` leaves it off by default for the same reasons.
        "ws_per_message_deflate": False,
        # Our own responses carry their headers (bazaar.headers); no `server` banner.
        "server_header": False,
    }

    def __init__(self, *args, **kwargs):
        """uvicorn logs a line at INFO for every socket it accepts (HTTP requests are
        not logged here at all): 6% of a uvicorn worker's busy samples while a crowd
        joined (session joins). Those lines are kept at gunicorn's `--log-level
        debug`; warnings and errors always."""
        super().__init__(*args, **kwargs)
        sockets_log = logging.getLogger("uvicorn.error")
        if not sockets_log.isEnabledFor(logging.DEBUG):
            sockets_log.setLevel(logging.WARNING)


def child_exit(server, worker) -> None:
    """gunicorn's hook (this module is also its `--config`): a worker that exited,
    however, stops counting its open sockets in /metrics."""
    process_gone(worker.pid)
