"""What shows over a stall (a flash auction, a giveaway) and the stall's rating are
kept between page reads (stalls.room.overlay, reviews.selectors) until the change
that alters them commits: the next read after it shows the change, never the kept
answer."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from auctions.flash import flash_auction_start
from bazaar.idempotency import new_key
from giveaways.models import Giveaway
from giveaways.services import giveaway_cancel, giveaway_draw, giveaway_enter, giveaway_open
from stalls.room.visitors import Visitor, room_join
from tests.conftest import new_item

pytestmark = pytest.mark.django_db


def start_flash(item):
    return flash_auction_start(
        actor=item.stall.seller.user,
        item=item,
        start_cents=500,
        duration=timedelta(seconds=60),
        sudden_death=False,
        idempotency_key=new_key(),
    )


def stall_page(client, stall) -> str:
    response = client.get(reverse("stalls:detail", args=[stall.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def queries_of(client, stall) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        stall_page(client, stall)
    return [query["sql"] for query in captured]


def test_a_quiet_stage_costs_no_query_until_a_flash_auction_starts(client, stall, on_commit):
    lamp = new_item(stall, title="Lamp", inventory=2)
    stall_page(client, stall)
    stage = [
        sql
        for sql in queries_of(client, stall)
        if '"flash"' in sql.partition("WHERE")[2] or '"giveaways_giveaway"' in sql
    ]
    assert not stage, stage
    auction = on_commit(start_flash, lamp)
    assert f'data-show-key="{auction.public_id}"' in stall_page(client, stall)


def test_the_quiet_stage_is_kept_while_the_flash_auction_is_not_committed(client, stall):
    lamp = new_item(stall, title="Lamp", inventory=2)
    stall_page(client, stall)
    auction = start_flash(lamp)  # inside the test's transaction: not committed, not announced
    assert f'data-show-key="{auction.public_id}"' not in stall_page(client, stall)


def open_giveaway(stall, item):
    return giveaway_open(
        actor=stall.seller.user,
        item=item,
        audience=Giveaway.Audience.EVERYONE,
        idempotency_key=new_key(),
    )


def test_a_giveaway_shows_on_the_next_read_after_it_opens_and_goes_when_cancelled(
    client, stall, on_commit
):
    bell = new_item(stall, title="Brass bell", inventory=2)
    assert "data-giveaway=" not in stall_page(client, stall)
    giveaway = on_commit(open_giveaway, stall, bell)
    assert f'data-giveaway="{giveaway.public_id}"' in stall_page(client, stall)
    on_commit(giveaway_cancel, actor=stall.seller.user, giveaway=giveaway)
    assert "data-giveaway=" not in stall_page(client, stall)


def test_the_winners_prize_shows_to_them_after_the_result_is_kept_quiet_for_others(
    client, stall, make_user, on_commit
):
    from django.test import Client

    bell = new_item(stall, title="Brass bell", inventory=2)
    winner = make_user("winner")
    giveaway = on_commit(open_giveaway, stall, bell)
    giveaway_enter(user=winner, giveaway=giveaway)
    room_join(
        stall=stall,
        conn="test-socket-winner",
        visitor=Visitor(user_id=winner.public_id, handle=winner.handle),
    )
    drawn = on_commit(giveaway_draw, actor=stall.seller.user, giveaway=giveaway)
    assert drawn.winner == winner
    Giveaway.objects.filter(pk=drawn.pk).update(drawn_at=drawn.drawn_at - timedelta(hours=1))
    assert "data-giveaway=" not in stall_page(client, stall)  # the result's two minutes are over
    as_winner = Client()
    as_winner.force_login(winner)
    assert "Claim your prize" in stall_page(as_winner, stall)
