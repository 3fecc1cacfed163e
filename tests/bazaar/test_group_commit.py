"""bazaar.group_commit: what arrives while a batch is written goes in the next batch."""

import asyncio
import threading
from concurrent.futures import Future

import pytest
from asgiref.sync import sync_to_async

from bazaar.group_commit import GroupCommit, Written
from tests.conftest import cyclic_garbage, frames_of


class Recorder:
    """A write that records its batches; the first one waits until released, so that
    others can arrive while it is being written."""

    def __init__(self):
        self.batches: list[list] = []
        self.writing = threading.Event()
        self.release = threading.Event()

    def __call__(self, key, take):
        requests = take()
        self.batches.append(list(requests))
        if len(self.batches) == 1:
            self.writing.set()
            assert self.release.wait(5)
        return [ValueError(r) if r == "bad" else (key, r) for r in requests]


def test_a_lone_request_is_written_at_once_by_its_caller():
    write = Recorder()
    write.release.set()
    assert GroupCommit(write).run("a", 1) == ("a", 1)
    assert write.batches == [[1]]


def test_requests_arriving_during_a_write_go_together_in_order_and_each_gets_its_answer():
    write = Recorder()
    group = GroupCommit(write)
    answers = {}

    def call(request):
        try:
            answers[request] = group.run("auction", request)
        except ValueError as error:
            answers[request] = error

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert write.writing.wait(5)
    others = []
    for request in [1, 2, "bad", 3]:
        others.append(threading.Thread(target=call, args=(request,)))
        others[-1].start()
        while len(group._lanes["auction"].queued) < len(others):
            threading.Event().wait(0.001)  # queued in this order
    write.release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert write.batches == [[0], [1, 2, "bad", 3]]
    assert answers[2] == ("auction", 2) and isinstance(answers["bad"], ValueError)
    assert group._lanes == {}  # the pen was put down


def test_a_failed_write_fails_its_batch_only():
    calls = []

    def write(key, take):
        requests = take()
        calls.append(requests)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return requests

    group = GroupCommit(write)
    with pytest.raises(RuntimeError):
        group.run("a", 1)
    assert group.run("a", 2) == 2


def test_what_follows_a_write_runs_after_its_answers_are_out_and_the_pen_is_passed():
    """A batch's after-commit work (a broadcast, a job, analytics) is nobody's answer:
    its bidders and the next batch do not wait for it."""
    seen = {}
    group = GroupCommit(lambda key, take: Written(list(take()), then=after))
    ticket = group.submit("a", 1)

    def after():
        seen["answered"] = ticket.done.done() and ticket.done.result() == 1
        seen["pen down"] = group._lanes == {}

    group.write_batch("a")
    assert seen == {"answered": True, "pen down": True}


@pytest.mark.asyncio
async def test_waiting_without_a_thread_a_burst_is_written_in_two_batches():
    write = Recorder()
    group = GroupCommit(write)
    in_thread = lambda f: sync_to_async(f, thread_sensitive=False)  # noqa: E731
    first = asyncio.ensure_future(group.run_async("a", 0, in_thread))
    await sync_to_async(write.writing.wait)(5)
    rest = [asyncio.ensure_future(group.run_async("a", n, in_thread)) for n in range(1, 50)]
    await asyncio.sleep(0.05)
    write.release.set()
    assert await asyncio.gather(first, *rest) == [("a", n) for n in range(50)]
    assert [len(batch) for batch in write.batches] == [1, 49]


@pytest.mark.asyncio
async def test_answers_and_errors_leave_no_reference_cycles():
    """Refusals are answers in a burst (most bids are outbid): each one left in a cycle
    with its caller's frame and futures, or each wait in a cycle of chained futures,
    was work for the collector's full passes, which paused the server."""
    group = GroupCommit(lambda key, take: [ValueError(r) if r < 0 else r for r in take()])
    in_thread = lambda f: sync_to_async(f, thread_sensitive=False)  # noqa: E731
    with cyclic_garbage() as left:
        with pytest.raises(ValueError):
            group.run("a", -1)
        with pytest.raises(ValueError):
            await group.run_async("a", -2, in_thread)
        assert await group.run_async("a", 3, in_thread) == 3
    assert frames_of(left, "group_commit") == []
    assert [item for item in left if isinstance(item, Future | asyncio.Future)] == []


def test_with_overlap_the_next_writer_waits_at_the_lock_and_takes_all_that_came_until_then():
    """Where the write's lock excludes the next writer, that writer starts while the
    batch before it writes and waits at the lock itself: it takes its batch when the
    lock passes to it, holding every request that arrived until then."""
    row_lock = threading.Lock()
    batches, first_writing, release = [], threading.Event(), threading.Event()

    def write(key, take):
        with row_lock:
            requests = take()
            batches.append(requests)
            if len(batches) == 1:
                first_writing.set()
                assert release.wait(5)
            return requests

    group = GroupCommit(write, overlap=lambda: True)
    threads = [threading.Thread(target=group.run, args=("a", 0))]
    threads[0].start()
    assert first_writing.wait(5)
    for request in (1, 2, 3):
        threads.append(threading.Thread(target=group.run, args=("a", request)))
        threads[-1].start()
        while len(group._lanes["a"].queued) < request:
            threading.Event().wait(0.001)
    lane = group._lanes["a"]
    assert lane.waiting and lane.writing == 1  # the second writer is named already
    release.set()
    for thread in threads:
        thread.join(5)
    assert batches == [[0], [1, 2, 3]]
    assert group._lanes == {}


def test_without_overlap_nobody_is_named_writer_while_a_batch_is_written():
    write = Recorder()
    group = GroupCommit(write)
    first = threading.Thread(target=group.run, args=("a", 0))
    first.start()
    assert write.writing.wait(5)
    ticket = group.submit("a", 1)
    assert not ticket.lead.done()
    write.release.set()
    first.join(5)
    assert ticket.lead.done()
    group.write_batch("a")
    assert ticket.done.result() == ("a", 1) and group._lanes == {}
