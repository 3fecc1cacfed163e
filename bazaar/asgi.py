"""HTTP and WebSockets on one ASGI app: sockets get session auth and an origin check
(scheme, host and port: `bazaar.origins`)."""

import asyncio
import gc
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")
django.setup(set_prefix=False)

from bazaar.deploy import refuse_if_undeployable  # noqa: E402

# Before anything serves or the embedded runner starts (production only).
refuse_if_undeployable()

from django.conf import settings  # noqa: E402

from bazaar.database import bound_waits  # noqa: E402
from bazaar.handlers import SyncChainASGIHandler  # noqa: E402

# A query waits for PostgreSQL's answer this long here, then the request gets a 503.
bound_waits(settings.DATABASE_WAIT_SECONDS)

django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from bazaar import jobs, runner  # noqa: E402
from bazaar.broadcast import serve_broadcasts_from  # noqa: E402
from bazaar.consumers import PooledAuthMiddleware, SocketSessionMiddleware  # noqa: E402
from bazaar.metrics import counting_sockets  # noqa: E402
from bazaar.origins import SameOriginValidator  # noqa: E402
from bazaar.routing import websocket_urlpatterns  # noqa: E402
from bazaar.wire import with_wire  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": counting_sockets(
            with_wire(
                SameOriginValidator(
                    CookieMiddleware(
                        SocketSessionMiddleware(
                            PooledAuthMiddleware(URLRouter(websocket_urlpatterns))
                        )
                    )
                )
            )
        ),
    }
)


async def application(scope, receive, send):
    """The router, after telling `bazaar.broadcast` which loop serves this process
    (and, in the embedded market, making sure this process runs the background work:
    a live-server test forks the process after this module was imported)."""
    serve_broadcasts_from(asyncio.get_running_loop())
    if jobs.embedded():
        runner.ensure_started()
    return await router(scope, receive, send)


# The embedded market (no Redis) runs its background work in this process from the
# start, so sweeps run before the first visitor comes.
if jobs.embedded():
    runner.ensure_started()


# A thread that waits on the database (a batch of bids, a sync view) needs the GIL
# back after every round trip, and while the event loop runs Python (writing frames
# to a thousand sockets) it gets it only when the loop's thread is made to let go,
# every switch interval: 5 ms by default, so a batch's 7 round trips could wait 35 ms
# for the GIL alone. Eight SELECT 1 on a thread beside a busy main thread took
# 71-77 ms at 5 ms, 17-34 ms at 0.5 ms (docs/decisions.md, session hotbids).
GIL_SWITCH_SECONDS = 0.0005
sys.setswitchinterval(GIL_SWITCH_SECONDS)

# What is loaded by now (Django, the apps, Twisted, the routes) lives as long as the
# process. Frozen, it is left out of the collector's full passes, which otherwise
# walked all of it now and then: pauses of 60-80 ms in the middle of a request
# (bench/offers.py, paired runs: the slowest action POST of one pair went from
# 86-138 ms to 27-63 ms; 50 pairs on two processes had a lower p95 in each of three).
gc.freeze()

# What a server makes after start-up (a thousand sockets' state: 150,000 objects) is
# still walked by every full pass: 80-110 ms with the loop stopped. By default a full
# pass comes after ten middle ones, every 1-3 s of a bidding burst; a hundred makes it
# one in a minute's burst (bench/auction.py, uvicorn: six full passes of 40-93 ms in
# one run, one in the next). Cyclic garbage waits longer for it, so little is made:
# a refused bid makes none (tests/auctions/test_bid_batch.py).
GC_THRESHOLDS = (700, 10, 100)
gc.set_threshold(*GC_THRESHOLDS)
