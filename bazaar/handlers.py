"""Django's ASGI handler, with the middleware chain run in one thread hop, and at most
REQUEST_THREADS requests of a process in their threads at once.

Django builds its ASGI middleware chain in async mode. WhiteNoise and Django's own
middleware run synchronously, so such a chain hops to a thread for the middleware,
back to the event loop for the view's async wrapper, and to the thread again for
the (sync) view: three hand-offs, each waiting behind whatever the event loop is
doing, which under a busy socket load was most of a POST's time. Built in sync
mode and called once through `sync_to_async`, the chain makes one hand-off.

Django gives every request a thread of its own, however many arrive. A hundred
requests at once are a hundred threads sharing the GIL with the event loop, which
then gets a hundredth of the process: with a hundred bids by POST in flight, the
frames that tell a thousand watchers of each bid went out 1.4-3 s late
(bench/auction.py). Requests past the limit wait in the event loop for a thread's
turn, as a threaded WSGI server's would wait for a free thread (the limit and its
trade-off: REQUEST_THREADS in the settings).

A request whose thread only waits, neither running Python nor holding a connection
(a bid waiting for its batch: `bazaar.group_commit`), gives its turn back meanwhile
(`turn_given_back`) and takes one again to go on, ahead of requests not yet begun (a
bid named to write its batch would otherwise wait behind every bid arriving for the
next one). Otherwise the bids waiting in a batch held most of the turns, and a batch
could hold no more bids than the turns left while the one before it was written.
"""

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from weakref import WeakKeyDictionary

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class Turns:
    """At most `size` turns taken at once; a turn taken back (`returning`) goes before
    those asked for by requests not yet begun. For one event loop."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: tuple[deque, deque] = (deque(), deque())  # returning, new

    async def take(self, *, returning: bool = False) -> None:
        if self.free and not any(self.waiting[: 1 if returning else 2]):
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting[0 if returning else 1].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give()  # handed over just as the waiter was cancelled: pass it on
            raise

    def give(self) -> None:
        for queue in self.waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self.free += 1


# The request's turn, for its thread: the event loop and the turns it was taken from.
_turn: ContextVar[tuple[asyncio.AbstractEventLoop, Turns] | None] = ContextVar(
    "request_turn", default=None
)


@contextmanager
def turn_given_back() -> Iterator[None]:
    """In a request's thread: its turn goes to a waiting request while the block runs,
    and is taken again (ahead of requests not yet begun) before the request goes on.
    Outside a request of this handler (tests' client, a job), nothing."""
    turn = _turn.get()
    if turn is None:
        yield
        return
    loop, turns = turn
    loop.call_soon_threadsafe(turns.give)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(turns.take(returning=True), loop).result()


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self.threaded_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
        self._turns: WeakKeyDictionary[asyncio.AbstractEventLoop, Turns] = WeakKeyDictionary()
        self._middleware_chain = self._in_turn

    async def _in_turn(self, request):
        loop = asyncio.get_running_loop()
        if loop not in self._turns:
            self._turns[loop] = Turns(settings.REQUEST_THREADS)
        turns = self._turns[loop]
        await turns.take()
        try:
            _turn.set((loop, turns))
            return await self.threaded_chain(request)
        finally:
            turns.give()
