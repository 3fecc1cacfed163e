"""Real threads on PostgreSQL: the giveaway's row lock makes one draw, and an entry
racing the draw is either in it or refused; a viewer leaving as the draw reads the
room is decided by that read, and the audit says which."""

import threading
from unittest import mock

import pytest

from bazaar.errors import Conflict
from giveaways import services
from giveaways.models import Giveaway, GiveawayDraw, GiveawayEntry
from giveaways.services import giveaway_draw, giveaway_enter
from tests.conftest import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_another_connection(call) -> None:
    """Run `call` in a thread of its own (its own connection and transaction) and wait."""
    from django.db import connection

    def run():
        try:
            call()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)


def test_two_draws_at_once_make_one_draw(require_postgres, giveaway, viewer_in):
    for n in range(6):
        viewer_in(f"viewer{n}")
    seller = giveaway.seller
    outcomes = race(*[lambda: giveaway_draw(actor=seller, giveaway=giveaway)] * 2)
    assert all(isinstance(outcome, Giveaway) for outcome in outcomes), outcomes
    assert outcomes[0].winner_id == outcomes[1].winner_id
    record = GiveawayDraw.objects.get()
    assert record.winner_id == outcomes[0].winner_id


def test_an_entry_racing_the_draw_is_in_it_or_refused(
    require_postgres, giveaway, viewer_in, room, make_user
):
    viewer_in("early")
    late = make_user("late")
    room.arrive(late)
    entered, drawn = race(
        lambda: giveaway_enter(user=late, giveaway=giveaway),
        lambda: giveaway_draw(actor=giveaway.seller, giveaway=giveaway),
    )
    record = GiveawayDraw.objects.get()
    if isinstance(entered, GiveawayEntry):
        # Accepted: it committed before the draw read the entries, so it was in it.
        assert record.entrants == 2
        assert {p["handle"] for p in record.eligible} == {"early", "late"}
    else:
        assert isinstance(entered, Conflict) and entered.code == "giveaway_closed", entered
        assert record.entrants == 1 and not GiveawayEntry.objects.filter(user=late).exists()
    assert drawn.winner_id == record.winner_id


def test_a_viewer_who_leaves_as_the_draw_reads_the_room_cannot_win(
    require_postgres, giveaway, viewer_in, room
):
    leaver, stayer = viewer_in("leaver"), viewer_in("stayer")
    read_room = services.room_present_user_ids

    def leave_then_read(**kwargs):
        in_another_connection(lambda: room.leave(leaver))
        return read_room(**kwargs)

    with mock.patch("giveaways.services.room_present_user_ids", leave_then_read):
        drawn = giveaway_draw(actor=giveaway.seller, giveaway=giveaway)
    assert drawn.winner == stayer
    record = GiveawayDraw.objects.get()
    assert [p["handle"] for p in record.eligible] == ["stayer"]
    assert record.present == 1


def test_a_viewer_who_leaves_just_after_the_read_was_present_at_the_draw(
    require_postgres, giveaway, viewer_in, room
):
    leaver, stayer = viewer_in("leaver"), viewer_in("stayer")
    read_room = services.room_present_user_ids

    def read_then_leave(**kwargs):
        present = read_room(**kwargs)
        in_another_connection(lambda: room.leave(leaver))
        return present

    eligible = sorted([leaver, stayer], key=lambda user: user.public_id)
    with (
        mock.patch("giveaways.services.room_present_user_ids", read_then_leave),
        mock.patch("giveaways.services.secrets.randbelow", return_value=eligible.index(leaver)),
    ):
        drawn = giveaway_draw(actor=giveaway.seller, giveaway=giveaway)
    assert drawn.winner == leaver
    record = GiveawayDraw.objects.get()
    assert {p["handle"] for p in record.eligible} == {"leaver", "stayer"}
    assert record.present == 2


def test_the_same_opening_sent_twice_at_once_opens_one(require_postgres, prize):
    from bazaar.idempotency import new_key
    from giveaways.services import giveaway_open

    key = new_key()
    seller = prize.stall.seller.user

    def open_it():
        return giveaway_open(actor=seller, item=prize, audience="everyone", idempotency_key=key)

    first, second = race(open_it, open_it)
    assert isinstance(first, Giveaway) and first == second, (first, second)
    assert Giveaway.objects.count() == 1


def test_a_claim_sent_twice_at_once_makes_one_order(require_postgres, giveaway, viewer_in):
    from giveaways.services import giveaway_claim
    from orders.models import Order
    from tests.giveaways.test_services import ADDRESS

    winner = viewer_in("winner")
    giveaway_draw(actor=giveaway.seller, giveaway=giveaway)

    def claim():
        return giveaway_claim(winner=winner, giveaway=giveaway, address=ADDRESS)

    first, second = race(claim, claim)
    assert isinstance(first, Giveaway), first
    assert first.order_public_id == second.order_public_id
    assert Order.objects.count() == 1
