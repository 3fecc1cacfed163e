"""The uvicorn worker gunicorn runs in production (`bazaar.serve --server uvicorn`).

`uvicorn_worker.UvicornWorker` with what this application needs: httptools for HTTP,
the sans-I/O `websockets` protocol for sockets (uvicorn's leanest frame path), pinging
only a silent socket (`QuietSocketPings`), and no lifespan events, since the
ProtocolTypeRouter in `bazaar.asgi` routes only "http" and "websocket" (a lifespan
scope would fail there and be logged at every start). The event loop is uvloop when
it is installed, else the standard library's.
"""

import asyncio
import logging

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn_worker import UvicornWorker
from websockets.frames import Frame, Opcode

from bazaar.metrics import process_gone
from bazaar.serve import WEBSOCKET_PING_SECONDS

# How often a process looks over its sockets for one to ping or keep warm.
SWEEP_SECONDS = 10.0
# A socket kept warm gets a frame once its connection has been quiet this long, so a
# load balancer's idle timeout (commonly 60 s) never sees it quiet: at most
# WARM_SECONDS + SWEEP_SECONDS.
WARM_SECONDS = 45.0
# An unsolicited pong: a one-way heartbeat that the peer must not answer (RFC 6455,
# 5.5.3). A browser takes it without waking the page's script.
WARM_FRAME = Frame(Opcode.PONG, b"").serialize(mask=False)


class QuietSocketPings(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O socket, pinging a socket only after `ws_ping_interval` of
    silence from its peer, as daphne does: uvicorn pings every socket once an interval
    however much it hears, and a ping and its pong were a tenth of what an idle crowd
    cost its servers (20,000 sockets at 60 s: 333 frames a second each way). A page's
    own heartbeats (the stall room's every 10-50 s) prove its peer, and are traffic
    for a load balancer's idle timeout, so such a socket is never pinged; a silent one
    still is, and is closed if it does not answer.

    A socket whose page writes rarely (an auction's, a clock check every 5 minutes)
    says so (`keep_warm`): it is pinged only after that long and `ws_ping_interval`
    more of silence, and meanwhile the server keeps its connection from looking idle.

    Each process looks over its sockets in one sweep every SWEEP_SECONDS (`_Sweep`)
    rather than with a timer per socket, re-armed at every beat: that timer was 3-6%
    of an idle crowd's busy samples (session crowd4)."""

    heard_at = 0.0  # the loop's time when the peer last sent anything
    warmed_at = 0.0  # the loop's time this side last wrote a warm frame
    keeps_warm = False

    def data_received(self, data: bytes) -> None:
        self.heard_at = self.loop.time()
        super().data_received(data)

    def keep_warm(self, page_writes_every: float) -> None:
        """The page writes only every `page_writes_every` seconds: ping it only after
        that and `ws_ping_interval` more of silence, and write a warm frame to the
        connection whenever it has been quiet for WARM_SECONDS."""
        self.keeps_warm = True
        if self.ping_interval:
            self.ping_interval += page_writes_every
        _sweep(self.loop).add(self)

    def start_keepalive(self) -> None:
        if self.ping_interval:
            _sweep(self.loop).add(self)

    def stop_keepalive(self) -> None:
        super().stop_keepalive()
        sweep = _sweeps.get(self.loop)
        if sweep is not None:
            sweep.sockets.discard(self)

    def schedule_ping(self) -> None:
        """The next ping is the sweep's to send: no timer of its own."""

    def tend(self, now: float) -> None:
        """The sweep's look at this socket: ping a peer silent too long (unless a ping
        is already out), else keep a quiet connection warm if asked."""
        if self.pending_ping_payload is not None or self.close_sent:
            return
        if self.ping_interval and now - self.heard_at >= self.ping_interval:
            self.send_keepalive_ping()
        elif (
            self.keeps_warm
            and now - max(self.heard_at, self.warmed_at) >= WARM_SECONDS
            and self.writable.is_set()
            and not self.transport.is_closing()
        ):
            self.warmed_at = now
            self.transport.write(WARM_FRAME)


class _Sweep:
    """One timer per event loop for every socket's keepalive (`QuietSocketPings.tend`),
    running while the loop has sockets to tend."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.sockets: set[QuietSocketPings] = set()
        loop.call_later(SWEEP_SECONDS, self.run)

    def add(self, socket: QuietSocketPings) -> None:
        self.sockets.add(socket)

    def run(self) -> None:
        if not self.sockets:
            del _sweeps[self.loop]
            return
        now = self.loop.time()
        for socket in list(self.sockets):
            socket.tend(now)
        self.loop.call_later(SWEEP_SECONDS, self.run)


_sweeps: dict[asyncio.AbstractEventLoop, _Sweep] = {}


def _sweep(loop: asyncio.AbstractEventLoop) -> _Sweep:
    """The loop's sweep, started by its first socket."""
    sweep = _sweeps.get(loop)
    if sweep is None:
        sweep = _sweeps[loop] = _Sweep(loop)
    return sweep


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
