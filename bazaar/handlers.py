"""Django's ASGI handler, with the middleware chain run in one thread hop.

Django builds its ASGI middleware chain in async mode. WhiteNoise and Django's own
middleware run synchronously, so such a chain hops to a thread for the middleware,
back to the event loop for the view's async wrapper, and to the thread again for
the (sync) view: three hand-offs, each waiting behind whatever the event loop is
doing, which under a busy socket load was most of a POST's time. Built in sync
mode and called once through `sync_to_async`, the chain makes one hand-off.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
