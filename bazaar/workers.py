"""The uvicorn worker gunicorn runs in production (`bazaar.serve --server uvicorn`).

`uvicorn_worker.UvicornWorker` with what this application needs: httptools for HTTP,
the sans-I/O `websockets` protocol for sockets (uvicorn's leanest frame path), and no
lifespan events, since the ProtocolTypeRouter in `bazaar.asgi` routes only "http" and
"websocket" (a lifespan scope would fail there and be logged at every start). The
event loop is uvloop when it is installed, else the standard library's.
"""

import logging

from uvicorn_worker import UvicornWorker

from bazaar.metrics import process_gone
from bazaar.serve import WEBSOCKET_PING_SECONDS


class BazaarUvicornWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "auto",
        "http": "httptools",
        "ws": "websockets-sansio",
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
