"""HTTP through the ASGI app: Django's middleware chain, entered with one thread hop, by
at most REQUEST_THREADS requests at once."""

import asyncio

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import HttpCommunicator

from bazaar.asgi import application, django_asgi_app

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
