"""Presence: entries expire without heartbeats, so a crashed process leaves no ghosts."""

import time

import pytest

from stalls.room import visitors
from stalls.room.document import document_presence
from stalls.room.presence import live_stall_ids
from stalls.room.visitors import Visitor, room_beat, room_count, room_join, room_leave


@pytest.fixture(params=["local", "redis"])
def registry(request, monkeypatch, settings):
    """Both registries: in-process (embedded market) and Redis (several processes)."""
    if request.param == "redis":
        request.getfixturevalue("require_redis")
        registry = visitors.RedisRegistry(settings.REDIS_URL)
        registry._redis.flushdb()
    else:
        registry = visitors.LocalRegistry()
    monkeypatch.setattr(visitors, "_registry", registry)
    return registry


def handles(stall):
    return sorted(info["handle"] for info in document_presence(stall_id=stall.pk))


@pytest.mark.django_db
def test_a_user_with_two_tabs_is_listed_once_until_both_close(stall, registry, make_user):
    user = make_user("twotabs")
    visitor = Visitor(user_id=user.public_id, handle=user.handle)
    room_join(stall=stall, conn="tab-1", visitor=visitor)
    room_join(stall=stall, conn="tab-2", visitor=visitor)
    room_join(stall=stall, conn="guest", visitor=Visitor(user_id="", handle=""))
    assert handles(stall) == ["twotabs"]
    assert room_count(stall_public_id=stall.public_id) == visitors.RoomCount(sockets=3, users=1)
    room_leave(stall=stall, conn="tab-1")
    assert handles(stall) == ["twotabs"]
    room_leave(stall=stall, conn="tab-2")
    assert handles(stall) == []
    assert room_count(stall_public_id=stall.public_id).guests == 1


@pytest.mark.django_db
def test_silent_sockets_expire_and_leave_the_list(stall, registry, make_user, monkeypatch):
    crashed = make_user("crashed")
    alive = make_user("alive")
    monkeypatch.setattr(visitors, "ENTRY_TTL", -1.0)  # its heartbeats stopped long ago
    room_join(stall=stall, conn="c1", visitor=Visitor(user_id=crashed.public_id, handle="crashed"))
    monkeypatch.setattr(visitors, "ENTRY_TTL", 30.0)
    alive_visitor = Visitor(user_id=alive.public_id, handle="alive")
    room_join(stall=stall, conn="a1", visitor=alive_visitor)
    room_beat(stall=stall, conn="a1", visitor=alive_visitor)
    assert handles(stall) == ["alive"]
    assert room_count(stall_public_id=stall.public_id).sockets == 1


def test_a_ticks_heartbeats_push_their_entries_on_and_name_the_expired(registry, monkeypatch):
    stall = "01STALL"
    registry.add_guests(stall, [f"g{n}" for n in range(200)], ttl=30.0)
    registry.add_guests(stall, ["gone1", "gone2"], ttl=-1.0)
    assert registry.expire(stall) != []
    if isinstance(registry, visitors.RedisRegistry):
        queued = []
        pipeline = registry._redis.pipeline

        def counting_pipeline(**kwargs):
            pipe = pipeline(**kwargs)
            queued.append(pipe.command_stack)
            return pipe

        monkeypatch.setattr(registry._redis, "pipeline", counting_pipeline)
    beating = ["gone1", *(f"g{n}" for n in range(0, 200, 2)), "gone2"]
    assert registry.touch_many(stall, beating, ttl=0.4) == ["gone1", "gone2"]
    if isinstance(registry, visitors.RedisRegistry):
        assert [len(stack) for stack in queued] == [2]  # not one command a heartbeat
    time.sleep(0.5)  # the entries that beat lived 0.4 s; the others live on
    assert len(registry.expire(stall)) == 100 and registry.counts(stall)[0] == 100


@pytest.mark.django_db
def test_ghosts_left_in_the_document_by_a_restart_are_dropped_on_the_next_join(
    stall, registry, make_user, monkeypatch
):
    ghost = make_user("ghost")
    room_join(stall=stall, conn="g1", visitor=Visitor(user_id=ghost.public_id, handle="ghost"))
    # A restart loses the entries (the embedded market's registry lives in the
    # process), not the document.
    if isinstance(registry, visitors.LocalRegistry):
        monkeypatch.setattr(visitors, "_registry", visitors.LocalRegistry())
    else:
        registry._redis.flushdb()
    newcomer = make_user("newcomer")
    room_join(
        stall=stall, conn="n1", visitor=Visitor(user_id=newcomer.public_id, handle="newcomer")
    )
    assert handles(stall) == ["newcomer"]


@pytest.mark.django_db
def test_the_seller_present_makes_the_stall_live(stall, registry):
    seller = stall.seller.user
    visitor = Visitor(user_id=seller.public_id, handle=seller.handle, is_seller=True)
    room_join(stall=stall, conn="s1", visitor=visitor)
    assert live_stall_ids(public_ids=[stall.public_id]) == {stall.public_id}
    room_leave(stall=stall, conn="s1")
    assert live_stall_ids(public_ids=[stall.public_id]) == set()


@pytest.mark.django_db
def test_a_big_room_lists_the_seller_and_a_few_never_everyone(
    stall, registry, make_user, monkeypatch
):
    monkeypatch.setattr(visitors, "LISTED_MOST", 2)
    for handle in ["amy", "ben", "cal"]:
        user = make_user(handle)
        room_join(stall=stall, conn=handle, visitor=Visitor(user_id=user.public_id, handle=handle))
    assert handles(stall) == ["amy", "ben"]
    assert room_count(stall_public_id=stall.public_id).users == 3
    seller = stall.seller.user
    visitor = Visitor(user_id=seller.public_id, handle=seller.handle, is_seller=True)
    room_join(stall=stall, conn="s1", visitor=visitor)
    assert handles(stall) == sorted(["amy", "ben", seller.handle])
    room_leave(stall=stall, conn="amy")
    room_leave(stall=stall, conn="cal")  # never listed: no document write
    assert handles(stall) == sorted(["ben", seller.handle])
