"""A consumer's database work runs in the loop's thread pool, not in Channels' one
database thread per process (bazaar.consumers.in_db_pool): two sockets' work can run
at the same time, so a crowd's joins and a room's pulse do not queue behind each other.
Each test makes a read wait until two of it are running at once: in one thread the
first would wait for ever (here, until its barrier gives up) and the join fail."""

import asyncio
import multiprocessing
import os
import threading
from importlib import import_module

import channels.auth
import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.sessions import CookieMiddleware
from channels.testing import WebsocketCommunicator
from django.conf import settings

import stalls.room.consumers
from bazaar.consumers import PooledAuthMiddleware, SocketSessionMiddleware
from bazaar.routing import websocket_urlpatterns
from bazaar.threads import ProcessThreads

WAIT = 5


def _meet_in_pairs(monkeypatch, owner, name: str) -> None:
    """`owner.name` runs only once a second call of it is running too."""
    real = getattr(owner, name)
    together = threading.Barrier(2, timeout=WAIT)

    def met(*args, **kwargs):
        together.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, met)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_two_joins_read_the_database_at_the_same_time(stall, make_user, monkeypatch):
    _meet_in_pairs(monkeypatch, stalls.room.consumers, "room_stall")
    sockets = []
    for user in await sync_to_async(lambda: [make_user("ana"), make_user("ben")])():
        socket = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/stalls/{stall.public_id}/"
        )
        socket.scope["user"] = user
        socket.scope["session"] = type("Session", (), {"session_key": f"s-{user.handle}"})()
        sockets.append(socket)
    joined = await asyncio.gather(*(socket.connect(timeout=WAIT + 2) for socket in sockets))
    assert [ok for ok, _ in joined] == [True, True]
    for socket in sockets:
        await socket.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_two_sockets_read_their_signed_in_user_at_the_same_time(
    client, make_user, monkeypatch
):
    user = await sync_to_async(make_user)("ana")
    await sync_to_async(client.force_login)(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}".encode()
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["user"].pk)
        await send({"type": "websocket.accept"})

    _meet_in_pairs(monkeypatch, channels.auth.get_user, "func")
    stack = CookieMiddleware(SocketSessionMiddleware(PooledAuthMiddleware(app)))
    sockets = [WebsocketCommunicator(stack, "/ws/", headers=[(b"cookie", cookie)]) for _ in "ab"]
    await asyncio.gather(*(socket.connect(timeout=WAIT + 2) for socket in sockets))
    assert seen == [user.pk, user.pk]


def test_a_forked_child_gets_threads_of_its_own():
    """The parent's threads do not survive a fork; the child's work must still run."""
    threads = ProcessThreads(1, "test-threads")
    assert threads.submit(os.getpid).result(timeout=WAIT) == os.getpid()
    fork = multiprocessing.get_context("fork")
    answers = fork.SimpleQueue()
    child = fork.Process(target=lambda: answers.put(threads.submit(os.getpid).result(WAIT)))
    child.start()
    child.join(WAIT * 2)
    assert child.exitcode == 0 and answers.get() == child.pid


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_without_a_session_cookie_is_a_guest_read_in_no_thread(
    client, make_user, monkeypatch
):
    """A crowd's watchers bring no session: their join makes no trip to the threads.
    A socket with a session still has its user read there, a signed-in one included."""
    user = await sync_to_async(make_user)("ana")
    await sync_to_async(client.force_login)(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    reads, seen = [], []
    real = channels.auth.get_user.func

    def counted(scope):
        reads.append(1)
        return real(scope)

    async def app(scope, receive, send):
        seen.append(scope["user"].pk)
        await send({"type": "websocket.accept"})

    monkeypatch.setattr(channels.auth.get_user, "func", counted)
    stack = CookieMiddleware(SocketSessionMiddleware(PooledAuthMiddleware(app)))
    guest = WebsocketCommunicator(stack, "/ws/")
    assert (await guest.connect())[0]
    assert seen == [None] and reads == []

    for cookie in (session, "no-such-session-key"):
        headers = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())]
        assert (await WebsocketCommunicator(stack, "/ws/", headers=headers).connect())[0]
    assert seen == [None, user.pk, None] and reads == [1, 1]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_sockets_frames_go_to_the_servers_send_and_a_guests_session_is_made_if_read(
    client, make_user, monkeypatch
):
    """No wrapper around a socket's `send` (Channels' saved a session only on an HTTP
    response); a guest's session store is made only when something reads it, a
    signed-in socket's is its cookie's."""
    user = await sync_to_async(make_user)("ana")
    await sync_to_async(client.force_login)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    made = []
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    real_init = engine.__init__

    def counted(store, session_key=None):
        made.append(session_key)
        real_init(store, session_key)

    monkeypatch.setattr(engine, "__init__", counted)
    sends, keys = [], []

    async def app(scope, receive, send):
        sends.append(send)
        if scope["user"].is_authenticated:
            keys.append(scope["session"].session_key)
        else:
            keys.append(len(made))  # nothing made yet for a guest
            keys.append(scope["session"].session_key)  # made now, empty
        await send({"type": "websocket.accept"})

    stack = CookieMiddleware(SocketSessionMiddleware(PooledAuthMiddleware(app)))
    guest = WebsocketCommunicator(stack, "/ws/")
    assert (await guest.connect())[0]
    assert keys == [0, None] and made == [None]
    signed_in = WebsocketCommunicator(stack, "/ws/", headers=[(b"cookie", cookie.encode())])
    assert (await signed_in.connect())[0]
    assert keys[2] == client.cookies[settings.SESSION_COOKIE_NAME].value
    assert [send.__self__ for send in sends] == [guest.output_queue, signed_in.output_queue]
