"""The bell's socket: only its owner's frames, the count as of connecting first."""

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from bazaar.routing import websocket_urlpatterns
from notifications.models import Kind
from notifications.services import notices_mark_all_read, notify

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

application = URLRouter(websocket_urlpatterns)


def bell(user=None) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/notices/")
    socket.scope["user"] = user or AnonymousUser()
    return socket


async def test_a_guest_has_no_bell():
    connected, code = await bell().connect()
    assert not connected and code == 4401


async def test_the_owner_hears_their_notices_and_nobody_else_does(make_user):
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    await sync_to_async(notify)(alice, Kind.OUTBID, title="Before the page", url="/")

    mine, theirs = bell(alice), bell(bob)
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    assert await mine.receive_json_from() == {"type": "unread", "unread": 1}
    assert await theirs.receive_json_from() == {"type": "unread", "unread": 0}

    await sync_to_async(notify)(alice, Kind.OUTBID, title="Outbid on Brass lamp", url="/a/")
    frame = await mine.receive_json_from()
    assert frame["type"] == "notice" and frame["unread"] == 2
    assert (frame["notice"]["title"], frame["notice"]["url"]) == ("Outbid on Brass lamp", "/a/")

    await sync_to_async(notices_mark_all_read)(user=alice)
    assert await mine.receive_json_from() == {"type": "unread", "unread": 0}
    assert await theirs.receive_nothing(timeout=0.3)

    await mine.send_json_to({"type": "read"})
    assert (await mine.receive_json_from())["code"] == "read_only"
    await mine.disconnect()
    await theirs.disconnect()


@pytest.mark.parametrize("fast_path", ["used", "failing"])
async def test_a_job_s_notice_reaches_the_bell_by_one_publish_or_else_by_an_event_loop(
    make_user, require_redis, monkeypatch, fast_path
):
    """The job rings the bell with one blocking PUBLISH (no event loop made for it);
    when that fails, through an event loop as before: the notice arrives either way."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from bazaar import broadcast
    from bazaar.channel_layer import OutboxPubSubChannelLayer

    if fast_path == "used":

        def no_event_loop(*args, **kwargs):
            raise AssertionError("the blocking send was not used")

        monkeypatch.setattr(broadcast, "async_to_sync", no_event_loop)
    else:

        def redis_away(self, group, message):
            raise RedisConnectionError("redis went away")

        monkeypatch.setattr(OutboxPubSubChannelLayer, "group_send_blocking", redis_away)
    alice = await sync_to_async(make_user)("alice")
    mine = bell(alice)
    assert (await mine.connect())[0]
    assert await mine.receive_json_from() == {"type": "unread", "unread": 0}
    await sync_to_async(notify)(alice, Kind.OFFER_RECEIVED, title="@bob offers $5.00", url="/")
    frame = await mine.receive_json_from(timeout=5)
    assert frame["type"] == "notice" and frame["unread"] == 1
    assert frame["notice"]["title"] == "@bob offers $5.00"
    await mine.disconnect()
