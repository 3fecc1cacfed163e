"""HTTP through the ASGI app: Django's middleware chain, entered with one thread hop, by
at most REQUEST_THREADS requests at once (a bid waiting for its batch not counted)."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import HttpCommunicator

from bazaar.asgi import application, django_asgi_app
from bazaar.group_commit import GroupCommit
from bazaar.handlers import Turns, turn_given_back

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_request_runs_the_whole_middleware_chain_behind_one_thread_hop():
    # The chain is synchronous inside, so the only async wrapper is at its top.
    assert isinstance(django_asgi_app.threaded_chain, SyncToAsync)
    communicator = HttpCommunicator(
        application, "GET", "/healthz/", headers=[(b"host", b"localhost")]
    )
    response = await communicator.get_response()
    headers = dict(response["headers"])
    assert response["status"] == 200
    assert headers[b"X-Frame-Options"] == b"DENY"  # the middleware answered too
    cookies = b" ".join(value for name, value in response["headers"] if name == b"Set-Cookie")
    assert b"bazaar_visitor=" in cookies


async def test_requests_past_the_limit_wait_their_turn_outside_a_thread(monkeypatch, settings):
    """A hundred requests were a hundred threads sharing the GIL with the event loop."""
    settings.REQUEST_THREADS = 3
    running, most = 0, 0

    async def chain(request):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return request

    monkeypatch.setattr(django_asgi_app, "threaded_chain", chain)
    answers = await asyncio.gather(*(django_asgi_app._middleware_chain(n) for n in range(10)))
    assert answers == list(range(10)) and most == 3


async def test_a_bid_waiting_for_its_batch_gives_its_turn_to_the_next_request(
    monkeypatch, settings
):
    """Two turns: the first bid's batch is being written, the second bid waits for the
    next batch without its turn, so a third bid gets in and shares that batch. Holding
    its turn, the second would keep the third out until the first was done: [[0], [1], [2]]."""
    settings.REQUEST_THREADS = 2
    writing, release = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def write(key, take):
        batches.append(take())
        if len(batches) == 1:
            writing.set()
            assert release.wait(5)
        return batches[-1]

    group = GroupCommit(write)
    monkeypatch.setattr(
        django_asgi_app,
        "threaded_chain",
        sync_to_async(lambda bid: group.run("auction", bid), thread_sensitive=False),
    )
    bid = django_asgi_app._middleware_chain
    first = asyncio.ensure_future(bid(0))
    assert await asyncio.to_thread(writing.wait, 5)
    second = asyncio.ensure_future(bid(1))
    while not group._lanes["auction"].queued:
        await asyncio.sleep(0.001)
    third = asyncio.ensure_future(bid(2))
    while len(group._lanes["auction"].queued) < 2:
        await asyncio.sleep(0.001)  # in before the first batch is done: never without the change
    release.set()
    assert await asyncio.wait_for(asyncio.gather(first, second, third), 5) == [0, 1, 2]
    assert batches == [[0], [1, 2]]


async def test_a_turn_given_back_is_taken_again_ahead_of_requests_not_yet_begun(
    monkeypatch, settings
):
    """One turn: `waits` gives it back, `other` takes it, `new` asks for it meanwhile.
    When `other` is done, `waits` goes on first: a bid named to write its batch must not
    wait behind every request that came since."""
    settings.REQUEST_THREADS = 1
    waiting, other_in, release = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def chain(name):
        if name == "waits":
            with turn_given_back():
                waiting.set()
                assert release.wait(5)
        order.append(f"{name} goes on")
        if name == "other":
            other_in.set()
            assert release.wait(5)
            time.sleep(0.05)  # still holding the one turn
        order.append(f"{name} done")
        return name

    monkeypatch.setattr(
        django_asgi_app, "threaded_chain", sync_to_async(chain, thread_sensitive=False)
    )
    request = django_asgi_app._middleware_chain
    waits = asyncio.ensure_future(request("waits"))
    assert await asyncio.to_thread(waiting.wait, 5)
    other = asyncio.ensure_future(request("other"))
    assert await asyncio.to_thread(other_in.wait, 5)
    new = asyncio.ensure_future(request("new"))
    await asyncio.sleep(0.05)  # `new` waits for the turn `other` holds
    release.set()
    assert await asyncio.wait_for(asyncio.gather(waits, other, new), 5) == ["waits", "other", "new"]
    assert order == [
        "other goes on",
        "other done",
        "waits goes on",
        "waits done",
        "new goes on",
        "new done",
    ]


async def test_a_request_cancelled_while_waiting_for_a_turn_takes_none():
    turns = Turns(1)
    await turns.take()
    late = asyncio.ensure_future(turns.take())
    await asyncio.sleep(0)
    late.cancel()
    turns.give()
    await asyncio.sleep(0)
    assert turns.free == 1  # the turn was not handed to the cancelled waiter
