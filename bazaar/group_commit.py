"""Group commit: requests for one key that arrive while its previous batch is being
written are written together, as the next batch, by one of the callers.

No thread of its own and no added wait: the first caller for a quiet key writes its
request at once (a batch of one). Callers that arrive meanwhile queue up; when the
batch in progress is done, the writer hands the pen to the first of them, who
writes everything queued so far in one go, and so on. Each caller thus writes at
most the one batch that holds its own request, and a burst costs one write per
batch instead of one per request. Order within a batch is the order of `submit`.

This orders requests within one process. Writers in several processes meet at
whatever the write itself serialises on (for bids, the auction's row lock).
"""

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Ticket:
    request: Any
    done: Future = field(default_factory=Future)  # the request's result, or its error
    lead: Future = field(default_factory=Future)  # set when this caller is to write next


@dataclass
class Written:
    """What `write` may return instead of its results alone: the results, and work that
    follows the write (its after-commit callbacks) but that nobody waits for. It runs
    after the results are handed out and the pen passed on."""

    results: Sequence[Any]
    then: Callable[[], None]


@dataclass
class _Lane:
    queued: list[_Ticket] = field(default_factory=list)


class GroupCommit:
    """`write(key, requests)` returns one result per request, in order: a value, or an
    exception instance meant for that request alone (it is raised to its caller); or
    those results as `Written`, with what to do after. An exception raised by `write`
    itself goes to every request of the batch."""

    def __init__(self, write: Callable[[Hashable, Sequence[Any]], Sequence[Any]]):
        self._write = write
        self._lock = threading.Lock()
        self._lanes: dict[Hashable, _Lane] = {}  # keys with a batch being written

    def submit(self, key: Hashable, request) -> _Ticket:
        """Queue a request; its `lead` is set at once if nobody is writing for `key`."""
        ticket = _Ticket(request)
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None:
                self._lanes[key] = lane = _Lane()
                ticket.lead.set_result(True)
            lane.queued.append(ticket)
        return ticket

    def write_batch(self, key: Hashable) -> None:
        """Write everything queued for `key` (the caller holds the pen), then hand the
        pen to the first request queued meanwhile, or put it down."""
        with self._lock:
            lane = self._lanes[key]
            batch, lane.queued = lane.queued, []
        then = None
        try:
            results = self._write(key, [ticket.request for ticket in batch])
            if isinstance(results, Written):
                results, then = results.results, results.then
        except Exception as error:
            results = [error] * len(batch)
        finally:
            with self._lock:
                if lane.queued:
                    lane.queued[0].lead.set_result(True)
                else:
                    del self._lanes[key]
        for ticket, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                ticket.done.set_exception(result)
            else:
                ticket.done.set_result(result)
        if then is not None:
            then()

    def run(self, key: Hashable, request):
        """Submit and wait, in a thread that may use the database (a sync view)."""
        ticket = self.submit(key, request)
        wait([ticket.done, ticket.lead], return_when=FIRST_COMPLETED)
        if not ticket.done.done():
            self.write_batch(key)
        try:
            return ticket.done.result()
        except BaseException:
            del ticket  # see `run_async`
            raise

    async def run_async(self, key: Hashable, request, in_thread: Callable):
        """Submit and wait without holding a thread; a batch this caller is to write
        runs through `in_thread` (a sync-to-async wrapper with database access).

        The loop is woken by a callback on the ticket's futures rather than through
        `asyncio.wrap_future`, whose two chained futures point at each other: a
        reference cycle per bid, which only the collector's full passes freed."""
        ticket = self.submit(key, request)
        await _either(ticket.done, ticket.lead)
        if not ticket.done.done():
            await in_thread(self.write_batch)(key)
        try:
            return ticket.done.result()
        except BaseException:
            # The error's traceback holds this frame; the frame must not hold the
            # future that holds the error, or every refusal is a reference cycle.
            del ticket
            raise


async def _either(*futures: Future) -> None:
    """Wait in the event loop until one of these thread futures is done."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(wake))
    await woken
