"""Group commit: requests for one key that arrive while its previous batch is being
written are written together, as the next batch, by one of the callers.

No thread of its own and no added wait: the first caller for a quiet key writes its
request at once (a batch of one). Callers that arrive meanwhile queue up; the next
writer is the first of them, who writes everything queued so far in one go, and so
on. Each caller thus writes at most the one batch that holds its own request, and a
burst costs one write per batch instead of one per request. Order within a batch is
the order of `submit`.

A write takes its batch (`take`) only once it holds what serialises the key's writers
(for bids, the auction's row lock), so a batch holds everything that arrived until
then. Where that lock really excludes (`overlap`), the next writer starts as soon as
the previous one has taken its batch and waits at the lock itself: the lock passes
to it at the previous commit, with no hand-over, thread hop or round trip between.
Otherwise the pen passes when the previous write is done.

This orders requests within one process. Writers in several processes meet at
whatever the write itself serialises on (for bids, the auction's row lock).
"""

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from bazaar.handlers import turn_given_back


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
    waiting: bool = False  # a writer was named and has not taken its batch yet
    writing: int = 0  # writers that took a batch and are not done with it


class GroupCommit:
    """`write(key, take)` calls `take()` for its batch's requests once it holds the
    key's lock, and returns one result per request, in order: a value, or an exception
    instance meant for that request alone (it is raised to its caller); or those
    results as `Written`, with what to do after. An exception raised by `write` itself
    goes to every request of the batch. `overlap()` says whether the next writer may
    start while this one writes (true only if `write`'s lock excludes it until then)."""

    def __init__(
        self,
        write: Callable[[Hashable, Callable[[], Sequence[Any]]], Sequence[Any]],
        overlap: Callable[[], bool] = lambda: False,
    ):
        self._write = write
        self._overlap = overlap
        self._lock = threading.Lock()
        self._lanes: dict[Hashable, _Lane] = {}  # keys with a batch being written

    def submit(self, key: Hashable, request) -> _Ticket:
        """Queue a request; its `lead` is set at once if nobody is writing for `key`
        (or, with `overlap`, if the writer in progress has already taken its batch)."""
        ticket = _Ticket(request)
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.queued.append(ticket)
            if not lane.waiting and (not lane.writing or self._overlap()):
                lane.waiting = True
                ticket.lead.set_result(True)
        return ticket

    def write_batch(self, key: Hashable) -> None:
        """Write everything queued for `key` when the write takes it (the caller holds
        the pen), then name the next writer if nobody is one yet, or put the pen down."""
        with self._lock:
            lane = self._lanes[key]
        batch: list[_Ticket] | None = None

        def take() -> list:
            nonlocal batch
            with self._lock:
                batch, lane.queued = lane.queued, []
                lane.waiting = False
                lane.writing += 1
            return [ticket.request for ticket in batch]

        then = None
        try:
            results = self._write(key, take)
            if isinstance(results, Written):
                results, then = results.results, results.then
        except Exception as error:
            if batch is None:
                take()
            results = [error] * len(batch)
        finally:
            with self._lock:
                lane.writing -= 1
                if lane.queued and not lane.waiting:
                    lane.waiting = True
                    lane.queued[0].lead.set_result(True)
                elif not (lane.waiting or lane.writing):
                    del self._lanes[key]
        for ticket, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                ticket.done.set_exception(result)
            else:
                ticket.done.set_result(result)
        if then is not None:
            then()

    def run(self, key: Hashable, request):
        """Submit and wait, in a thread that may use the database (a sync view). A
        request's thread gives its turn back while it waits (`bazaar.handlers`), so
        the bids of a batch are not capped by the process's request threads."""
        ticket = self.submit(key, request)
        with turn_given_back():
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
