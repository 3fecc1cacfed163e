"""HTTP through the ASGI app: Django's middleware chain, entered with one thread hop."""

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import HttpCommunicator

from bazaar.asgi import application, django_asgi_app

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_request_runs_the_whole_middleware_chain_behind_one_thread_hop():
    # The chain is synchronous inside, so the only async wrapper is at its top.
    assert isinstance(django_asgi_app._middleware_chain, SyncToAsync)
    communicator = HttpCommunicator(
        application, "GET", "/healthz/", headers=[(b"host", b"localhost")]
    )
    response = await communicator.get_response()
    headers = dict(response["headers"])
    assert response["status"] == 200
    assert headers[b"X-Frame-Options"] == b"DENY"  # the middleware answered too
    cookies = b" ".join(value for name, value in response["headers"] if name == b"Set-Cookie")
    assert b"bazaar_visitor=" in cookies
