"""Giveaway fixtures: a seller's giveaway, and viewers who enter and sit in the room."""

import pytest

from bazaar.idempotency import new_key
from giveaways.models import Giveaway
from giveaways.services import giveaway_enter, giveaway_open
from stalls.room.visitors import Visitor, room_join, room_leave


class Room:
    """People arriving in and leaving a stall's room, as their sockets would."""

    def __init__(self, stall):
        self.stall = stall

    def conn(self, user) -> str:
        return f"test-socket-{user.public_id}"

    def arrive(self, *users):
        for user in users:
            visitor = Visitor(user_id=user.public_id, handle=user.handle)
            room_join(stall=self.stall, conn=self.conn(user), visitor=visitor)
        return users[0] if len(users) == 1 else users

    def leave(self, user):
        room_leave(stall=self.stall, conn=self.conn(user))


@pytest.fixture
def room(stall):
    return Room(stall)


@pytest.fixture
def prize(stall, make_item):
    return make_item(stall, title="Brass bell", price_cents=1500)


@pytest.fixture
def make_giveaway(prize):
    def make(*, audience=Giveaway.Audience.EVERYONE, item=None, key=None):
        item = item or prize
        return giveaway_open(
            actor=item.stall.seller.user,
            item=item,
            audience=audience,
            idempotency_key=key or new_key(),
        )

    return make


@pytest.fixture
def giveaway(make_giveaway):
    return make_giveaway()


@pytest.fixture
def viewer_in(room, make_user, giveaway):
    """A viewer who entered `giveaway` and is in the stall's room."""

    def make(handle=None):
        user = make_user(handle)
        giveaway_enter(user=user, giveaway=giveaway)
        room.arrive(user)
        return user

    return make
