"""One subscription per process and group, handed to every local member in order."""

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer

from bazaar.fanout import GroupFanout


class Member:
    def __init__(self):
        self.received = []

    async def doc_update(self, message):
        self.received.append(message["n"])


class BrokenMember:
    async def doc_update(self, message):
        raise ConnectionError("socket already closed")


async def _settle(members, count):
    for _ in range(200):
        if all(len(member.received) == count for member in members):
            return
        await asyncio.sleep(0.005)


@pytest.mark.asyncio
async def test_members_share_one_subscription_and_get_every_message_in_order(caplog):
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    first, second = Member(), Member()
    await fanout.join(first)
    await fanout.join(BrokenMember())
    await fanout.join(second)
    assert len(layer.groups["room"]) == 1

    for n in range(20):
        await layer.group_send("room", {"type": "doc.update", "n": n})
    await _settle([first, second], 20)

    assert first.received == second.received == list(range(20))
    assert "fan-out to one socket of room failed" in caplog.text


@pytest.mark.asyncio
async def test_the_last_member_leaving_unsubscribes_and_a_new_one_subscribes_again():
    layer = InMemoryChannelLayer()
    fanout = GroupFanout(layer, "room")
    member = Member()
    await fanout.join(member)
    await fanout.leave(member)
    assert not layer.groups.get("room")

    again = Member()
    await fanout.join(again)
    await layer.group_send("room", {"type": "doc.update", "n": 1})
    await _settle([again], 1)
    assert again.received == [1] and member.received == []
    await fanout.leave(again)
