"""The show tools' nudge on the stall room socket (stalls/room/overlay.py): after
commit, every socket in the stall gets `{"type": "show", "topic", "event"}`; a
rolled-back change sends nothing."""

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from stalls.room.overlay import overlay_announce_on_commit
from tests.stalls.test_room_consumer import Client

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_everyone_in_the_stall_is_nudged_after_commit_and_not_after_a_rollback(
    stall, make_user
):
    guest = await Client(stall.public_id).join()
    member = await Client(stall.public_id, await sync_to_async(make_user)("member")).join()

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            overlay_announce_on_commit(stall_public_id=stall.public_id, topic="auction", event="x")
            raise RuntimeError("rolled back")

    def committed():
        with transaction.atomic():
            overlay_announce_on_commit(
                stall_public_id=stall.public_id, topic="giveaway", event="drawn"
            )

    await sync_to_async(rolled_back)()
    await sync_to_async(committed)()
    expected = {"type": "show", "topic": "giveaway", "event": "drawn"}
    assert await guest.next("show") == expected
    assert await member.next("show") == expected
    await guest.leave()
    await member.leave()
